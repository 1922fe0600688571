"""The difficulty router on held-out benchmarks: train on one benchmark's run logs, test on another's, never on the
tasks it is scored on.

    python -m benchmarks.router humaneval+:runs/he mbpp+:runs/mbpp [--share 0.2] [--plot router.png]

Each argument is a benchmark and an ablation run of it (`committee bench NAME --ablate`), whose +repair.jsonl
(the cheap committee with every lever but the router) gives the labels and whose strong-alone.jsonl gives what a
routed task gets. For each direction it prints the router's held-out accuracy and AUC, its calibration (predicted
failure probability against the observed failure rate, and the share it routes against the share it was
calibrated to), and what routing at that threshold does to pass@1 and cost on the test benchmark, against a
random router at the same share and the oracle router. No model is called: routed tasks get strong-alone's
logged answer, which is the call a +router run makes (the same prompt, answered from the response cache).

A third table asks the other question, where MBPP+'s cost lies: the same regression trained to predict that the
strong model fails (strong-alone's logs), used as an escalation gate that withholds those escalations, against no
gate and the oracle gate (escalate only what the strong model solves). A fourth does the same with the gate that
decides after sampling, on what the cheap samples showed (``solver.gate``, the records' ``evidence``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table

from benchmarks.datasets import load_benchmark
from benchmarks.past_runs import read_run
from benchmarks.report import ORACLE_ROUTER, Summary, cost_fraction, print_table
from benchmarks.runner import CHEAP_COMMITTEE, read_records
from solver.gate import escalations
from solver.gate import train as train_gate
from solver.router import cheap_failed, train
from solver.task import Task


@dataclass(frozen=True)
class Run:
    benchmark: str
    tasks: list[Task]
    committee: dict[str, dict[str, Any]]
    strong: dict[str, dict[str, Any]]
    summaries: list[Summary]
    """Every configuration's row, on the tasks all of them finished (as `committee report` counts a stopped run)."""

    @property
    def failed(self) -> np.ndarray:
        return np.array([cheap_failed(self.committee[t.id]) for t in self.tasks])

    def outcome(self, routed: np.ndarray) -> tuple[float, float]:
        """pass@1 and cost with the routed tasks given strong-alone's records and the rest the committee's."""
        records = [self.strong[t.id] if r else self.committee[t.id] for t, r in zip(self.tasks, routed, strict=True)]
        return _pass(records), _cost(records)

    def oracle(self) -> tuple[float, float]:
        return self.outcome(self.failed)

    @property
    def strong_cost(self) -> float:
        """Strong-alone's cost: what every cost here is a fraction of."""
        return _cost(list(self.strong.values()))

    @property
    def strong_failed(self) -> np.ndarray:
        return np.array([self.strong[t.id]["hidden"] != "PASS" for t in self.tasks])

    def gated(self, withheld: np.ndarray) -> tuple[float, float]:
        """pass@1 and cost when the committee does not escalate the ``withheld`` tasks: they keep their cheap calls
        and count as failed (no cheap candidate passed their tests). The committee's escalation asks the plain
        prompt, so an escalation it makes gets strong-alone's answer."""
        records = []
        for task, withhold in zip(self.tasks, withheld, strict=True):
            record = self.committee[task.id]
            if withhold and record["escalated"]:
                record = {**record, "hidden": "FAIL", "calls": [c for c in record["calls"] if c["tier"] == "cheap"]}
            records.append(record)
        return _pass(records), _cost(records)


def load_run(spec: str) -> Run:
    benchmark, _, directory = spec.partition(":")
    run_dir = Path(directory)
    committee = read_records(run_dir / f"{CHEAP_COMMITTEE}.jsonl")
    strong = read_records(run_dir / "strong-alone.jsonl")
    tasks = [t for t in load_benchmark(benchmark) if t.id in committee and t.id in strong]
    if not tasks:
        raise SystemExit(f"{spec}: no task has both {CHEAP_COMMITTEE}.jsonl and strong-alone.jsonl records")
    return Run(benchmark, tasks, committee, strong, read_run(run_dir).summaries)


def _pass(records: Sequence[dict[str, Any]]) -> float:
    return sum(r["hidden"] == "PASS" for r in records) / len(records)


def _cost(records: Sequence[dict[str, Any]]) -> float:
    return sum(call["cost"] for r in records for call in r["calls"])


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """The chance that a task the committee fails scores above one it solves (ties count half)."""
    positive, negative = scores[labels], scores[~labels]
    if not len(positive) or not len(negative):
        return float("nan")
    above = (positive[:, None] > negative[None, :]).sum() + 0.5 * (positive[:, None] == negative[None, :]).sum()
    return float(above / (len(positive) * len(negative)))


def evaluate(train_run: Run, test_run: Run, share: float) -> tuple[list[str], list[tuple[str, str, str]]]:
    router = train(train_run.tasks, list(train_run.failed), strong_share=share)
    p, failed = router.probabilities(test_run.tasks), test_run.failed
    routed = p >= router.threshold
    strong_cost = test_run.strong_cost
    rng = np.random.default_rng(0)
    random = [test_run.outcome(rng.random(len(p)) < routed.mean()) for _ in range(200)]
    rows = [
        f"{train_run.benchmark} -> {test_run.benchmark}",
        f"{len(train_run.tasks)} / {len(test_run.tasks)}",
        f"{failed.mean():.0%}",
        f"{(routed == failed).mean():.0%} (majority {max(failed.mean(), 1 - failed.mean()):.0%})",
        f"{auc(p, failed):.2f}",
        f"{share:.0%} -> {routed.mean():.0%}",
    ]
    bins = []
    for low, high in ((0.0, 1 / 3), (1 / 3, 2 / 3), (2 / 3, 1.01)):
        inside = (p >= low) & (p < high)
        if inside.any():
            observed = f"{failed[inside].mean():.2f} of {inside.sum()}"
            bins.append((f"{low:.2f}-{min(high, 1):.2f}", f"{p[inside].mean():.2f}", observed))
    outcomes = [
        test_run.outcome(np.zeros(len(p), dtype=bool)),
        test_run.outcome(routed),
        (float(np.mean([r[0] for r in random])), float(np.mean([r[1] for r in random]))),  # a router at random
        test_run.oracle(),
        test_run.outcome(np.ones(len(p), dtype=bool)),
    ]
    rows.extend(f"{pass1:.1%} at {cost / strong_cost:.0%}" for pass1, cost in outcomes)
    return rows, bins


def evaluate_gate(train_run: Run, test_run: Run, share: float) -> list[str]:
    """An escalation gate: the same regression trained to predict that the strong model fails a task; the committee
    does not escalate the tasks it flags. Against no gate and the oracle gate (escalate only what strong solves)."""
    gate = train(train_run.tasks, list(train_run.strong_failed), strong_share=share)
    p, failed = gate.probabilities(test_run.tasks), test_run.strong_failed
    withheld = p >= gate.threshold
    escalated = np.array([bool(test_run.committee[t.id]["escalated"]) for t in test_run.tasks])
    strong_cost = test_run.strong_cost
    outcomes = [test_run.gated(np.zeros(len(p), dtype=bool)), test_run.gated(withheld), test_run.gated(failed)]
    return [
        f"{train_run.benchmark} -> {test_run.benchmark}",
        f"{failed.mean():.0%}",
        f"{auc(p, failed):.2f}",
        f"{share:.0%} -> {withheld.mean():.0%}",
        f"{(withheld & escalated).sum()} of {escalated.sum()} ({(withheld & escalated & ~failed).sum()} wrongly)",
        *(f"{pass1:.1%} at {cost / strong_cost:.0%}" for pass1, cost in outcomes),
    ]


def evaluate_evidence_gate(train_run: Run, test_run: Run) -> list[str]:
    """The gate that decides after sampling (``solver.gate``), trained on one run's escalations and tested on the
    other's, against no gate and the oracle gate."""
    training, testing = (escalations(r.committee, r.strong) for r in (train_run, test_run))
    gate = train_gate([e.evidence for e in training], [e.strong_failed for e in training])
    p = gate.probabilities([e.evidence for e in testing]) if testing else np.zeros(0)
    failed = np.array([e.strong_failed for e in testing], dtype=bool)
    withheld_ids = {e.task_id for e, w in zip(testing, p >= gate.threshold, strict=True) if w}
    withheld = np.array([t.id in withheld_ids for t in test_run.tasks])
    strong_cost = test_run.strong_cost
    outcomes = [test_run.gated(np.zeros(len(withheld), dtype=bool)), test_run.gated(withheld),
                test_run.gated(test_run.strong_failed)]  # fmt: skip
    return [
        f"{train_run.benchmark} -> {test_run.benchmark}",
        f"{len(training)} / {len(testing)}",
        f"{failed.mean():.0%}" if len(failed) else "-",
        f"{auc(p, failed):.2f}",
        f"{len(withheld_ids)} ({int((p >= gate.threshold)[~failed].sum())} wrongly)",
        *(f"{pass1:.1%} at {cost / strong_cost:.0%}" for pass1, cost in outcomes),
    ]


def sweep(train_run: Run, test_run: Run) -> list[tuple[float, float, float]]:
    """(share routed on the test benchmark, pass@1, cost) for every threshold the training calibration allows."""
    router = train(train_run.tasks, list(train_run.failed), strong_share=0.5)
    p = router.probabilities(test_run.tasks)
    points = []
    for threshold in [np.inf, *sorted(set(p.tolist()), reverse=True)]:
        routed = p >= threshold
        points.append((float(routed.mean()), *test_run.outcome(routed)))
    return points


def plot(runs: Sequence[Run], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, (train_run, test_run) in zip(axes, [(runs[0], runs[1]), (runs[1], runs[0])], strict=True):
        strong_cost = test_run.strong_cost
        curve = sweep(train_run, test_run)
        ax.plot(
            [100 * c / strong_cost for _, _, c in curve],
            [100 * q for _, q, _ in curve],
            "-",
            color="tab:blue",
            label=f"router trained on {train_run.benchmark}, every threshold",
        )
        points: dict[tuple[float, float], list[str]] = {}  # every configuration of the ablation run
        baseline = next((s for s in test_run.summaries if s.config == "strong-alone"), None)
        for row in test_run.summaries:
            if row.config not in ("strong-alone", ORACLE_ROUTER) and (share := cost_fraction(row, baseline)):
                x, y = 100 * share, 100 * row.pass_at_1
                near = next((p for p in points if abs(p[0] - x) < 3 and abs(p[1] - y) < 1), (x, y))  # one label
                points.setdefault(near, []).append(row.config)
        for n, ((x, y), names) in enumerate(points.items()):  # labels alternate below and above their points
            ax.scatter([x], [y], s=25, color="gray")
            label = "\n".join(", ".join(names[i : i + 2]) for i in range(0, len(names), 2))  # two names a line
            below = n % 2 == 1
            ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, -4 if below else 4), fontsize=7,
                        va="top" if below else "bottom")  # fmt: skip
        pass1, cost = test_run.oracle()
        ax.scatter([100 * cost / strong_cost], [100 * pass1], marker="*", s=160, color="tab:red", label="oracle router")
        pass1, cost = test_run.outcome(np.ones(len(test_run.tasks), dtype=bool))
        ax.scatter([100 * cost / strong_cost], [100 * pass1], s=60, color="black", label="strong alone")
        pass1, cost = test_run.outcome(np.zeros(len(test_run.tasks), dtype=bool))
        label = f"{CHEAP_COMMITTEE}, no router"
        ax.scatter([100 * cost / strong_cost], [100 * pass1], s=60, color="tab:green", label=label)
        ax.set_title(f"{test_run.benchmark} ({len(test_run.tasks)} tasks)", fontsize=10)
        ax.set_xlabel("cost, % of strong alone")
        ax.set_ylabel("pass@1 on the hidden tests, %")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs=2, metavar="BENCHMARK:RUN_DIR")
    parser.add_argument("--share", type=float, action="append", help="target share of strong calls (repeatable)")
    parser.add_argument("--plot", type=Path, default=None, help="also draw pass@1 against cost for every threshold")
    args = parser.parse_args()
    runs = [load_run(spec) for spec in args.runs]
    table = Table(title="difficulty router, trained on one benchmark and tested on the other")
    for column in ("train -> test", "tasks", "test failure rate", "accuracy", "AUC", "share: target -> test",
                   "no router", "router", "random router", "oracle router", "strong alone"):  # fmt: skip
        table.add_column(column)
    calibration = Table(title="calibration on the test benchmark: predicted failure probability against observed")
    for column in ("train -> test", "share", "predicted bin", "mean predicted", "observed failure rate"):
        calibration.add_column(column)
    for share in args.share or [0.2, 0.4]:
        for train_run, test_run in ((runs[0], runs[1]), (runs[1], runs[0])):
            rows, bins = evaluate(train_run, test_run, share)
            table.add_row(*rows)
            for row in bins:
                calibration.add_row(rows[0], f"{share:.0%}", *row)
    gates = Table(title="escalation gate: no strong call where the strong model is predicted to fail too")
    for column in ("train -> test", "strong failure rate", "AUC", "share: target -> test", "escalations withheld",
                   "no gate", "gate", "oracle gate"):  # fmt: skip
        gates.add_column(column)
    for share in args.share or [0.2, 0.4]:
        for train_run, test_run in ((runs[0], runs[1]), (runs[1], runs[0])):
            gates.add_row(*evaluate_gate(train_run, test_run, share))
    after = Table(
        title="escalation gate after sampling (solver.gate): trained on one benchmark's escalations, tested "
        "on the other's"
    )
    for column in ("train -> test", "escalations", "strong failure rate", "AUC", "escalations withheld", "no gate",
                   "gate", "oracle gate"):  # fmt: skip
        after.add_column(column)
    for train_run, test_run in ((runs[0], runs[1]), (runs[1], runs[0])):
        after.add_row(*evaluate_evidence_gate(train_run, test_run))
    print_table(table)
    print_table(calibration)
    print_table(gates)
    print_table(after)
    if args.plot:
        plot(runs, args.plot)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
