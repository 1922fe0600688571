"""Benchmark summaries: pure functions over result records (one JSONL line per task and configuration)."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from solver.ledger import dollars


@dataclass(frozen=True)
class Summary:
    config: str
    tasks: int
    passed: int
    """Chosen programs that pass the hidden tests."""
    selected: int
    """Tasks where the chosen program passed the selection tests."""
    escalated: int
    cheap_tokens: int
    strong_tokens: int
    cheap_cost: float
    strong_cost: float
    samples: int
    infra_errors: int
    wall_s: float
    tests_given: int = 0
    """Tasks whose selection tests came with the task (the prompt's ``>>>`` examples, MBPP's asserts)."""
    tests_from_prose: int = 0
    """Tasks whose selection tests the cheap model transcribed from examples stated in the prompt's words."""
    selected_with_tests: int = 0
    """Tasks with selection tests whose chosen program passed them..."""
    selected_with_tests_passed: int = 0
    """...and of those, how many pass the hidden tests: how far the selection tests can be trusted."""
    cheap_pass_at_1: float | None = None
    """Mean share of cheap samples that pass the hidden tests (over tasks with any cheap sample)."""
    cheap_any: int = 0
    """Tasks where some cheap sample passes the hidden tests: what perfect selection would reach."""
    calls: int = 0
    cached_calls: int = 0
    """Model calls answered from the response cache when their task ran: wall time leaves their latency out."""
    cheap_calls: int = 0
    """Cheap samples and other cheap calls (tests transcribed from prose, repairs): one per answer."""
    routed: int = 0
    """Tasks the router sent straight to the strong model (counted among the escalated too)."""
    unsure: int = 0
    """Tasks called solved on thin evidence (weak tests, passing samples that disagree, nothing settling it)."""
    unpriced_calls: int = 0
    """Calls of a model with no known price: the costs leave them out, and say so."""
    prices: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """How each tier's calls were priced (``solver.prices``): (tier, its price bases), e.g. ("cheap", ("stand-in",))."""
    rescored: int = 0
    """Records that are another run's choices scored on these hidden tests (``benchmarks.rescore``): they keep no
    sample but the chosen one, so the row has no cheap pass@1, and no wall time of its own."""

    @property
    def pass_at_1(self) -> float:
        return self.passed / self.tasks if self.tasks else 0.0

    @property
    def cost(self) -> float:
        return self.cheap_cost + self.strong_cost

    @property
    def dollars(self) -> str:
        """The cost as the tables show it: incomplete when some calls had no price."""
        return dollars(self.cost, self.unpriced_calls)

    @property
    def escalation_rate(self) -> float:
        return self.escalated / self.tasks if self.tasks else 0.0


def summarise(config: str, records: Sequence[dict[str, Any]], wall_s: float) -> Summary:
    """Cost counts every call at its price, cached or not: what the configuration costs, not what this rerun paid."""
    tokens = {"cheap": 0, "strong": 0}
    cost = {"cheap": 0.0, "strong": 0.0}
    bases: dict[str, set[str]] = {"cheap": set(), "strong": set()}
    for record in records:
        for call in record["calls"]:
            tokens[call["tier"]] += call["tokens_in"] + call["tokens_out"]
            cost[call["tier"]] += call["cost"]
            bases[call["tier"]].add(call.get("price_basis") or "not recorded")
    with_tests = [r for r in records if r.get("selection", "given") in ("given", "prose") and r["solved"]]
    cheap = [r["hidden_by_tier"]["cheap"] for r in records if r.get("hidden_by_tier", {}).get("cheap")]
    rescored = sum("rescored_from" in r for r in records)
    return Summary(
        config=config,
        tasks=len(records),
        passed=sum(r["hidden"] == "PASS" for r in records),
        selected=sum(bool(r["solved"]) for r in records),
        escalated=sum(bool(r["escalated"]) for r in records),
        cheap_tokens=tokens["cheap"],
        strong_tokens=tokens["strong"],
        cheap_cost=cost["cheap"],
        strong_cost=cost["strong"],
        samples=sum(r["samples"] for r in records),
        infra_errors=sum(r["verdict"] == "INFRA_ERROR" or r["hidden"] == "INFRA_ERROR" for r in records),
        wall_s=float("nan") if rescored else wall_s,
        tests_given=sum(r.get("selection", "given") == "given" for r in records),
        tests_from_prose=sum(r.get("selection") == "prose" for r in records),
        selected_with_tests=len(with_tests),
        selected_with_tests_passed=sum(r["hidden"] == "PASS" for r in with_tests),
        cheap_pass_at_1=sum(c / n for n, c in cheap) / len(cheap) if cheap and not rescored else None,
        cheap_any=sum(c > 0 for _, c in cheap),
        calls=sum(len(r["calls"]) for r in records),
        cached_calls=sum(bool(call.get("cached")) for r in records for call in r["calls"]),
        cheap_calls=sum(call["tier"] == "cheap" for r in records for call in r["calls"]),
        routed=sum(bool(r.get("routed")) for r in records),
        unsure=sum(bool(r.get("unsure")) and bool(r["solved"]) for r in records),
        unpriced_calls=sum(call.get("price_basis") == "unpriced" for r in records for call in r["calls"]),
        prices=tuple((tier, tuple(sorted(b))) for tier, b in bases.items() if b),
        rescored=rescored,
    )


ORACLE_ROUTER = "oracle-router"
"""Computed, not run: the cheap committee on the tasks it solves, strong-alone on the rest, as if a router knew in
advance which are which. The frontier a router approaches."""


def oracle_router(committee: Sequence[dict[str, Any]], strong: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per task, the cheap committee's record where its cheap answer passes the hidden tests (without any strong
    call it made), else strong-alone's record: what a router that knew the outcome in advance would get."""
    by_id = {r["task_id"]: r for r in strong}
    records = []
    for record in committee:
        if record["tier"] == "cheap" and record["hidden"] == "PASS":
            calls = [c for c in record["calls"] if c["tier"] == "cheap"]
            records.append({**record, "calls": calls, "escalated": False})
        else:
            records.append(by_id[record["task_id"]])
    return records


def cost_fraction(summary: Summary, baseline: Summary | None) -> float | None:
    """``summary``'s cost as a share of ``baseline``'s; None where either leaves unpriced calls out."""
    if baseline is None or baseline.cost <= 0 or summary.unpriced_calls or baseline.unpriced_calls:
        return None
    return summary.cost / baseline.cost


def shown_fraction(summary: Summary, baseline: Summary | None) -> str:
    if (fraction := cost_fraction(summary, baseline)) is not None:
        return f"{100 * fraction:.1f}%"
    return "incomplete" if summary.unpriced_calls or (baseline and baseline.unpriced_calls) else "-"


def price_note(summaries: Sequence[Summary]) -> str:
    """How the tables' costs were priced, as a line under them (stand-in prices are not real ones)."""
    tiers: dict[str, set[str]] = {}
    for summary in summaries:  # each row's, merged per tier
        for tier, named in summary.prices:
            tiers.setdefault(tier, set()).update(named)
    bases = [f"{tier}: {', '.join(sorted(named))}" for tier, named in sorted(tiers.items())]
    note = "prices: " + "; ".join(bases) if bases else ""
    if any("stand-in" in b for b in bases):
        note += " (stand-in: the local models at made-up prices, the strong 50x the cheap per token)"
    if any(s.unpriced_calls for s in summaries):
        note += "\nunpriced: calls of a model with no known price, left out of the costs (give one with --price)"
    return note


def rescore_note(summaries: Sequence[Summary]) -> str:
    """A line under the tables where rows hold another run's choices, scored on this run's hidden tests."""
    if not (most := max((s.rescored for s in summaries), default=0)):
        return ""
    return (f"rescored: up to {most} records a row are another run's choices scored on these hidden tests "
            "(benchmarks.rescore); such rows show no cheap pass@1 and no wall time")  # fmt: skip


def table_notes(summaries: Sequence[Summary]) -> str:
    """The lines under the run's table: what its columns mean, how it was priced, what was rescored."""
    return "\n".join(filter(None, (TABLE_NOTES, price_note(summaries), rescore_note(summaries))))


def _baselines(summaries: Sequence[Summary], runs: Sequence[str] | None, baseline: str) -> list[Summary | None]:
    """Each row's baseline: its own run's (rows of several runs side by side each compare within their run)."""
    names = runs or [""] * len(summaries)
    by_run = {run: s for run, s in zip(names, summaries, strict=True) if s.config == baseline}
    return [by_run.get(run) for run in names]


def _table(title: str, runs: Sequence[str] | None, columns: Sequence[str], *, no_wrap: bool = False) -> Table:
    t = Table(title=title)
    for column in (["run"] if runs else []) + list(columns):
        named = column in ("run", "configuration")
        t.add_column(column, justify="left" if named else "right", no_wrap=no_wrap or named)
    return t


def table(
    summaries: Sequence[Summary], *, baseline: str = "strong-alone", title: str = "", runs: Sequence[str] | None = None
) -> Table:
    """The run's table; with ``runs`` (a run name per summary), several runs' rows side by side."""
    t = _table(title, runs, ("configuration", "pass@1", "escalated", "samples/task", "cheap pass@1", "any cheap",
                   "sel. tests", "sel. trusted", "cheap tokens", "strong tokens", "cost $", f"cost/{baseline}",
                   "wall s", "cached calls", "infra"))  # fmt: skip
    for i, (s, base) in enumerate(zip(summaries, _baselines(summaries, runs, baseline), strict=True)):
        t.add_row(
            *([runs[i]] if runs else []),
            s.config,
            f"{100 * s.pass_at_1:.1f}% {s.passed}/{s.tasks}",
            f"{100 * s.escalation_rate:.0f}%",
            f"{s.samples / s.tasks:.1f}" if s.tasks else "-",
            "-" if s.cheap_pass_at_1 is None else f"{100 * s.cheap_pass_at_1:.1f}%",
            f"{s.cheap_any}/{s.tasks}" if s.cheap_pass_at_1 is not None else "-",
            f"{s.tests_given}+{s.tests_from_prose}/{s.tasks}",
            f"{s.selected_with_tests_passed}/{s.selected_with_tests}",
            f"{s.cheap_tokens:,}",
            f"{s.strong_tokens:,}",
            s.dollars,
            shown_fraction(s, base),
            "-" if math.isnan(s.wall_s) else f"{s.wall_s:.0f}",
            f"{s.cached_calls}/{s.calls}",
            str(s.infra_errors),
        )
    return t


def ablation_table(summaries: Sequence[Summary], *, title: str = "", runs: Sequence[str] | None = None) -> Table:
    """The levers' table: what each configuration reaches, and at what share of strong-alone's cost."""
    t = _table(title, runs, ("configuration", "pass@1", "cost/strong-alone", "escalated", "routed",
                             "cheap calls/task", "sel. trusted", "unsure", "cost $"), no_wrap=True)  # fmt: skip
    for i, (s, base) in enumerate(zip(summaries, _baselines(summaries, runs, "strong-alone"), strict=True)):
        t.add_row(
            *([runs[i]] if runs else []),
            s.config,
            f"{100 * s.pass_at_1:.1f}% {s.passed}/{s.tasks}",
            shown_fraction(s, base),
            f"{100 * s.escalation_rate:.0f}%",
            f"{s.routed}",
            f"{s.cheap_calls / s.tasks:.1f}" if s.tasks else "-",
            f"{s.selected_with_tests_passed}/{s.selected_with_tests}",
            f"{s.unsure}",
            s.dollars,
        )
    return t


ABLATION_NOTES = (
    "Up to +repair each row adds one lever to the row above; +strong-tests, +agreement-on-pass, +gate and +router each "
    "add theirs to +repair, +strong-judge adds its to +agreement-on-pass, all has +strong-tests and +router.\nsel. "
    "trusted: of the tasks whose chosen program passed the selection tests, how many pass the hidden ones; unsure: "
    "tasks called solved on thin evidence.\nescalated: tasks whose solution the strong model was asked for (routed "
    "ones included). oracle-router is computed, not run: +repair on the tasks its cheap answer solves, strong-alone "
    "on the rest."
)

TABLE_NOTES = (
    "cheap pass@1: mean share of cheap samples passing the hidden tests; any cheap: tasks where at least one did "
    "(what perfect selection reaches).\nsel. tests: tasks with selection tests given + transcribed from examples "
    "stated in words; sel. trusted: of the tasks whose chosen program passed such tests, how many pass the hidden "
    "ones.\ncached calls: answered from the response cache (an earlier run's), so wall s does not include them."
)


def plot(summaries: Sequence[Summary], path: Path, *, title: str) -> None:
    """Cost against pass@1, one labelled point per configuration, as a PNG."""
    points = [(s.config, s.cost, 100 * s.pass_at_1, s.config == ORACLE_ROUTER) for s in summaries]
    plot_points(points, path, title=title, ylabel="pass@1 on the hidden tests, %")


def plot_points(points: Sequence[tuple[str, float, float, bool]], path: Path, *, title: str, ylabel: str) -> None:
    """(label, cost, percent, computed) points as a PNG; computed ones (not run) are drawn as stars."""
    import matplotlib

    matplotlib.use("Agg")  # no display: write files only
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, cost, percent, computed in points:
        ax.scatter(cost, percent, s=160 if computed else 60, marker="*" if computed else "o")
        ax.annotate(label, (cost, percent), textcoords="offset points", xytext=(6, 4), fontsize=9)
    if all(cost > 0 for _, cost, _, _ in points):
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # labelled minor ticks overlap
    percents = [percent for _, _, percent, _ in points]
    if percents and max(percents) - min(percents) < 1:  # one level: a scale around it, not of a hundredth
        ax.set_ylim(0, max(10.0, max(percents) + 5))
    ax.set_xlabel("cost of the run, $ (log scale)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def print_table(table: Table) -> None:
    """Print to stdout at full width even when it is a file or a pipe (rich would cut it to 80 columns)."""
    Console(width=None if sys.stdout.isatty() else 200).print(table)
