"""Selection by behavioural agreement (the clustering of AlphaCode and CodeT), for tasks with no tests at all and
for tasks whose tests are too weak to trust alone.

Every candidate runs on the same inputs in the sandbox and reports a digest of its output on each; candidates with
equal digests everywhere behave alike. Inputs are variations of the inputs the task's tests use (a number one
more, a list one shorter: EvalPlus' type-aware mutation) and values drawn from the prompt's signature and type
hints, all with a fixed seed, inside the sandbox (the prompt and the tests are code too), so every candidate sees
the same ones. Where behaviours differ, the inputs that tell them apart are what the strong model is asked about.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sandbox.result import RunResult, Verdict
from solver.prompts import output_prompt
from solver.task import Task

if TYPE_CHECKING:
    from solver.ledger import ModelCall
    from solver.protocols import Model

INPUTS = 24
"""Inputs drawn from the signature and hints."""
FROM_TESTS = 24
"""Variations of the tests' own inputs, at most."""
MARKER = "COMMITTEE-FINGERPRINT"
INPUT_MARKER = "COMMITTEE-INPUT"
MAX_INPUT_CHARS = 300
"""An input longer than this as a call is never shown to a model."""
WEAK_CALLS = 10
"""Tests that call the function on fewer distinct inputs than this are weak. HumanEval's examples make 1 to 7
calls (2 in the median task) and MBPP's asserts 2 to 6 (3 in 368 of 399 tasks), and a program that passes them
fails the hidden tests in about one case in five; a suite written to test the function makes more."""
MAX_TESTS_CHARS = 200_000
QUESTIONS = 2
"""Inputs the strong model is asked about where passing candidates disagree."""
ANSWER_TOKENS = 256
"""A judge's answer: a line of reasoning or two and a value, a fraction of a solution."""


def canonical(x: object) -> str:
    """A text form equal for values tests find equal (``2 == 2.0``) whatever a set's hash seed or a dict's order."""
    if isinstance(x, bool) or x is None:
        return repr(x)
    if isinstance(x, int):
        return "num:" + str(x)
    if isinstance(x, float):
        return "num:" + (str(int(x)) if x.is_integer() and abs(x) < 1e15 else format(x, ".6g"))
    if isinstance(x, (list, tuple)):
        return type(x).__name__ + "[" + ",".join(canonical(i) for i in x) + "]"
    if isinstance(x, (set, frozenset)):
        return "set{" + ",".join(sorted(canonical(i) for i in x)) + "}"
    if isinstance(x, dict):
        return "dict{" + ",".join(sorted(canonical(k) + ":" + canonical(v) for k, v in x.items())) + "}"
    return type(x).__name__ + ":" + repr(x)


def digest(x: object) -> str:
    return hashlib.sha256(canonical(x).encode()).hexdigest()[:12]


_PROBE = '''from solution import {entry_point} as _candidate

import ast as _ast
import copy as _copy
import hashlib as _hashlib
import inspect as _inspect
import random as _random
import signal as _signal
import typing as _typing

_PROMPT = {prompt!r}
_TESTS = {tests!r}
_INPUTS = {inputs}
_FROM_TESTS = {from_tests}
_SHOW_INPUTS = {show_inputs}
_LETTERS = "abcdeABCxyz 019"


# Without a type hint, each input tries one family for every unhinted parameter: the inputs of the wrong type make
# every candidate raise alike, the others tell candidates apart.
_FAMILIES = (int, str, _typing.List[int], float)


def _value(hint, rng, depth=0):
    origin, args = _typing.get_origin(hint), _typing.get_args(hint)
    if hint is bool:
        return rng.random() < 0.5
    if hint is int or hint is _typing.Any or depth > 2:
        return rng.choice([0, 1, 2, 3, -1, 5, 10, rng.randint(-20, 100)])
    if hint is float:
        return rng.choice([0.0, 1.0, 2.5, -1.5, round(rng.uniform(-50, 50), 2)])
    if hint is str:
        return "".join(rng.choice(_LETTERS) for _ in range(rng.choice([0, 1, 3, 5, 8])))
    if origin is _typing.Union:
        return _value(rng.choice(args), rng, depth)
    if origin in (list, set, frozenset):
        items = [_value(args[0] if args else int, rng, depth + 1) for _ in range(rng.choice([0, 1, 2, 4, 6]))]
        return origin(items) if origin is not list else items
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_value(args[0], rng, depth + 1) for _ in range(rng.choice([0, 1, 3])))
        return tuple(_value(a, rng, depth + 1) for a in args)
    if origin is dict:
        key, value = args if args else (str, int)
        return {{_value(key, rng, depth + 1): _value(value, rng, depth + 1) for _ in range(rng.choice([0, 1, 3]))}}
    return rng.choice([0, 1, 2, 3, -1, 5, 10])


def _test_inputs():
    """The positional arguments of every call of the entry point with literal arguments in the tests."""
    found = []
    try:
        tree = _ast.parse(_TESTS)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return found
    for node in _ast.walk(tree):
        if (isinstance(node, _ast.Call) and isinstance(node.func, _ast.Name) and node.func.id == {entry_point!r}
                and node.args and not node.keywords):
            try:
                args = [_ast.literal_eval(a) for a in node.args]
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                continue
            if repr(args) not in map(repr, found):
                found.append(args)
    return found


def _variations(x):
    """Values of the same type near ``x``: where a wrong program and a right one part."""
    if isinstance(x, bool):
        return [not x]
    if isinstance(x, int):
        return [x + 1, x - 1, -x, 0, 2 * x]
    if isinstance(x, float):
        return [x + 0.5, x - 0.5, -x, 0.0]
    if isinstance(x, str):
        return [x[1:], x[:-1], x + x[-1:], x[::-1], x.upper(), x.swapcase(), ""]
    if isinstance(x, (list, tuple)):
        out = [x[1:], x[:-1], x[::-1], x + x[:1], type(x)()]
        out += [x[:i] + type(x)([v]) + x[i + 1 :] for i in range(min(len(x), 3)) for v in _variations(x[i])[:2]]
        return out
    if isinstance(x, dict):
        return [dict(list(x.items())[1:]), {{}}]
    return []


def _mutated(seeds, rng):
    """Each test input with one argument varied, sampled down to _FROM_TESTS in a fixed order."""
    out = [seed[:i] + [v] + seed[i + 1 :] for seed in seeds for i, arg in enumerate(seed) for v in _variations(arg)]
    unique = list({{repr(a): a for a in out}}.values())
    return unique if len(unique) <= _FROM_TESTS else rng.sample(unique, _FROM_TESTS)


{canonical}


class _TooSlow(Exception):
    pass


def _too_slow(signum, frame):
    raise _TooSlow()


def test_probe():
    namespace = {{}}
    exec(compile(_PROMPT, "prompt.py", "exec"), namespace)
    stub = namespace.get({entry_point!r})  # a prompt in prose (MBPP's) has no signature: the tests' inputs only
    try:
        hints = _typing.get_type_hints(stub) if stub else {{}}
    except Exception:
        hints = {{}}
    params = [p for p in _inspect.signature(stub).parameters.values()
              if p.default is _inspect.Parameter.empty] if stub else []
    rng = _random.Random(0)
    seeds = _test_inputs()
    inputs = seeds + _mutated(seeds, rng)
    for n in range(_INPUTS if stub else 0):
        guess = _FAMILIES[n % len(_FAMILIES)]
        inputs.append([_value(hints.get(p.name, guess), rng) for p in params])
    outputs = []
    _signal.signal(_signal.SIGALRM, _too_slow)
    for args in inputs:
        _signal.setitimer(_signal.ITIMER_REAL, 1.0)
        try:
            outputs.append(canonical(_candidate(*_copy.deepcopy(args))))
        except BaseException as e:
            outputs.append("raised " + type(e).__name__)
        finally:
            _signal.setitimer(_signal.ITIMER_REAL, 0)
    digests = ",".join(_hashlib.sha256(o.encode()).hexdigest()[:12] for o in outputs)
    print("\\n{marker}", _hashlib.sha256("\\n".join(outputs).encode()).hexdigest(), digests)
    if _SHOW_INPUTS:
        for n, args in enumerate(inputs):
            print("{input_marker}", n, {entry_point!r} + "(" + ", ".join(map(repr, args)) + ")")
'''


_CANONICAL_SOURCE = inspect.getsource(canonical).replace("{", "{{").replace("}", "}}")
"""The one ``canonical``, as the probe's template embeds it (read from the file once, not for every probe)."""


def distinct_calls(tests: str, entry_point: str) -> int | None:
    """How many distinct calls of ``entry_point`` the tests make (None: too long or not Python, so not counted)."""
    if len(tests) > MAX_TESTS_CHARS:
        return None
    try:
        tree = ast.parse(tests)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    return len(
        {
            ast.dump(node)
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == entry_point
        }
    )


def weak(tests: str, entry_point: str) -> bool:
    """Whether ``tests`` call ``entry_point`` on too few distinct inputs to tell a right program from a wrong one."""
    calls = distinct_calls(tests, entry_point)
    return calls is not None and calls < WEAK_CALLS


def probe_tests(task: Task, inputs: int = INPUTS, *, show_inputs: bool = False) -> str:
    """A test module that always passes and prints the digests of the candidate's outputs (and, with
    ``show_inputs``, the inputs as calls: for a run whose candidate is no model's, see ``input_calls``)."""
    return _PROBE.format(entry_point=task.entry_point, prompt=task.prompt, tests=task.tests, inputs=inputs,
                         from_tests=FROM_TESTS, show_inputs=show_inputs, marker=MARKER, input_marker=INPUT_MARKER,
                         canonical=_CANONICAL_SOURCE)  # fmt: skip


def stub_program(task: Task) -> str:
    """A solution module with no model's code in it, whose probe run says what the inputs are."""
    return f"{task.prompt}\n\ndef {task.entry_point}(*args, **kwargs):\n    raise NotImplementedError\n"


@dataclass(frozen=True)
class Behaviour:
    key: str
    """Equal for candidates whose outputs are equal on every input."""
    outputs: tuple[str, ...]
    """The digest of the output on each input, in order."""


_LINE = re.compile(rf"^{MARKER} ([0-9a-f]{{64}}) ((?:[0-9a-f]{{12}},)*[0-9a-f]{{12}})$", re.MULTILINE)


def behaviour(result: RunResult) -> Behaviour | None:
    """What a probe printed; None when it did not finish (it then agrees with nobody)."""
    if result.verdict is not Verdict.PASS:
        return None
    lines = _LINE.findall(result.stdout)
    return Behaviour(lines[-1][0], tuple(lines[-1][1].split(","))) if lines else None


def input_calls(result: RunResult) -> dict[int, str]:
    """The inputs a stub's probe printed, as calls, those short enough to show a model."""
    calls: dict[int, str] = {}
    for line in result.stdout.splitlines():
        marker, _, rest = line.partition(" ")
        index, _, call = rest.partition(" ")
        if marker == INPUT_MARKER and index.isdigit() and len(call) <= MAX_INPUT_CHARS:
            calls[int(index)] = call
    return calls


def distinguishing(first: Behaviour, second: Behaviour) -> list[int]:
    """The inputs on which two behaviours' outputs differ."""
    return [i for i, (a, b) in enumerate(zip(first.outputs, second.outputs, strict=False)) if a != b]


def literal_answer(text: str) -> object:
    """The Python literal a model answered with: from its last line on, inline code, the line itself, or what
    follows its ``==``, ``->``, "returns" or "is". Raises ValueError when there is none."""
    tried: list[str] = []
    for line in reversed(text.strip()[-2000:].splitlines()):
        line = line.strip()
        if line and not line.startswith("```"):
            tried += re.findall(r"`([^`]+)`", line) + [line]
            tried += [line.rsplit(sep, 1)[1] for sep in ("==", "->", "returns", " is ") if sep in line]
    for candidate in tried:
        try:
            return ast.literal_eval(candidate.strip().rstrip("."))
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue
    raise ValueError("no literal in the answer")


def clusters(behaviours: Sequence[tuple[Behaviour, int]]) -> list[tuple[Behaviour, int]]:
    """(behaviour, votes) summed over equal behaviours, most votes first (the earliest first among equals)."""
    first: dict[str, Behaviour] = {}
    votes: dict[str, int] = {}
    for found, weight in behaviours:
        first.setdefault(found.key, found)
        votes[found.key] = votes.get(found.key, 0) + weight
    return sorted(((first[key], n) for key, n in votes.items()), key=lambda entry: -entry[1])


def questions(ranked: Sequence[tuple[Behaviour, int]], calls: dict[int, str], n: int = QUESTIONS) -> list[int]:
    """The inputs to ask about: where the two largest clusters differ, the shortest calls first."""
    if len(ranked) < 2:
        return []
    differ = [i for i in distinguishing(ranked[0][0], ranked[1][0]) if i in calls]
    return sorted(differ, key=lambda i: (len(calls[i]), i))[:n]


def ask_output(model: Model, task: Task, call: str) -> tuple[str | None, ModelCall]:
    """``model``'s word on what ``call`` returns, as an output digest (None when it named no literal)."""
    (sample,) = model.sample(output_prompt(task, call), 1, greedy=True, max_tokens=ANSWER_TOKENS)
    try:
        return digest(literal_answer(sample.text)), sample.call
    except ValueError:
        return None, sample.call


def matching(ranked: Sequence[tuple[Behaviour, int]], answers: dict[int, str]) -> list[tuple[Behaviour, int]]:
    """The clusters whose output is the judge's answer on every input it answered."""
    return [(b, n) for b, n in ranked if all(i < len(b.outputs) and b.outputs[i] == d for i, d in answers.items())]
