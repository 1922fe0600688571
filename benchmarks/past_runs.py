"""Finished runs read back from their run directories, for `committee report`: no model, no sandbox, and the
records are never rewritten (the report writes only its plot).

Each configuration is summarised on the tasks every configuration of its run has finished, so a stopped run's rows
still compare (a cost fraction over different tasks would not mean anything); the title says how many those are.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from benchmarks.fixbench import run as fixbench
from benchmarks.report import ORACLE_ROUTER, Summary, summarise
from benchmarks.runner import oracle_row, read_records, read_timings
from solver.errors import InputError


@dataclass(frozen=True)
class PastRun:
    name: str
    kind: str
    """``tasks`` (committee bench on a function benchmark) or ``fix`` (committee bench fix)."""
    summaries: list[Any]
    """``Summary`` or ``fixbench.FixSummary`` rows, in the run's order."""
    common: int
    """Tasks (or cases) every configuration has finished: what the rows are computed on."""
    finished: dict[str, int]
    """Each configuration's finished tasks, of which ``common`` are counted."""


def read_run(run_dir: Path, only: Sequence[str] | None = None) -> PastRun:
    names = _configurations(run_dir)
    if only:
        if unknown := [n for n in only if n not in names]:
            raise InputError(f"{run_dir}: no configuration {unknown[0]!r}; it has {', '.join(names)}")
        names = [n for n in names if n in only]
    kind = _kind(run_dir / f"{names[0]}.jsonl")
    reader = read_records if kind == "tasks" else fixbench.read_records
    records = {n: reader(run_dir / f"{n}.jsonl", mend=False) for n in names}
    common = [i for i in records[names[0]] if all(i in r for r in records.values())]
    if not common:
        raise InputError(f"{run_dir}: its configurations have no finished task in common; pick some with --configs")
    rows = {n: [records[n][i] for i in common] for n in names}
    finished = {n: len(r) for n, r in records.items()}
    if kind == "fix":
        summaries: list[Any] = [fixbench.summarise(n, rows[n]) for n in names]
    else:
        timings = read_timings(run_dir)
        # a run's wall time covers all the tasks it finished: shown only where those are the ones counted
        summaries = [summarise(n, rows[n], timings.get(n, 0.0) if finished[n] == len(common) else float("nan"))
                     for n in names]  # fmt: skip
        summaries += oracle_row(rows)
    return PastRun(run_dir.name, kind, summaries, len(common), finished)


def read_runs(run_dirs: Sequence[Path], only: Sequence[str] | None = None) -> list[PastRun]:
    runs = [read_run(d, only) for d in run_dirs]
    if len({r.kind for r in runs}) > 1:
        raise InputError("these runs are of different kinds (function tasks and fix cases): report them apart")
    names = [r.name for r in runs]
    if len(set(names)) < len(names):  # two runs/x: their paths tell them apart
        runs = [replace(r, name=str(d)) for r, d in zip(runs, run_dirs, strict=True)]
    return runs


def title(run: PastRun) -> str:
    total, items = max(run.finished.values()), "tasks" if run.kind == "tasks" else "cases"
    counted = f"{run.common} {items}" if run.common == total else f"the {run.common} of {total} {items} all finished"
    return f"{run.name}: {counted}" + (" (a slice)" if run.common < total else "")


def _configurations(run_dir: Path) -> list[str]:
    """The run's configurations in its own order (its report, then its timings), then any other records."""
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: not a run directory (give the directory committee bench wrote, e.g. runs/ID)")
    present = sorted(p.name.removesuffix(".jsonl") for p in run_dir.glob("*.jsonl")
                     if not p.name.endswith(".samples.jsonl"))  # fmt: skip
    if not present:
        raise InputError(f"{run_dir}: no result records (*.jsonl); is it a committee bench run directory?")
    ordered: list[str] = []
    for source in ("report.json", "timings.json"):
        if (path := run_dir / source).exists():
            data = json.loads(path.read_text())
            ordered += [row["config"] for row in data] if isinstance(data, list) else list(data)
    return [n for n in dict.fromkeys(ordered) if n in present] + [n for n in present if n not in ordered]


def _kind(path: Path) -> str:
    with path.open() as f:
        for line in f:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if "case_id" in record:
                return "fix"
            if "task_id" in record:
                return "tasks"
    raise InputError(f"{path}: no finished record in it")


def _points(runs: Sequence[PastRun]) -> list[tuple[str, float, float, bool]]:
    prefix = len(runs) > 1
    return [(f"{r.name}: {s.config}" if prefix else s.config, s.cost,
             100 * (s.pass_at_1 if isinstance(s, Summary) else s.fix_rate), s.config == ORACLE_ROUTER)
            for r in runs for s in r.summaries]  # fmt: skip


def plot_runs(runs: Sequence[PastRun], path: Path) -> None:
    from benchmarks.report import plot_points

    ylabel = "pass@1 on the hidden tests, %" if runs[0].kind == "tasks" else "cases fixed (the whole suite passes), %"
    plot_points(_points(runs), path, title="; ".join(title(r) for r in runs), ylabel=ylabel)
