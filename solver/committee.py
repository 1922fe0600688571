"""The Python API: ``Committee(cheap=..., strong=...).solve(task)``, with tasks in parallel on Ray.

Each task's solve is a Ray task, on any node of a local Ray or of a cluster; its sandbox runs go to the sandbox
pool of its node (solver/cluster.py). The driver submits up to ``max_in_flight`` tasks, consumes them with
``ray.wait`` in completion order, and submits the next as each finishes, so the work in flight stays bounded.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import ray
from ray.exceptions import RayError, RayTaskError

from sandbox import SandboxConfig, Verdict
from solver.cluster import SANDBOX_RESOURCE, PoolVerifier, SharedCache, start_cache, start_pools, stop_pools
from solver.errors import CommitteeError
from solver.ledger import Price
from solver.models import ModelClient, ModelConfig
from solver.policy import CommitteeConfig
from solver.solve import Solution, solve_task
from solver.task import Task

log = logging.getLogger(__name__)

DEFAULT_MAX_IN_FLIGHT = 4
DEFAULT_CACHE_DIR = Path(os.environ.get("COMMITTEE_CACHE", Path.home() / ".cache" / "committee" / "responses"))


# A task whose worker or node dies is retried elsewhere (Ray retries system failures, never our exceptions); its
# model answers come from the cluster's response cache, so nothing already paid for is paid again.
@ray.remote(num_cpus=0.5, max_retries=3)
def _solve_remote(task: Task, cheap: ModelClient, strong: ModelClient | None, verifier: PoolVerifier,
                  config: CommitteeConfig, score: bool) -> Solution:  # fmt: skip
    return solve_task(task, cheap, strong, verifier, config, score=score)


@dataclass
class Committee:
    """Solves code tasks with a committee of cheap samples, verified in the sandbox, escalating when none passes."""

    cheap: ModelConfig
    strong: ModelConfig | None = None
    config: CommitteeConfig = field(default_factory=CommitteeConfig)
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    cache_dir: Path | None = DEFAULT_CACHE_DIR
    """Response cache; None turns it off (then reruns pay again)."""
    prices: dict[str, Price] | None = None
    """Prices by model name, over every other (``solver.prices``: list prices, stand-ins, else unpriced)."""
    local_per_hour: float | None = None
    """Price models served on this machine by their wall time at this many $ an hour, not by stand-ins."""
    ray_address: str | None = None
    """An existing Ray cluster to join; None uses RAY_ADDRESS or starts Ray locally."""
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    """Tasks being solved at once."""
    _pools: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _cache: SharedCache | None = field(default=None, init=False, repr=False)
    _started_ray: bool = field(default=False, init=False, repr=False)

    def __enter__(self) -> Committee:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def _start(self) -> PoolVerifier:
        if not self._pools:
            if not ray.is_initialized():
                self._init_ray()
            if self.cache_dir is not None:
                self._cache = start_cache(self.cache_dir)
            try:
                self._pools = start_pools(self.sandbox, max_concurrency=4 * self.max_in_flight)
            except BaseException:
                self.close()
                raise
        return PoolVerifier(self._pools)

    def _init_ray(self) -> None:
        address = self.ray_address or os.environ.get("RAY_ADDRESS")
        # Workers elsewhere in a cluster do not share this environment: hand them the API keys (they go to the
        # model clients only; sandbox containers get an empty environment).
        keys = {c.api_key_env: c.api_key() for c in (self.cheap, self.strong) if c and c.api_key_env}
        try:
            if address:
                ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False,
                         runtime_env={"env_vars": keys} if keys else None)  # fmt: skip
            else:  # a new local Ray ("local": never a cluster that `ray start` left running here)
                ray.init(address="local", resources={SANDBOX_RESOURCE: 1}, include_dashboard=False,
                         log_to_driver=False, configure_logging=False)  # fmt: skip
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise CommitteeError(f"cannot start or join Ray at {address or 'a local instance'}: {e}") from e
        self._started_ray = True

    def _client(self, config: ModelConfig, tier: str) -> ModelClient:
        return ModelClient(config, tier, cache=self._cache, prices=self.prices, local_per_hour=self.local_per_hour)

    def sandbox_usage(self) -> dict[str, int]:
        """Candidates each node's sandbox pool has run, by node id (pools whose node is gone are left out)."""
        usage = {}
        for node, actor in self._pools.items():
            with contextlib.suppress(RayError):
                usage[node] = ray.get(actor.jobs_run.remote(), timeout=10)
        return usage

    def solve(self, task: Task, *, score: bool = False) -> Solution:
        """Solve one task (blocking)."""
        return next(self.solve_many([task], score=score))

    def solve_many(
        self,
        tasks: Iterable[Task],
        *,
        score: bool = False,
        config: CommitteeConfig | Callable[[Task], CommitteeConfig] | None = None,
    ) -> Iterator[Solution]:
        """Solve tasks in parallel; yields each Solution as it finishes (completion order, not input order).

        ``score`` also runs each task's hidden tests on the chosen program (benchmarks only). ``config`` overrides
        the committee's policy for this call (the benchmarks' baselines), or gives each task its own (a budget).
        """
        policy = config if callable(config) else lambda _: config or self.config
        verifier = self._start()
        cheap = self._client(self.cheap, "cheap")
        strong = self._client(self.strong, "strong") if self.strong is not None else None
        pending: dict[Any, Task] = {}
        queue = iter(tasks)
        exhausted = False
        while True:
            while not exhausted and len(pending) < self.max_in_flight:
                task = next(queue, None)
                if task is None:
                    exhausted = True
                    break
                pending[_solve_remote.remote(task, cheap, strong, verifier, policy(task), score)] = task
            if not pending:
                return
            (done,), _ = ray.wait(list(pending), num_returns=1)
            task = pending.pop(done)
            try:
                yield ray.get(done)
            except RayTaskError as e:  # solve_task raised: a bug or bad input, not a broken worker
                cause = e.cause
                if isinstance(cause, CommitteeError):
                    raise cause from e
                raise CommitteeError(f"{task.id}: solving failed: {type(cause).__name__}: {cause}") from e
            except RayError as e:  # a worker or the sandbox actor died: the task's fault is unknown, not wrong
                log.warning("%s: %s", task.id, e)
                yield Solution(task_id=task.id, program="", verdict=Verdict.INFRA_ERROR, solved=False, tier=None,
                               escalated=False, samples=0, candidates=0, calls=(), runs=(),
                               detail=f"Ray: {type(e).__name__}: {str(e).splitlines()[0]}")  # fmt: skip

    def close(self) -> None:
        """Remove the sandbox containers and stop Ray if this committee started it."""
        pools, cache, self._pools, self._cache = self._pools, self._cache, {}, None
        stop_pools(pools)
        if cache is not None:
            with contextlib.suppress(RayError):
                ray.kill(cache.actor)
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False
