"""Benchmark summaries: pure functions over result records (one JSONL line per task and configuration)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table


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

    @property
    def pass_at_1(self) -> float:
        return self.passed / self.tasks if self.tasks else 0.0

    @property
    def cost(self) -> float:
        return self.cheap_cost + self.strong_cost

    @property
    def escalation_rate(self) -> float:
        return self.escalated / self.tasks if self.tasks else 0.0


def summarise(config: str, records: Sequence[dict[str, Any]], wall_s: float) -> Summary:
    """Cost counts every call at its price, cached or not: what the configuration costs, not what this rerun paid."""
    tokens = {"cheap": 0, "strong": 0}
    cost = {"cheap": 0.0, "strong": 0.0}
    for record in records:
        for call in record["calls"]:
            tokens[call["tier"]] += call["tokens_in"] + call["tokens_out"]
            cost[call["tier"]] += call["cost"]
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
        wall_s=wall_s,
    )


def cost_fraction(summary: Summary, baseline: Summary | None) -> float | None:
    if baseline is None or baseline.cost <= 0:
        return None
    return summary.cost / baseline.cost


def table(summaries: Sequence[Summary], *, baseline: str = "strong-alone", title: str = "") -> Table:
    base = next((s for s in summaries if s.config == baseline), None)
    t = Table(title=title)
    for column in ("configuration", "pass@1", "passed", "sel. passed", "escalated", "samples/task",
                   "cheap tokens", "strong tokens", "cost $", f"cost / {baseline}", "wall s", "infra"):  # fmt: skip
        t.add_column(column, justify="left" if column == "configuration" else "right")
    for s in summaries:
        fraction = cost_fraction(s, base)
        t.add_row(
            s.config,
            f"{100 * s.pass_at_1:.1f}%",
            f"{s.passed}/{s.tasks}",
            f"{s.selected}/{s.tasks}",
            f"{100 * s.escalation_rate:.0f}%",
            f"{s.samples / s.tasks:.1f}" if s.tasks else "-",
            f"{s.cheap_tokens:,}",
            f"{s.strong_tokens:,}",
            f"{s.cost:.6f}",
            "-" if fraction is None else f"{100 * fraction:.1f}%",
            f"{s.wall_s:.0f}",
            str(s.infra_errors),
        )
    return t


def print_table(table: Table) -> None:
    """Print to stdout at full width even when it is a file or a pipe (rich would cut it to 80 columns)."""
    Console(width=None if sys.stdout.isatty() else 200).print(table)
