"""What a model's calls cost, and on what basis: never a silent $0.

- ``--price MODEL=IN,OUT`` (or a ModelConfig's own price) wins: the user's figure.
- Hosted models get their provider's list price from genai-prices (the Pydantic team's price database, with
  cached-input prices and price changes over time), the provider taken from the endpoint's URL (api.openai.com,
  api.deepseek.com, api.together.xyz, ...) or, behind a URL that does not say, from a ``provider/model`` name.
- The local models get stand-in prices (the strong tier 50x the cheap one per token, the ratio the benchmarks are
  judged under), labelled as such; or, with a rate in $ per GPU-hour, the wall time their calls took.
- Anything else is unpriced: its calls cost nothing in the totals, which then say they are incomplete.

Billing follows the usage the endpoint reports: a request for n samples reports its prompt once (OpenAI and
vLLM bill it once), and prompt tokens the provider served from its cache are priced at its cached-input rate.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from urllib.parse import urlsplit

from solver.ledger import Price

# Stand-in prices for the local models ($ per million tokens).
STAND_IN_PRICES: dict[str, Price] = {
    "qwen2.5-coder-0.5b-instruct": Price(input=0.05, output=0.10),
    "qwen2.5-coder-1.5b-instruct": Price(input=2.50, output=5.00),
}


@dataclass(frozen=True)
class Pricing:
    """How one model's calls become dollars."""

    basis: str
    """``price`` (the user's), ``list`` (the provider's list price), ``stand-in``, ``compute`` or ``unpriced``."""
    label: str
    """The basis in words, for reports: "openai gpt-4o-mini list price", "stand-in price", "unpriced"."""
    per_token: Price | None = None
    provider: str = ""
    model_ref: str = ""
    per_hour: float = 0.0
    """$ per hour of the model server's wall time (``compute``)."""

    @property
    def priced(self) -> bool:
        return self.basis != "unpriced"

    def cost(self, tokens_in: int, tokens_out: int, *, cached_in: int = 0, seconds: float = 0.0) -> float:
        """The dollars of one request; 0 when unpriced (the call says so)."""
        if self.per_token is not None:
            return self.per_token.cost(tokens_in, tokens_out)
        if self.basis == "compute":
            return seconds * self.per_hour / 3600
        if self.basis == "list":
            return float(_list_price(self.provider, self.model_ref, tokens_in, tokens_out, cached_in))
        return 0.0


UNPRICED = Pricing("unpriced", "unpriced")


def pricing(model: str, base_url: str, overrides: dict[str, Price] | None = None, *, own: Price | None = None,
            local_per_hour: float | None = None) -> Pricing:  # fmt: skip
    """The pricing of ``model`` served at ``base_url``: ``own`` or an override by name first, then the local
    stand-ins (or ``local_per_hour`` for a server on this machine), then the list price, else unpriced."""
    if own is not None:
        return Pricing("price", "your price", per_token=own)
    if overrides and model in overrides:
        return Pricing("price", "your price (--price)", per_token=overrides[model])
    if local_per_hour is not None and _on_this_machine(base_url):
        return Pricing("compute", f"local compute at ${local_per_hour:g}/hour", per_hour=local_per_hour)
    if model in STAND_IN_PRICES:
        return Pricing("stand-in", "stand-in price (local model)", per_token=STAND_IN_PRICES[model])
    found = list_price(model, base_url)
    return found if found is not None else UNPRICED


def list_price(model: str, base_url: str) -> Pricing | None:
    """The provider's list price, where genai-prices knows the provider (from the URL, or a ``provider/model``
    name behind a URL that does not say) and the model."""
    provider = _provider_from_url(base_url)
    ref = model
    if provider is None:
        head, slash, rest = model.partition("/")
        if slash and head.lower() in _provider_ids():
            provider, ref = head.lower(), rest
    if provider is None:
        return None
    try:
        _list_price(provider, ref, 1_000_000, 1_000_000, 0)
    except LookupError:
        return None
    return Pricing("list", f"{provider} {ref} list price", provider=provider, model_ref=ref)


def _on_this_machine(base_url: str) -> bool:
    host = urlsplit(base_url).hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@cache
def _providers() -> list[tuple[str, str]]:
    """(provider id, its API URL pattern) of every provider genai-prices knows."""
    from genai_prices import data_snapshot

    return [(p.id, p.api_pattern) for p in data_snapshot.get_snapshot().providers]


def _provider_ids() -> set[str]:
    return {pid for pid, _ in _providers()}


def _provider_from_url(base_url: str) -> str | None:
    return next((pid for pid, pattern in _providers() if re.match(pattern, base_url)), None)


def _list_price(provider: str, model_ref: str, tokens_in: int, tokens_out: int, cached_in: int) -> Decimal:
    from genai_prices import Usage, calc_price

    usage = Usage(input_tokens=tokens_in, output_tokens=tokens_out, cache_read_tokens=cached_in or None)
    return calc_price(usage, model_ref, provider_id=provider).total_price
