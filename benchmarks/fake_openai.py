"""A fake OpenAI-compatible chat server on a real loopback socket, for driving the real openai SDK in tests and
reliability benchmarks.

A handler function maps each request (the parsed JSON body) to a Reply: scripted answers, HTTP errors, delays, and
broken answers (a connection dropped mid-body, a body that is not JSON, JSON cut short, no choices).
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from solver.task import Task


@dataclass
class Reply:
    texts: list[str] = field(default_factory=list)
    status: int = 200
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    prompt_tokens: int = 100
    """Billed once for the request, however many samples it asks for (as OpenAI and vLLM report it)."""
    completion_tokens_each: int = 50
    cached_prompt_tokens: int = 0
    """Of the prompt tokens, those the provider served from its prompt cache."""
    fault: str = ""
    """One of BROKEN_ANSWERS: the status line and headers go out, then the body is broken this way."""
    error: str = "scripted failure"
    """The error message of a reply whose status is not 200."""
    finish_reason: str = "stop"
    """Why every choice ended: "length" for an answer cut at max_tokens."""


BROKEN_ANSWERS = ("drop mid-body", "an HTML page", "JSON cut short", "no choices")


Handler = Callable[[dict[str, Any]], Reply]


@dataclass
class FakeServer:
    base_url: str
    requests: list[dict[str, Any]]
    """Every request body, in the order received."""
    answered: list[tuple[float, dict[str, Any]]]
    """(time.monotonic() when the answer was sent, request body) of every request answered with 200."""
    billed: list[int]
    """Tokens (prompt + completion) of every well-formed answer: what a real server would bill."""


@contextmanager
def fake_openai(handler: Handler) -> Iterator[FakeServer]:
    seen: list[dict[str, Any]] = []
    answered: list[tuple[float, dict[str, Any]]] = []
    billed: list[int] = []

    class RequestHandler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # /v1/models
            self._send(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(body)
            reply = handler(body)
            time.sleep(reply.delay_s)
            if reply.status != 200:
                self._send(reply.status, {"error": {"message": reply.error, "type": "server_error"}}, reply.headers)
                return
            choices = [
                {"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": reply.finish_reason}
                for i, t in enumerate(reply.texts)
            ]
            out = reply.completion_tokens_each * len(reply.texts)
            if reply.fault:
                self._send_broken(reply.fault, body["model"])
                return
            self._send(
                200,
                {
                    "id": "fake",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": choices,
                    "usage": {
                        "prompt_tokens": reply.prompt_tokens,
                        "completion_tokens": out,
                        "total_tokens": reply.prompt_tokens + out,
                        "prompt_tokens_details": {"cached_tokens": reply.cached_prompt_tokens},
                    },
                },
            )
            answered.append((time.monotonic(), body))
            billed.append(reply.prompt_tokens + out)

        def _send_broken(self, fault: str, model: str) -> None:
            whole = json.dumps({"id": "fake", "object": "chat.completion", "created": 0, "model": model,
                                "choices": [], "usage": None}).encode()  # fmt: skip
            data = {"an HTML page": b"<html>Bad Gateway</html>", "JSON cut short": whole[: len(whole) // 2]}.get(
                fault, whole
            )
            self.send_response(200)
            self.send_header("Content-Type", "text/html" if fault == "an HTML page" else "application/json")
            self.send_header("Content-Length", str(len(whole) if fault == "drop mid-body" else len(data)))
            self.end_headers()
            if fault == "drop mid-body":
                self.close_connection = True
                with contextlib.suppress(OSError):  # after a hang the client may have gone already
                    self.wfile.write(whole[:10])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(data)

        def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def handle_one_request(self) -> None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client died waiting: no traceback
                super().handle_one_request()

    server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FakeServer(f"http://127.0.0.1:{server.server_address[1]}/v1", seen, answered, billed)
    finally:
        server.shutdown()
        server.server_close()


def replaying_model(tasks: list[Task], wrong: set[str]) -> Handler:
    """A model that answers each of ``tasks`` with its reference solution (``meta["reference"]``), except the
    cheap model's answers to ``wrong`` tasks, and transcribes no examples."""

    def handler(request: dict[str, Any]) -> Reply:
        text = user_text(request)
        if "states examples" in text:
            return Reply(["NONE"])
        conversation = "\n".join(str(m["content"]) for m in request["messages"])  # a repair asks in a later turn
        task = next(t for t in tasks if t.prompt.strip() in conversation)
        if request["model"] == "cheap" and task.id in wrong:
            code = f"def {task.entry_point}(*args):\n    return None"
        else:
            code = task.meta["reference"]
        return Reply([fenced(code)] * request.get("n", 1))

    return handler


def user_text(request: dict[str, Any]) -> str:
    return str(request["messages"][-1]["content"])


def fenced(code: str) -> str:
    return f"Here is the solution:\n\n```python\n{code.strip()}\n```\n\nIt works because..."


NO_CODE = "text with no code"
"""A completed answer, billed: the committee treats it as a failing candidate, never retries it."""
FAULTS = ("429 Retry-After", "500", "502", "503", "hang past the timeout", *BROKEN_ANSWERS, NO_CODE)


@dataclass
class Faults:
    """Wraps a handler: the i-th request gets ``schedule[i]`` instead of its answer ("" for none); after the
    schedule, each request gets one of ``kinds`` with probability ``rate`` (seeded)."""

    handler: Handler
    rate: float = 0.0
    schedule: tuple[str, ...] = ()
    seed: int = 0
    kinds: tuple[str, ...] = FAULTS
    hang_s: float = 12.0
    injected: list[tuple[float, str, str]] = field(default_factory=list)
    """(time.monotonic(), kind, request body as sorted JSON) of every fault injected."""

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()
        self._requests = 0

    def __call__(self, request: dict[str, Any]) -> Reply:
        with self._lock:
            if self._requests < len(self.schedule):
                kind = self.schedule[self._requests]
            else:
                kind = self._random.choice(self.kinds) if self._random.random() < self.rate else ""
            self._requests += 1
            if kind:
                self.injected.append((time.monotonic(), kind, json.dumps(request, sort_keys=True)))
        if kind == "429 Retry-After":
            return Reply(status=429, headers={"Retry-After": "1"})
        if kind in ("500", "502", "503"):
            return Reply(status=int(kind))
        if kind == "hang past the timeout":  # then hang up without an answer: nothing billed
            return Reply(fault="drop mid-body", delay_s=self.hang_s)
        if kind in BROKEN_ANSWERS:
            return Reply(fault=kind)
        if kind == NO_CODE:
            return Reply(["I would solve this by thinking about it carefully."] * request.get("n", 1))
        return self.handler(request)
