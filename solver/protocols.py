"""The seams of the solver: small Protocols that real adapters and test fakes both satisfy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sandbox.result import Job, RunResult
from solver.models import Messages, Sample


class Model(Protocol):
    tier: str

    @property
    def batches_samples(self) -> bool:
        """The server returns many samples of one prompt in one request."""
        ...

    def sample(
        self, messages: Messages, n: int, *, greedy: bool = False, start: int = 0, max_tokens: int | None = None
    ) -> list[Sample]: ...


class Verifier(Protocol):
    def run_many(self, jobs: Sequence[Job]) -> list[RunResult]: ...
