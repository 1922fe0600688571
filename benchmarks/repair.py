"""Repair rounds against fresh samples at the same tokens, on the tasks where every cheap sample fails.

    python -m benchmarks.repair mbpp+ [--limit 40] [--tasks ...] [--samples 5] [--rounds 2] [--cheap SPEC]

First the cheap committee without repair or escalation (``--samples`` answers, the first greedy) on every task:
the same calls as `committee bench --samples N --ablate` makes, so its response cache answers them. On the tasks
where no sample passes the given tests, three arms then spend more cheap inference:

- latest: ``--rounds`` repair rounds, each showing the model only its latest attempt and that attempt's test output
  (what `--repair N` does);
- history: the same rounds, each showing the whole chain of attempts and failures (`--repair-history`);
- fresh: more fresh samples, until the task has spent as many cheap tokens as the latest arm spent on it.

Each arm stops at its first answer that passes the given tests. Prints, per arm, the tasks whose answer then passes
the given tests and the hidden ones, and the cheap tokens and calls spent beyond the first samples; every record
goes to ``RUN_DIR/ARM.jsonl``. A task with an infra error is counted in its column: rerun (the cache answers what
was asked) rather than read it as a failure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.table import Table

from benchmarks.datasets import BENCHMARKS, load_benchmark
from benchmarks.report import print_table
from sandbox import SandboxConfig
from solver.committee import DEFAULT_CACHE_DIR, Committee
from solver.endpoints import DEFAULT_CHEAP, open_model, probe_endpoint
from solver.errors import InputError
from solver.policy import CommitteeConfig
from solver.task import Task

FRESH_MAX = 50
"""Most extra fresh samples per task: far more than any repair budget buys; the token budget stops it first."""


def cheap_tokens(record: dict[str, Any]) -> int:
    return sum(c["tokens_in"] + c["tokens_out"] for c in record["calls"] if c["tier"] == "cheap")


def cheap_calls(record: dict[str, Any]) -> int:
    return sum(c["tier"] == "cheap" for c in record["calls"])


def run_arms(
    committee: Committee, tasks: Sequence[Task], *, samples: int, rounds: int
) -> dict[str, list[dict[str, Any]]]:
    """Records per arm on the tasks every first sample fails, "samples" being those first samples."""

    def solve(
        arm: str, chosen: Sequence[Task], config: CommitteeConfig | Callable[[Task], CommitteeConfig]
    ) -> dict[str, Any]:
        records = {}
        for solution in committee.solve_many(chosen, score=True, config=config):
            records[solution.task_id] = solution.record()
            passed = sum(r["hidden"] == "PASS" for r in records.values())
            print(f"{arm}: {len(records)}/{len(chosen)} tasks, {passed} pass", file=sys.stderr, flush=True)
        return records

    # one sample per round, so the fresh arm stops within one sample of its budget
    first = CommitteeConfig(samples=samples, batch=1, escalate=False, tests_from_prose=False, agreement_samples=0)
    base = solve("samples", tasks, first)
    failing = [t for t in tasks if base[t.id]["verdict"] in ("FAIL", "ERROR", "TIMEOUT")]
    latest = solve("latest", failing, replace(first, repair_rounds=rounds))
    history = solve("history", failing, replace(first, repair_rounds=rounds, repair_history=True))
    budget = {t.id: cheap_tokens(latest[t.id]) for t in failing}

    def fresh_config(task: Task) -> CommitteeConfig:
        return replace(first, samples=samples + FRESH_MAX, cheap_token_budget=budget[task.id])

    fresh = solve("fresh", failing, fresh_config)
    arms = {"samples": base, "latest": latest, "history": history, "fresh": fresh}
    return {name: [records[t.id] for t in failing] for name, records in arms.items()}


def arms_table(arms: dict[str, list[dict[str, Any]]], *, title: str) -> Table:
    first = {r["task_id"]: r for r in arms["samples"]}
    t = Table(title=title)
    for column in ("arm", "tasks", "pass given tests", "pass hidden", "extra cheap tokens", "extra cheap calls",
                   "extra tokens/task", "infra errors"):  # fmt: skip
        t.add_column(column, justify="left" if column == "arm" else "right")
    for name, records in arms.items():
        extra = sum(cheap_tokens(r) - cheap_tokens(first[r["task_id"]]) for r in records)
        calls = sum(cheap_calls(r) - cheap_calls(first[r["task_id"]]) for r in records)
        t.add_row(name, str(len(records)), str(sum(r["solved"] for r in records)),
                  str(sum(r["hidden"] == "PASS" for r in records)), f"{extra:,}", str(calls),
                  f"{extra / len(records):,.0f}" if records else "-",
                  str(sum("INFRA_ERROR" in (r["verdict"], r["hidden"]) for r in records)))  # fmt: skip
    return t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("benchmark", choices=BENCHMARKS)
    parser.add_argument("--limit", type=int, default=None, help="First N tasks only.")
    parser.add_argument("--tasks", default=None, help="Comma-separated task ids.")
    parser.add_argument("--samples", type=int, default=5, help="First cheap answers per task (default 5).")
    parser.add_argument("--rounds", type=int, default=2, help="Repair rounds (default 2).")
    parser.add_argument("--cheap", default=DEFAULT_CHEAP, help=f"Cheap model (default {DEFAULT_CHEAP}).")
    parser.add_argument("--run-dir", type=Path, default=None, help="Where the records go (default runs/repair-NAME).")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE_DIR, help="Response cache.")
    parser.add_argument("--parallel", type=int, default=4, help="Tasks in flight (default 4).")
    args = parser.parse_args()
    if args.samples < 1 or args.rounds < 1:
        parser.error("--samples and --rounds must be at least 1")
    try:
        tasks = load_benchmark(args.benchmark, limit=args.limit, ids=args.tasks.split(",") if args.tasks else None)
    except InputError as e:
        parser.error(str(e))
    run_dir = args.run_dir or Path("runs") / f"repair-{args.benchmark}"
    run_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        cheap = open_model(args.cheap, stack, log_dir=run_dir)
        probe_endpoint(cheap, "cheap")
        committee = stack.enter_context(Committee(cheap=cheap, sandbox=SandboxConfig(containers=2),
                                                  cache_dir=args.cache, max_in_flight=args.parallel))  # fmt: skip
        arms = run_arms(committee, tasks, samples=args.samples, rounds=args.rounds)
    for name, records in arms.items():
        (run_dir / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    print_table(arms_table(arms, title=f"{args.benchmark}: the {len(arms['samples'])} of {len(tasks)} tasks where "
                                       f"{args.samples} cheap samples fail the given tests; {args.rounds} repair "
                                       "rounds against fresh samples at the latest arm's tokens"))  # fmt: skip


if __name__ == "__main__":
    main()
