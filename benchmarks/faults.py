"""Endpoint faults: the committee against a fault-injecting OpenAI-compatible server (real HTTP, seeded faults).

Every fault must end retried (the request answered later) or, when retries run out, as an INFRA_ERROR; never as a
wrong answer, and the ledger must hold exactly the tokens of the answers the server completed.

    python -m benchmarks.faults [--tasks 12] [--rate 0.3] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from benchmarks.datasets import load_benchmark
from benchmarks.fake_openai import FAULTS, NO_CODE, Faults, fake_openai, replaying_model
from sandbox import SandboxConfig, Verdict
from solver import Committee, ModelConfig
from solver.ledger import Price
from solver.policy import CommitteeConfig
from solver.solve import Solution
from solver.task import Task

CLIENT_TIMEOUT_S = 10.0
HOW = {
    "429 Retry-After": "SDK retry after the server's Retry-After",
    "500": "SDK retry with backoff",
    "502": "SDK retry with backoff",
    "503": "SDK retry with backoff",
    "hang past the timeout": f"client timeout ({CLIENT_TIMEOUT_S:g} s), SDK retry",
    "drop mid-body": "SDK retry (connection error)",
    "an HTML page": "our retry (unreadable answer)",
    "JSON cut short": "our retry (unreadable answer)",
    "no choices": "our retry (unreadable answer)",
    NO_CODE: "a failing candidate: sample more or escalate",
}


@dataclass(frozen=True)
class FaultRun:
    solutions: list[Solution]
    injected: Counter[str]
    retried: Counter[str]
    """Faults whose request was answered later: the same request body, a well-formed answer (NO_CODE left out)."""
    ledger_tokens: int
    billed_tokens: int


def run_with_faults(
    tasks: list[Task], *, cache_dir: Path, rate: float = 0.0, schedule: tuple[str, ...] = (), seed: int = 0
) -> FaultRun:
    """``tasks`` through the committee, with faults injected as ``Faults`` does. The cheap model answers every
    third task that has tests wrongly, so those escalate; every other answer is the reference solution."""
    wrong = {t.id for t in [t for t in tasks if t.tests][::3]}
    handler = replaying_model(tasks, wrong)
    faults = Faults(handler, rate=rate, schedule=schedule, seed=seed, hang_s=CLIENT_TIMEOUT_S + 2)
    with fake_openai(faults) as server:

        def model(name: str, price: Price) -> ModelConfig:
            return ModelConfig(name, server.base_url, timeout_s=CLIENT_TIMEOUT_S, max_retries=3, price=price)

        with Committee(
            cheap=model("cheap", Price(0.05, 0.10)),
            strong=model("strong", Price(2.5, 5.0)),
            config=CommitteeConfig(samples=4, batch=2),
            sandbox=SandboxConfig(containers=2),
            cache_dir=cache_dir,
        ) as committee:
            solutions = list(committee.solve_many(tasks, score=True))
        answered = [(at, json.dumps(body, sort_keys=True)) for at, body in server.answered]
        retried = Counter(
            kind
            for at, kind, key in faults.injected
            if kind != NO_CODE and any(t > at and k == key for t, k in answered)
        )
        ledger = sum(c.tokens_in + c.tokens_out for s in solutions for c in s.calls if not c.cached)
        return FaultRun(solutions, Counter(k for _, k, _ in faults.injected), retried, ledger, sum(server.billed))


def outcome(solution: Solution) -> str:
    """A no-code answer is a real, billed answer: when it is the only one the strong model gave, the task ends
    unsolved and says so. Only "claimed solved, wrong" would be a wrong result."""
    if solution.verdict is Verdict.INFRA_ERROR:
        return "infra error"
    if solution.hidden is Verdict.PASS:
        return "pass"
    return "claimed solved, wrong" if solution.solved else "reported unsolved"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=12, help="HumanEval tasks (the first N)")
    parser.add_argument("--rate", type=float, default=0.3, help="share of requests that get a fault")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    tasks = load_benchmark("humaneval", limit=args.tasks)
    with tempfile.TemporaryDirectory() as cache:
        run = run_with_faults(tasks, rate=args.rate, seed=args.seed, cache_dir=Path(cache))
    print(f"{len(tasks)} HumanEval tasks, fault rate {args.rate:g}, seed {args.seed}\n")
    print("| fault | injected | answered on a retry | handled by |\n|---|---|---|---|")
    for kind in FAULTS:
        retried = "-" if kind == NO_CODE else run.retried[kind]
        print(f"| {kind} | {run.injected[kind]} | {retried} | {HOW[kind]} |")
    outcomes = Counter(outcome(s) for s in run.solutions)
    print(f"\ntasks: {len(run.solutions)}; " + ", ".join(f"{n} {o}" for o, n in outcomes.most_common()))
    print(f"ledger tokens {run.ledger_tokens:,}; tokens of answers the server completed {run.billed_tokens:,}")


if __name__ == "__main__":
    main()
