"""The cost ledger: every model call and sandbox run, as records; prices turn usage into dollars."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Price:
    """Dollars per million tokens."""

    input: float
    output: float

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return (tokens_in * self.input + tokens_out * self.output) / 1e6


# Stand-in prices for the local models, with the strong tier at 50x the cheap one per token (the ratio the
# benchmarks are judged under). Hosted models get their provider's list price through --price.
DEFAULT_PRICES: dict[str, Price] = {
    "qwen2.5-coder-0.5b-instruct": Price(input=0.05, output=0.10),
    "qwen2.5-coder-1.5b-instruct": Price(input=2.50, output=5.00),
}
UNKNOWN_PRICE = Price(0.0, 0.0)


@dataclass(frozen=True)
class ModelCall:
    """One answered request to a model (one sample of it, when a request returns many)."""

    tier: str
    model: str
    tokens_in: int
    tokens_out: int
    cost: float
    latency_s: float
    cached: bool
    """Served from the response cache: nothing was paid this time (cost still shows what it cost once)."""
    cut: bool = False
    """The answer stopped at the length limit (its code may be unfinished)."""


@dataclass(frozen=True)
class SandboxRun:
    purpose: str
    """select (the user's tests), or score (hidden tests)."""
    verdict: str
    duration_s: float


@dataclass(frozen=True)
class Totals:
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    calls: int = 0


def totals(calls: Iterable[ModelCall], *, tier: str | None = None) -> Totals:
    """Sum usage (cache hits at the price they once cost), optionally for one tier."""
    t_in = t_out = n = 0
    cost = 0.0
    for call in calls:
        if tier is not None and call.tier != tier:
            continue
        t_in, t_out, cost, n = t_in + call.tokens_in, t_out + call.tokens_out, cost + call.cost, n + 1
    return Totals(t_in, t_out, cost, n)
