"""The committee on a real two-node Ray cluster on this machine, driven as a user drives it (`committee solve
--ray-address`), against a replaying model behind a fake OpenAI-compatible server: the results equal a single-node
run's, both nodes' sandbox pools verify, and losing a node, a solve worker or a sandbox actor mid-run loses no task
and pays for no answer twice."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from benchmarks.datasets import load_benchmark
from benchmarks.fake_openai import FakeServer, Reply, fake_openai, replaying_model
from benchmarks.local_cluster import ENV, LocalCluster, descendants, local_cluster, processes

pytestmark = pytest.mark.usefixtures("engine")

TASKS = load_benchmark("humaneval", limit=16)
WRONG = {t.id for t in TASKS[::3]}  # the cheap model fails these: they escalate
RUN_TIMEOUT_S = 300


@contextmanager
def model(delay_s: float) -> Iterator[FakeServer]:
    """The replaying model's server. Its ``requests`` are what a provider bills: every request it received, answered
    or not (a client that dies mid-request has still made the model generate)."""
    replay = replaying_model(TASKS, WRONG)

    def handler(request: dict[str, Any]) -> Reply:
        reply = replay(request)
        reply.delay_s = delay_s
        return reply

    with fake_openai(handler) as server:
        yield server


def solve(tmp: Path, server: FakeServer, address: str | None = None) -> subprocess.Popen[str]:
    """`committee solve` in its own process, as a user runs it (on a local Ray, or joining ``address``)."""
    tasks = tmp / "tasks.jsonl"
    tasks.write_text("".join(json.dumps({"id": t.id, "prompt": t.prompt, "entry_point": t.entry_point,
                                         "tests": t.tests}) + "\n" for t in TASKS))  # fmt: skip
    command = ["committee", "solve", str(tasks), "--out", str(tmp / "out.jsonl"), "--cache", str(tmp / "cache"),
               "--cheap", f"cheap@{server.base_url}", "--strong", f"strong@{server.base_url}",
               "--containers", "1"]  # fmt: skip
    if address:
        command += ["--ray-address", address]
    return subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(run: subprocess.Popen[str]) -> str:
    _, err = run.communicate(timeout=RUN_TIMEOUT_S)
    assert run.returncode == 0, err
    return err


def outcomes(tmp: Path) -> dict[str, tuple[Any, ...]]:
    """What each task ended with, leaving out timings."""
    records = [json.loads(line) for line in (tmp / "out.jsonl").read_text().splitlines()]
    keys = ("program", "verdict", "tier", "escalated", "samples", "candidates")
    return {r["task_id"]: tuple(r[k] for k in keys) for r in records}


@dataclass(frozen=True)
class Reference:
    outcomes: dict[str, tuple[Any, ...]]
    requests: int
    """Requests the model received in a clean run from an empty cache."""


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """The single-node run: a local Ray, one sandbox pool."""
    tmp = tmp_path_factory.mktemp("single")
    with model(delay_s=0) as server:
        finish(solve(tmp, server))
        result = Reference(outcomes(tmp), len(server.requests))
    assert len(result.outcomes) == len(TASKS)
    assert {o[2] for o in result.outcomes.values()} == {"cheap", "strong"}  # both tiers answered some
    return result


@pytest.fixture
def two_nodes() -> Iterator[LocalCluster]:
    with local_cluster(cpus=[1, 1]) as cluster:
        yield cluster


def wait_for(condition: Any, run: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not condition():
        assert run.poll() is None, f"the run ended before {what}: {run.communicate()[1]}"
        assert time.monotonic() < deadline, f"no {what} in {RUN_TIMEOUT_S} s"
        time.sleep(0.05)


def test_two_nodes_give_the_single_node_results_and_both_pools_verify(
    two_nodes: LocalCluster, reference: Reference, tmp_path: Path
) -> None:
    with model(delay_s=0) as server:
        err = finish(solve(tmp_path, server, two_nodes.address))
    assert outcomes(tmp_path) == reference.outcomes
    assert len(server.requests) == reference.requests
    used = dict(re.findall(r"node (\w+): (\d+) candidates", err))
    assert sorted(used) == sorted(node[:8] for node in two_nodes.nodes), err
    assert all(int(n) > 0 for n in used.values()), err


def test_losing_a_node_mid_run_loses_no_task_and_pays_no_answer_twice(
    two_nodes: LocalCluster, reference: Reference, tmp_path: Path
) -> None:
    second = two_nodes.nodes[1]
    with model(delay_s=0.5) as server:
        run = solve(tmp_path, server, two_nodes.address)
        # Mid-run: answers already paid for, and tasks at work on the second node.
        wait_for(lambda: len(server.answered) >= 4 and two_nodes.running(second, "_solve_remote"), run,
                 "solve task on the second node")  # fmt: skip
        lost = len(two_nodes.running(second, "_solve_remote"))
        two_nodes.kill_node(second)
        finish(run)
    assert outcomes(tmp_path) == reference.outcomes
    # A task asks for one answer at a time and caches it on arrival: each lost task may ask again only for the
    # answer it was waiting for.
    assert reference.requests <= len(server.requests) <= reference.requests + lost


def test_a_killed_solve_worker_and_sandbox_actor_lose_no_task(reference: Reference, tmp_path: Path) -> None:
    with model(delay_s=0.5) as server:
        run = solve(tmp_path, server)

        def named(name: str) -> list[int]:
            procs = processes()
            return [p for p in descendants(run.pid, procs) if procs[p][1].startswith(f"ray::{name}")]

        wait_for(lambda: len(server.answered) >= 4 and named("_solve_remote") and named("SandboxActor"), run,
                 "solve task and sandbox actor")  # fmt: skip
        for pid in (named("_solve_remote")[0], named("SandboxActor")[0]):
            os.kill(pid, signal.SIGKILL)
        finish(run)
    assert outcomes(tmp_path) == reference.outcomes
    assert reference.requests <= len(server.requests) <= reference.requests + 1
