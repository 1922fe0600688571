"""The warm pool gives exactly the verdicts of one fresh container per candidate, on 820 real HumanEval samples
(canonical solutions and recorded CodeGen-16B samples, right and wrong mixed). Slow: about five minutes."""

from __future__ import annotations

from benchmarks.recorded import humaneval_completions
from sandbox import Job, Sandbox, SandboxConfig, Verdict
from solver.task import check_tests


def test_warm_pool_verdicts_equal_fresh_container_verdicts(sandbox: Sandbox) -> None:
    samples = humaneval_completions(820)
    # a generous timeout: a slow sample on a busy machine must not read as a different verdict
    jobs = [Job(s.program, check_tests(s.test, s.entry_point), timeout=10.0, fail_fast=True) for s in samples]
    warm = sandbox.run_many(jobs)
    with Sandbox(SandboxConfig(containers=2, reuse=False)) as cold_sandbox:
        cold = cold_sandbox.run_many(jobs)
    differ = [(s.task_id, w.verdict, c.verdict) for s, w, c in zip(samples, warm, cold, strict=True)
              if (w.verdict, w.passed, w.total) != (c.verdict, c.passed, c.total)]  # fmt: skip
    assert differ == []
    verdicts = {v: sum(r.verdict is v for r in warm) for v in Verdict}
    assert verdicts[Verdict.INFRA_ERROR] == 0
    assert verdicts[Verdict.PASS] >= 164 and verdicts[Verdict.FAIL] > 0  # canonical all pass; recorded mix
