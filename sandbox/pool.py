"""The sandbox: a pool of warm containers that verifies candidates, the only place candidate code runs."""

from __future__ import annotations

import logging
import math
import os
import queue
import threading
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType

import docker
import docker.errors
import requests

from sandbox.container import (
    FLUSH,
    Container,
    Limits,
    RunnerGone,
    RunnerSilent,
    encode,
    pinned_cpus,
    remove_leftovers,
)
from sandbox.errors import EngineUnavailable
from sandbox.image import ImageSpec, ensure_image
from sandbox.result import Job, RunResult, Verdict

log = logging.getLogger(__name__)

DEFAULT_CONTAINERS = 2
DEFAULT_GRACE_S = 10.0
DEFAULT_ENGINE_WAIT_S = 120.0
PIPELINE_DEPTH = 16  # jobs run_many hands a container at once
CHUNK_JOBS = 8  # of those, jobs sent in one write and answered in one
CHUNK_BYTES = 60_000  # of messages in a chunk (the runner holds about two at once)
START_ERRORS = (docker.errors.DockerException, requests.RequestException, RunnerGone, RunnerSilent)


def _cannot_start(error: Exception) -> RunResult:
    return RunResult.infra(f"could not start a sandbox container ({error}); is the Docker engine up?")


ENGINE_HINT = (
    "start one with `sudo dockerd &` (Debian: `apt-get install -y docker.io`) or `sudo systemctl start docker`, "
    "or point DOCKER_HOST at a running engine"
)


@dataclass(frozen=True)
class SandboxConfig:
    containers: int = DEFAULT_CONTAINERS
    """Warm containers kept ready; candidates run in parallel up to this many."""
    limits: Limits = field(default_factory=Limits)
    """Per-container resource limits."""
    image: ImageSpec = field(default_factory=ImageSpec)
    """What the image is built from; built on first use when missing."""
    grace_s: float = DEFAULT_GRACE_S
    """Seconds past a job's timeout before the host gives up on the runner and kills the container from outside."""
    engine_wait_s: float = DEFAULT_ENGINE_WAIT_S
    """Seconds to wait for a Docker engine that stopped answering (a restart) before candidates on it are
    INFRA_ERROR."""
    reuse: bool = True
    """Keep containers warm between candidates. False gives each candidate a fresh container, removed after it:
    slow, and the reference the warm path is checked against."""
    pin_cpus: bool = True
    """Pin each container to the CPUs fewest sandbox containers on the engine are pinned to (as many as its quota
    rounds up to; other processes' pools counted, so two committees on one machine spread out too).
    A split verdict's two processes answer each other in round trips: on one CPU a round trip is a context switch,
    across two it is a wake-up of the other CPU, which in a VM costs more CPU than the call itself (here a
    round trip took 82 us across CPUs and 5.5 us on one; in two runs of ``benchmarks.sandbox_throughput``, split
    verdicts ran 1.2 and 1.3 times as fast pinned, shared ones 1.0 and 1.1 times)."""


def connect() -> docker.DockerClient:
    """A client for the local Docker engine, or EngineUnavailable with what to do about it."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if host.startswith("unix://") and not os.path.exists(host.removeprefix("unix://")):
        raise EngineUnavailable(f"no Docker engine is reachable ({host} does not exist): {ENGINE_HINT}")
    client = None
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except (docker.errors.DockerException, requests.RequestException) as e:
        if client is not None:
            client.close()
        raise EngineUnavailable(f"no Docker engine is reachable ({type(e).__name__}): {ENGINE_HINT}") from e
    return client


class Sandbox:
    """Verifies candidates in warm, isolated containers.

    Use as a context manager (or call ``close``): containers are removed on exit, on Ctrl-C, and (through their
    attach stream closing) when the process dies.
    """

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self._client: docker.DockerClient | None = None
        self._image = ""
        self._idle: queue.SimpleQueue[Container] = queue.SimpleQueue()
        self._live: set[Container] = set()
        self._engine_cpus: range = range(0)
        """CPUs containers are pinned to (none when pinning is off)."""
        self._starting: Counter[int] = Counter()
        """CPUs claimed by this pool's containers being created (not yet on the engine's list)."""
        self._lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._started = False
        self._closed = False
        self._outage = threading.Lock()
        self._restarts = 0
        """Engine restarts seen: a caller that failed knows whether the engine restarted since it began."""
        self._engine_gone = False
        """A wait for the engine gave up: fail fast until it answers again."""

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def start(self) -> None:
        """Connect, build the image if missing, clear a crashed run's leftovers, and warm every container.
        Idempotent and thread-safe; a start that fails closes what it opened."""
        with self._start_lock:
            if self._started:
                return
            try:
                self._start()
            except BaseException:
                self.close()
                raise
            self._started = True

    def _start(self) -> None:
        with self._lock:
            self._closed = False  # a failed start closed it; a later start may succeed
        self._client = connect()
        if removed := remove_leftovers(self._client):
            log.info("removed %d sandbox containers left by an earlier run", removed)
        self._image = ensure_image(self._client, self.config.image)
        if self.config.pin_cpus:
            self._engine_cpus = range(int(self._client.info().get("NCPU") or 0))
        if not self.config.reuse:
            return
        with ThreadPoolExecutor(self.config.containers) as pool:
            for container in pool.map(lambda _: self._new_container(), range(self.config.containers)):
                self._idle.put(container)

    @property
    def image(self) -> str:
        return self._image

    def _new_container(self) -> Container:
        assert self._client is not None, "start() first"
        cpus = self._claim_cpus()
        try:
            container = Container(self._client, self._image, self.config.limits, cpus=cpus)
        except BaseException as e:
            if cpus and isinstance(e, docker.errors.APIError) and "Requested CPUs are not available" in str(e):
                log.warning("the engine cannot pin containers to its CPUs (%s): they run unpinned", e.explanation)
                self._engine_cpus = range(0)  # a dockerd confined to some CPUs reports them all
                return self._new_container()
            raise
        finally:
            with self._lock:
                self._starting.subtract(cpus)
        with self._lock:
            if self._closed:
                container.kill()
                raise RunnerGone("sandbox closed")
            self._live.add(container)
        return container

    def _claim_cpus(self) -> tuple[int, ...]:
        """The least used CPUs, for a new container (ties to the lowest); none when pinning is off."""
        if not self._engine_cpus:
            return ()
        assert self._client is not None
        wanted = min(len(self._engine_cpus), math.ceil(self.config.limits.cpus))
        pinned = pinned_cpus(self._client)
        with self._lock:
            use = pinned + self._starting
            cpus = tuple(sorted(sorted(self._engine_cpus, key=lambda cpu: use[cpu])[:wanted]))
            self._starting.update(cpus)
        return cpus

    def run(self, job: Job) -> RunResult:
        """Verify one candidate. Thread-safe; blocks while every container is busy."""
        return self._run_batch([job])[0]

    def run_many(self, jobs: Iterable[Job]) -> list[RunResult]:
        """Verify many candidates in parallel; results in input order; identical jobs run once.

        Jobs go to the containers in batches, a task's candidates together, and each batch in chunks: the runner
        takes a chunk's jobs back to back and answers them in one write, and the next chunk is sent before those
        answers come, so a candidate costs no round trip of its own and the runner never waits for the host.
        """
        jobs = list(jobs)
        # A task's candidates side by side: a runner compiles the tests once for jobs in a row that share them.
        unique = sorted(dict.fromkeys(jobs), key=lambda job: job.tests)
        depth = PIPELINE_DEPTH if self.config.reuse else 1  # the reference path: one container per candidate
        size = max(1, min(depth, len(unique) // (2 * self.config.containers)))
        batches = [unique[i : i + size] for i in range(0, len(unique), size)]
        with ThreadPoolExecutor(self.config.containers) as pool:
            done = pool.map(self._run_batch, batches)
            results = {
                job: r for batch, rs in zip(batches, done, strict=True) for job, r in zip(batch, rs, strict=True)
            }
        return [results[job] for job in jobs]

    def _run_batch(self, jobs: list[Job], chunk_size: int = CHUNK_JOBS) -> list[RunResult]:
        """Run ``jobs`` back to back on one container, sent in chunks of up to ``chunk_size`` jobs, one write each
        way per chunk. When the container dies or hangs, a job is settled on a fresh container and the jobs after
        it run again elsewhere."""
        self.start()
        since = self._restarts
        try:
            container = self._take()
        except START_ERRORS as e:
            if self._engine_restarted(since):
                return self._run_batch(jobs)
            return [_cannot_start(e)] * len(jobs)
        results: list[RunResult] = []
        chunks = self._chunks(jobs, container.limits, chunk_size)
        container.send(chunks[0][1])
        started = time.monotonic()
        for n, (chunk, _) in enumerate(chunks):
            if n + 1 < len(chunks):  # the next chunk waits in the runner's input: it starts on it at once
                container.send(chunks[n + 1][1])
            # The runner answers a chunk in one write when its last job is done: the chunk's timeouts bound that.
            due = started + sum(job.timeout for job in chunk) + self.config.grace_s
            try:
                replies = [container.receive(deadline=due) for _ in chunk]
            except (RunnerGone, RunnerSilent, ValueError) as e:
                # Which job broke the container is not known: the chunk's first is settled, the rest run again
                # one per round trip, so a candidate that breaks containers is found at once.
                self._release(container, healthy=False)
                job, rest = jobs[len(results)], jobs[len(results) + 1 :]
                settled = self._after_failure(job, e, started, since, last_try=False)
                return [*results, settled, *(self._run_batch(rest, chunk_size=1) if rest else [])]
            results += [RunResult.from_reply(reply) for reply in replies]
            started = time.monotonic()  # the runner starts the next chunk when it has answered this one
        self._release(container, healthy=True)
        return results

    def _chunks(self, jobs: list[Job], limits: Limits, chunk_size: int) -> list[tuple[list[Job], list[bytes]]]:
        """``jobs`` in chunks of up to ``chunk_size`` and about ``CHUNK_BYTES`` of messages (at least one job),
        each with its messages and the ``flush`` line that asks the runner for the chunk's answers."""
        chunks: list[tuple[list[Job], list[bytes]]] = []
        size = 0
        for job in jobs:
            message = self._message(job, limits)
            size += len(message)
            if not chunks or len(chunks[-1][0]) == chunk_size or size > CHUNK_BYTES:
                chunks.append(([], []))
                size = len(message)
            chunks[-1][0].append(job)
            chunks[-1][1].append(message)
        for _, messages in chunks:
            messages.append(FLUSH)
        return chunks

    def _after_failure(self, job: Job, error: Exception, started: float, since: int, *, last_try: bool) -> RunResult:
        """A container died or went silent under ``job``. If the engine restarted (which kills every container),
        the job runs again, a try that does not count; otherwise a fresh container settles whether the candidate
        did it."""
        if self._engine_restarted(since):
            return self._settle(job, last_try=False)
        if self._engine_gone:
            return RunResult.infra(f"the Docker engine stopped answering: {ENGINE_HINT}")
        if not last_try:
            log.info("sandbox container failed (%s); running the candidate again on a fresh one", error)
            return self._settle(job, last_try=True)
        duration = time.monotonic() - started
        if isinstance(error, RunnerSilent):
            # The runner enforces the timeout itself; if even it is stuck, the container goes, from outside.
            return RunResult(Verdict.TIMEOUT, duration=duration, detail=f"no answer within {job.timeout:g}s, twice")
        return RunResult(Verdict.ERROR, duration=duration, detail=f"the candidate broke two containers ({error})")

    def _settle(self, job: Job, *, last_try: bool) -> RunResult:
        since = self._restarts
        try:
            container = self._new_container()
        except START_ERRORS as e:
            if self._engine_restarted(since):
                return self._settle(job, last_try=last_try)
            return _cannot_start(e)
        started = time.monotonic()
        try:
            container.send([self._message(job, container.limits)])
            reply = container.receive(deadline=started + job.timeout + self.config.grace_s)
        except (RunnerGone, RunnerSilent, ValueError) as e:
            self._release(container, healthy=False)
            return self._after_failure(job, e, started, since, last_try=last_try)
        self._release(container, healthy=True)
        return RunResult.from_reply(reply)

    def _take(self) -> Container:
        """An idle container; a new one when the pool has shrunk (containers that died are not put back)."""
        if not self.config.reuse:
            return self._new_container()
        while True:
            try:
                return self._idle.get(timeout=1)
            except queue.Empty:
                pass
            with self._lock:  # containers that died are not put back: grow to the configured size again
                grow = len(self._live) < self.config.containers
            if grow:
                return self._new_container()

    def _release(self, container: Container, healthy: bool) -> None:
        if healthy and self.config.reuse:
            self._idle.put(container)
        else:
            with self._lock:
                self._live.discard(container)
            container.kill()

    @staticmethod
    def _message(job: Job, limits: Limits) -> bytes:
        """The runner's line for ``job``."""
        return encode(
            {
                "program": job.program,
                "tests": job.tests,
                "timeout": job.timeout,
                "fail_fast": job.fail_fast,
                "split": job.split,
                "output_cap": limits.output_cap,
                "rlimits": {
                    "RLIMIT_AS": limits.memory_mb << 20,
                    "RLIMIT_CPU": int(job.timeout) + 1,
                    "RLIMIT_FSIZE": limits.tmpfs_mb << 20,
                    "RLIMIT_CORE": 0,
                    "RLIMIT_NOFILE": 256,
                },
            }
        )

    def _engine_up(self) -> bool:
        try:
            assert self._client is not None
            self._client.ping()
        except (docker.errors.DockerException, requests.RequestException):
            return False
        return True

    def _engine_restarted(self, since: int) -> bool:
        """After a failure: whether the Docker engine restarted after generation ``since`` (``_restarts`` when the
        caller began), waiting up to ``engine_wait_s`` for an engine that stopped answering. One thread waits out
        an outage while the others queue for its outcome; after a wait that failed (``_engine_gone``) they fail
        fast until a ping succeeds. False also when the engine never stopped: the failure was something else."""
        with self._outage:
            if self._engine_up():
                if self._engine_gone:  # back after a wait that gave up
                    self._recovered()
                return self._restarts != since
            deadline = time.monotonic() + (0.0 if self._engine_gone else self.config.engine_wait_s)
            if not self._engine_gone:
                log.warning("the Docker engine is not answering; waiting up to %gs for it", self.config.engine_wait_s)
            while not self._closed and time.monotonic() < deadline:
                time.sleep(1.0)
                if self._engine_up():
                    self._recovered()
                    return True
            self._engine_gone = True
            return False

    def _recovered(self) -> None:
        """The engine answers again: the containers died with it, so the idle ones go (new ones start on demand)."""
        log.warning("the Docker engine answers again; replacing the sandbox containers")
        self._restarts += 1
        self._engine_gone = False
        while True:
            try:
                self._release(self._idle.get_nowait(), healthy=False)
            except queue.Empty:
                return

    def close(self) -> None:
        with self._lock:
            self._closed = True
            live, self._live = list(self._live), set()
        for container in live:
            container.kill()
        if self._client is not None:
            self._client.close()
