"""The line to a runner: jobs go in chunks, the next chunk sent before the answers to the last, so the runner never
waits for the host. Neither side may block the other however much either writes, and a chunk is answered when it
is done, not when the jobs queued behind it are."""

from __future__ import annotations

import logging

import pytest

from sandbox import Job, Sandbox, SandboxConfig, Verdict

TESTS = "from solution import *\n\ndef test_x():\n    assert x >= 0\n"


def test_large_jobs_and_large_answers_both_ways_never_block(one_container: Sandbox) -> None:
    # Programs of 25 KB (two to a chunk) that print 200 KB to stdout and to stderr: while the host writes the
    # next chunk, the runner writes answers of 130 KB each.
    padding = "# " + "p" * 25_000 + "\n"
    program = padding + "import sys\nx = {n}\nprint('o' * 200_000)\nprint('e' * 200_000, file=sys.stderr)\n"
    jobs = [Job(program.format(n=n), TESTS, timeout=10) for n in range(40)]
    results = one_container.run_many(jobs)
    assert [r.verdict for r in results] == [Verdict.PASS] * 40
    assert all(r.truncated and r.stdout.startswith("o" * 1000) for r in results)


def test_a_chunk_is_answered_before_the_chunk_behind_it_runs(caplog: pytest.LogCaptureFixture) -> None:
    # 32 jobs make one container's batches 16 long, in chunks of 8: the second batch's first chunk is quick (its
    # answers are due 8 x 0.3 s + 0.5 s after it is sent) and reaches the runner together with the next chunk,
    # whose slow job takes 4 s. Held until the runner's input ran dry, the quick answers would be late, and the
    # host would take the container for hung and run them again.
    quick = [Job(f"x = {n}\n", TESTS, timeout=0.3) for n in range(31)]
    slow = Job("import time\ntime.sleep(4)\nx = 1\n", TESTS + "\n# the last in the batch\n", timeout=8)
    with caplog.at_level(logging.INFO, logger="sandbox.pool"), Sandbox(SandboxConfig(containers=1, grace_s=0.5)) as sb:
        results = sb.run_many([*quick, slow])
    assert [r.verdict for r in results] == [Verdict.PASS] * 32
    assert not [r.message for r in caplog.records if "container failed" in r.message]
