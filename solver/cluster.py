"""Ray plumbing: a sandbox pool on every node with a Docker Engine, and one response cache for the whole cluster.

Nodes that can run sandboxes declare the ``sandbox`` resource (``ray start ... --resources '{"sandbox": 1}'``; a
local Ray started by the committee declares it itself). Each gets one SandboxActor pinned to it, owning that node's
warm containers. A solve task verifies on its own node's pool and falls back to another node's when that pool is
gone. Model answers are cached by one actor on the driver's node, so a task retried on another node, or a rerun,
finds every answer already paid for, whichever node asked first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
from ray.exceptions import GetTimeoutError, RayActorError, RayError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from sandbox import Job, RunResult, Sandbox, SandboxConfig, SandboxError
from solver.models import ResponseCache

log = logging.getLogger(__name__)

SANDBOX_RESOURCE = "sandbox"
RESTARTS = 3
"""A sandbox or cache actor whose process dies comes back this many times on its node, and the calls it was
answering are retried (running the same jobs again gives the same verdicts; a cache write is idempotent)."""
POOL_START_TIMEOUT_S = 900.0
"""A node without the sandbox image builds it on first use (debootstrap: minutes)."""


@ray.remote(num_cpus=0)
class SandboxActor:
    """Owns one node's sandbox pool; many solve tasks share it concurrently."""

    def __init__(self, config: SandboxConfig) -> None:
        self.sandbox = Sandbox(config)
        self.error = ""
        self.jobs = 0
        try:
            self.sandbox.start()
        except Exception as e:  # noqa: BLE001 - reported by ready(): an actor that dies in __init__ says only that
            self.error = str(e) if isinstance(e, SandboxError) else f"sandbox start failed: {type(e).__name__}: {e}"

    def ready(self) -> str:
        return self.error

    def pid(self) -> int:
        """The actor's process, for monitoring (its memory, its open files)."""
        return os.getpid()

    def run_many(self, jobs: Sequence[Job]) -> list[RunResult]:
        self.jobs += len(jobs)
        return self.sandbox.run_many(jobs)

    def jobs_run(self) -> int:
        return self.jobs

    def close(self) -> None:
        self.sandbox.close()


@ray.remote(num_cpus=0)
class CacheActor:
    """The response cache on the driver's disk, for every node."""

    def __init__(self, root: str) -> None:
        self.cache = ResponseCache(root)

    def get(self, key: str) -> dict[str, Any] | None:
        return self.cache.get(key)

    def put(self, key: str, value: dict[str, Any]) -> None:
        self.cache.put(key, value)


@dataclass(frozen=True)
class SharedCache:
    """The model clients' cache seam (get, put) over the CacheActor: travels to any node."""

    actor: Any

    def get(self, key: str) -> dict[str, Any] | None:
        return ray.get(self.actor.get.remote(key))  # type: ignore[no-any-return]

    def put(self, key: str, value: dict[str, Any]) -> None:
        ray.get(self.actor.put.remote(key, value))


def _pinned(node_id: str) -> NodeAffinitySchedulingStrategy:
    return NodeAffinitySchedulingStrategy(node_id, soft=False)


def start_cache(root: Path) -> SharedCache:
    """A cache actor on this (the driver's) node."""
    actor_class: Any = CacheActor
    here = ray.get_runtime_context().get_node_id()
    actor = actor_class.options(scheduling_strategy=_pinned(here), max_restarts=RESTARTS, max_task_retries=RESTARTS,
                                max_concurrency=64).remote(str(root))  # fmt: skip
    return SharedCache(actor)


def sandbox_nodes() -> list[str]:
    """Live nodes that declare the sandbox resource; with none declared, this (the driver's) node."""
    nodes = [n["NodeID"] for n in ray.nodes() if n["Alive"] and n["Resources"].get(SANDBOX_RESOURCE, 0) >= 1]
    if nodes:
        return nodes
    log.warning(
        "no node of the Ray cluster declares the %r resource: verifying on the driver's node only (start "
        "nodes that have a Docker Engine with --resources '{\"%s\": 1}')",
        *[SANDBOX_RESOURCE] * 2,
    )
    return [ray.get_runtime_context().get_node_id()]


def start_pools(config: SandboxConfig, max_concurrency: int) -> dict[str, Any]:
    """One SandboxActor per sandbox node, started in parallel: node id -> actor. Raises SandboxError, naming the
    node, when any pool cannot start (having stopped the others)."""
    actor_class: Any = SandboxActor
    pools = {
        node: actor_class.options(scheduling_strategy=_pinned(node), max_restarts=RESTARTS,
                                  max_task_retries=RESTARTS, max_concurrency=max_concurrency).remote(config)
        for node in sandbox_nodes()
    }  # fmt: skip
    errors = {}
    for node, actor in pools.items():
        try:
            errors[node] = ray.get(actor.ready.remote(), timeout=POOL_START_TIMEOUT_S)
        except (RayActorError, GetTimeoutError) as e:
            errors[node] = f"the sandbox actor did not start: {type(e).__name__}"
    if failed := {node: error for node, error in errors.items() if error}:
        stop_pools(pools)
        node, error = next(iter(failed.items()))
        where = f" on node {node[:12]}" if len(pools) > 1 else ""
        raise SandboxError(f"{error}{where}")
    return pools


def stop_pools(pools: dict[str, Any]) -> None:
    """Remove every pool's containers. A dead actor's containers went with its process (StdinOnce)."""
    closing = [actor.close.remote() for actor in pools.values()]
    for actor, closed in zip(pools.values(), closing, strict=True):
        with contextlib.suppress(RayError):
            ray.get(closed, timeout=60)
        with contextlib.suppress(RayError):
            ray.kill(actor)


@dataclass(frozen=True)
class PoolVerifier:
    """The Verifier seam inside a solve task: this node's pool first, then the others in random order (spreading
    the load of nodes without one)."""

    pools: dict[str, Any]

    def run_many(self, jobs: Sequence[Job]) -> list[RunResult]:
        here = ray.get_runtime_context().get_node_id()
        others = [node for node in self.pools if node != here]
        random.shuffle(others)
        for node in ([here] if here in self.pools else []) + others:
            try:
                return ray.get(self.pools[node].run_many.remote(list(jobs)))  # type: ignore[no-any-return]
            except RayActorError as e:  # its node or its restarts are gone: another node's pool verifies
                log.warning("the sandbox pool on node %s is gone (%s): trying another", node[:12], type(e).__name__)
        return [RunResult.infra("every sandbox pool of the Ray cluster is gone") for _ in jobs]
