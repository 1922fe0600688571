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
        # only the zygote of split verdicts, which the runner keeps in its own session
        "assert len(others) <= 1 and all(os.getsid(int(p)) == os.getsid(1) for p in others), others\n"
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
        "assert libc.semget(0, 1, 0o1600) >= 0\n"
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
        ours = f"committee.owner={socket.gethostname()}:{os.getpid()}"
        for c in client.containers.list(filters={"label": ours}, sparse=True):
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


# A candidate that hides its work dir's contents (mode 0o300: write and enter, but no listing), after removing its
# own job dir so the next one can be made, and plants a file and a .pdbrc that would forge a later verdict.
LOCKER = (
    "import os, shutil\n"
    'forge = \'import os; os.write(3, b\\\'{"verdict": "PASS", "passed": 1, "total": 1}\\\'); os._exit(0)\'\n'
    "for home in ('/work', os.environ['HOME']):\n"
    "    os.makedirs(home, exist_ok=True)\n"
    "    open(os.path.join(home, '.pdbrc'), 'w').write(forge + '\\n')\n"
    "open('/work/planted', 'w').write('the last task hidden tests')\n"
    "os.chdir('/')\n"
    "shutil.rmtree('/work/job')\n"
    "os.chmod('/work', 0o300)\n"
)


def test_a_work_dir_a_candidate_locked_is_emptied_all_the_same(one_container: Sandbox) -> None:
    observer = "import os\nassert os.listdir('/work') == ['job']\nassert not os.path.exists('/work/planted')"
    assert_next_candidate_sees_nothing(one_container, LOCKER, observer)


def test_a_planted_pdbrc_cannot_forge_a_later_verdict(one_container: Sandbox) -> None:
    assert one_container.run(Job(LOCKER, check("pass"))).verdict is Verdict.PASS
    wrong = "def add(a, b):\n    breakpoint()\n    return a - b\n"
    tests = "from solution import add\n\ndef test_add():\n    assert add(1, 2) == 3\n"
    assert one_container.run(Job(wrong, tests)).verdict is Verdict.FAIL


def test_a_job_runs_in_its_own_fresh_home_where_breakpoint_does_nothing(one_container: Sandbox) -> None:
    body = (
        "import os, stat\nhome = os.environ['HOME']\nassert home == os.getcwd() != '/work'\n"
        "assert sorted(os.listdir(home)) == ['solution.py', 'test_solution.py']\n"
        "assert stat.S_IMODE(os.stat(home).st_mode) == 0o700\n"
        "open('.pdbrc', 'w').write('import os; os._exit(0)\\n')\nbreakpoint()"
    )
    assert one_container.run(Job("", check(body))).verdict is Verdict.PASS


SNOOPER = check(
    "import gc, sys\n"
    "marker = 'LEAKED-' + str(2 * 12345)\n"
    "def holds(x):\n"
    "    if x is marker:\n"
    "        return False\n"
    "    if isinstance(x, str):\n"
    "        return marker in x\n"
    "    if isinstance(x, (bytes, bytearray)):\n"
    "        return marker.encode() in x\n"
    "    return False\n"
    "def inside(o):\n"
    "    items = list(o.values()) if isinstance(o, dict) else list(o) if isinstance(o, (list, tuple)) else []\n"
    "    items += list(vars(o).values()) if hasattr(o, '__dict__') and isinstance(vars(o), dict) else []\n"
    "    return any(holds(x) for x in items)\n"
    "frame, found = sys._getframe(), []\n"
    "while frame is not None:\n"
    "    found += [k for k, v in frame.f_locals.items() if holds(v) or inside(v)]\n"
    "    frame = frame.f_back\n"
    "found += [type(o).__name__ for o in gc.get_objects() if inside(o)]\n"
    "assert not found, found"
)


def test_a_candidate_cannot_read_earlier_replies_from_the_runners_memory(one_container: Sandbox) -> None:
    # the first job's output and failing assertion hold the marker; all are sent in one write, so the replies
    # before the snooper's wait in the runner while it runs
    leaker = Job("print('LEAKED-' + str(2 * 12345))\n", check("assert 'LEAKED-' + str(2 * 12345) == 'other'"))
    results = one_container.run_many([leaker, Job("x = 1\n", check("pass")), Job("", SNOOPER)])
    assert "LEAKED-24690" in results[0].stdout and results[0].verdict is Verdict.FAIL
    assert results[2].verdict is Verdict.PASS, results[2].detail


def test_no_hook_a_candidate_plants_runs_in_a_later_one(one_container: Sandbox) -> None:
    hook = "print('HOOKED')\n"
    planter = (
        "import os, sys\nsite = os.path.join(os.environ['HOME'], '.local/lib/python3.11/site-packages')\n"
        "os.makedirs(site)\n"
        f"for path in ('/tmp/sitecustomize.py', site + '/usercustomize.py', '/work/usercustomize.py'):\n"
        f"    open(path, 'w').write({hook!r})\n"
        f"open(site + '/evil.pth', 'w').write('import os; print(\"HOOKED\")\\n')\n"
        "open(os.path.join(os.environ['HOME'], '.pythonrc'), 'w').write('print(\"HOOKED\")\\n')\n"
    )
    observer = (
        "import subprocess, sys\n"
        "out = subprocess.run([sys.executable, '-c', 'print(1)'], capture_output=True, text=True, cwd='/tmp').stdout\n"
        "assert out == '1\\n', out\n"
        "assert 'PYTHONSTARTUP' not in __import__('os').environ"
    )
    assert_next_candidate_sees_nothing(one_container, planter, observer)
    # and within one job, a Python the candidate starts reads no user site-packages it planted
    same_job = one_container.run(Job(planter, check(observer)))
    assert same_job.verdict is Verdict.PASS, same_job.detail
