"""A fake OpenAI-compatible chat server on a real loopback socket, for driving the real openai SDK.

A handler function maps each request (the parsed JSON body) to a Reply: scripted answers, HTTP errors, delays.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    texts: list[str] = field(default_factory=list)
    status: int = 200
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    prompt_tokens: int = 100
    completion_tokens_each: int = 50


Handler = Callable[[dict[str, Any]], Reply]


@dataclass
class FakeServer:
    base_url: str
    requests: list[dict[str, Any]]
    """Every request body, in the order received."""
    answered: list[tuple[float, dict[str, Any]]]
    """(time.monotonic() when the answer was sent, request body) of every request answered with 200."""


@contextmanager
def fake_openai(handler: Handler) -> Iterator[FakeServer]:
    seen: list[dict[str, Any]] = []
    answered: list[tuple[float, dict[str, Any]]] = []

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
                self._send(
                    reply.status, {"error": {"message": "scripted failure", "type": "server_error"}}, reply.headers
                )
                return
            choices = [
                {"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": "stop"}
                for i, t in enumerate(reply.texts)
            ]
            out = reply.completion_tokens_each * len(reply.texts)
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
                    },
                },
            )
            answered.append((time.monotonic(), body))

        def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FakeServer(f"http://127.0.0.1:{server.server_address[1]}/v1", seen, answered)
    finally:
        server.shutdown()
        server.server_close()


def user_text(request: dict[str, Any]) -> str:
    return str(request["messages"][-1]["content"])


def fenced(code: str) -> str:
    return f"Here is the solution:\n\n```python\n{code.strip()}\n```\n\nIt works because..."
