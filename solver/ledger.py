"""The cost ledger: every model call and sandbox run, as records; prices (``solver.prices``) turn usage into
dollars."""

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
    price_basis: str = ""
    """What ``cost`` rests on (``solver.prices``): price (the user's), list, stand-in, compute, or unpriced (no
    price is known: ``cost`` is 0 and every total that counts this call is incomplete); "" in older records."""
    cached_in: int = 0
    """Prompt tokens the provider served from its own cache (billed at its cached-input rate)."""


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
    unpriced: int = 0
    """Calls of a model with no known price: ``cost`` leaves them out."""

    def dollars(self, digits: int = 6) -> str:
        return dollars(self.cost, self.unpriced, digits)


def dollars(cost: float, unpriced: int, digits: int = 6) -> str:
    """A cost as a table shows it: "0.001234", or "0.001234 + 3 unpriced" when calls without a price are left out."""
    return f"{cost:.{digits}f}" + (f" + {unpriced} unpriced" if unpriced else "")


def totals(calls: Iterable[ModelCall], *, tier: str | None = None) -> Totals:
    """Sum usage (cache hits at the price they once cost), optionally for one tier."""
    t_in = t_out = n = unpriced = 0
    cost = 0.0
    for call in calls:
        if tier is not None and call.tier != tier:
            continue
        t_in, t_out, cost, n = t_in + call.tokens_in, t_out + call.tokens_out, cost + call.cost, n + 1
        unpriced += call.price_basis == "unpriced"
    return Totals(t_in, t_out, cost, n, unpriced)
