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
RESTART_OPT_IN = "COMMITTEE_RESTART_DOCKER"


def test_no_engine_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    with pytest.raises(EngineUnavailable) as info, Sandbox():
        pass
    message = str(info.value)
    assert "\n" not in message
    assert "no Docker engine is reachable" in message and "dockerd" in message


def _dockerd_pid() -> int:
    """The engine's process, when this test may restart it: only where asked to (.ci/run asks; a developer's
    engine, and whatever else runs on it, is left alone), as root, with one dockerd on this host."""
    if not os.environ.get(RESTART_OPT_IN):
        pytest.skip(f"restarts the Docker engine: set {RESTART_OPT_IN}=1 to run it (.ci/run does)")
    found = subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True, text=True).stdout.split()
    assert os.geteuid() == 0 and len(found) == 1, "needs root and one dockerd started by .ci/start-docker"
    return int(found[0])


def _gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" in status  # exited, not yet reaped by its parent


def _restart_engine(pid: int, after_s: float) -> None:
    time.sleep(after_s)
    os.kill(pid, signal.SIGTERM)  # dockerd stops every container, then exits
    deadline = time.monotonic() + 60
    while not _gone(pid):
        assert time.monotonic() < deadline, "dockerd did not stop within 60 s"
        time.sleep(0.2)
    subprocess.run(["bash", str(START_DOCKER)], check=True, start_new_session=True, capture_output=True, timeout=120)


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
