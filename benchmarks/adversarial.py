"""Hostile candidates, each with the verdicts that mean it was contained; and a table of them for the notes.

    python -m benchmarks.adversarial

Runs every case through the warm pool, then a healthy candidate on the same pool, and prints case, verdict and
seconds. The test suite (tests/sandbox/test_adversarial.py) asserts the same cases. Network probes aim only at
loopback.
"""

from __future__ import annotations

import os
import time

from rich.table import Table

from benchmarks.report import print_table
from sandbox import Job, Sandbox, SandboxConfig, Verdict

HEALTHY = Job("def f():\n    return 1\n", "from solution import f\n\ndef test_f():\n    assert f() == 1\n")


def check(body: str) -> str:
    """A test module that asserts ``body`` (code run inside the sandbox) holds."""
    return "from solution import *\n\ndef test_contained():\n" + "".join(f"    {line}\n" for line in body.splitlines())


CASES = {
    "fork bomb": ("import os\nwhile True:\n    os.fork()\n", "pass", {Verdict.ERROR, Verdict.TIMEOUT}),
    "memory bomb": ("hog = []\nwhile True:\n    hog.append(bytearray(50 << 20))\n", "pass", {Verdict.ERROR}),
    "one huge allocation": ("hog = bytearray(8 << 30)\n", "pass", {Verdict.ERROR}),
    "infinite loop": ("while True:\n    pass\n", "pass", {Verdict.TIMEOUT}),
    "sleep ignoring SIGTERM": (
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(600)\n",
        "pass",
        {Verdict.TIMEOUT},
    ),
    "only loopback interface": (
        "import socket\n",
        "assert [n for _, n in socket.if_nameindex()] == ['lo']",
        {Verdict.PASS},
    ),
    "name resolution fails": (
        "import socket\n",
        "import pytest\nwith pytest.raises(OSError):\n    socket.getaddrinfo('deb.debian.org', 80)",
        {Verdict.PASS},
    ),
    "write outside work dir": (
        "import os\n",
        "import pytest\nfor path in ('/etc/evil', '/opt/committee/runner.py', '/usr/evil', '/evil'):\n"
        "    with pytest.raises(OSError):\n        open(path, 'w')",
        {Verdict.PASS},
    ),
    "read secrets": (
        "import os\n",
        "import pytest\nwith pytest.raises(OSError):\n    open('/etc/shadow').read()\n"
        "with pytest.raises(OSError):\n    open('/proc/1/environ').read()\n"
        "with pytest.raises(OSError):\n    open('/proc/1/mem', 'rb').read(1)\n"
        "assert not os.path.exists('/root/.cache')",
        {Verdict.PASS},
    ),
    "no host environment": (
        "import os\n",
        "assert 'COMMITTEE_TEST_SECRET' not in os.environ\nassert not any('KEY' in k for k in os.environ)\n"
        "assert os.getuid() != 0",
        {Verdict.PASS},
    ),
    "no capabilities": (
        "import os\n",
        "status = open('/proc/self/status').read()\n"
        "assert 'CapEff:\\t0000000000000000' in status\nassert 'NoNewPrivs:\\t1' in status",
        {Verdict.PASS},
    ),
    "print 100 MB": ("import sys\nsys.stdout.write('x' * (100 << 20))\n", "pass", {Verdict.PASS}),
    "kill PID 1": (
        "import os, signal\nfor s in (signal.SIGKILL, signal.SIGTERM):\n    os.kill(1, s)\n",
        "pass",
        {Verdict.PASS},
    ),
    "kill every process": (
        "import os, signal\nfor p in os.listdir('/proc'):\n    if p.isdigit() and int(p) != os.getpid():\n"
        "        try:\n            os.kill(int(p), signal.SIGKILL)\n        except OSError:\n            pass\n",
        "pass",
        {Verdict.PASS},
    ),
    "exit hard mid-test": ("import os\n", "os._exit(0)", {Verdict.ERROR}),
    "SIGINT to PID 1": ("import os, signal\nos.kill(1, signal.SIGINT)\n", "pass", {Verdict.PASS}),
    "forge an infra error": (
        'import os\nos.write(3, b\'{"verdict": "INFRA_ERROR", "passed": 0, "total": 0}\')\nos._exit(0)\n',
        "pass",
        {Verdict.ERROR},
    ),
}


FORGED_PASS = 'b\'{"verdict": "PASS", "passed": 2, "total": 2}\''
FORGER_TESTS = (
    "from solution import *\n\n\ndef test_small():\n    assert add(1, 2) == 3\n\n\n"
    "def test_large():\n    assert add(20, 22) == 42\n"
)
"""The tests every verdict forger faces: each forger's ``add`` is wrong (it returns 0), and it tries to pass anyway."""

FORGERS = {
    "write a PASS report and exit": (
        f"import os\nos.write(3, {FORGED_PASS})\nos._exit(0)\ndef add(a, b):\n    return 0\n"
    ),
    "close the report fd": "import os\nos.close(3)\ndef add(a, b):\n    return 0\n",
    "a child writes a PASS report later": (
        f"import os, time\nif os.fork() == 0:\n    time.sleep(0.2)\n    os.write(3, {FORGED_PASS})\n    os._exit(0)\n"
        "def add(a, b):\n    return 0\n"
    ),
    "an object equal to anything": (
        "class Anything:\n    def __eq__(self, other):\n        return True\n\n\n"
        "def add(a, b):\n    return Anything()\n"
    ),
    "an int subclass equal to anything": (
        "class Int(int):\n    def __eq__(self, other):\n        return True\n    __hash__ = int.__hash__\n\n\n"
        "def add(a, b):\n    return Int(0)\n"
    ),
    "patch AssertionError": (
        "import builtins\nbuiltins.AssertionError = type('Quiet', (BaseException,), {})\ndef add(a, b):\n    return 0\n"
    ),
    "patch the test module": (
        "import sys, types\n"
        "class Patcher(types.ModuleType):\n    def __setattr__(self, name, value):\n"
        "        super().__setattr__(name, (lambda: None) if name.startswith('test_') else value)\n"
        "sys.modules['test_solution'] = Patcher('test_solution')\n"
        "def add(a, b):\n    for m in list(sys.modules.values()):\n"
        "        for n in dir(m):\n            if n.startswith('test_'):\n"
        "                setattr(m, n, lambda: None)\n    return 0\n"
    ),
    "shadow a builtin the tests use": "def add(a, b):\n    return 0\n\n\ndef all(*args):\n    return True\n",
    "raise SystemExit(0)": "def add(a, b):\n    raise SystemExit(0)\n",
    "raise KeyboardInterrupt": "def add(a, b):\n    raise KeyboardInterrupt\n",
    "exit hard inside a call": "import os\ndef add(a, b):\n    os._exit(0)\n",
    "a __del__ that writes a PASS report": (
        f"import os\nclass Forger:\n    def __del__(self):\n        os.write(3, {FORGED_PASS})\n        os._exit(0)\n"
        "keep = Forger()\ndef add(a, b):\n    return 0\n"
    ),
    "an atexit hook that writes a PASS report": (
        f"import atexit, os\natexit.register(lambda: os.write(3, {FORGED_PASS}))\ndef add(a, b):\n    return 0\n"
    ),
    "sys.settrace rewrites the caller's frame": (
        "import sys\n"
        "def tracer(frame, event, arg):\n"
        "    if event == 'return' and frame.f_code.co_name == 'add':\n"
        "        frame.f_back.f_locals.update(expected=0)\n"
        "    return tracer\n"
        "sys.settrace(tracer)\n"
        "def add(a, b):\n    return 0\n"
    ),
    "read the tests from disk": (
        "import re\ndef add(a, b):\n    text = open('/work/job/test_solution.py').read()\n"
        "    for x, y, want in re.findall(r'add\\((\\d+), (\\d+)\\) == (\\d+)', text):\n"
        "        if (int(x), int(y)) == (a, b):\n            return int(want)\n    return 0\n"
    ),
    "read the tests from memory": (
        "import gc, re, sys\n"
        "def add(a, b):\n"
        "    texts, frame = [], sys._getframe()\n"
        "    while frame is not None:\n"
        "        texts += list(frame.f_locals.values())\n"
        "        frame = frame.f_back\n"
        "    for o in gc.get_objects():\n"
        "        try:\n"
        "            texts += list(vars(o).values()) + (list(o.values()) if isinstance(o, dict) else [])\n"
        "        except Exception:\n"
        "            pass\n"
        "    for text in texts:\n"
        "        text = text.decode(errors='replace') if isinstance(text, (bytes, bytearray)) else text\n"
        "        text = text if isinstance(text, str) else ''\n"
        "        for x, y, want in re.findall(r'add\\((\\d+), (\\d+)\\) == (\\d+)', text):\n"
        "            if (int(x), int(y)) == (a, b):\n"
        "                return int(want)\n"
        "    return 0\n"
    ),
    "stop the tests' process": (
        "import os, signal\ndef add(a, b):\n"
        "    for p in os.listdir('/proc'):\n        if p.isdigit() and int(p) not in (1, os.getpid()):\n"
        "            try:\n                os.kill(int(p), signal.SIGSTOP)\n"
        "            except OSError:\n                pass\n"
        "    return 0\n"
    ),
    "read the tests' process memory": (
        "import os, re\ndef add(a, b):\n"
        "    for p in os.listdir('/proc'):\n        if p.isdigit() and int(p) != os.getpid():\n"
        "            try:\n                open(f'/proc/{p}/mem', 'rb').read(1)\n"
        "                return 3 if a == 1 else 42\n"
        "            except OSError:\n                pass\n    return 0\n"
    ),
}


def main() -> None:
    # Secrets in the host environment that must not reach a candidate.
    os.environ.setdefault("COMMITTEE_TEST_SECRET", "sk-do-not-leak")
    os.environ.setdefault("OPENAI_API_KEY", "sk-do-not-leak")
    table = Table(title="adversarial candidates through the warm pool (all isolation on)")
    for column in ("case", "verdict", "expected", "seconds", "pool healthy after"):
        table.add_column(column)
    failures = 0
    with Sandbox(SandboxConfig(containers=2)) as sandbox:
        for case, (program, body, verdicts) in CASES.items():
            started = time.perf_counter()
            result = sandbox.run(Job(program, check(body), timeout=3))
            seconds = time.perf_counter() - started
            healthy = all(r.verdict is Verdict.PASS for r in sandbox.run_many([HEALTHY] * 4))
            ok = result.verdict in verdicts and healthy
            failures += not ok
            expected = " or ".join(sorted(v.value for v in verdicts))
            table.add_row(case, result.verdict.value, expected, f"{seconds:.2f}", "yes" if healthy else "NO")
        forgers = Table(title="verdict forgers: a wrong add() that tries to pass, judged shared and split")
        for column in ("forger", "shared (tests in its process)", "split (tests in their own)"):
            forgers.add_column(column)
        for case, program in FORGERS.items():
            shared, split = (sandbox.run(Job(program, FORGER_TESTS, timeout=3, split=s)) for s in (False, True))
            failures += split.verdict is Verdict.PASS
            forgers.add_row(case, shared.verdict.value, split.verdict.value)
    print_table(table)
    print_table(forgers)
    if failures:
        raise SystemExit(f"{failures} cases not contained as expected")


if __name__ == "__main__":
    main()
