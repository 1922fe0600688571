"""HumanEval+ and MBPP+ (EvalPlus) as tasks, read from the copies shipped in ``benchmarks/data/``.

EvalPlus scores a program by calling it on the base and plus inputs and comparing with the reference solution's
outputs. Here that comparison is the hidden test module itself: it runs the reference and the candidate on each
input inside the sandbox, so no task code ever runs on the host and no expected outputs need storing.
Equality follows EvalPlus: exact, or within ``atol`` (rtol 1e-7) where the expected output is made of floats,
plus its special oracles for HumanEval/32 (a root of the polynomial) and MBPP's are_equivalent and sum_div.
Like EvalPlus, each call of the candidate has a time limit relative to the reference's time on that input; so a
candidate that loops forever fails in seconds rather than at the job's timeout. The limit (10x, at least 2 s) is
looser than EvalPlus' (4x, at least 1 s) because the sandbox's CPU quota on a busy machine makes timings noisy.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from solver.task import Task, doctest_tests

DATA_DIR = Path(__file__).resolve().parent / "data"
HUMANEVAL_PLUS = DATA_DIR / "HumanEvalPlus.jsonl.gz"
MBPP_PLUS = DATA_DIR / "MbppPlus.jsonl.gz"

# The special cases EvalPlus makes where the reference output is not the only right one.
_ORACLES = {
    "find_zero": "abs(sum(c * got ** i for i, c in enumerate(args[0]))) <= _ATOL",
    "are_equivalent": "True",  # EvalPlus accepts any answer: the task statement is ambiguous
    "sum_div": "got == expected or got == 0",
    # regex tasks: EvalPlus only asks whether there was a match
    "check_str": "(got is not None) == (expected is not None)",
    "text_match_three": "(got is not None) == (expected is not None)",
    "text_starta_endb": "(got is not None) == (expected is not None)",
}

_HIDDEN_TEMPLATE = """from solution import *
from solution import {entry_point} as _candidate

import copy as _copy
import signal as _signal
import time as _time

inf, nan = float("inf"), float("nan")
_REFERENCE = {reference!r}
_ATOL = {atol!r}
_BASE = {base}
_PLUS = {plus}


def _short(value):
    text = repr(value)
    return text if len(text) <= 300 else text[:300] + "..."


def _floats(x):
    if isinstance(x, float):
        return True
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(i, float) for i in x)


def _close(got, expected, atol):
    if isinstance(expected, (list, tuple)):
        return (
            isinstance(got, (list, tuple))
            and len(got) == len(expected)
            and all(_close(g, e, atol) for g, e in zip(got, expected))
        )
    if isinstance(got, (int, float)) and isinstance(expected, (int, float)):
        return abs(got - expected) <= atol + 1e-7 * abs(expected)
    return got == expected


def _same(got, expected, args):
{oracle}    if got == expected:
        return True
    atol = _ATOL or (1e-6 if _floats(expected) else 0)
    return atol > 0 and type(got) is type(expected) and _close(got, expected, atol)


class _TooSlow(Exception):
    pass


def _too_slow(signum, frame):
    raise _TooSlow("more than 10x the reference's time on one input")


def _call_within(limit, args):
    _signal.signal(_signal.SIGALRM, _too_slow)
    _signal.setitimer(_signal.ITIMER_REAL, limit)
    try:
        return _candidate(*args)
    finally:
        _signal.setitimer(_signal.ITIMER_REAL, 0)


def _check(inputs):
    namespace = {{}}
    exec(compile(_REFERENCE, "reference.py", "exec"), namespace)
    reference = namespace[{entry_point!r}]
    for args in inputs:
        started = _time.perf_counter()
        expected = reference(*_copy.deepcopy(args))
        limit = max(2.0, 10 * (_time.perf_counter() - started))
        got = _call_within(limit, _copy.deepcopy(args))
        assert _same(got, expected, args), (
            "{entry_point}(*%s) returned %s, expected %s" % (_short(args), _short(got), _short(expected))
        )


def test_base_inputs():
    _check(_BASE)


def test_plus_inputs():
    _check(_PLUS)
"""


def hidden_tests(entry_point: str, reference: str, base: list[Any], plus: list[Any], atol: float) -> str:
    """A test module that compares the candidate with the reference solution on EvalPlus' inputs."""
    return _HIDDEN_TEMPLATE.format(
        entry_point=entry_point,
        reference=reference,
        atol=float(atol),
        base=repr(base),
        plus=repr(plus),
        oracle=f"    return {_ORACLES[entry_point]}\n" if entry_point in _ORACLES else "",
    )


def humaneval_plus() -> list[Task]:
    """HumanEval's prompts; selection by the prompt's ``>>>`` examples, scoring on EvalPlus' inputs."""
    return [
        Task(
            id=r["task_id"],
            prompt=r["prompt"],
            entry_point=r["entry_point"],
            tests=doctest_tests(r["prompt"]),
            hidden_tests=hidden_tests(r["entry_point"], reference, r["base_input"], r["plus_input"], r["atol"]),
            meta={"reference": reference},
        )
        for r in _records(HUMANEVAL_PLUS)
        for reference in [r["prompt"] + r["canonical_solution"]]
    ]


# Left out: tasks this sandbox cannot score.
MBPP_LEFT_OUT = {"Mbpp/255": "its reference needs more than the sandbox's 512 MiB on a plus input"}


def mbpp_plus() -> list[Task]:
    """MBPP's statement with its three asserts as the prompt; the asserts select, EvalPlus' inputs score."""
    tasks = []
    for r in _records(MBPP_PLUS):
        if r["task_id"] in MBPP_LEFT_OUT:
            continue
        statement = r["prompt"].strip().strip("'\"").strip()
        asserts = [line for line in r["assertion"].strip().splitlines() if line.strip()]
        prompt = '"""\n' + statement + "\n\n" + "\n".join(asserts) + '\n"""\n'
        header = f"from solution import *\nfrom solution import {r['entry_point']}\nimport math\n\n\n"
        tests = header + "\n\n".join(
            f"def test_assertion_{n}():\n    {line.strip()}\n" for n, line in enumerate(asserts, 1)
        )
        tasks.append(
            Task(
                id=r["task_id"],
                prompt=prompt,
                entry_point=r["entry_point"],
                tests=tests,
                hidden_tests=hidden_tests(
                    r["entry_point"],
                    r["canonical_solution"],
                    mbpp_inputs(r["task_id"], r["base_input"]),
                    mbpp_inputs(r["task_id"], r["plus_input"]),
                    r["atol"],
                ),
                meta={"reference": r["canonical_solution"]},
            )
        )
    return tasks


def _tuples(x: Any) -> Any:
    return tuple(_tuples(i) for i in x) if isinstance(x, list) else x


def _args_tuples(args: list[Any]) -> list[Any]:
    return [tuple(a) for a in args]


def _args_lists_of_tuples(args: list[Any]) -> list[Any]:
    return [[tuple(i) for i in a] for a in args]


# JSON has no tuples, sets or complex numbers: the MBPP+ tasks whose references need them, and how their
# arguments are rebuilt (the task numbers are EvalPlus', from its MBPP+ loader).
_MBPP_ARGS: dict[int, Any] = {
    **dict.fromkeys(
        (2, 116, 132, 143, 222, 261, 273, 394, 399, 421, 424, 429, 470, 560, 579, 596, 616, 630, 726, 740, 744, 809),
        _args_tuples,
    ),  # fmt: skip
    **dict.fromkeys((63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780), _args_lists_of_tuples),
    **dict.fromkeys((75, 413, 444, 753), lambda a: [[tuple(i) for i in a[0]], *a[1:]]),
    **dict.fromkeys((106, 750), lambda a: [a[0], tuple(a[1]), *a[2:]]),
    **dict.fromkeys((250, 307, 405, 446, 617, 720, 763, 808), lambda a: [tuple(a[0]), *a[1:]]),
    **dict.fromkeys((259, 401, 445), lambda a: [tuple(tuple(i) for i in x) for x in a]),
    **dict.fromkeys((580, 615, 791), _tuples),
    115: lambda a: [[set(i) if isinstance(i, list) and i else {} for i in a[0]]],
    124: lambda a: [float(a[0]), complex(a[1])],
    252: lambda a: [complex(a[0])],
    278: lambda a: [tuple(tuple(i) if isinstance(i, list) else i for i in a[0])],
    722: lambda a: [{k: tuple(v) for k, v in a[0].items()}, *a[1:]],
}


def mbpp_inputs(task_id: str, inputs: list[Any]) -> list[Any]:
    rebuild = _MBPP_ARGS.get(int(task_id.rsplit("/", 1)[1]))
    return [rebuild(args) for args in inputs] if rebuild else inputs


def _records(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
