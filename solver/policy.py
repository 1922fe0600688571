"""The committee's decisions, as pure functions over records: which candidate wins, when to stop, when to escalate."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from math import comb

from sandbox.result import RunResult, Verdict
from solver.gate import Gate
from solver.router import Router

DEFAULT_SAMPLES = 10
DEFAULT_BATCH = 5
DEFAULT_FEEDBACK_CANDIDATES = 0


@dataclass(frozen=True)
class CommitteeConfig:
    samples: int = DEFAULT_SAMPLES
    """Most cheap candidates per task (before dropping duplicates)."""
    batch: int = DEFAULT_BATCH
    """Cheap candidates per round where the server samples many in one request; the committee stops after the
    first round with a passing candidate. Servers that sample one at a time get rounds of one."""
    greedy_first: bool = True
    """Make the first cheap round the greedy (temperature 0) answer alone: a small model's best single guess."""
    escalate: bool = True
    """Ask the strong model when no cheap candidate passes."""
    feedback_candidates: int = DEFAULT_FEEDBACK_CANDIDATES
    """Failed cheap candidates (with their test output) shown to the strong model. 0 by default: on 106 HumanEval
    tasks the 1.5B model solved 5 of 12 escalations from the plain prompt and 4 of 12 with two failures as context,
    which cost about 4x the tokens; the plain prompt is also the one a strong-only run has already cached."""
    timeout_s: float = 10.0
    """Sandbox wall-clock limit per candidate."""
    tests_from_prose: bool = True
    """A task with no tests gets the examples its prompt states in words as tests (one greedy cheap call)."""
    repair_rounds: int = 0
    """Rounds in which the best failing cheap candidate goes back to the cheap model with its test output, before
    any escalation (tasks with tests only). Each round is one greedy answer. Off by default: on the 26 of the first
    80 MBPP+ tasks where five 0.5B samples all fail, 2 rounds repaired none (36k more cheap tokens; 44 of the 52
    answers were no new program), while fresh samples at the same tokens solved 1 (`python -m benchmarks.repair`)."""
    repair_history: bool = False
    """Show the cheap model every earlier attempt of the repair chain and its failure, not only the latest."""
    agreement_samples: int = 5
    """A task with no tests at all draws this many cheap samples and takes the behaviour most of them share; with
    no majority it draws this many more, up to ``samples``, then escalates. 0 or 1: take the first that loads."""
    strong_tests: bool = False
    """A task with no tests and no cheap majority asks the strong model for tests (a short answer) before any
    solution: a cheap candidate that passes them all is chosen; otherwise the task escalates."""
    agree_on_pass: bool = False
    """A cheap pass on weak tests (``solver.agreement.weak``) is not final: up to ``agreement_samples`` more cheap
    samples are drawn (within ``samples``), every candidate that passes runs on the same generated inputs, and the
    behaviour most of them share is chosen."""
    strong_judge: bool = False
    """Where those passing candidates disagree, the strong model says what the function returns on up to two inputs
    that tell the two largest behaviours apart (a short answer): the behaviour that matches is chosen; where none
    does, the task escalates."""
    cheap_token_budget: int | None = None
    """Most cheap tokens (prompt and answer) per task: once spent, no more cheap rounds or repairs; the task
    escalates. None: no limit but ``samples``."""
    router: Router | None = None
    """Tasks it predicts the cheap committee will fail go straight to the strong model (no cheap samples)."""
    gate: Gate | None = None
    """Escalations it predicts the strong model fails too, from what the cheap samples showed, are not made: the
    task keeps its best cheap attempt."""


@dataclass(frozen=True)
class Candidate:
    program: str
    tier: str
    sample_index: int
    result: RunResult
    """The verdict on the selection tests."""


class Next(enum.Enum):
    ACCEPT = "accept"
    SAMPLE_MORE = "sample_more"
    ESCALATE = "escalate"
    GIVE_UP = "give_up"
    INFRA = "infra"


def round_sizes(config: CommitteeConfig, *, batched: bool) -> list[int]:
    """Sizes of the cheap sampling rounds. Verifying a candidate costs milliseconds and sampling one costs seconds,
    so rounds are as small as the server allows: one at a time unless it samples a batch in one request."""
    sizes, left = [], config.samples
    if config.greedy_first and left > 0:
        sizes, left = [1], left - 1
    step = config.batch if batched else 1
    while left > 0:
        sizes.append(min(step, left))
        left -= sizes[-1]
    return sizes


def rank(candidate: Candidate) -> tuple[int, float, int, int]:
    """Higher is better: passing, then share of tests passed, then failing over crashing, then earlier."""
    r = candidate.result
    share = r.passed / r.total if r.total else 0.0
    not_crashing = int(r.verdict is Verdict.FAIL)
    return (int(r.verdict is Verdict.PASS), share, not_crashing, -candidate.sample_index)


def select(candidates: Sequence[Candidate]) -> Candidate | None:
    """The best candidate; infra errors say nothing about a candidate, so they never win over a real verdict."""
    judged = [c for c in candidates if c.result.verdict is not Verdict.INFRA_ERROR]
    return max(judged, key=rank) if judged else None


def next_step(candidates: Sequence[Candidate], *, cheap_left: int, can_escalate: bool, config: CommitteeConfig) -> Next:
    """What to do after a round of verification. ``can_escalate``: a strong model exists and was not asked yet."""
    if any(c.result.verdict is Verdict.PASS for c in candidates):
        return Next.ACCEPT
    if any(c.result.verdict is Verdict.INFRA_ERROR for c in candidates):
        return Next.INFRA  # a broken sandbox is never a reason to pay for the strong model
    if cheap_left > 0:
        return Next.SAMPLE_MORE
    if config.escalate and can_escalate:
        return Next.ESCALATE
    return Next.GIVE_UP


def feedback_for_escalation(candidates: Sequence[Candidate], limit: int) -> list[tuple[str, str]]:
    """The most instructive failures: best-ranked first, distinct programs only."""
    failing = [c for c in candidates if c.result.verdict in (Verdict.FAIL, Verdict.ERROR, Verdict.TIMEOUT)]
    failing.sort(key=rank, reverse=True)
    return [(c.program, c.result.feedback or c.result.verdict.value) for c in failing[:limit]]


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples of which c are correct (Chen et al., 2021)."""
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)
