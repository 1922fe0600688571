"""Hostile candidates: each is contained with the right verdict, and the pool still works afterwards.

Every case runs through the warm pool (the fast path: many candidates per container), then a healthy candidate
must pass on the same pool. Network probes aim only at loopback.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator

import pytest

from benchmarks.adversarial import CASES, HEALTHY, check
from sandbox import Job, Sandbox, Verdict


def assert_pool_healthy(sb: Sandbox) -> None:
    for result in sb.run_many([HEALTHY] * 4 + [Job(HEALTHY.program + "\n", HEALTHY.tests)]):
        assert result.verdict is Verdict.PASS, result.detail


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_adversarial(sandbox: Sandbox, case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMITTEE_TEST_SECRET", "sk-do-not-leak")
    program, body, verdicts = CASES[case]
    result = sandbox.run(Job(program, check(body), timeout=3))
    assert result.verdict in verdicts, f"{result.verdict}: {result.detail}"
    assert_pool_healthy(sandbox)


def test_huge_output_is_truncated_to_the_cap(sandbox: Sandbox) -> None:
    program, body, _ = CASES["print 100 MB"]
    result = sandbox.run(Job(program, check(body), timeout=10))
    assert result.truncated
    assert len(result.stdout) == sandbox.config.limits.output_cap


@pytest.fixture
def loopback_server() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):  # woken by the shutdown below, with no connection: the expected end
            accepted.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    server.shutdown(socket.SHUT_RDWR)
    thread.join(timeout=10)
    server.close()
    assert not accepted, "a sandboxed candidate reached a host service"


def test_host_loopback_service_unreachable(sandbox: Sandbox, loopback_server: int) -> None:
    body = (
        f"import pytest, socket\nwith pytest.raises(OSError):\n"
        f"    socket.create_connection(('127.0.0.1', {loopback_server}), timeout=2)"
    )
    assert sandbox.run(Job("", check(body))).verdict is Verdict.PASS


def assert_next_candidate_sees_nothing(sb: Sandbox, leaver: str, observer: str) -> None:
    """``leaver`` runs (and passes) on the container; then ``observer``, a later candidate's test body, must pass."""
    assert sb.run(Job(leaver, check("pass"))).verdict is Verdict.PASS
    result = sb.run(Job("", check(observer)))
    assert result.verdict is Verdict.PASS, result.detail


def test_daemon_does_not_outlive_its_candidate(one_container: Sandbox) -> None:
    daemon = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        open('/tmp/left-behind', 'w').write('x')\n"
        "        while True:\n"
        "            open('/work/also-left', 'w').write('x')\n"
        "            time.sleep(0.05)\n"
        "    os._exit(0)\n"
        "time.sleep(0.3)\n"
    )
    observer = (
        "import os, time\ntime.sleep(0.3)\n"
        "others = [p for p in os.listdir('/proc') if p.isdigit() and int(p) not in (1, os.getpid())]\n"
        "assert others == [], others\n"
        "assert not os.path.exists('/tmp/left-behind')\n"
        "assert os.listdir('/work') == [os.path.basename(os.getcwd())]"
    )
    assert_next_candidate_sees_nothing(one_container, daemon, observer)


def test_files_do_not_leak_between_candidates(one_container: Sandbox) -> None:
    writer = (
        "import os\nopen('/tmp/note', 'w').write('secret')\nopen('/dev/shm/note', 'w').write('secret')\n"
        "os.makedirs('/tmp/locked/inner')\nopen('/tmp/locked/inner/note', 'w').write('secret')\n"
        "os.chmod('/tmp/locked/inner', 0)\nos.chmod('/tmp/locked', 0o500)\n"
        "os.makedirs('/work/../tmp/links')\nos.symlink('/usr', '/tmp/links/usr')\nos.symlink('/usr', '/tmp/usr')\n"
    )
    reader = "import os\nassert os.listdir('/tmp') == []\nassert os.listdir('/dev/shm') == []"
    assert_next_candidate_sees_nothing(one_container, writer, reader)


def test_sysv_ipc_does_not_leak_between_candidates(one_container: Sandbox) -> None:
    creator = (
        "import ctypes\nlibc = ctypes.CDLL(None)\n"
        "assert libc.shmget(0, 4096, 0o1600) >= 0\nassert libc.msgget(0, 0o1600) >= 0\n"
    )
    reader = "\n".join(
        f"assert open('/proc/sysvipc/{kind}').read().splitlines()[1:] == []" for kind in ("shm", "msg", "sem")
    )
    assert_next_candidate_sees_nothing(one_container, creator, reader)


def test_container_killed_from_outside_is_retried_not_failed(one_container: Sandbox) -> None:
    import docker

    client = docker.from_env()
    slow = Job("import time\ntime.sleep(1.5)\ndef f():\n    return 1\n", HEALTHY.tests, timeout=10)

    def kill_soon() -> None:
        import time

        time.sleep(0.5)
        for c in client.containers.list(filters={"label": f"committee.owner={socket.gethostname()}:{os.getpid()}"}):
            c.kill()

    killer = threading.Thread(target=kill_soon)
    killer.start()
    result = one_container.run(slow)
    killer.join()
    client.close()
    assert result.verdict is Verdict.PASS, result.detail
    assert_pool_healthy(one_container)


def test_queued_jobs_are_not_readable_from_stdin(one_container: Sandbox) -> None:
    reader = check("import sys\nassert sys.stdin.read() == ''\nassert sys.__stdin__.read() == ''")
    queued = [Job(f"SECRET_{i} = 1\n", check("pass")) for i in range(20)]
    results = one_container.run_many([Job("", reader), *queued])
    assert results[0].verdict is Verdict.PASS, results[0].detail
