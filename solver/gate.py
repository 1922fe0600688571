"""An escalation gate that decides after sampling: from what the cheap samples showed on a task none of them
solved, predict whether the strong model fails it too, and withhold those escalations (the strong call is the
committee's largest cost, and one the strong model fails buys nothing).

#9's gate on prompt statistics had no signal; this one reads the task's own evidence (``Solution.evidence``): how
many samples, how many distinct programs, how they failed, how far the best got through the tests, whether the
passing ones disagreed and the strong judge named an output none gives. A logistic regression like the router's,
trained on a run's escalations with strong-alone's hidden verdicts as labels, and calibrated to lose none of the
training escalations the strong model solved.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from solver.errors import InputError
from solver.router import logistic_fit, predict, read_model, regression_fields

FEATURES = (
    "log samples",
    "distinct share",
    "failing share",
    "erring share",
    "log tests passed",
    "behaviours",
    "judge matched none",
)


def features(evidence: Mapping[str, float]) -> list[float]:
    samples, distinct = evidence.get("samples", 0.0), max(evidence.get("distinct", 0.0), 1.0)
    return [
        math.log1p(samples),
        distinct / max(samples, 1.0),
        evidence.get("failing", 0.0) / distinct,
        evidence.get("erring", 0.0) / distinct,
        math.log1p(evidence.get("tests passed", 0.0)),
        evidence.get("behaviours", 0.0),
        evidence.get("judge matched none", 0.0),
    ]


@dataclass(frozen=True)
class Gate:
    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    threshold: float
    """Escalations whose predicted probability that the strong model fails is at least this are withheld."""
    trained_on: int
    """Escalations it was trained on."""

    def probabilities(self, evidence: Sequence[Mapping[str, float]]) -> np.ndarray:
        return predict(self, [features(e) for e in evidence])

    def withholds(self, evidence: Mapping[str, float]) -> bool:
        return bool(self.probabilities([evidence])[0] >= self.threshold)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"gate features": FEATURES, **asdict(self)}, indent=2) + "\n")

    @staticmethod
    def load(path: Path) -> Gate:
        def build(data: dict[str, Any]) -> Gate:
            return Gate(**regression_fields(data), threshold=float(data["threshold"]),
                        trained_on=int(data["trained_on"]))  # fmt: skip

        return read_model(path, "gate features", FEATURES, "gate", "committee gate train", build)


def train(evidence: Sequence[Mapping[str, float]], strong_failed: Sequence[bool], *, l2: float = 1.0) -> Gate:
    """Fit on escalations (each one's evidence, and whether the strong model then failed the hidden tests). The
    threshold sits just above the highest probability given to an escalation the strong model solved, so on its
    training data the gate withholds only escalations that bought nothing."""
    if len(evidence) != len(strong_failed) or len(set(strong_failed)) < 2:
        raise InputError("training a gate needs escalations the strong model solved and escalations it failed")
    failed = np.array(strong_failed, dtype=bool)
    fit = logistic_fit(np.array([features(e) for e in evidence]), failed.astype(float), l2=l2)
    threshold = float(np.nextafter(fit.probabilities[~failed].max(), math.inf))
    return Gate(fit.weights, fit.bias, fit.mean, fit.scale, threshold, trained_on=len(failed))


class Escalation(NamedTuple):
    task_id: str
    evidence: Mapping[str, float]
    """What the cheap samples showed before it."""
    strong_failed: bool
    """The strong model's answer (strong-alone's: the same prompt) failed the hidden tests."""


def escalations(
    committee: Mapping[str, Mapping[str, Any]], strong: Mapping[str, Mapping[str, Any]]
) -> list[Escalation]:
    """A gate's rows from two runs' records by task id: every escalation of ``committee`` that ``strong`` answered."""
    return [Escalation(i, r["evidence"], strong[i]["hidden"] != "PASS") for i, r in committee.items()
            if r.get("escalated") and r.get("evidence") and i in strong]  # fmt: skip
