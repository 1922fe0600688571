"""Soak: many thousands of candidate verifications through the committee's verification path, watching for leaks.

    python -m benchmarks.soak [--candidates 10000] [--chunk 500]

Candidates are recorded CodeGen-16B HumanEval samples (right, wrong and some that never finish) with the
adversarial cases of ``benchmarks.adversarial`` mixed in, one in ``--hostile-every``. They go, a chunk at a time,
from this driver through Ray to the sandbox actor that a Committee uses, and on to its warm containers. A sampler
reads every second, from /proc, the memory of each process involved (this driver, Ray's, the engine's, and the
containers' processes); the table compares the peaks of the first and the last tenth of the run. At the end: open
file descriptors of the driver and the actor against their count after warm-up, and sandbox containers left over.
"""

from __future__ import annotations

import argparse
import os
import socket
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import ray

from benchmarks.adversarial import CASES, check
from benchmarks.recorded import humaneval_completions
from sandbox import Job, SandboxConfig, Verdict
from sandbox.container import OWNER_LABEL
from solver.cluster import SandboxActor
from solver.task import check_tests

TIMEOUT_S = 3.0
RAY_PROCESSES = ("raylet", "gcs_server", "ray/_private", "ray/dashboard", "ray/autoscaler")
GROUPS = {  # process group: how to recognise its processes by their command line
    "driver": lambda pid, cmd: pid == os.getpid(),
    "sandbox actor": lambda pid, cmd: cmd.startswith("ray::SandboxActor"),
    "other Ray processes": lambda pid, cmd: cmd.startswith("ray::") or any(p in cmd for p in RAY_PROCESSES),
    "dockerd + containerd": lambda pid, cmd: cmd.split(" ")[0].rsplit("/", 1)[-1] in ("dockerd", "containerd"),
    "containers (shims + all inside)": None,  # the shims and every process under them
}


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _processes() -> dict[int, tuple[int, str, int]]:
    """pid -> (parent pid, command line, resident KiB) of every process."""
    out = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        status = _read(f"/proc/{entry.name}/status")
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if not fields:
            continue
        cmd = _read(f"/proc/{entry.name}/cmdline").replace("\0", " ").strip()
        rss = int(fields.get("VmRSS", "0 kB").split()[0])
        out[int(entry.name)] = (int(fields["PPid"]), cmd, rss)
    return out


Groups = dict[str, Any]


def memory_by_group(groups: Groups = GROUPS) -> dict[str, int]:
    """Resident MiB of each process group now (a group matched by None holds the containers' processes)."""
    procs = _processes()
    totals: dict[str, int] = defaultdict(int)
    shims = {pid for pid, (_, cmd, _) in procs.items() if "containerd-shim" in cmd}
    for pid, (ppid, cmd, rss) in procs.items():
        ancestor, inside = ppid, pid in shims
        while not inside and ancestor > 1 and ancestor in procs:
            inside, ancestor = ancestor in shims, procs[ancestor][0]
        if inside:
            totals["containers (shims + all inside)"] += rss
            continue
        for group, match in groups.items():
            if match is not None and match(pid, cmd):
                totals[group] += rss
                break
    return {group: totals[group] // 1024 for group in groups}


def open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


@dataclass
class Sampler:
    """Memory of every group, once a second."""

    groups: Groups = field(default_factory=lambda: GROUPS)
    samples: list[tuple[float, dict[str, int]]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while True:
            self.samples.append((time.monotonic(), memory_by_group(self.groups)))
            if self._stop.wait(1.0):
                return

    def stop(self) -> None:
        self._stop.set()

    def peak(self, group: str, start: float, end: float) -> int:
        """The peak between these shares of the sampled time (0 to 1)."""
        first, last = self.samples[0][0], self.samples[-1][0]
        window = (first + start * (last - first), first + end * (last - first))
        return max((m[group] for at, m in self.samples if window[0] <= at <= window[1]), default=0)


def candidates(total: int, hostile_every: int) -> list[tuple[Job, set[Verdict] | None]]:
    """The jobs, each with the verdicts an adversarial case may get (None for a recorded sample)."""
    recorded = humaneval_completions(total, recorded_per_task=total // 164 + 1)
    hostile = [(Job(program, check(body), timeout=TIMEOUT_S), ok) for program, body, ok in CASES.values()]
    jobs: list[tuple[Job, set[Verdict] | None]] = []
    for n, sample in enumerate(recorded):
        if hostile_every and n % hostile_every == hostile_every - 1:
            jobs.append(hostile[(n // hostile_every) % len(hostile)])
        else:
            tests = check_tests(sample.test, sample.entry_point)
            jobs.append((Job(sample.program, tests, timeout=TIMEOUT_S, fail_fast=True), None))
    return jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=500, help="candidates per call to the sandbox actor")
    parser.add_argument("--hostile-every", type=int, default=50, help="one adversarial case in this many")
    parser.add_argument("--containers", type=int, default=2)
    args = parser.parse_args()
    jobs = candidates(args.candidates, args.hostile_every)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    actor = SandboxActor.remote(SandboxConfig(containers=args.containers))  # type: ignore[attr-defined]
    if error := ray.get(actor.ready.remote()):
        raise SystemExit(error)
    actor_pid = ray.get(actor.pid.remote())
    ray.get(actor.run_many.remote([job for job, _ in jobs[:10]]))  # warm-up: imports, first containers
    fds_before = {"driver": open_fds(os.getpid()), "sandbox actor": open_fds(actor_pid)}
    sampler = Sampler()
    sampling = threading.Thread(target=sampler.run, daemon=True)
    sampling.start()
    verdicts: Counter[Verdict] = Counter()
    contained = 0  # adversarial cases that got a verdict they may get
    started = time.perf_counter()
    for i in range(0, len(jobs), args.chunk):
        chunk = jobs[i : i + args.chunk]
        results = ray.get(actor.run_many.remote([job for job, _ in chunk]))
        verdicts.update(r.verdict for r in results)
        contained += sum(r.verdict in ok for r, (_, ok) in zip(results, chunk, strict=True) if ok)
        rate = (i + len(results)) / (time.perf_counter() - started)
        print(f"\r{i + len(results):,}/{len(jobs):,} verified, {rate:.0f}/s", end="", flush=True)
    elapsed = time.perf_counter() - started
    sampler.stop()
    sampling.join()
    fds_after = {"driver": open_fds(os.getpid()), "sandbox actor": open_fds(actor_pid)}
    ray.get(actor.close.remote())
    ray.shutdown()
    client = docker.from_env()  # the actor's containers: their owner label names its process
    owner = f"{OWNER_LABEL}={socket.gethostname()}:{actor_pid}"
    leftovers = len(client.containers.list(all=True, filters={"label": owner}, sparse=True))
    client.close()

    hostile = len(jobs) // args.hostile_every if args.hostile_every else 0
    print(f"\n\n{len(jobs):,} candidates ({hostile:,} adversarial) in "
          f"{elapsed:.0f} s: {len(jobs) / elapsed:.0f} candidates/s; {args.containers} containers, chunks of "
          f"{args.chunk}\n")  # fmt: skip
    print("verdicts: " + ", ".join(f"{v.value} {n:,}" for v, n in verdicts.most_common()))
    print(f"adversarial cases with an expected verdict: {contained:,}/{hostile:,}")
    print(f"infra errors: {verdicts[Verdict.INFRA_ERROR]}; sandbox containers left over: {leftovers}\n")
    print("| process group | peak MiB, first tenth | peak MiB, last tenth | peak MiB, whole run |\n|---|---|---|---|")
    for group in GROUPS:
        print(f"| {group} | {sampler.peak(group, 0, 0.1)} | {sampler.peak(group, 0.9, 1.0)} | "
              f"{sampler.peak(group, 0, 1.0)} |")  # fmt: skip
    print("\n| process | open fds after warm-up | open fds at the end |\n|---|---|---|")
    for name in fds_before:
        print(f"| {name} | {fds_before[name]} | {fds_after[name]} |")


if __name__ == "__main__":
    main()
