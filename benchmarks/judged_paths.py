"""Which path judges each benchmark's tasks: split (the tests in a process that never loads candidate code) or shared.

    python -m benchmarks.judged_paths [--limit N]

Per benchmark, the committee's choice (``solver.solve.judged_split``: shared only where the entry point is a class),
and what the sandbox did with each task's reference on its selection tests and on its hidden tests: a job asked to
run split falls back to shared where the tests pass the candidate a callback or an object, and says so.
"""

from __future__ import annotations

import argparse
from collections import Counter

from rich.table import Table

from benchmarks.datasets import load_benchmark
from benchmarks.report import print_table
from sandbox import Job, Sandbox, SandboxConfig, Verdict
from solver.solve import judged_split, selection_tests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N tasks of each benchmark")
    args = parser.parse_args()
    table = Table(title="how each benchmark's tasks are judged (their references, on both sets of tests)")
    for column in ("benchmark", "tasks", "committee asks split", "selection: split", "selection: shared",
                   "hidden: split", "hidden: shared", "references failing"):  # fmt: skip
        table.add_column(column, justify="left" if column == "benchmark" else "right")
    with Sandbox(SandboxConfig(containers=2)) as sandbox:
        for name in ("humaneval", "humaneval+", "mbpp+"):
            tasks = load_benchmark(name, limit=args.limit)
            asks = [judged_split(t) for t in tasks]
            tests = {"selection": [selection_tests(t) for t in tasks], "hidden": [t.hidden_tests for t in tasks]}
            results = {kind: sandbox.run_many([Job(t.meta["reference"], text, timeout=120, split=split)
                                               for t, text, split in zip(tasks, texts, asks, strict=True)])
                       for kind, texts in tests.items()}  # fmt: skip
            judged = {kind: Counter(r.judged for r in rs) for kind, rs in results.items()}
            failing = sum(r.verdict is not Verdict.PASS for r in results["hidden"])
            table.add_row(name, str(len(tasks)), str(sum(asks)), str(judged["selection"]["split"]),
                          str(judged["selection"]["shared"]), str(judged["hidden"]["split"]),
                          str(judged["hidden"]["shared"]), str(failing))  # fmt: skip
    print_table(table)


if __name__ == "__main__":
    main()
