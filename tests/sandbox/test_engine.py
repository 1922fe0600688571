"""The engine: without one the sandbox says so in one line, with what to do; one restarted mid-run is waited
for, and the candidates it took down run again on fresh containers."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from sandbox import EngineUnavailable, Job, Sandbox, SandboxConfig, Verdict

START_DOCKER = Path(__file__).parents[2] / ".ci" / "start-docker"


def test_no_engine_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    with pytest.raises(EngineUnavailable) as info, Sandbox():
        pass
    message = str(info.value)
    assert "\n" not in message
    assert "no Docker engine is reachable" in message and "dockerd" in message


def _dockerd_pid() -> int:
    """The engine's process, when this test may restart it (root, a dockerd on this host, as CI starts one)."""
    found = subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True, text=True).stdout.split()
    if os.geteuid() != 0 or len(found) != 1:
        if os.environ.get("CI"):
            raise AssertionError("CI must run a restartable dockerd (see .ci/start-docker)")
        pytest.skip("needs root and one local dockerd to restart")
    return int(found[0])


def _restart_engine(pid: int, after_s: float) -> None:
    time.sleep(after_s)
    os.kill(pid, signal.SIGTERM)  # dockerd stops every container, then exits
    while Path(f"/proc/{pid}").exists():
        time.sleep(0.2)
    subprocess.run(["bash", str(START_DOCKER)], check=True, start_new_session=True, capture_output=True)


def test_engine_restart_mid_run_is_waited_out_and_nothing_is_judged_wrong() -> None:
    pid = _dockerd_pid()
    jobs = [
        Job(f"import time\ntime.sleep(0.3)\n\ndef f():\n    return {i}\n",
            f"from solution import f\n\ndef test_f():\n    assert f() == {i}\n", timeout=10)
        for i in range(40)
    ]  # fmt: skip
    with Sandbox(SandboxConfig(containers=2)) as sandbox:
        restart = threading.Thread(target=_restart_engine, args=(pid, 2.0))
        restart.start()
        results = sandbox.run_many(jobs)
        restart.join()
        after = sandbox.run(jobs[0])
    assert [r.verdict for r in results] == [Verdict.PASS] * len(jobs), [r.detail for r in results]
    assert after.verdict is Verdict.PASS
