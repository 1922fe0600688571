"""Model specs on the command line, turned into endpoints: a local llama.cpp or vLLM server, OpenAI, or any URL."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, replace
from pathlib import Path

import openai

from solver.errors import InputError
from solver.ledger import Price
from solver.local import llama_server
from solver.local_vllm import vllm_server
from solver.models import ModelClient, ModelConfig

DEFAULT_CHEAP = "local:qwen2.5-coder-0.5b-instruct"
DEFAULT_STRONG = "local:qwen2.5-coder-1.5b-instruct"
OPENAI_BASE_URL = "https://api.openai.com/v1"
SPEC_FORMS = "local:NAME|PATH.gguf, vllm:NAME|PATH, openai:MODEL, or MODEL@http://HOST:PORT/v1[?key=ENV_VAR]"


@dataclass(frozen=True)
class LocalModel:
    """A model to serve on this machine for the run."""

    engine: str
    """``llama.cpp`` or ``vllm``."""
    model: str
    """A known model name or a path."""


def parse_spec(spec: str) -> ModelConfig | LocalModel:
    """A remote endpoint's config, or the local model to serve."""
    for prefix, engine in (("local:", "llama.cpp"), ("vllm:", "vllm")):
        if spec.startswith(prefix) and spec[len(prefix) :]:
            return LocalModel(engine, spec[len(prefix) :])
    if spec.startswith("openai:") and spec[7:]:
        return ModelConfig(model=spec[7:], base_url=OPENAI_BASE_URL, api_key_env="OPENAI_API_KEY")
    model, at, rest = spec.partition("@")
    url, _, key_env = rest.partition("?key=")
    if at and model and url.startswith(("http://", "https://")):
        return ModelConfig(model=model, base_url=url.rstrip("/"), api_key_env=key_env or None)
    raise InputError(f"model {spec!r} not understood: use {SPEC_FORMS}")


def validate_spec(spec: str) -> None:
    """Raise InputError for a spec that cannot work: unparseable, or a remote endpoint whose key is missing."""
    parsed = parse_spec(spec)
    if isinstance(parsed, ModelConfig):
        parsed.api_key()  # a missing key is an input error now, not a failure an hour into a run


def open_model(spec: str, stack: contextlib.ExitStack, *, log_dir: Path | None = None) -> ModelConfig:
    """The endpoint for ``spec``, starting a local server (stopped with ``stack``) when it names a local model; its
    log goes to ``log_dir`` (default: the logs folder beside the models)."""
    validate_spec(spec)
    parsed = parse_spec(spec)
    if isinstance(parsed, ModelConfig):
        return parsed
    server = vllm_server if parsed.engine == "vllm" else llama_server
    return stack.enter_context(server(parsed.model, log_dir=log_dir))


def parse_prices(items: tuple[str, ...]) -> dict[str, Price]:
    prices = {}
    for item in items:
        model, _, numbers = item.partition("=")
        try:
            price_in, price_out = (float(x) for x in numbers.split(","))
        except ValueError:
            raise InputError(f"--price {item!r}: expected MODEL=IN,OUT in $ per million tokens") from None
        if not model or price_in < 0 or price_out < 0:
            raise InputError(f"--price {item!r}: expected MODEL=IN,OUT with non-negative prices")
        prices[model] = Price(price_in, price_out)
    return prices


PROBE_TIMEOUT_S = 10.0
PROBE_RETRIES = 2


def probe_endpoint(config: ModelConfig, tier: str) -> None:
    """InputError unless the endpoint answers its model list like an OpenAI-compatible API (free: no tokens), so a
    wrong URL or a server that is down stops a run before anything is written. A resumed run needs it up too."""
    client = openai.OpenAI(
        base_url=config.base_url, api_key=config.api_key(), timeout=PROBE_TIMEOUT_S, max_retries=PROBE_RETRIES
    )
    where = f"the {tier} endpoint {config.base_url}"
    try:
        client.models.list()
    except openai.AuthenticationError:
        raise InputError(f"{where} rejected the API key in {config.api_key_env or '(none set)'}") from None
    except openai.APIStatusError:
        pass  # it answers; some servers do not list models (a 404 here is up enough)
    except openai.APIError as e:
        raise InputError(
            f"{where} does not answer ({type(e).__name__}): check the URL and that its server is up"
        ) from None
    except (AttributeError, TypeError, ValueError):  # a 200 that is not the API's JSON (a web page, a proxy)
        raise InputError(
            f"{where} answers, but not as an OpenAI-compatible API: check the URL (often ends in /v1)"
        ) from None
    finally:
        client.close()


def check_endpoint(config: ModelConfig) -> float:
    """Ask the endpoint for a one-token answer (uncached); return the latency in seconds."""
    started = time.monotonic()
    client = ModelClient(replace(config, max_tokens=1, max_retries=0), "check")
    client.sample([{"role": "user", "content": "Say OK."}], 1, greedy=True)
    return time.monotonic() - started
