"""The committee on a Ray cluster of one node against two, on this machine, over 10,000 candidates: throughput and
memory.

    python -m benchmarks.cluster [--candidates 10000]

Both clusters are real (``ray start``) and share this machine's cores: one node with 2 CPUs and 2 sandbox
containers, against two nodes with 1 CPU and 1 container each. So the comparison shows what spreading the work over
nodes costs (placement, cross-node calls, two pools instead of one), not what more machines would gain. The model is
a fake OpenAI-compatible server that answers at once: the cheap model with wrong programs, each distinct, so every
task verifies its 10 cheap candidates and then the strong model's right one (11 candidates a task). HumanEval tasks
with examples repeat under new ids until the candidates reach ``--candidates``. A sampler reads every process's
memory each second (as ``benchmarks.soak`` does); flat memory means the last tenth's peak is no higher than the
first tenth's.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from benchmarks.datasets import load_benchmark
from benchmarks.fake_openai import Reply, fake_openai, fenced, user_text
from benchmarks.local_cluster import local_cluster
from benchmarks.soak import GROUPS, RAY_PROCESSES, Sampler
from sandbox import SandboxConfig
from solver import Committee, ModelConfig
from solver.policy import CommitteeConfig
from solver.task import Task

CANDIDATES_PER_TASK = 11  # 10 cheap (all wrong), then the strong model's
TENTHS = (0, 4, 9)  # memory peaks shown: the first, the middle and the last tenth of the run


def _ray_process(*names: str) -> Any:
    return lambda pid, cmd: any(name in cmd.split(" ")[0] for name in names)


MEMORY_GROUPS = {  # the soak's groups, with Ray's processes one by one
    "driver": GROUPS["driver"],
    "sandbox actors": GROUPS["sandbox actor"],
    "cache actor": lambda pid, cmd: cmd.startswith("ray::CacheActor"),
    "solve workers": lambda pid, cmd: cmd.startswith(("ray::_solve_remote", "ray::IDLE")),
    "gcs_server": _ray_process("gcs_server"),
    "raylets": _ray_process("raylet"),
    "other Ray processes": lambda pid, cmd: any(p in cmd for p in RAY_PROCESSES) or cmd.startswith("ray::"),
    "dockerd + containerd": GROUPS["dockerd + containerd"],
    "containers (shims + all inside)": None,
}


def workload(candidates: int) -> list[Task]:
    tasks = [t for t in load_benchmark("humaneval") if t.tests.strip()]
    count = -(-candidates // CANDIDATES_PER_TASK)
    return [replace(t, id=f"{t.id}~{n // len(tasks)}") for n, t in zip(range(count), itertools.cycle(tasks))]


def model(tasks: list[Task]) -> Any:
    by_prompt = {t.prompt.strip(): t for t in tasks}
    counter = itertools.count()
    lock = threading.Lock()

    def handler(request: dict[str, Any]) -> Reply:
        text = user_text(request)
        task = next(t for p, t in by_prompt.items() if p in text)
        if request["model"] == "strong":
            return Reply([fenced(task.meta["reference"])])
        with lock:
            numbers = [next(counter) for _ in range(request.get("n", 1))]
        return Reply([fenced(f"def {task.entry_point}(*args):\n    return {k}") for k in numbers])

    return handler


@dataclass
class Run:
    nodes: int
    tasks: int
    candidates: int
    seconds: float
    sampler: Sampler
    usage: dict[str, int]


def run(cpus: list[int], tasks: list[Task]) -> Run:
    with local_cluster(cpus) as cluster, fake_openai(model(tasks)) as server, tempfile.TemporaryDirectory() as cache:
        committee = Committee(
            cheap=ModelConfig("cheap", server.base_url),
            strong=ModelConfig("strong", server.base_url),
            config=CommitteeConfig(samples=10, batch=5),
            sandbox=SandboxConfig(containers=2 // len(cpus)),
            cache_dir=Path(cache),
            ray_address=cluster.address,
        )
        with committee:
            list(committee.solve_many(tasks[:4]))  # warm-up: workers, containers
            sampler = Sampler(MEMORY_GROUPS)
            sampling = threading.Thread(target=sampler.run, daemon=True)
            sampling.start()
            started, candidates = time.perf_counter(), 0
            for n, solution in enumerate(committee.solve_many(tasks), 1):
                candidates += solution.candidates
                if n % max(1, len(tasks) // 10) == 0 or n == len(tasks):
                    rate = candidates / (time.perf_counter() - started)
                    print(f"{len(cpus)} node(s): {n:,}/{len(tasks):,} tasks, {candidates:,} candidates, {rate:.0f}/s",
                          flush=True)  # fmt: skip
            seconds = time.perf_counter() - started
            sampler.stop()
            sampling.join()
            usage = committee.sandbox_usage()
    return Run(len(cpus), len(tasks), candidates, seconds, sampler, usage)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=10_000)
    args = parser.parse_args()
    tasks = workload(args.candidates)
    runs = [run([2], tasks), run([1, 1], tasks)]
    base = runs[0].candidates / runs[0].seconds
    print("\n| nodes | CPUs per node | containers per node | tasks | candidates | wall s | candidates/s | vs one node |"
          " candidates per node |\n|---|---|---|---|---|---|---|---|---|")  # fmt: skip
    for r in runs:
        rate = r.candidates / r.seconds
        print(f"| {r.nodes} | {2 // r.nodes} | {2 // r.nodes} | {r.tasks:,} | {r.candidates:,} | {r.seconds:.0f} | "
              f"{rate:.0f} | {rate / base:.2f}x | {' + '.join(f'{n:,}' for n in r.usage.values())} |")  # fmt: skip
    for r in runs:
        print(f"\nMemory, {r.nodes} node(s): resident MiB by process group\n")
        print("| process group | peak, tenth 1 | peak, tenth 5 | peak, tenth 10 | peak, whole run |")
        print("|---|---|---|---|---|")
        for group in MEMORY_GROUPS:
            peaks = [r.sampler.peak(group, t / 10, (t + 1) / 10) for t in TENTHS]
            print(f"| {group} | {' | '.join(map(str, peaks))} | {r.sampler.peak(group, 0, 1)} |")


if __name__ == "__main__":
    main()
