"""A pre-generation difficulty router (after RouteLLM): from the prompt alone, predict whether the cheap committee
will fail, and send those tasks straight to the strong model so no cheap samples are spent on them.

The model is a logistic regression over text statistics, trained on run logs (which tasks the cheap committee
solved, judged by hidden tests) and calibrated, as RouteLLM does, to route a target share of tasks to the strong
model. It is a few dozen numbers in a JSON file; training and prediction need only numpy.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from solver.errors import InputError
from solver.task import Task

M = TypeVar("M")

FEATURES = (
    "log chars",
    "log words",
    "log examples",
    "has tests",
    "parameters",
    "type hints",
    "digit share",
    "log longest line",
    "code lines share",
)


def features(task: Task) -> list[float]:
    """Statistics of what the solver is given (the prompt and whether it comes with tests), never the answer."""
    prompt = task.prompt
    lines = [line for line in prompt.splitlines() if line.strip()]
    examples = prompt.count(">>>") + len(re.findall(r"^\s*assert\b", prompt, re.MULTILINE))
    signature = _signature(prompt, task.entry_point)
    code = sum(bool(re.match(r"\s*(def |class |import |from |return |>>>|assert )", line)) for line in lines)
    return [
        math.log1p(len(prompt)),
        math.log1p(len(re.findall(r"[A-Za-z]+", prompt))),
        math.log1p(examples),
        float(bool(task.tests.strip())),
        float(len(signature.args.args)) if signature else 0.0,
        float(_typed(signature)),
        sum(c.isdigit() for c in prompt) / max(len(prompt), 1),
        math.log1p(max((len(line) for line in lines), default=0)),
        code / max(len(lines), 1),
    ]


def _typed(signature: ast.FunctionDef | None) -> bool:
    return signature is not None and (signature.returns is not None or any(a.annotation for a in signature.args.args))


def _signature(prompt: str, name: str) -> ast.FunctionDef | None:
    """The entry point's ``def`` in the prompt, if the prompt has one (MBPP's prompts do not)."""
    lines = prompt.splitlines()
    start = next((i for i, line in enumerate(lines) if re.match(rf"\s*def {re.escape(name)}\(", line)), None)
    if start is None:
        return None
    for end in range(start, min(start + 20, len(lines))):  # a signature spread over a few lines ends with ":"
        if lines[end].rstrip().endswith(":"):
            try:
                node = ast.parse("\n".join(line.strip() for line in lines[start : end + 1]) + "\n    pass\n").body[0]
            except SyntaxError:
                continue
            return node if isinstance(node, ast.FunctionDef) else None
    return None


def cheap_failed(record: Mapping[str, Any]) -> bool:
    """The label, from one line of results: the cheap committee's choice did not pass the hidden tests (in a
    benchmark run) or, with none, the task's own tests."""
    passed = record["hidden"] == "PASS" if record.get("hidden") else record.get("verdict") == "PASS"
    return not (record.get("tier") == "cheap" and passed)


@dataclass(frozen=True)
class Router:
    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    threshold: float
    """Tasks whose predicted failure probability is at least this go straight to the strong model."""
    strong_share: float
    """The share of training tasks the threshold routes to the strong model."""
    trained_on: int

    def failure_probability(self, task: Task) -> float:
        return float(self.probabilities([task])[0])

    def probabilities(self, tasks: Sequence[Task]) -> np.ndarray:
        return predict(self, [features(t) for t in tasks])

    def routes_to_strong(self, task: Task) -> bool:
        return self.failure_probability(task) >= self.threshold

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"features": FEATURES, **asdict(self)}, indent=2) + "\n")

    @staticmethod
    def load(path: Path) -> Router:
        def build(data: dict[str, Any]) -> Router:
            return Router(**regression_fields(data), threshold=float(data["threshold"]),
                          strong_share=float(data["strong_share"]), trained_on=int(data["trained_on"]))  # fmt: skip

        return read_model(path, "features", FEATURES, "router", "committee router train", build)


class Regression(Protocol):
    """A fitted logistic regression as the router and the gate keep it."""

    @property
    def weights(self) -> tuple[float, ...]: ...
    @property
    def bias(self) -> float: ...
    @property
    def mean(self) -> tuple[float, ...]: ...
    @property
    def scale(self) -> tuple[float, ...]: ...


def predict(model: Regression, rows: Sequence[Sequence[float]]) -> np.ndarray:
    """The probabilities ``model`` gives rows of raw (unstandardised) features."""
    x = (np.array(rows) - model.mean) / model.scale
    return sigmoid(x @ np.array(model.weights) + model.bias)


def regression_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """A saved regression's weights, bias, mean and scale, as numbers."""
    return {"weights": tuple(map(float, data["weights"])), "bias": float(data["bias"]),
            "mean": tuple(map(float, data["mean"])), "scale": tuple(map(float, data["scale"]))}  # fmt: skip


def read_model(path: Path, key: str, features: tuple[str, ...], kind: str, command: str,
               build: Callable[[dict[str, Any]], M]) -> M:  # fmt: skip
    """A saved router or gate: its features must be ``features`` (under ``key``), and anything unreadable is one
    line that says to make one again with ``command``."""
    try:
        data = json.loads(path.read_text())
        if tuple(data.pop(key)) != features:
            raise InputError(f"{path}: a {kind} trained on other features; train it again ({command})")
        return build(data)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"{path}: not a {kind} file ({type(e).__name__}: {e}); make one with {command}") from e


def train(tasks: Sequence[Task], failed: Sequence[bool], *, strong_share: float, l2: float = 1.0) -> Router:
    """Fit the logistic regression and calibrate its threshold to ``strong_share`` of the training tasks."""
    if len(tasks) != len(failed) or len(set(failed)) < 2:
        raise InputError("training a router needs tasks the cheap committee solved and tasks it failed")
    fit = logistic_fit(np.array([features(t) for t in tasks]), np.array(failed, dtype=float), l2=l2)
    router = Router(fit.weights, fit.bias, fit.mean, fit.scale, threshold=1.0, strong_share=0.0,
                    trained_on=len(tasks))  # fmt: skip
    return _calibrated(router, fit.probabilities, strong_share)


@dataclass(frozen=True)
class Fit:
    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    probabilities: np.ndarray
    """On the training rows."""


def logistic_fit(raw: np.ndarray, y: np.ndarray, *, l2: float = 1.0) -> Fit:
    """A logistic regression on standardised features, by full-batch gradient descent, with L2 against overfitting
    the few hundred rows a benchmark gives."""
    mean, scale = raw.mean(axis=0), raw.std(axis=0)
    scale[scale == 0] = 1.0
    x = (raw - mean) / scale
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(3000):
        error = sigmoid(x @ w + b) - y
        w -= 0.1 * (x.T @ error / len(y) + l2 * w / len(y))
        b -= 0.1 * float(error.mean())
    return Fit(_floats(w), b, _floats(mean), _floats(scale), sigmoid(x @ w + b))


def _calibrated(router: Router, probabilities: np.ndarray, share: float) -> Router:
    if not 0.0 <= share <= 1.0:
        raise InputError(f"a share of strong calls must be between 0 and 1, not {share}")
    threshold = float(np.quantile(probabilities, 1.0 - share)) if share > 0 else math.inf
    routed = float(np.mean(probabilities >= threshold))
    return Router(router.weights, router.bias, router.mean, router.scale, threshold, routed, router.trained_on)


def _floats(values: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))
