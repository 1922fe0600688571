"""One task through the committee: cheap samples in rounds, verified in the sandbox, escalation when none passes."""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

from sandbox.result import Job, Verdict
from solver.agreement import (
    Behaviour,
    ask_output,
    behaviour,
    clusters,
    input_calls,
    matching,
    probe_tests,
    questions,
    stub_program,
    weak,
)
from solver.errors import EndpointError
from solver.examples import prose_tests, written_tests
from solver.extract import assemble, definitions_only, extract_code
from solver.ledger import ModelCall, SandboxRun, totals
from solver.policy import (
    Candidate,
    CommitteeConfig,
    Next,
    feedback_for_escalation,
    next_step,
    round_sizes,
    select,
)
from solver.prompts import escalation_prompt, examples_prompt, repair_prompt, solve_prompt, tests_prompt
from solver.protocols import Model, Verifier
from solver.task import Task

log = logging.getLogger(__name__)

SCORE_TIMEOUT_S = 60.0
"""Hidden tests may be heavy: EvalPlus' run the reference solution on up to a thousand inputs too."""


@dataclass(frozen=True)
class Solution:
    task_id: str
    program: str
    """The chosen program ("" when no model answered)."""
    verdict: Verdict
    """The chosen program's verdict on the selection tests."""
    solved: bool
    """It passed the selection tests; otherwise this is the best attempt."""
    tier: str | None
    """Who wrote the chosen program: cheap or strong."""
    escalated: bool
    samples: int
    """Model samples drawn (duplicates included)."""
    candidates: int
    """Distinct programs verified."""
    calls: tuple[ModelCall, ...]
    runs: tuple[SandboxRun, ...]
    hidden: Verdict | None = None
    """The verdict on the hidden tests, when the run was scored."""
    detail: str = ""
    selection: str = "given"
    """How the choice was tested: "given" tests, "prose" (examples stated in the prompt's words, transcribed by the
    cheap model), "agreement" (no tests: the behaviour most samples share), "strong-tests" (no tests and no
    majority: tests the strong model wrote), or "none" (only a check that the program defines the function)."""
    hidden_by_tier: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Per tier, (samples drawn, samples passing the hidden tests), when the run was scored: pass@k's n and c."""
    routed: bool = False
    """The router sent the task straight to the strong model."""
    gated: bool = False
    """The task would have escalated, and the gate withheld it."""
    choice: str = "first pass"
    """How the program was chosen among those that passed: the "first pass"; "agreement" (every passing sample, or
    most samples where there are no tests, behave alike on generated inputs); "strong judge" (passing samples
    disagree, and the strong model's word on an input that tells them apart picked one behaviour); "largest
    cluster" (they disagree, and the behaviour most share was taken); "strong tests"; or "strong" (the strong
    model's own answer)."""
    unsure: bool = False
    """It passed weak tests on thin evidence: passing samples disagreed and neither a clear majority nor the strong
    model settled it, or no other sample confirmed its behaviour."""
    evidence: dict[str, float] = field(default_factory=dict)
    """What the cheap samples showed before any strong answer (see ``evidence``): what an escalation gate decides
    on."""

    def record(self) -> dict[str, Any]:
        """A JSON-ready dict (one line of results JSONL)."""
        data = asdict(self)
        data["verdict"] = self.verdict.value
        data["hidden"] = self.hidden.value if self.hidden else None
        return data


def judged_split(task: Task) -> bool:
    """Whether the task's tests run split from its candidates (``sandbox/split.py``), so that no candidate can
    forge its verdict: yes for a function task, whose tests call the candidate with plain data; no where the entry
    point is a class, whose objects the tests need in their own process. (Tests that pass a callback or an object
    are judged shared by the sandbox itself, which says so.)"""
    return not re.search(rf"^\s*class\s+{re.escape(task.entry_point)}\b", task.prompt, re.MULTILINE)


def selection_tests(task: Task) -> str:
    """The task's selection tests; with none, at least check that the program loads and defines the function."""
    if task.tests.strip():
        return task.tests
    return (
        f"from solution import *\n\n\ndef test_defines_{task.entry_point}():\n    assert callable({task.entry_point})\n"
    )


class Cluster(NamedTuple):
    """Passing candidates that behave alike on the agreement inputs."""

    behaviour: Behaviour
    members: list[Candidate]
    """Earliest sample first."""
    votes: int
    """Samples drawn in it (a program sampled twice is two)."""


class _Attempt:
    """The mutable bookkeeping of one task's solve; turned into a frozen Solution at the end."""

    def __init__(self, task: Task, verifier: Verifier, config: CommitteeConfig) -> None:
        self.task, self.verifier, self.config = task, verifier, config
        self.tests = selection_tests(task)
        self.split = judged_split(task)
        self.selection = "given" if task.tests.strip() else "none"
        self.candidates: list[Candidate] = []
        self.programs: set[str] = set()
        self.drawn: list[tuple[str, str]] = []
        """(tier, program) of every sample, duplicates included."""
        self.preferred: Candidate | None = None
        """The choice when it is not the best-ranked candidate (agreement picks among candidates that all pass)."""
        self.choice, self.unsure = "first pass", False
        self.behaviours: dict[str, Behaviour | None] = {}
        """Each probed program's behaviour on the agreement inputs (None: no usable output), probed once."""
        self.calls: list[ModelCall] = []
        self.runs: list[SandboxRun] = []
        self.samples = 0
        self.votes: list[int] = []
        """Samples per behaviour among the passing candidates, most first, when they were clustered."""
        self.judge = ""
        """What the strong judge's answers did: "matched", "matched none" or "no answer" ("" if not asked)."""

    def job(self, program: str, tests: str, *, fail_fast: bool = False, timeout: float | None = None) -> Job:
        """A sandbox job of this task: the config's timeout unless given, judged split where the task allows."""
        timeout = self.config.timeout_s if timeout is None else timeout
        return Job(program, tests, timeout=timeout, fail_fast=fail_fast, split=self.split)

    def verify(self, answers: list[tuple[str, str, int]]) -> None:
        """Verify the new distinct programs among (answer text, tier, sample index)."""
        fresh: list[tuple[str, str, int]] = []
        for text, tier, index in answers:
            code = definitions_only(extract_code(text, self.task.entry_point))
            program = assemble(self.task.prompt, code, self.task.entry_point)
            self.drawn.append((tier, program))
            if program not in self.programs:
                self.programs.add(program)
                fresh.append((program, tier, index))
        jobs = [self.job(program, self.tests, fail_fast=True) for program, _, _ in fresh]
        results = self.verifier.run_many(jobs) if jobs else []
        for (program, tier, index), result in zip(fresh, results, strict=True):
            self.candidates.append(Candidate(program, tier, index, result))
            self.runs.append(SandboxRun("select", result.verdict.value, result.duration))

    def draw(self, model: Model, messages: list[dict[str, str]], n: int, *, greedy: bool, start: int) -> None:
        samples = model.sample(messages, n, greedy=greedy, start=start)
        self.samples += len(samples)
        self.calls.extend(s.call for s in samples)
        self.verify([(s.text, model.tier, s.index) for s in samples])

    def over_budget(self) -> bool:
        if self.config.cheap_token_budget is None:
            return False
        spent = totals(self.calls, tier="cheap")
        return spent.tokens_in + spent.tokens_out >= self.config.cheap_token_budget

    def tests_from_prose(self, model: Model) -> None:
        """With no tests given, the examples the prompt states in words, transcribed by ``model``."""
        (sample,) = model.sample(examples_prompt(self.task), 1, greedy=True)
        self.calls.append(sample.call)
        tests = prose_tests(sample.text, self.task)
        if tests:
            self.tests, self.selection = tests, "prose"

    def judge_by_tests_of(self, model: Model) -> Candidate | None:
        """The earliest candidate that loads and passes every test ``model`` writes for the task."""
        (sample,) = model.sample(tests_prompt(self.task), 1, greedy=True)
        self.calls.append(sample.call)
        tests = written_tests(sample.text, self.task)
        loading = [c for c in self.candidates if c.result.verdict is Verdict.PASS]
        if not tests or not loading:
            return None
        jobs = [self.job(c.program, tests, fail_fast=True) for c in loading]
        passing = []
        for candidate, result in zip(loading, self.verifier.run_many(jobs), strict=True):
            self.runs.append(SandboxRun("strong-tests", result.verdict.value, result.duration))
            if result.verdict is Verdict.PASS:
                passing.append(candidate)
        return min(passing, key=lambda c: c.sample_index, default=None)

    def clusters(self) -> list[Cluster]:
        """The passing candidates grouped by behaviour on the agreement inputs, most votes first."""
        passing = [c for c in self.candidates if c.result.verdict is Verdict.PASS]
        unprobed = [c for c in passing if c.program not in self.behaviours]  # earlier rounds' are known
        probe = probe_tests(self.task)
        jobs = [self.job(c.program, probe) for c in unprobed]
        for candidate, result in zip(unprobed, self.verifier.run_many(jobs) if jobs else [], strict=True):
            self.runs.append(SandboxRun("agree", result.verdict.value, result.duration))
            self.behaviours[candidate.program] = behaviour(result)
        votes = [(found, self.drawn.count((c.tier, c.program))) for c in passing
                 if (found := self.behaviours[c.program]) is not None]  # fmt: skip
        return [Cluster(found, sorted((c for c in passing if self.behaviours[c.program] == found),
                                      key=lambda c: c.sample_index), n) for found, n in clusters(votes)]  # fmt: skip

    def agree(self) -> tuple[Candidate | None, int]:
        """The earliest candidate of the behaviour most samples share, and how many samples share it."""
        ranked = self.clusters()
        return (ranked[0].members[0], ranked[0].votes) if ranked else (None, 0)

    def judged(self, strong: Model, ranked: list[Cluster]) -> list[Cluster] | None:
        """The clusters that give the strong model's outputs on inputs that tell the two largest apart; None when
        there was nothing to ask it or it named no value. The inputs come from a probe of a stub that holds no
        model's code: what a candidate prints never reaches a prompt."""
        (stub,) = self.verifier.run_many([self.job(stub_program(self.task), probe_tests(self.task, show_inputs=True))])
        self.runs.append(SandboxRun("inputs", stub.verdict.value, stub.duration))
        calls = input_calls(stub)
        votes = [(c.behaviour, c.votes) for c in ranked]
        answers = {}
        for i in questions(votes, calls):
            found, call = ask_output(strong, self.task, calls[i])
            self.calls.append(call)
            if found is not None:
                answers[i] = found
        if not answers:
            self.judge = "no answer"
            return None
        kept = {found.key for found, _ in matching(votes, answers)}
        self.judge = "matched" if kept else "matched none"
        return [c for c in ranked if c.behaviour.key in kept]

    def evidence(self) -> dict[str, float]:
        """The cheap samples' record as numbers: how many were drawn, how many distinct programs, how many passed, how
        they failed, how far the best got through the tests (which run only up to the first failure), and, when the
        passing ones were clustered, the two largest behaviours' votes and the judge's outcome."""
        cheap = [c for c in self.candidates if c.tier == "cheap"]
        verdicts = [c.result.verdict for c in cheap]
        return {
            "samples": float(sum(tier == "cheap" for tier, _ in self.drawn)),
            "distinct": float(len(cheap)),
            "passing": float(verdicts.count(Verdict.PASS)),
            "failing": float(verdicts.count(Verdict.FAIL)),
            "erring": float(verdicts.count(Verdict.ERROR) + verdicts.count(Verdict.TIMEOUT)),
            "tests passed": float(max((c.result.passed for c in cheap), default=0)),
            "behaviours": float(len(self.votes)),
            "top votes": float(self.votes[0] if self.votes else 0),
            "second votes": float(self.votes[1] if len(self.votes) > 1 else 0),
            "judge matched": float(self.judge == "matched"),
            "judge matched none": float(self.judge == "matched none"),
        }

    def score(self) -> dict[str, Verdict]:
        """Hidden-test verdicts of every distinct program drawn: scoring only, never selection."""
        programs = list(dict.fromkeys(program for _, program in self.drawn))
        timeout = max(self.config.timeout_s, SCORE_TIMEOUT_S)
        results = self.verifier.run_many([self.job(p, self.task.hidden_tests, timeout=timeout) for p in programs])
        for result in results:
            self.runs.append(SandboxRun("score", result.verdict.value, result.duration))
        return {p: r.verdict for p, r in zip(programs, results, strict=True)}


def _sample_for_agreement(
    attempt: _Attempt, cheap: Model, strong: Model | None, messages: list[dict[str, str]]
) -> Next:
    """No tests at all: every candidate that loads "passes", so the behaviour most samples share is chosen. While
    none has a majority, more rounds of ``agreement_samples`` are drawn, up to ``samples`` (more inference where the
    committee disagrees); still without one, the strong model's tests choose (``strong_tests``), and failing those
    the task escalates."""
    config, attempt.selection = attempt.config, "agreement"
    most = max(config.samples, config.agreement_samples)
    drawn = sampled = 0
    if config.greedy_first:
        attempt.draw(cheap, messages, 1, greedy=True, start=0)
        drawn = 1
    target = config.agreement_samples
    while True:
        attempt.draw(cheap, messages, target - drawn, greedy=False, start=sampled)
        drawn, sampled = target, sampled + target - drawn
        if any(c.result.verdict is Verdict.INFRA_ERROR for c in attempt.candidates):
            return Next.INFRA
        attempt.preferred, votes = attempt.agree()
        if 2 * votes > drawn:
            attempt.choice = "agreement"
            return Next.ACCEPT
        if drawn >= most or attempt.over_budget():
            break
        target = min(drawn + config.agreement_samples, most)
    attempt.choice, attempt.unsure = "largest cluster", True
    if not config.escalate:
        return Next.ACCEPT
    if config.strong_tests and strong is not None and (pick := attempt.judge_by_tests_of(strong)):
        attempt.preferred, attempt.selection = pick, "strong-tests"
        attempt.choice, attempt.unsure = "strong tests", False
        return Next.ACCEPT
    return Next.ESCALATE


def _agree_on_pass(attempt: _Attempt, cheap: Model, strong: Model | None, messages: list[dict[str, str]], *,
                   start: int, left: int) -> Next:  # fmt: skip
    """A pass on weak tests is checked: more cheap samples, and every passing one run on the same generated inputs.
    All alike: done. Where they disagree, the strong model's word on a distinguishing input picks a behaviour, or
    (naming one no candidate has) escalates; without it, the behaviour most samples share."""
    config = attempt.config
    if (extra := min(config.agreement_samples, left)) > 0:
        attempt.draw(cheap, messages, extra, greedy=False, start=start)
    if any(c.result.verdict is Verdict.INFRA_ERROR for c in attempt.candidates):
        return Next.INFRA
    ranked = attempt.clusters()
    attempt.votes = [c.votes for c in ranked]
    if not ranked:  # no probe finished: nothing to compare
        attempt.unsure = True
        return Next.ACCEPT
    attempt.preferred = ranked[0].members[0]
    if len(ranked) == 1:
        attempt.choice, attempt.unsure = ("agreement", False) if ranked[0].votes > 1 else ("first pass", True)
        return Next.ACCEPT
    if config.strong_judge and strong is not None and (kept := attempt.judged(strong, ranked)) is not None:
        if not kept:  # the strong model expects an output no candidate gives
            attempt.unsure = True
            return Next.ESCALATE if config.escalate else Next.ACCEPT
        attempt.preferred, attempt.choice = kept[0].members[0], "strong judge"
        return Next.ACCEPT
    attempt.choice, attempt.unsure = "largest cluster", ranked[0].votes < 2 * ranked[1].votes
    return Next.ACCEPT


def _repair(attempt: _Attempt, cheap: Model) -> Next | None:
    """Repair rounds (Reflexion-style): the best failing cheap candidate goes back to the cheap model with its test
    output, one greedy answer a round, and each round repairs the previous round's answer. ACCEPT as soon as one
    passes; None when none did."""
    config, chain = attempt.config, []
    current = select(attempt.candidates)
    for _ in range(config.repair_rounds):
        if current is None or current.result.verdict not in (Verdict.FAIL, Verdict.ERROR, Verdict.TIMEOUT):
            break
        if attempt.over_budget():
            break
        chain.append((current.program, current.result.feedback or current.result.verdict.value))
        attempt.draw(cheap, repair_prompt(attempt.task, chain if config.repair_history else chain[-1:]), 1,
                     greedy=True, start=0)  # fmt: skip
        answer = attempt.drawn[-1][1]
        current = next(c for c in attempt.candidates if c.program == answer)
        step = next_step(attempt.candidates, cheap_left=0, can_escalate=False, config=config)
        if step in (Next.ACCEPT, Next.INFRA):
            return step
    return None


def solve_task(
    task: Task,
    cheap: Model,
    strong: Model | None,
    verifier: Verifier,
    config: CommitteeConfig,
    *,
    score: bool = False,
) -> Solution:
    attempt = _Attempt(task, verifier, config)
    messages = solve_prompt(task)
    escalated = gated = False
    detail = ""
    rounds = round_sizes(config, batched=cheap.batches_samples)
    left, sampled = sum(rounds), 0
    routed = strong is not None and config.router is not None and config.router.routes_to_strong(task)
    try:
        chooses = config.samples > 1 or (config.samples == 1 and config.escalate and strong is not None)
        step = next_step([], cheap_left=left, can_escalate=strong is not None, config=config)
        if routed:  # predicted too hard for the cheap committee: not one cheap call
            step, rounds = Next.ESCALATE, []
        else:
            if attempt.selection == "none" and config.tests_from_prose and chooses:
                attempt.tests_from_prose(cheap)
            if attempt.selection == "none" and chooses and config.agreement_samples > 1:
                step, rounds = _sample_for_agreement(attempt, cheap, strong, messages), []
        for n, size in enumerate(rounds):
            greedy = n == 0 and config.greedy_first
            attempt.draw(cheap, messages, size, greedy=greedy, start=0 if greedy else sampled)
            sampled += 0 if greedy else size
            left = 0 if attempt.over_budget() else left - size
            step = next_step(attempt.candidates, cheap_left=left, can_escalate=strong is not None, config=config)
            if step is not Next.SAMPLE_MORE:
                break
        if (step is Next.ACCEPT and config.agree_on_pass and attempt.selection in ("given", "prose")
                and weak(attempt.tests, task.entry_point)):  # fmt: skip
            step = _agree_on_pass(attempt, cheap, strong, messages, start=sampled, left=left)
        if step in (Next.ESCALATE, Next.GIVE_UP) and config.repair_rounds and attempt.selection in ("given", "prose"):
            step = _repair(attempt, cheap) or step
        gated = (
            step is Next.ESCALATE
            and not routed
            and config.gate is not None
            and config.gate.withholds(attempt.evidence())
        )
        if gated:  # predicted to fail the strong model too: the best cheap attempt stands
            step = Next.GIVE_UP
        if step is Next.ESCALATE and strong is not None:
            escalated = True
            failures = feedback_for_escalation(attempt.candidates, config.feedback_candidates)
            attempt.draw(strong, escalation_prompt(task, failures), 1, greedy=True, start=0)
            step = next_step(attempt.candidates, cheap_left=0, can_escalate=False, config=config)
            if attempt.preferred is not None or attempt.selection == "agreement":
                # the cheap samples did not settle it (no majority, or the judge named an output none gives):
                # the strong model's answer, if it passes
                answer = next(program for tier, program in reversed(attempt.drawn) if tier == strong.tier)
                pick = next(c for c in attempt.candidates if c.program == answer)
                attempt.preferred = pick if pick.result.verdict is Verdict.PASS else attempt.preferred
        if step is Next.INFRA:
            infra = next(c for c in attempt.candidates if c.result.verdict is Verdict.INFRA_ERROR)
            detail = "the sandbox failed: " + infra.result.detail
    except EndpointError as e:
        log.warning("%s: %s", task.id, e)
        detail = str(e)
    chosen = attempt.preferred or select(attempt.candidates)
    by_strong = chosen is not None and strong is not None and chosen.tier == strong.tier
    verdict = Verdict.INFRA_ERROR if chosen is None or detail else chosen.result.verdict
    hidden, hidden_by_tier = None, {}
    if score and task.hidden_tests.strip() and attempt.drawn:
        verdicts = attempt.score()
        for tier in dict.fromkeys(tier for tier, _ in attempt.drawn):
            drawn = [program for t, program in attempt.drawn if t == tier]
            hidden_by_tier[tier] = (len(drawn), sum(verdicts[p] is Verdict.PASS for p in drawn))
        hidden = verdicts[chosen.program] if chosen else None
    return Solution(
        task_id=task.id,
        program=chosen.program if chosen else "",
        verdict=verdict,
        solved=verdict is Verdict.PASS,
        tier=chosen.tier if chosen else None,
        escalated=escalated,
        samples=attempt.samples,
        candidates=len(attempt.candidates),
        calls=tuple(attempt.calls),
        runs=tuple(attempt.runs),
        hidden=hidden,
        detail=detail,
        selection=attempt.selection,
        hidden_by_tier=hidden_by_tier,
        routed=routed,
        gated=gated,
        choice="strong" if by_strong else attempt.choice,
        unsure=attempt.unsure and not by_strong,
        evidence=attempt.evidence(),
    )
