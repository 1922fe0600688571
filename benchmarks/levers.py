"""What the selection levers changed in an ablation run, task by task: a row's records against the row it adds its
lever to (+agreement-on-pass against +repair, +strong-judge against +agreement-on-pass, +gate against +repair).

    python -m benchmarks.levers runs/ID [runs/ID ...]

For each pair: the false positives it removed (the row below chose a program that passed the selection tests and
failed the hidden ones; this row's choice passes the hidden ones) and the right answers it lost (the reverse), sel.
trusted before and after, tasks called unsure, escalations, and what its extra strong calls cost against
strong-alone's. The strong judge's questions are the strong calls of tasks it did not escalate, priced against a
strong solution (strong-alone's mean call). No model or sandbox is used: only the run's records.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.table import Table

from benchmarks.report import print_table
from benchmarks.runner import CHEAP_COMMITTEE, read_records

PAIRS = (
    ("+agreement-on-pass", CHEAP_COMMITTEE),
    ("+strong-judge", "+agreement-on-pass"),
    ("+gate", CHEAP_COMMITTEE),
)
"""(row, the row it adds its lever to)."""

Records = Mapping[str, Mapping[str, Any]]


def trusted(records: Records, ids: Sequence[str]) -> str:
    """Sel. trusted: of the tasks whose choice passed selection tests (given or transcribed), how many pass the
    hidden ones."""
    chosen = [records[i] for i in ids if records[i].get("selection", "given") in ("given", "prose")]
    solved = [r for r in chosen if r["solved"]]
    return f"{sum(r['hidden'] == 'PASS' for r in solved)}/{len(solved)}"


def strong_cost(records: Records, ids: Sequence[str]) -> float:
    return sum(c["cost"] for i in ids for c in records[i]["calls"] if c["tier"] == "strong")


def compare(row: Records, base: Records, strong_alone: Records) -> list[str]:
    """One line of the table: ``row`` against ``base`` on the tasks both (and strong-alone) finished."""
    ids = [i for i in base if i in row and i in strong_alone]
    removed = [i for i in ids if base[i]["solved"] and base[i]["hidden"] != "PASS" and row[i]["hidden"] == "PASS"]
    lost = [i for i in ids if base[i]["hidden"] == "PASS" and row[i]["hidden"] != "PASS"]
    questions = [c for i in ids if not row[i]["escalated"] for c in row[i]["calls"] if c["tier"] == "strong"]
    solution_calls = [c for i in ids for c in strong_alone[i]["calls"]]
    per_solution = sum(c["cost"] for c in solution_calls) / max(len(solution_calls), 1)
    per_question = sum(c["cost"] for c in questions) / len(questions) if questions else 0.0
    extra = strong_cost(row, ids) - strong_cost(base, ids)
    return [
        f"{len(ids)}",
        f"{len(removed)}",
        f"{len(lost)}",
        f"{trusted(base, ids)} -> {trusted(row, ids)}",
        f"{sum(bool(row[i].get('unsure')) and bool(row[i]['solved']) for i in ids)}",
        f"{sum(bool(base[i]['escalated']) for i in ids)} -> {sum(bool(row[i]['escalated']) for i in ids)}",
        f"{len(questions)} at {per_question / per_solution:.0%} of a solution" if questions and per_solution else "-",
        f"{100 * extra / strong_cost(strong_alone, ids):+.1f} pts",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR")
    args = parser.parse_args()
    table = Table(title="what each selection lever changed, against the row it adds to")
    for column in ("run", "row -> against", "tasks", "false passes removed", "right answers lost", "sel. trusted",
                   "unsure", "escalated", "strong questions", "strong cost, % of strong-alone"):  # fmt: skip
        table.add_column(column)
    for run_dir in args.runs:
        strong_alone = read_records(run_dir / "strong-alone.jsonl")
        for name, against in PAIRS:
            row, base = (read_records(run_dir / f"{n}.jsonl") for n in (name, against))
            if row and base and strong_alone:
                table.add_row(run_dir.name, f"{name} -> {against}", *compare(row, base, strong_alone))
    print_table(table)


if __name__ == "__main__":
    main()
