"""`committee bench fix`: the CI bot on real packages' injected bugs, against cheap-alone and strong-alone.

Each case is a package's sdist with one bug in its source. The bot runs the package's suite, sees what fails and
proposes patches, as `committee fix` does; a patch it accepts is then scored like SWE-bench: the whole suite runs
again, and the case counts as fixed only if every test that passes on the original code passes (the tests the bug
broke among them) and no test file was edited. Restored: the patched files mean what the original code did (the
same AST). A run lives in ``RUN_DIR``: a JSONL line per finished case and configuration, report.json,
report.png; rerunning the id resumes it, and model calls come from the response cache.
"""

from __future__ import annotations

import ast
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from benchmarks.fixbench.cases import Case, Package, buggy, repository
from benchmarks.fixbench.sdists import read_sdist
from benchmarks.report import plot_points
from benchmarks.runner import _write_atomically, read_finished
from sandbox.repo import RepoSandbox
from solver.fix import FixConfig, FixResult, fix_repository
from solver.models import DEFAULT_MAX_TOKENS
from solver.patches import is_test_file, parse_python
from solver.protocols import Model

Progress = Callable[[str, int, int, int], None]
"""(configuration, cases done, cases in all, fixed so far)."""


def configurations(committee: FixConfig) -> dict[str, FixConfig]:
    """One greedy cheap patch, one greedy strong patch, and the committee, in the order that lets the committee's
    first answers come from the baselines' cache."""
    baseline = replace(committee, repair_rounds=0)
    return {
        "cheap-alone": replace(baseline, samples=1, escalate=False),
        "strong-alone": replace(baseline, samples=0, escalate=True),
        "committee": committee,
    }


def ablation(committee: FixConfig) -> dict[str, FixConfig]:
    """Both baselines, the committee, and the committee with one lever changed each: whole files instead of
    localisation, search/replace blocks asked for instead of whole functions, every patch on the whole suite at
    once instead of the failing tests first, every cheap answer to the first prompt instead of the round spread
    over the suspects, answers cut at the models' usual 768 tokens instead of 2,048."""
    return {
        **configurations(committee),
        "without-spread": replace(committee, spread=0),
        "whole-files": replace(committee, localise=False, edit_format="files"),
        "search-replace": replace(committee, edit_format="search-replace"),
        "without-failing-first": replace(committee, failing_first=False),
        "768-token-answers": replace(committee, answer_tokens=DEFAULT_MAX_TOKENS),
    }


def restored(original: Mapping[str, bytes], case: Case, changes: Mapping[str, bytes]) -> bool:
    """Whether the fix changes only the mutated file, back to code with the original's AST."""
    if set(changes) != {case.file}:
        return False
    before, after = parse_python(original[case.file]), parse_python(changes[case.file])
    return before is not None and after is not None and ast.dump(before) == ast.dump(after)


def score(case: Case, package: Package, original: Mapping[str, bytes], files: Mapping[str, bytes],
          result: FixResult, sandbox: RepoSandbox) -> dict[str, Any]:  # fmt: skip
    """The SWE-bench verdict on the bot's accepted patch, from a run of the whole suite."""
    if result.status != "fixed":
        return {"resolved": False, "restored": False, "edits_tests": False, "still_failing": len(case.fail_to_pass)}
    edits_tests = any(is_test_file(p) for p in result.changes)
    after = sandbox.run({**files, **result.changes}, package.pytest_args)
    if after.infra:
        return {"resolved": None, "infra": after.infra}
    missing = set(package.passing) - after.passing
    return {
        "resolved": not edits_tests and not missing,
        "restored": restored(original, case, result.changes),
        "edits_tests": edits_tests,
        "still_failing": len(missing & set(case.fail_to_pass)),
        "broken": len(missing - set(case.fail_to_pass)),
    }


def run_case(case: Case, package: Package, tree: dict[str, bytes], sandbox: RepoSandbox, cheap: Model,
             strong: Model | None, config: FixConfig) -> dict[str, Any]:  # fmt: skip
    original = repository(package, tree)
    files = buggy(case, original)
    started = time.monotonic()
    result = fix_repository(files, sandbox, case.test_cmd, list(package.pytest_args), cheap, strong, config)
    verdict = score(case, package, original, files, result, sandbox)
    return {
        "case_id": case.id,
        "package": case.package,
        "kind": case.kind,
        "status": result.status,
        **verdict,
        "tier": result.tier,
        "failing_before": len(result.failing_before),
        "candidates": result.candidates,
        "full_runs": result.full_runs,
        "quick_runs": result.quick_runs,
        "samples": result.samples,
        "changed": sorted(result.changes),
        "diff": result.diff,
        "calls": [asdict(c) for c in result.calls],
        "wall_s": time.monotonic() - started,
        "detail": result.detail[-2000:],
    }


def read_records(path: Path, *, mend: bool = True) -> dict[str, dict[str, Any]]:
    """Finished cases by id; a case that ended in an infra error, or whose scoring did, runs again."""
    return read_finished(
        path, "case_id", lambda r: r["status"] != "infra error" and r.get("resolved") is not None, mend=mend
    )


@dataclass(frozen=True)
class FixSummary:
    config: str
    cases: int
    resolved: int
    """Fixed as SWE-bench scores it: the whole suite passes as on the original code, no test edited."""
    infra_errors: int
    """Cases the sandbox could not judge (not counted in the fix rate: a broken sandbox is no wrong patch)."""
    accepted: int
    """Cases where the bot reported a fix (its own check, on the suite it ran)."""
    restored: int
    escalated: int
    cheap_tokens: int
    strong_tokens: int
    cheap_cost: float
    strong_cost: float
    samples: int
    cut: int
    """Answers that stopped at the length limit."""
    candidates: int
    full_runs: int
    quick_runs: int
    wall_s: float

    @property
    def fix_rate(self) -> float:
        judged = self.cases - self.infra_errors
        return self.resolved / judged if judged else 0.0

    @property
    def cost(self) -> float:
        return self.cheap_cost + self.strong_cost


def summarise(config: str, records: Sequence[dict[str, Any]]) -> FixSummary:
    tokens = {"cheap": 0, "strong": 0}
    cost = {"cheap": 0.0, "strong": 0.0}
    for record in records:
        for call in record["calls"]:
            tokens[call["tier"]] += call["tokens_in"] + call["tokens_out"]
            cost[call["tier"]] += call["cost"]
    return FixSummary(
        config=config, cases=len(records), resolved=sum(bool(r.get("resolved")) for r in records),
        infra_errors=sum(r["status"] == "infra error" or r.get("resolved") is None for r in records),
        accepted=sum(r["status"] == "fixed" for r in records), restored=sum(bool(r.get("restored")) for r in records),
        escalated=sum(any(c["tier"] == "strong" for c in r["calls"]) for r in records),
        cheap_tokens=tokens["cheap"], strong_tokens=tokens["strong"], cheap_cost=cost["cheap"],
        strong_cost=cost["strong"], samples=sum(r["samples"] for r in records),
        cut=sum(bool(c.get("cut")) for r in records for c in r["calls"]),
        candidates=sum(r["candidates"] for r in records), full_runs=sum(r.get("full_runs", 0) for r in records),
        quick_runs=sum(r.get("quick_runs", 0) for r in records), wall_s=sum(r["wall_s"] for r in records),
    )  # fmt: skip


def run_fix_bench(cases: Sequence[Case], packages: Mapping[str, Package], run_dir: Path,
                  configs: Mapping[str, FixConfig], clients: Mapping[str, Model],
                  sandbox: RepoSandbox, *, progress: Progress | None = None) -> list[FixSummary]:  # fmt: skip
    """Every configuration on every case, resuming what ``run_dir`` holds. Case by case, every configuration in
    turn: a run stopped part way has compared the configurations on the cases it finished, and a model server
    still holds the case's prompt when the next configuration asks it again."""
    run_dir.mkdir(parents=True, exist_ok=True)
    records = {name: read_records(run_dir / f"{name}.jsonl") for name in configs}

    def report(name: str) -> None:
        if progress:
            done = [records[name][c.id] for c in cases if c.id in records[name]]
            progress(name, len(done), len(cases), sum(bool(r.get("resolved")) for r in done))

    for name in configs:
        report(name)
    outs = {name: (run_dir / f"{name}.jsonl").open("a") for name in configs}
    try:
        for case in cases:
            todo = [name for name in configs if case.id not in records[name]]
            if not todo:
                continue
            package = packages[case.package]
            tree = read_sdist(package.sdist)
            sandbox.start(repository(package, tree))
            for name in todo:
                config = configs[name]
                strong = clients.get("strong") if config.escalate else None
                record = run_case(case, package, tree, sandbox, clients["cheap"], strong, config)
                outs[name].write(json.dumps(record) + "\n")
                outs[name].flush()
                records[name][case.id] = record
                report(name)
    finally:
        for out in outs.values():
            out.close()
    summaries = [summarise(name, [records[name][c.id] for c in cases if c.id in records[name]]) for name in configs]
    write_report(run_dir / "report.json", summaries)
    plot(summaries, run_dir / "report.png", title=f"{run_dir.name}: {len(cases)} cases")
    return summaries


def cost_fraction(summary: FixSummary, baseline: FixSummary | None) -> float | None:
    return summary.cost / baseline.cost if baseline is not None and baseline.cost > 0 else None


def write_report(path: Path, summaries: Sequence[FixSummary]) -> None:
    base = next((s for s in summaries if s.config == "strong-alone"), None)
    report = [{**asdict(s), "fix_rate": s.fix_rate, "cost": s.cost,
               "cost_fraction_of_strong_alone": cost_fraction(s, base)} for s in summaries]  # fmt: skip
    _write_atomically(path, json.dumps(report, indent=2) + "\n")


def table_rows(summaries: Sequence[FixSummary]) -> list[list[str]]:
    base = next((s for s in summaries if s.config == "strong-alone"), None)
    rows = [["configuration", "fixed", "bot said fixed", "restored", "escalated", "answers/case", "cut at limit",
             "patches/case", "suite runs (whole+failing first)", "cheap tokens", "strong tokens", "cost $",
             "cost/strong-alone", "wall s", "infra"]]  # fmt: skip
    for s in summaries:
        fraction = cost_fraction(s, base)
        n = s.cases or 1
        rows.append([s.config, f"{100 * s.fix_rate:.1f}% {s.resolved}/{s.cases - s.infra_errors}", f"{s.accepted}",
                     f"{s.restored}", f"{s.escalated}", f"{s.samples / n:.1f}", f"{s.cut}", f"{s.candidates / n:.1f}",
                     f"{s.full_runs}+{s.quick_runs}", f"{s.cheap_tokens:,}",
                     f"{s.strong_tokens:,}", f"{s.cost:.5f}", "-" if fraction is None else f"{100 * fraction:.1f}%",
                     f"{s.wall_s:.0f}", f"{s.infra_errors}"])  # fmt: skip
    return rows


def case_rows(cases: Sequence[Case], records: Mapping[str, Mapping[str, dict[str, Any]]]) -> list[list[str]]:
    """Per package and mutation kind: cases, and how many each configuration fixed."""
    configs = list(records)
    groups: dict[tuple[str, str], list[Case]] = {}
    for case in cases:
        groups.setdefault((case.package, case.kind), []).append(case)
    rows = [["package", "mutation", "cases", *configs]]
    for (package, kind), members in sorted(groups.items()):
        fixed = [sum(bool(records[c].get(m.id, {}).get("resolved")) for m in members) for c in configs]
        rows.append([package, kind, str(len(members)), *map(str, fixed)])
    return rows


def markdown(rows: Sequence[Sequence[str]]) -> str:
    head, *body = rows
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])


def plot(summaries: Sequence[FixSummary], path: Path, *, title: str) -> None:
    points = [(s.config, s.cost, 100 * s.fix_rate, False) for s in summaries]
    plot_points(points, path, title=title, ylabel="cases fixed (the whole suite passes), %")
