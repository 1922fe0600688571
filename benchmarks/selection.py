"""Selection among many samples, measured on recorded ones: which of 10 CodeGen-16B samples per HumanEval task to
answer with, using only what a user has (the prompt's examples, and the samples' agreement), scored on the hidden
tests. No model is called: every sample runs in the sandbox three times (examples, agreement probe, hidden tests).

    python -m benchmarks.selection [--samples 10]

Strategies: the first sample; the first that passes the examples; the sample of the largest behaviour cluster
(AlphaCode-style agreement on inputs drawn from the signature, the committee's probe); and CodeT's dual agreement,
the largest cluster among the samples that pass the examples (all samples when none do). "Some sample passes" is the
bound no selection can beat.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from benchmarks.datasets import load_benchmark
from benchmarks.recorded import humaneval_completions
from sandbox import Job, Sandbox, SandboxConfig, Verdict
from solver.agreement import fingerprint, probe_tests
from solver.task import Task

TIMEOUT_S = 3.0
HIDDEN_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Sample:
    program: str
    examples: bool
    """Passes the prompt's examples (False when the task has none)."""
    behaviour: str | None
    """Its agreement fingerprint (None when the probe did not finish)."""
    hidden: bool


def first(samples: Sequence[Sample]) -> Sample:
    return samples[0]


def first_passing_examples(samples: Sequence[Sample]) -> Sample:
    return next((s for s in samples if s.examples), samples[0])


def largest_cluster(samples: Sequence[Sample]) -> Sample:
    """The earliest sample of the behaviour most samples share (duplicates are votes)."""
    votes = Counter(s.behaviour for s in samples if s.behaviour is not None)
    if not votes:
        return samples[0]
    top = max(votes.values())
    winner = next(s.behaviour for s in samples if s.behaviour is not None and votes[s.behaviour] == top)
    return next(s for s in samples if s.behaviour == winner)


def dual_agreement(samples: Sequence[Sample]) -> Sample:
    """CodeT: the largest cluster among the samples that pass the examples; all samples when none do."""
    passing = [s for s in samples if s.examples]
    return largest_cluster(passing or samples)


STRATEGIES: dict[str, Callable[[Sequence[Sample]], Sample]] = {
    "first sample": first,
    "first passing the examples": first_passing_examples,
    "largest behaviour cluster": largest_cluster,
    "examples, then largest cluster (CodeT)": dual_agreement,
}


def judge(tasks: list[Task], programs: dict[str, list[str]], sandbox: Sandbox) -> dict[str, list[Sample]]:
    """Every sample of every task, run on the examples (when the task has some), the agreement probe and the hidden
    tests, all in one batch."""
    jobs: list[Job] = []
    for task in tasks:
        for program in programs[task.id]:
            if task.tests.strip():
                jobs.append(Job(program, task.tests, timeout=TIMEOUT_S, fail_fast=True))
            jobs.append(Job(program, probe_tests(task), timeout=TIMEOUT_S * 10))
            jobs.append(Job(program, task.hidden_tests, timeout=HIDDEN_TIMEOUT_S))
    results = iter(sandbox.run_many(jobs))
    out: dict[str, list[Sample]] = {}
    for task in tasks:
        out[task.id] = []
        for program in programs[task.id]:
            examples = next(results).verdict is Verdict.PASS if task.tests.strip() else False
            behaviour = fingerprint(next(results))
            hidden = next(results).verdict is Verdict.PASS
            out[task.id].append(Sample(program, examples, behaviour, hidden))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10, help="recorded samples per task (at most 100)")
    args = parser.parse_args()
    tasks = load_benchmark("humaneval")
    recorded = humaneval_completions(len(tasks) * (args.samples + 1), recorded_per_task=args.samples)
    programs: dict[str, list[str]] = {t.id: [] for t in tasks}
    for n, completion in enumerate(recorded):
        if n >= len(tasks):  # the first column holds the canonical solutions
            programs[completion.task_id].append(completion.program)
    started = time.monotonic()
    with Sandbox(SandboxConfig(containers=2)) as sandbox:
        judged = judge(tasks, programs, sandbox)
    seconds = time.monotonic() - started
    with_examples = {t.id for t in tasks if t.tests.strip()}
    print(f"\nHumanEval, {len(tasks)} tasks x {args.samples} recorded CodeGen-16B samples (temperature 0.8); "
          f"{len(with_examples)} tasks have examples; sandbox {seconds:.0f} s\n")  # fmt: skip
    print("| selection | pass@1 (hidden tests) | tasks with examples | tasks without |\n|---|---|---|---|")
    rows = [(name, {tid: pick(samples).hidden for tid, samples in judged.items()}) for name, pick in STRATEGIES.items()]
    bound = {tid: any(s.hidden for s in samples) for tid, samples in judged.items()}
    rows.append(("some sample passes (bound)", bound))
    for name, passed in rows:
        inside = sum(passed[t] for t in with_examples)
        outside = sum(v for t, v in passed.items() if t not in with_examples)
        print(f"| {name} | {sum(passed.values())}/{len(tasks)} | {inside}/{len(with_examples)} | "
              f"{outside}/{len(tasks) - len(with_examples)} |")  # fmt: skip


if __name__ == "__main__":
    main()
