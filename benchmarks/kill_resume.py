"""Crash safety: `committee bench` killed with SIGKILL at random points, many times over, then rerun to the end.

The final results must equal those of a run never interrupted, every results file must read back whole, and no
model answer that reached the run before a kill may be asked for again. The model is a replaying fake server (real
HTTP) whose answers take ``--delay`` seconds, so kills land while sampling, verifying and writing alike.

    python -m benchmarks.kill_resume [--kills 10] [--seed 0]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.datasets import load_benchmark
from benchmarks.fake_openai import FakeServer, Reply, fake_openai
from benchmarks.faults import replaying_model

TASK_IDS = ["0", "2", "3", "12", "38", "53", "7", "29"]
CONFIGS = ("cheap-alone", "committee", "strong-alone")
COMPARED = ("task_id", "program", "verdict", "hidden", "tier", "escalated", "samples", "candidates", "selection")
# An answer sent this long before a kill may not be in the cache yet (it goes through a Ray actor). With 2 s, one CI
# run on a 2-core machine counted 2 answers asked again that had been sent earlier than that. Answers sent after a
# kill count as in flight too (one CI run counted one): likely from a Ray worker of the killed run that outlived
# its process group's SIGKILL for a moment (not confirmed).
IN_FLIGHT_MARGIN_S = 5.0
"""An answer sent less than this long before a kill may not have reached the response cache yet."""


RAY_PROCESS = re.compile(rb"ray::|raylet|gcs_server")


def ray_processes() -> set[int]:
    """Ray's processes on this machine (each local cluster's gcs_server, raylet and workers)."""
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            if RAY_PROCESS.search(Path(f"/proc/{pid}/cmdline").read_bytes()):
                found.add(int(pid))
    return found


def wait_for_orphans(before: set[int], timeout_s: float = 30.0) -> None:
    """A killed run's Ray processes (those not there ``before`` it) outlive its driver by seconds, 3.6 s here, and a
    worker can finish a call it had begun, which counts as in flight: the next run starts once they are gone, so
    that every call after its start is its own."""
    deadline = time.monotonic() + timeout_s
    while ray_processes() - before and time.monotonic() < deadline:
        time.sleep(0.2)


@dataclass(frozen=True)
class KillReport:
    kills: int
    reruns: int
    """Runs after the uninterrupted one: the killed ones, any that finished before their kill, the final one."""
    identical: bool
    """Every configuration's results equal the uninterrupted run's, field by field (COMPARED)."""
    corrupt_files: list[str]
    finished_at_kills: list[int]
    """Task results on disk (all configurations) at each kill: how far into the run it landed."""
    answers_straight: int
    """Answers (samples) the uninterrupted run needed."""
    answers_killed: int
    """Answers the killed-and-resumed run got, all its runs together."""
    paid_twice: int
    """Answers asked for again after a kill (beyond what the uninterrupted run asked for)..."""
    paid_twice_in_flight: int
    """...of which were sent from IN_FLIGHT_MARGIN_S before a kill to the next run's start, so may not have reached
    the cache."""


def bench(url: str, runs: Path, run_id: str, task_ids: list[str] = TASK_IDS, *extra: str) -> subprocess.Popen[str]:
    """`committee bench humaneval` on ``task_ids`` with both tiers served at ``url``, in its own process group."""
    args = ["bench", "humaneval", "--tasks", ",".join(task_ids), "--cheap", f"cheap@{url}", "--strong",
            f"strong@{url}", "--runs-dir", str(runs), "--run-id", run_id, "--cache", str(runs / f"{run_id}.cache"),
            "--samples", "3", "--containers", "1", "--parallel", "2", "--price", "cheap=0.05,0.10",
            "--price", "strong=2.50,5.00", *extra]  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "solver", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip


def finish(process: subprocess.Popen[str], timeout_s: float = 900) -> str:
    """Wait for a bench to end well and return its stdout; kill its process group if it does not."""
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    if process.returncode != 0:
        raise RuntimeError(f"bench failed ({process.returncode}): {stderr[-2000:]}")
    return stdout


def results(run: Path) -> dict[str, list[dict[str, Any]]]:
    return {
        config: sorted(
            ({k: r[k] for k in COMPARED} for r in map(json.loads, (run / f"{config}.jsonl").read_text().splitlines())),
            key=lambda r: r["task_id"],
        )
        for config in CONFIGS
    }


def results_lines(run: Path, config: str) -> list[str]:
    path = run / f"{config}.jsonl"
    return path.read_text().splitlines() if path.exists() else []


def unreadable(run: Path) -> list[str]:
    """Result files that do not read back whole: every line of a JSONL, and whole JSON files."""
    bad = []
    for path in sorted([*run.glob("*.json"), *run.glob("*.jsonl")]):
        try:
            if path.suffix == ".jsonl":
                for line in path.read_text().splitlines():
                    json.loads(line)
            else:
                json.loads(path.read_text())
        except ValueError:
            bad.append(path.name)
    return bad


def samples(server: FakeServer, since: int = 0, within: list[tuple[float, float]] | None = None) -> Counter[str]:
    """Samples answered from ``since`` on, per prompt (the request without its ``n``), only those sent inside one of
    the ``within`` windows. Counted by sample, not by request: the cache keeps each sample, so a round cut short
    by a kill may come back as a request for the samples it is missing."""
    counts: Counter[str] = Counter()
    for at, body in server.answered[since:]:
        if within is None or any(start <= at < end for start, end in within):
            counts[json.dumps({k: v for k, v in body.items() if k != "n"}, sort_keys=True)] += body.get("n", 1)
    return counts


def kill_and_resume(kills: int, *, seed: int, root: Path, delay_s: float = 0.2) -> KillReport:
    tasks = load_benchmark("humaneval", ids=TASK_IDS)
    model = replaying_model(tasks, wrong={"HumanEval/2", "HumanEval/12"})  # these escalate

    def slow(request: dict[str, Any]) -> Reply:
        reply: Reply = model(request)
        reply.delay_s = delay_s
        return reply

    rng = random.Random(seed)
    with fake_openai(slow) as server:
        started = time.monotonic()
        finish(bench(server.base_url, root, "straight"))
        wall = time.monotonic() - started
        straight = samples(server)
        first_killed = len(server.answered)
        kills_at: list[float] = []
        starts_at: list[float] = []
        corrupt: set[str] = set()
        finished: list[int] = []
        attempts = 0
        while len(finished) < kills and attempts < 3 * kills:
            attempts += 1
            starts_at.append(time.monotonic())
            before = ray_processes()
            process = bench(server.base_url, root, "killed")
            time.sleep(rng.uniform(0.1, 0.7) * wall)  # reruns are faster (answers cached): aim early
            if process.poll() is not None:  # it finished first: no kill, nothing to count
                process.communicate()  # closes its pipes (left to the collector, they warn in a later test)
                continue
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            kills_at.append(time.monotonic())
            wait_for_orphans(before)
            # A JSONL's last line may be cut short by the kill (the rerun drops it); whole files must never be.
            corrupt.update(f for f in unreadable(root / "killed") if not f.endswith(".jsonl"))
            finished.append(sum(len(results_lines(root / "killed", c)) for c in CONFIGS))
        starts_at.append(time.monotonic())
        finish(bench(server.base_url, root, "killed"))
        killed = samples(server, first_killed)
        # In flight: from the margin before a kill to the start of the run after it.
        in_flight = [(kill - IN_FLIGHT_MARGIN_S, min(t for t in starts_at if t > kill)) for kill in kills_at]
        recent = samples(server, first_killed, in_flight)
    twice = killed - straight
    corrupt.update(unreadable(root / "killed"))
    return KillReport(
        kills=len(finished),
        reruns=attempts + 1,
        identical=results(root / "straight") == results(root / "killed"),
        corrupt_files=sorted(corrupt),
        finished_at_kills=finished,
        answers_straight=sum(straight.values()),
        answers_killed=sum(killed.values()),
        paid_twice=sum(twice.values()),
        paid_twice_in_flight=sum((twice & recent).values()),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        r = kill_and_resume(args.kills, seed=args.seed, root=Path(root))
    print(f"{len(TASK_IDS)} HumanEval tasks x {len(CONFIGS)} configurations, seed {args.seed}; results on disk "
          f"at each kill (of {len(TASK_IDS) * len(CONFIGS)}): {r.finished_at_kills}\n")  # fmt: skip
    print("| kills | reruns | results identical | corrupt files | answers (straight) | answers (killed) "
          "| paid twice | of which in flight at a kill |\n|---|---|---|---|---|---|---|---|")  # fmt: skip
    print(f"| {r.kills} | {r.reruns} | {'yes' if r.identical else 'NO'} | {len(r.corrupt_files)} | "
          f"{r.answers_straight} | {r.answers_killed} | {r.paid_twice} | {r.paid_twice_in_flight} |")  # fmt: skip


if __name__ == "__main__":
    main()
