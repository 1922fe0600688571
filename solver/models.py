"""Model clients: any OpenAI-compatible chat endpoint (vLLM, llama.cpp's server, OpenAI), through the openai SDK.

Every sample is recorded as a ModelCall and cached on disk, keyed by (model, messages, parameters, sample index),
so a rerun never pays twice for the same call.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Protocol

import openai
from openai.types.chat import ChatCompletion

from solver.errors import ContextTooLong, EndpointError, InputError
from solver.ledger import ModelCall, Price
from solver.prices import Pricing, pricing

log = logging.getLogger(__name__)

DEFAULT_MAX_RETRIES = 3
DEFAULT_TIMEOUT_S = 300.0
DEFAULT_MAX_TOKENS = 768
DEFAULT_TEMPERATURE = 0.8
# How servers say a prompt is too long: llama.cpp ("exceed context window"), vLLM and OpenAI ("maximum context
# length", context_length_exceeded).
CONTEXT_ERROR = re.compile(r"context.?(length|window)|maximum context|too many tokens|n_ctx", re.IGNORECASE)

Messages = list[dict[str, str]]


@dataclass(frozen=True)
class ModelConfig:
    """One model endpoint."""

    model: str
    """The name the endpoint serves the model under."""
    base_url: str
    """The OpenAI-compatible API root, such as http://127.0.0.1:8001/v1."""
    api_key_env: str | None = None
    """Environment variable that holds the API key; None for local servers that need none."""
    temperature: float = DEFAULT_TEMPERATURE
    """Sampling temperature of non-greedy samples."""
    max_tokens: int = DEFAULT_MAX_TOKENS
    """Completion tokens per sample."""
    timeout_s: float = DEFAULT_TIMEOUT_S
    """Seconds one request may take (slow CPU servers need minutes for several samples)."""
    max_retries: int = DEFAULT_MAX_RETRIES
    """Retries, with backoff, on 429, 5xx and connection errors (the SDK's own policy)."""
    supports_n: bool = True
    """Ask for many samples in one request; the client notices servers that answer fewer and falls back."""
    price: Price | None = None
    """$ per million tokens; None prices the model as ``solver.prices`` says (the list price, a stand-in, or
    unpriced)."""
    context_tokens: int | None = None
    """The model's context window (prompt and answer), where known: local servers say; prompts are built to fit."""

    def answer_limit(self, wanted: int | None = None) -> int:
        """The answer length to ask for: ``wanted`` (else ``max_tokens``), at most half a known context, so that
        a long answer asked of a short-context server still leaves room for the prompt."""
        tokens = wanted or self.max_tokens
        return min(tokens, self.context_tokens // 2) if self.context_tokens else tokens

    def api_key(self) -> str:
        if self.api_key_env is None:
            return "not-needed"
        key = os.environ.get(self.api_key_env)
        if not key:
            raise InputError(
                f"the API key for {self.model} is missing: set the environment variable {self.api_key_env}"
            )
        return key


@dataclass(frozen=True)
class Sample:
    text: str
    call: ModelCall
    index: int
    """Position in this prompt's sample sequence (0 is the greedy sample when one was asked for)."""


class ResponseStore(Protocol):
    """Where answered samples are kept: ResponseCache on one machine, or its actor for a Ray cluster."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, value: dict[str, Any]) -> None: ...


class ResponseCache:
    """Answered samples on disk, one small JSON file each, written atomically (safe across processes)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            return json.loads(self._path(key).read_text())  # type: ignore[no-any-return]
        except (OSError, ValueError):
            return None

    def put(self, key: str, value: dict[str, Any]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as f:
            json.dump(value, f)
        os.replace(f.name, path)


def cache_key(model: str, messages: Messages, params: dict[str, Any], index: int) -> str:
    blob = json.dumps([model, messages, params, index], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class ModelClient:
    """Samples one model. Cheap to build: the HTTP client is made on first use."""

    config: ModelConfig
    tier: str
    cache: ResponseStore | None = None
    prices: dict[str, Price] | None = None
    """Prices by model name that override every other (``--price``)."""
    local_per_hour: float | None = None
    """Price a model served on this machine by its wall time at this many $ an hour, not by a stand-in."""
    _client: openai.OpenAI | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _pricing: Pricing | None = field(default=None, init=False, repr=False)

    def __getstate__(self) -> dict[str, Any]:  # travels to Ray workers without its HTTP client
        return {"config": self.config, "tier": self.tier, "cache": self.cache, "prices": self.prices,
                "local_per_hour": self.local_per_hour}  # fmt: skip

    @property
    def pricing(self) -> Pricing:
        """How this model's calls are priced (``solver.prices``), looked up once."""
        if self._pricing is None:
            self._pricing = pricing(self.config.model, self.config.base_url, self.prices, own=self.config.price,
                                    local_per_hour=self.local_per_hour)  # fmt: skip
        return self._pricing

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    @property
    def batches_samples(self) -> bool:
        return self.config.supports_n

    @property
    def client(self) -> openai.OpenAI:
        with self._lock:
            if self._client is None:
                self._client = openai.OpenAI(
                    base_url=self.config.base_url,
                    api_key=self.config.api_key(),
                    timeout=self.config.timeout_s,
                    max_retries=self.config.max_retries,
                )
            return self._client

    def sample(
        self, messages: Messages, n: int, *, greedy: bool = False, start: int = 0, max_tokens: int | None = None
    ) -> list[Sample]:
        """Samples ``start .. start+n-1`` of this prompt: cached ones free, the rest in as few requests as the
        server allows. ``greedy`` asks for temperature 0 (then one sample is enough: it is deterministic);
        ``max_tokens`` overrides the configured answer length (within half the context)."""
        params = {"temperature": 0.0 if greedy else self.config.temperature,
                  "max_tokens": self.config.answer_limit(max_tokens)}  # fmt: skip
        keys = {i: cache_key(self.config.model, messages, params, i) for i in range(start, start + n)}
        samples: dict[int, Sample] = {}
        for i, key in keys.items():
            if self.cache is not None and (hit := self.cache.get(key)) is not None:
                kept = {f.name for f in fields(ModelCall)} - {"tier", "cached"}
                recorded = {name: hit[name] for name in kept if name in hit}  # `cut` came later than the cache
                samples[i] = Sample(hit["text"], ModelCall(**recorded, tier=self.tier, cached=True), i)
        missing = [i for i in keys if i not in samples]
        while missing:
            want = len(missing) if self.config.supports_n else 1
            texts, calls = self._request(messages, params, want)
            if want > 1 and len(texts) < want:
                log.info("%s answered %d of %d samples per request: asking one at a time", self.config.base_url,
                         len(texts), want)  # fmt: skip
                self.config = replace(self.config, supports_n=False)
            for text, call, i in zip(texts, calls, missing, strict=False):
                samples[i] = Sample(text, call, i)
                if self.cache is not None:
                    self.cache.put(keys[i], {"text": text, **asdict(call)})
            missing = missing[len(texts) :]
        return [samples[i] for i in sorted(samples)]

    def _request(self, messages: Messages, params: dict[str, Any], n: int) -> tuple[list[str], list[ModelCall]]:
        """One answered request. The SDK retries 429s (after their Retry-After), 5xx, timeouts and dropped
        connections; an answer that arrives but cannot be read (invalid JSON, no choices) is retried here."""
        for attempt in range(self.config.max_retries + 1):
            try:
                return self._request_once(messages, params, n)
            except _Unreadable as e:
                if attempt == self.config.max_retries:
                    raise EndpointError(f"the {self.tier} model {self.config.model} at {self.config.base_url} "
                                        f"answered {self.config.max_retries + 1} times with {e}") from e  # fmt: skip
                log.info("%s answered with %s; asking again", self.config.base_url, e)
                time.sleep(min(8.0, 0.5 * 2**attempt))
        raise AssertionError("unreachable")

    def _request_once(self, messages: Messages, params: dict[str, Any], n: int) -> tuple[list[str], list[ModelCall]]:
        started = time.monotonic()
        try:
            response = self.client.chat.completions.create(
                model=self.config.model,
                messages=messages,  # type: ignore[arg-type]
                n=n,
                **params,
            )
        except openai.AuthenticationError as e:
            raise EndpointError(f"{self.config.base_url} rejected the API key for {self.config.model}: "
                                f"check {self.config.api_key_env}") from e  # fmt: skip
        except openai.NotFoundError as e:
            raise EndpointError(f"{self.config.base_url} does not serve a model named {self.config.model!r}") from e
        except openai.BadRequestError as e:  # a 4xx is not retried: the same request gets the same answer
            detail = str(e.message).strip().splitlines()[0][:300] if e.message else "HTTP 400"
            where = f"the {self.tier} model {self.config.model} at {self.config.base_url}"
            if CONTEXT_ERROR.search(str(e.body) + str(e.message)):
                raise ContextTooLong(f"the prompt does not fit {where} ({detail}): give the server a longer context "
                                     "or the task a smaller prompt") from e  # fmt: skip
            raise EndpointError(f"{where} refused the request: {detail}") from e
        except openai.APIError as e:
            raise EndpointError(f"the {self.tier} model {self.config.model} at {self.config.base_url} failed "
                                f"after {self.config.max_retries} retries: {e}") from e  # fmt: skip
        except json.JSONDecodeError as e:  # declared JSON, but cut short or garbled (the SDK lets json's error out)
            raise _Unreadable(f"JSON that does not parse ({e})") from e
        latency = time.monotonic() - started
        if not isinstance(response, ChatCompletion):  # another content type (a proxy's HTML page): the SDK gives text
            raise _Unreadable(f"a {type(response).__name__} where a chat completion belongs")
        choices = (response.choices or [])[:n]
        texts = [choice.message.content or "" for choice in choices]
        if not texts:
            raise _Unreadable("no choices")
        usage = response.usage
        tokens_in = usage.prompt_tokens if usage else 0
        tokens_out = usage.completion_tokens if usage else 0
        details = usage.prompt_tokens_details if usage else None
        cached_in = (details.cached_tokens or 0) if details else 0
        priced = self.pricing
        cost = priced.cost(tokens_in, tokens_out, cached_in=cached_in, seconds=latency)
        # One record per sample: the request's usage, cost and latency shared among the samples it returned, the
        # first taking the tokens that do not divide evenly, so the records add up to exactly what was billed.
        k = len(texts)
        calls = [
            ModelCall(
                tier=self.tier,
                model=self.config.model,
                tokens_in=tokens_in // k + (tokens_in % k if j == 0 else 0),
                tokens_out=tokens_out // k + (tokens_out % k if j == 0 else 0),
                cost=cost / k,
                latency_s=latency / k,
                cached=False,
                cut=choice.finish_reason == "length",
                price_basis=priced.basis,
                cached_in=cached_in // k + (cached_in % k if j == 0 else 0),
            )
            for j, choice in enumerate(choices)
        ]
        return texts, calls


class _Unreadable(Exception):
    """An answer arrived but holds no samples to read."""
