"""A real Ray cluster of several nodes on this one machine, for the cluster test and benchmark: a head started
with ``ray start --head``, the others joined with ``ray start --address``, each with its own CPUs and the sandbox
resource. And losing a node the hard way: SIGKILL to its raylet and every process under it.

The cluster listens on loopback only, so it runs without Ray's token authentication. It keeps its files in a temp
dir of its own, so no other Ray on the machine finds it (``ray.init()`` joins the last cluster `ray start` recorded
in the default one), and stopping it stops only its own processes (``ray stop`` would stop every Ray here, the
test runner's own included).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from solver.cluster import SANDBOX_RESOURCE

OBJECT_STORE_BYTES = 300 * 2**20  # small: a node's store is shared memory, and all of them share this machine
ENV = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


def processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, ValueError):
            continue
        ppid = next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:"))
        out[int(entry.name)] = (int(ppid), cmd)
    return out


def descendants(pid: int, procs: dict[int, tuple[int, str]] | None = None) -> list[int]:
    procs = procs or processes()
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, (ppid, _) in procs.items() if ppid == parent]
        found += children
        frontier += children
    return found


@dataclass(frozen=True)
class LocalCluster:
    address: str
    nodes: tuple[str, ...]
    """Node ids, the head first."""

    def raylet(self, node: str) -> int:
        return next(pid for pid, (_, cmd) in processes().items() if "raylet" in cmd and f"--node_id={node}" in cmd)

    def running(self, node: str, name: str) -> list[int]:
        """Processes of this node that run a task or actor named ``name`` (Ray titles them ``ray::name``)."""
        procs = processes()
        return [p for p in descendants(self.raylet(node), procs) if procs[p][1].startswith(f"ray::{name}")]

    def kill_node(self, node: str) -> None:
        """The node dies as a machine does: its raylet and everything under it at once, no shutdown."""
        raylet = self.raylet(node)
        for pid in [raylet, *descendants(raylet)]:
            os.kill(pid, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _node_ids() -> set[str]:
    return {cmd.split("--node_id=")[1].split()[0] for _, cmd in processes().values() if "--node_id=" in cmd}


def _stop(temp_dir: str) -> None:
    """Every process of the cluster: those naming its temp dir, and all under them (workers rename themselves)."""
    procs = processes()
    ours = [pid for pid, (_, cmd) in procs.items() if temp_dir in cmd]
    for victim in {p for pid in ours for p in [pid, *descendants(pid, procs)]}:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)


@contextmanager
def local_cluster(cpus: Sequence[int]) -> Iterator[LocalCluster]:
    """A head and ``len(cpus) - 1`` more nodes, node i with ``cpus[i]`` CPUs and one sandbox slot."""
    port = _free_port()
    temp_dir = tempfile.mkdtemp(prefix="ray-")  # short: Ray's socket paths must stay under 108 characters
    nodes: list[str] = []
    try:
        for n, count in enumerate(cpus):
            head = ["--head", f"--port={port}", "--include-dashboard=false"]
            where = head if n == 0 else [f"--address=127.0.0.1:{port}"]
            before = _node_ids()
            subprocess.run(
                ["ray", "start", *where, f"--temp-dir={temp_dir}", "--node-ip-address=127.0.0.1", f"--num-cpus={count}",
                 f"--resources={{\"{SANDBOX_RESOURCE}\": 1}}", f"--object-store-memory={OBJECT_STORE_BYTES}",
                 "--disable-usage-stats"],
                env=ENV, check=True, capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            (node,) = _node_ids() - before
            nodes.append(node)
        yield LocalCluster(f"127.0.0.1:{port}", tuple(nodes))
    finally:
        _stop(temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)
