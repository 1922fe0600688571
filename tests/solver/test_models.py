"""The model client against a fake OpenAI-compatible server: the real SDK path, real sockets."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from benchmarks.fake_openai import Reply, fake_openai
from solver.errors import ContextTooLong, EndpointError, InputError
from solver.ledger import Price
from solver.models import ModelClient, ModelConfig, ResponseCache

MESSAGES = [{"role": "user", "content": "write add"}]


def config(url: str, **kw: Any) -> ModelConfig:
    # A generous timeout: on a loaded 2-core machine a slow answer must not turn into a retried request.
    return ModelConfig(model="m", base_url=url, price=Price(1.0, 2.0), max_retries=2, timeout_s=60, **kw)


def test_n_samples_in_one_request_with_usage_and_cost() -> None:
    with fake_openai(lambda req: Reply([f"s{i}" for i in range(req["n"])])) as server:
        samples = ModelClient(config(server.base_url), "cheap").sample(MESSAGES, 4)
    assert [s.text for s in samples] == ["s0", "s1", "s2", "s3"]
    assert len(server.requests) == 1 and server.requests[0]["n"] == 4
    total_cost = sum(s.call.cost for s in samples)
    assert total_cost == pytest.approx((100 * 1.0 + 200 * 2.0) / 1e6)
    assert all(s.call.tier == "cheap" and not s.call.cached for s in samples)


def test_server_without_n_gets_one_request_per_sample() -> None:
    counter = itertools.count()
    with fake_openai(lambda req: Reply([f"s{next(counter)}"])) as server:
        client = ModelClient(config(server.base_url), "cheap")
        samples = client.sample(MESSAGES, 3)
    assert [s.text for s in samples] == ["s0", "s1", "s2"]
    assert [r["n"] for r in server.requests] == [3, 1, 1]
    assert client.config.supports_n is False


def test_greedy_asks_temperature_zero() -> None:
    with fake_openai(lambda req: Reply(["x"])) as server:
        ModelClient(config(server.base_url), "cheap").sample(MESSAGES, 1, greedy=True)
    assert server.requests[0]["temperature"] == 0.0


def test_an_answer_cut_at_its_length_limit_says_so_and_the_limit_can_be_raised_per_call(tmp_path: Path) -> None:
    with fake_openai(lambda req: Reply(["def f(x):\n    return ("], finish_reason="length")) as server:
        cache = ResponseCache(tmp_path)
        (cut,) = ModelClient(config(server.base_url), "cheap", cache=cache).sample(MESSAGES, 1, max_tokens=2048)
        (again,) = ModelClient(config(server.base_url), "cheap", cache=cache).sample(MESSAGES, 1, max_tokens=2048)
        ModelClient(config(server.base_url), "cheap", cache=cache).sample(MESSAGES, 1)
    assert cut.call.cut and again.call.cut and again.call.cached
    assert [r["max_tokens"] for r in server.requests] == [2048, 768]  # another limit is another answer


def test_retries_server_errors_then_succeeds() -> None:
    statuses = iter([500, 503, 200])
    with fake_openai(lambda req: Reply(["ok"], status=next(statuses), headers={"retry-after": "0"})) as server:
        (sample,) = ModelClient(config(server.base_url), "cheap").sample(MESSAGES, 1)
    assert sample.text == "ok" and len(server.requests) == 3


def test_rate_limit_with_retry_after_is_retried() -> None:
    statuses = iter([429, 200])
    with fake_openai(lambda req: Reply(["ok"], status=next(statuses), headers={"retry-after": "0.1"})) as server:
        (sample,) = ModelClient(config(server.base_url), "cheap").sample(MESSAGES, 1)
    assert sample.text == "ok" and len(server.requests) == 2


def test_persistent_failure_is_an_endpoint_error() -> None:
    failing = fake_openai(lambda req: Reply(status=500, headers={"retry-after": "0"}))
    with failing as server, pytest.raises(EndpointError, match="failed after 2 retries"):
        ModelClient(config(server.base_url), "cheap").sample(MESSAGES, 1)
    assert len(server.requests) == 3


def test_timeout_is_an_endpoint_error() -> None:
    with fake_openai(lambda req: Reply(["late"], delay_s=1.5)) as server:
        slow = ModelConfig(model="m", base_url=server.base_url, timeout_s=0.3, max_retries=0)
        with pytest.raises(EndpointError):
            ModelClient(slow, "cheap").sample(MESSAGES, 1)


def test_unreachable_endpoint_is_an_endpoint_error() -> None:
    dead = ModelConfig(model="m", base_url="http://127.0.0.1:9/v1", max_retries=0, timeout_s=2)
    with pytest.raises(EndpointError, match="127.0.0.1:9"):
        ModelClient(dead, "cheap").sample(MESSAGES, 1)


def test_cache_never_pays_twice(tmp_path: Path) -> None:
    counter = itertools.count()
    with fake_openai(lambda req: Reply([f"s{next(counter)}" for _ in range(req["n"])])) as server:
        cache = ResponseCache(tmp_path)
        first = ModelClient(config(server.base_url), "cheap", cache=cache).sample(MESSAGES, 3)
        again = ModelClient(config(server.base_url), "cheap", cache=cache).sample(MESSAGES, 3)
        more = ModelClient(config(server.base_url), "cheap", cache=cache).sample(MESSAGES, 2, start=3)
    assert [s.text for s in again] == [s.text for s in first]
    assert all(s.call.cached for s in again) and not any(s.call.cached for s in more)
    assert [r["n"] for r in server.requests] == [3, 2]  # the rerun asked nothing; new indices only


def test_missing_api_key_is_an_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    with pytest.raises(InputError, match="NO_SUCH_KEY_VAR"):
        ModelConfig(model="m", base_url="http://127.0.0.1:9/v1", api_key_env="NO_SUCH_KEY_VAR").api_key()


def test_empty_choices_is_an_endpoint_error() -> None:
    with fake_openai(lambda req: Reply([])) as server, pytest.raises(EndpointError, match="no choices"):
        ModelClient(config(server.base_url), "cheap").sample(MESSAGES, 1)


@pytest.mark.parametrize(
    "message",
    [
        "Requested tokens (5121) exceed context window of 4096",  # llama.cpp (llama-cpp-python's server)
        "This model's maximum context length is 4096 tokens. However, you requested 5121 tokens.",  # vLLM, OpenAI
    ],
)
def test_a_prompt_longer_than_the_context_is_said_so_once_and_never_retried(message: str) -> None:
    with (
        fake_openai(lambda req: Reply(status=400, error=message)) as server,
        pytest.raises(ContextTooLong, match="does not fit the cheap model m") as error,
    ):
        ModelClient(config(server.base_url), "cheap").sample(MESSAGES, 1)
    assert len(server.requests) == 1
    assert "retries" not in str(error.value) and "longer context" in str(error.value)


def test_another_bad_request_is_one_line_without_retries() -> None:
    with (
        fake_openai(lambda req: Reply(status=400, error="unknown parameter: n")) as server,
        pytest.raises(EndpointError, match="refused the request: .*unknown parameter: n") as error,
    ):
        ModelClient(config(server.base_url), "cheap").sample(MESSAGES, 1)
    assert len(server.requests) == 1 and not isinstance(error.value, ContextTooLong)
