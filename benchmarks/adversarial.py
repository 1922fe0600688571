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
    print_table(table)
    if failures:
        raise SystemExit(f"{failures} cases not contained as expected")


if __name__ == "__main__":
    main()
