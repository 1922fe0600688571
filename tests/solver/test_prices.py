"""Prices: list prices for hosted models (genai-prices' bundled data, no network), stand-ins for the local ones,
the user's over both, local compute by the hour, and an honest "unpriced" for the rest; billed from the usage the
endpoint reports, through the fake OpenAI-compatible server."""

from __future__ import annotations

import pytest

from benchmarks.fake_openai import Reply, fake_openai
from benchmarks.report import shown_fraction, summarise
from solver.ledger import Price, totals
from solver.models import ModelClient, ModelConfig
from solver.prices import pricing

MESSAGES = [{"role": "user", "content": "write add"}]


@pytest.mark.parametrize(
    ("model", "url", "basis", "label"),
    [
        ("gpt-4o-mini", "https://api.openai.com/v1", "list", "openai gpt-4o-mini list price"),
        ("gpt-4.1", "https://api.openai.com/v1", "list", "openai gpt-4.1 list price"),
        ("deepseek-chat", "https://api.deepseek.com/v1", "list", "deepseek deepseek-chat list price"),
        ("meta-llama/Llama-3.3-70B-Instruct-Turbo", "https://api.together.xyz/v1", "list", "together "),
        ("llama-3.1-8b-instant", "https://api.groq.com/openai/v1", "list", "groq llama-3.1-8b-instant"),
        ("codestral-latest", "https://api.mistral.ai/v1", "list", "mistral codestral-latest"),
        ("qwen/qwen-2.5-coder-32b-instruct", "https://openrouter.ai/api/v1", "list", "openrouter qwen/"),
        ("gemini-2.0-flash", "https://generativelanguage.googleapis.com/v1beta/openai/", "list", "google "),
        # behind a URL that does not say (a LiteLLM proxy), a provider/model name does
        ("openai/gpt-4o-mini", "http://proxy.internal:4000/v1", "list", "openai gpt-4o-mini list price"),
        ("gpt-4o-mini", "http://proxy.internal:4000/v1", "unpriced", "unpriced"),
        ("my-finetune", "https://api.openai.com/v1", "unpriced", "unpriced"),
        ("Qwen/Qwen2.5-Coder-32B-Instruct", "https://api.together.xyz/v1", "unpriced", "unpriced"),  # not listed
        ("qwen2.5-coder-0.5b-instruct", "http://127.0.0.1:8001/v1", "stand-in", "stand-in price (local model)"),
        ("qwen2.5-coder-1.5b-instruct", "http://127.0.0.1:8002/v1", "stand-in", "stand-in price (local model)"),
    ],
)
def test_each_model_spec_gets_its_price_and_says_on_what_basis(model: str, url: str, basis: str, label: str) -> None:
    found = pricing(model, url)
    assert (found.basis, found.label.startswith(label)) == (basis, True)
    assert (found.cost(1000, 1000) > 0) == (basis != "unpriced")


def test_the_users_price_wins_and_local_compute_is_priced_by_the_hour() -> None:
    assert pricing("gpt-4o-mini", "https://api.openai.com/v1", {"gpt-4o-mini": Price(1, 2)}).cost(10**6, 0) == 1
    hourly = pricing("qwen2.5-coder-1.5b-instruct", "http://127.0.0.1:8002/v1", local_per_hour=3.6)
    assert (hourly.basis, hourly.cost(10**6, 10**6, seconds=10)) == ("compute", pytest.approx(0.01))
    # a hosted model is never priced as this machine's compute
    assert pricing("gpt-4o-mini", "https://api.openai.com/v1", local_per_hour=3.6).basis == "list"


def test_n_samples_bill_their_prompt_once_and_cached_input_at_its_rate() -> None:
    """gpt-4o-mini: $0.15 per million input tokens, $0.075 cached, $0.60 output. Four samples in one request
    whose 1,000-token prompt was 800 tokens from the provider's cache."""
    reply = Reply(["a", "b", "c", "d"], prompt_tokens=1000, completion_tokens_each=50, cached_prompt_tokens=800)
    with fake_openai(lambda request: reply) as server:
        client = ModelClient(ModelConfig("openai/gpt-4o-mini", server.base_url), "strong")
        samples = client.sample(MESSAGES, 4)
    calls = [s.call for s in samples]
    assert sum(c.tokens_in for c in calls) == 1000 and sum(c.cached_in for c in calls) == 800
    billed = (200 * 0.15 + 800 * 0.075 + 200 * 0.60) / 1e6
    assert totals(calls).cost == pytest.approx(billed)
    assert {c.price_basis for c in calls} == {"list"}


def test_calls_without_a_price_are_flagged_and_every_total_says_it_is_incomplete() -> None:
    with fake_openai(lambda request: Reply(["x"] * request["n"])) as server:
        cheap = ModelClient(ModelConfig("qwen2.5-coder-0.5b-instruct", server.base_url), "cheap")
        strong = ModelClient(ModelConfig("house-model", server.base_url), "strong")
        calls = [s.call for s in cheap.sample(MESSAGES, 2) + strong.sample(MESSAGES, 1)]
    assert [c.price_basis for c in calls] == ["stand-in", "stand-in", "unpriced"]
    assert totals(calls).dollars().endswith(" + 1 unpriced") and totals(calls, tier="cheap").unpriced == 0
    record = {"calls": [{**c.__dict__} for c in calls], "hidden": "PASS", "solved": True, "escalated": True,
              "samples": 2, "verdict": "PASS"}  # fmt: skip
    committee, strong_alone = summarise("committee", [record], 1.0), summarise("strong-alone", [record], 1.0)
    assert committee.dollars.endswith(" + 1 unpriced")
    assert shown_fraction(committee, strong_alone) == "incomplete"
    assert committee.prices == (("cheap", ("stand-in",)), ("strong", ("unpriced",)))
