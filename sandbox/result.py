"""What goes into the sandbox and what comes out: plain frozen records."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class Verdict(enum.StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"  # a test's assertion failed
    ERROR = "ERROR"  # the candidate raised, did not load, or died
    TIMEOUT = "TIMEOUT"
    INFRA_ERROR = "INFRA_ERROR"  # the sandbox broke: says nothing about the candidate


@dataclass(frozen=True)
class Job:
    """One candidate program and the tests to run against it.

    ``program`` becomes ``solution.py``; ``tests`` becomes ``test_solution.py`` and usually starts with
    ``from solution import *``. Each top-level ``test_*`` function is one test.
    """

    program: str
    tests: str
    timeout: float = 10.0
    """Wall-clock seconds for the whole job."""
    fail_fast: bool = False
    """Stop at the first failing test (cheaper; the counts then cover only the tests that ran)."""
    split: bool = False
    """Judge it split (``sandbox/split.py``): the candidate in a process of its own, the tests in another that calls
    it with plain data and alone writes the verdict, so no candidate can forge one. For tests that only call the
    candidate's functions; the candidate's output then goes to stderr, and stdout is the tests' own."""


@dataclass(frozen=True)
class RunResult:
    verdict: Verdict
    passed: int = 0
    total: int = 0
    duration: float = 0.0
    stdout: str = ""
    stderr: str = ""
    truncated: bool = False
    """stdout or stderr was longer than the cap and was cut."""
    detail: str = ""
    """Why it failed: failing tests with short tracebacks, a timeout, a signal, an infra error."""
    judged: str = ""
    """"split" (the verdict written where no candidate code ran) or "shared" (the tests ran in the candidate's
    process); "" when no runner judged it."""

    @classmethod
    def infra(cls, detail: str) -> RunResult:
        return cls(Verdict.INFRA_ERROR, detail=detail)

    @classmethod
    def from_reply(cls, reply: dict[str, Any]) -> RunResult:
        """Parse a runner reply; anything malformed is an infra error, never a verdict on the candidate."""
        try:
            verdict = Verdict(reply["verdict"])
            return cls(
                verdict=verdict,
                passed=_count(reply.get("passed", 0)),
                total=_count(reply.get("total", 0)),
                duration=float(reply.get("duration", 0.0)),
                stdout=str(reply.get("stdout", "")),
                stderr=str(reply.get("stderr", "")),
                truncated=bool(reply.get("stdout_truncated") or reply.get("stderr_truncated")),
                detail=str(reply.get("detail", "")),
                judged=str(reply.get("judged", "")),
            )
        except (KeyError, TypeError, ValueError, OverflowError) as e:
            return cls.infra(f"malformed runner reply ({type(e).__name__}: {e})")

    @property
    def feedback(self) -> str:
        """Short text for a model: why the candidate failed."""
        text = self.detail
        if self.stderr.strip() and self.verdict is not Verdict.PASS:
            text += "\nstderr:\n" + self.stderr[-2000:]
        return text.strip()


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"bad test count {value!r}")
    return value
