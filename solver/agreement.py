"""Selection by behavioural agreement, for tasks with no tests at all (the clustering of AlphaCode and CodeT).

Every candidate runs on the same inputs in the sandbox and reports a fingerprint of its outputs; candidates with
equal fingerprints behave alike. The cluster that most samples fall into (duplicates count: a program sampled
twice is two votes) is the committee's answer. Inputs are drawn from the prompt's own signature and type hints with
a fixed seed, inside the sandbox (the prompt is code too), so every candidate sees the same ones.
"""

from __future__ import annotations

from sandbox.result import RunResult, Verdict
from solver.task import Task

INPUTS = 24
MARKER = "COMMITTEE-FINGERPRINT"

_PROBE = '''from solution import {entry_point} as _candidate

import copy as _copy
import hashlib as _hashlib
import inspect as _inspect
import random as _random
import signal as _signal
import typing as _typing

_PROMPT = {prompt!r}
_INPUTS = {inputs}
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


def _canonical(x):
    """A text form equal for equal values whatever the container's hash seed or a dict's insertion order."""
    if isinstance(x, float):
        return format(x, ".6g")
    if isinstance(x, (list, tuple)):
        return type(x).__name__ + "[" + ",".join(_canonical(i) for i in x) + "]"
    if isinstance(x, (set, frozenset)):
        return "set{{" + ",".join(sorted(_canonical(i) for i in x)) + "}}"
    if isinstance(x, dict):
        return "dict{{" + ",".join(sorted(_canonical(k) + ":" + _canonical(v) for k, v in x.items())) + "}}"
    return type(x).__name__ + ":" + repr(x)


class _TooSlow(Exception):
    pass


def _too_slow(signum, frame):
    raise _TooSlow()


def test_probe():
    namespace = {{}}
    exec(compile(_PROMPT, "prompt.py", "exec"), namespace)
    stub = namespace[{entry_point!r}]
    try:
        hints = _typing.get_type_hints(stub)
    except Exception:
        hints = {{}}
    params = [p for p in _inspect.signature(stub).parameters.values() if p.default is _inspect.Parameter.empty]
    rng = _random.Random(0)
    outputs = []
    _signal.signal(_signal.SIGALRM, _too_slow)
    for n in range(_INPUTS):
        guess = _FAMILIES[n % len(_FAMILIES)]
        args = [_value(hints.get(p.name, guess), rng) for p in params]
        _signal.setitimer(_signal.ITIMER_REAL, 1.0)
        try:
            outputs.append(_canonical(_candidate(*_copy.deepcopy(args))))
        except BaseException as e:
            outputs.append("raised " + type(e).__name__)
        finally:
            _signal.setitimer(_signal.ITIMER_REAL, 0)
    print("\\n{marker}", _hashlib.sha256("\\n".join(outputs).encode()).hexdigest())
'''


def probe_tests(task: Task, inputs: int = INPUTS) -> str:
    """A test module that always passes and prints the fingerprint of the candidate's outputs."""
    return _PROBE.format(entry_point=task.entry_point, prompt=task.prompt, inputs=inputs, marker=MARKER)


def fingerprint(result: RunResult) -> str | None:
    """The fingerprint a probe printed; None when the probe did not finish (it then agrees with nobody)."""
    if result.verdict is not Verdict.PASS:
        return None
    lines = [line for line in result.stdout.splitlines() if line.startswith(MARKER + " ")]
    return lines[-1].split()[1] if lines else None
