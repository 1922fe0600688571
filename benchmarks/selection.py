"""Selection among many samples, measured on recorded ones: which of 10 CodeGen-16B samples per HumanEval task to
answer with, using only what a user has (the prompt's examples, the samples' agreement and, where the samples that
pass the examples disagree, a judge's word on what the function returns on an input that tells them apart), scored
on the hidden tests. Every sample runs in the sandbox three times (examples, agreement probe, hidden tests).

    python -m benchmarks.selection [--samples 10] [--benchmark humaneval+] [--judge local:qwen2.5-coder-1.5b-instruct]

Strategies: the first sample; the first that passes the examples (the committee's first pass); the sample of the
largest behaviour cluster (AlphaCode-style agreement, the committee's probe); CodeT's dual agreement, the largest
cluster among the samples that pass the examples (all samples when none do); and CodeT where the two largest
clusters of passing samples disagree, settled by a judge asked about up to two distinguishing inputs: the canonical
solution (a perfect judge, the bound of the method) and, with ``--judge``, a real model. "Some sample passes" is the
bound no selection can beat. No model is called without ``--judge``.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from benchmarks.datasets import load_benchmark
from benchmarks.recorded import humaneval_completions
from sandbox import Job, Sandbox, SandboxConfig, Verdict
from solver.agreement import (
    Behaviour,
    ask_output,
    behaviour,
    clusters,
    distinct_calls,
    input_calls,
    matching,
    probe_tests,
    questions,
    stub_program,
)
from solver.ledger import ModelCall
from solver.protocols import Model
from solver.task import Task

TIMEOUT_S = 3.0
HIDDEN_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Sample:
    program: str
    examples: bool
    """Passes the prompt's examples (False when the task has none)."""
    behaviour: Behaviour | None
    """Its outputs on the agreement inputs (None when the probe did not finish)."""
    hidden: bool


@dataclass(frozen=True)
class Judged:
    """One task's samples, and what a judge can be asked about them."""

    task: Task
    samples: list[Sample]
    calls: dict[int, str]
    """The agreement inputs as calls (from a probe of a stub: no model's code)."""
    reference: Behaviour | None
    """The canonical solution's outputs: a perfect judge's answers."""


Judge = Callable[[Judged, list[int]], dict[int, str]]
"""A judge's output digests on some agreement inputs, by input."""


def first(task: Judged) -> Sample:
    return task.samples[0]


def first_passing_examples(task: Judged) -> Sample:
    return next((s for s in task.samples if s.examples), task.samples[0])


def _largest(samples: Sequence[Sample]) -> Sample:
    """The earliest sample of the behaviour most samples share (duplicates are votes)."""
    ranked = clusters([(s.behaviour, 1) for s in samples if s.behaviour is not None])
    return next((s for s in samples if ranked and s.behaviour == ranked[0][0]), samples[0])


def largest_cluster(task: Judged) -> Sample:
    return _largest(task.samples)


def dual_agreement(task: Judged) -> Sample:
    """CodeT: the largest cluster among the samples that pass the examples; all samples when none do."""
    return _largest([s for s in task.samples if s.examples] or task.samples)


def _passing_clusters(task: Judged) -> list[tuple[Behaviour, int]]:
    """The behaviours of the samples that pass the examples, most votes first."""
    return clusters([(s.behaviour, 1) for s in task.samples if s.examples and s.behaviour is not None])


def judged_agreement(judge: Judge) -> Callable[[Judged], Sample]:
    """CodeT, except where the two largest clusters of passing samples differ: the judge's answers on up to two
    inputs that tell them apart keep the clusters that match, the largest of them wins (CodeT's choice when none
    does)."""

    def pick(task: Judged) -> Sample:
        ranked = _passing_clusters(task)
        asked = questions(ranked, task.calls)
        kept = matching(ranked, judge(task, asked)) if asked else []
        if not kept:
            return dual_agreement(task)
        return next(s for s in task.samples if s.examples and s.behaviour == kept[0][0])

    return pick


def reference_judge(task: Judged, asked: list[int]) -> dict[int, str]:
    return {i: task.reference.outputs[i] for i in asked if task.reference and i < len(task.reference.outputs)}


class ModelJudge:
    """A model's answers, what they cost, and how often they are the reference's output."""

    def __init__(self, model: Model) -> None:
        self.model, self.calls = model, list[ModelCall]()
        self.asked = self.named = self.right = 0

    def __call__(self, task: Judged, asked: list[int]) -> dict[int, str]:
        answers = {}
        for i in asked:
            found, call = ask_output(self.model, task.task, task.calls[i])
            self.calls.append(call)
            self.asked += 1
            if found is not None:
                answers[i] = found
                self.named += 1
                self.right += bool(task.reference and i < len(task.reference.outputs)
                                   and task.reference.outputs[i] == found)  # fmt: skip
        return answers


def judge_all(tasks: list[Task], programs: dict[str, list[str]], references: dict[str, str],
              sandbox: Sandbox) -> list[Judged]:  # fmt: skip
    """Every sample of every task on the examples (when the task has some), the agreement probe and the hidden
    tests, and per task the stub's probe (the inputs) and the canonical solution's, all in one batch."""
    jobs: list[Job] = []
    for task in tasks:
        probe = probe_tests(task)
        jobs.append(Job(stub_program(task), probe_tests(task, show_inputs=True), timeout=TIMEOUT_S * 10))
        jobs.append(Job(references[task.id], probe, timeout=TIMEOUT_S * 10))
        for program in programs[task.id]:
            if task.tests.strip():
                jobs.append(Job(program, task.tests, timeout=TIMEOUT_S, fail_fast=True))
            jobs.append(Job(program, probe, timeout=TIMEOUT_S * 10))
            jobs.append(Job(program, task.hidden_tests, timeout=HIDDEN_TIMEOUT_S))
    results = iter(sandbox.run_many(jobs))
    out = []
    for task in tasks:
        calls, reference = input_calls(next(results)), behaviour(next(results))
        samples = []
        for program in programs[task.id]:
            examples = next(results).verdict is Verdict.PASS if task.tests.strip() else False
            found = behaviour(next(results))
            samples.append(Sample(program, examples, found, next(results).verdict is Verdict.PASS))
        out.append(Judged(task, samples, calls, reference))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10, help="recorded samples per task (at most 100)")
    parser.add_argument("--benchmark", choices=["humaneval", "humaneval+"], default="humaneval",
                        help="whose hidden tests score the choice")  # fmt: skip
    parser.add_argument("--judge", help="a model spec (as --strong takes) asked what the function returns")
    parser.add_argument("--limit", type=int, help="first N tasks only")
    args = parser.parse_args()
    tasks = load_benchmark(args.benchmark)[: args.limit]
    recorded = humaneval_completions(164 * (args.samples + 1), recorded_per_task=args.samples)
    programs: dict[str, list[str]] = {t.id: [] for t in tasks}
    references: dict[str, str] = {}
    for n, completion in enumerate(recorded):
        if completion.task_id not in programs:
            continue
        if n < 164:  # the first column holds the canonical solutions
            references[completion.task_id] = completion.program
        else:
            programs[completion.task_id].append(completion.program)
    started = time.monotonic()
    with Sandbox(SandboxConfig(containers=2)) as sandbox:
        judged = judge_all(tasks, programs, references, sandbox)
    seconds = time.monotonic() - started
    strategies: dict[str, Callable[[Judged], Sample]] = {
        "first sample": first,
        "first passing the examples": first_passing_examples,
        "largest behaviour cluster": largest_cluster,
        "examples, then largest cluster (CodeT)": dual_agreement,
        "CodeT, disagreements judged by the reference": judged_agreement(reference_judge),
    }
    model_judge = None
    with contextlib.ExitStack() as stack:
        if args.judge:
            from solver.endpoints import open_model, probe_endpoint, validate_spec
            from solver.models import ModelClient

            validate_spec(args.judge)
            config = open_model(args.judge, stack)
            probe_endpoint(config, "strong")
            model_judge = ModelJudge(ModelClient(config, "strong"))
            strategies[f"CodeT, disagreements judged by {config.model}"] = judged_agreement(model_judge)
        chosen = {name: {t.task.id: pick(t) for t in judged} for name, pick in strategies.items()}
    with_examples = {t.task.id for t in judged if t.task.tests.strip()}
    split = sum(bool(questions(_passing_clusters(t), t.calls)) for t in judged)
    print(f"\n{args.benchmark}, {len(tasks)} tasks x {args.samples} recorded CodeGen-16B samples (temperature 0.8); "
          f"{len(with_examples)} tasks have examples; on {split} the samples passing them disagree on an input a "
          f"judge can be asked about; sandbox {seconds:.0f} s\n")  # fmt: skip
    print("| selection | pass@1 (hidden tests) | tasks with examples | tasks without | sel. trusted |")
    print("|---|---|---|---|---|")
    bound = {t.task.id: any(s.hidden for s in t.samples) for t in judged}
    rows = [(name, {tid: s.hidden for tid, s in picks.items()}, picks) for name, picks in chosen.items()]
    for name, passed, picks in [*rows, ("some sample passes (bound)", bound, {})]:
        inside = sum(passed[t] for t in with_examples)
        outside = sum(v for t, v in passed.items() if t not in with_examples)
        trusted = [s.hidden for s in picks.values() if s.examples]
        share = f"{sum(trusted)}/{len(trusted)} = {100 * sum(trusted) / len(trusted):.0f}%" if trusted else "-"
        print(f"| {name} | {sum(passed.values())}/{len(tasks)} | {inside}/{len(with_examples)} | "
              f"{outside}/{len(tasks) - len(with_examples)} | {share} |")  # fmt: skip
    print("\n| distinct calls in the examples | tasks | samples passing the examples | of those, failing the hidden "
          "tests |\n|---|---|---|---|")  # fmt: skip
    by_calls: dict[int, list[Judged]] = {}
    for t in judged:
        if t.task.tests.strip():
            by_calls.setdefault(min(4, distinct_calls(t.task.tests, t.task.entry_point) or 0), []).append(t)
    for calls, group in sorted(by_calls.items()):
        passing = [s for t in group for s in t.samples if s.examples]
        wrong = sum(not s.hidden for s in passing)
        share = f"{wrong} = {100 * wrong / len(passing):.0f}%" if passing else "-"
        print(f"| {calls}{'+' if calls == 4 else ''} | {len(group)} | {len(passing)} | {share} |")
    if model_judge is not None:
        tokens = sum(c.tokens_in + c.tokens_out for c in model_judge.calls)
        print(f"\njudge: {model_judge.asked} questions; it named a value for {model_judge.named}, the reference's "
              f"output for {model_judge.right}; {tokens:,} tokens, {tokens / max(1, model_judge.asked):.0f} a "
              "question")  # fmt: skip
    codet = chosen["examples, then largest cluster (CodeT)"]
    for name, picks in list(chosen.items())[4:]:
        gained = sum(picks[t].hidden and not codet[t].hidden for t in picks)
        lost = sum(codet[t].hidden and not picks[t].hidden for t in picks)
        print(f"{name}, against CodeT: {gained} wrong choices made right, {lost} right ones lost")


if __name__ == "__main__":
    main()
