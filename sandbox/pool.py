"""The sandbox: a pool of warm containers that verifies candidates, the only place candidate code runs."""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType

import docker
import docker.errors
import requests

from sandbox.container import Container, Limits, RunnerGone, RunnerSilent, remove_leftovers
from sandbox.errors import EngineUnavailable
from sandbox.image import ImageSpec, ensure_image
from sandbox.result import Job, RunResult, Verdict

log = logging.getLogger(__name__)

DEFAULT_CONTAINERS = 2
DEFAULT_GRACE_S = 10.0
PIPELINE_DEPTH = 16  # jobs sent to a container at once by run_many
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
    reuse: bool = True
    """Keep containers warm between candidates. False gives each candidate a fresh container, removed after it:
    slow, and the reference the warm path is checked against."""


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
        self._lock = threading.Lock()
        self._closed = False

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def start(self) -> None:
        """Connect, build the image if missing, clear a crashed run's leftovers, and warm every container."""
        if self._client is not None:
            return
        self._client = connect()
        if removed := remove_leftovers(self._client):
            log.info("removed %d sandbox containers left by an earlier run", removed)
        self._image = ensure_image(self._client, self.config.image)
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
        container = Container(self._client, self._image, self.config.limits)
        with self._lock:
            if self._closed:
                container.kill()
                raise RunnerGone("sandbox closed")
            self._live.add(container)
        return container

    def run(self, job: Job) -> RunResult:
        """Verify one candidate. Thread-safe; blocks while every container is busy."""
        return self._run_batch([job])[0]

    def run_many(self, jobs: Iterable[Job]) -> list[RunResult]:
        """Verify many candidates in parallel, in input order; identical jobs run once.

        Jobs go to the containers in pipelined batches: a batch's jobs are all sent at once and the runner takes
        them back to back, so a candidate costs no round trip of its own.
        """
        jobs = list(jobs)
        unique = list(dict.fromkeys(jobs))
        depth = PIPELINE_DEPTH if self.config.reuse else 1  # the reference path: one container per candidate
        size = max(1, min(depth, len(unique) // (2 * self.config.containers)))
        batches = [unique[i : i + size] for i in range(0, len(unique), size)]
        with ThreadPoolExecutor(self.config.containers) as pool:
            done = pool.map(self._run_batch, batches)
            results = {
                job: r for batch, rs in zip(batches, done, strict=True) for job, r in zip(batch, rs, strict=True)
            }
        return [results[job] for job in jobs]

    def _run_batch(self, jobs: list[Job]) -> list[RunResult]:
        """Run ``jobs`` back to back on one container. When the container dies or hangs, the job it died on is
        settled on a fresh container and the jobs after it run again elsewhere."""
        self.start()
        try:
            container = self._take()
            container.send([self._message(job, container.limits) for job in jobs])
        except (docker.errors.DockerException, requests.RequestException, RunnerGone, RunnerSilent) as e:
            return [RunResult.infra(f"could not start a sandbox container ({e}); is the Docker engine up?")] * len(jobs)
        results: list[RunResult] = []
        for job in jobs:
            result, healthy = self._receive(container, job, last_try=False)
            if not healthy:
                self._release(container, healthy=False)
                results.append(result if result is not None else self._settle(job))
                return results + (self._run_batch(jobs[len(results) :]) if len(results) < len(jobs) else [])
            assert result is not None
            results.append(result)
        self._release(container, healthy=True)
        return results

    def _settle(self, job: Job) -> RunResult:
        """A container died under ``job``: its fault or the candidate's. A fresh container settles which."""
        try:
            container = self._new_container()
            container.send([self._message(job, container.limits)])
        except (docker.errors.DockerException, requests.RequestException, RunnerGone, RunnerSilent) as e:
            return RunResult.infra(f"could not start a sandbox container ({e}); is the Docker engine up?")
        result, healthy = self._receive(container, job, last_try=True)
        self._release(container, healthy)
        assert result is not None
        return result

    def _take(self) -> Container:
        """An idle container; a new one when the pool has shrunk (containers that died are not put back)."""
        if not self.config.reuse:
            return self._new_container()
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            grow = len(self._live) < self.config.containers
        return self._new_container() if grow else self._idle.get()

    def _release(self, container: Container, healthy: bool) -> None:
        if healthy and self.config.reuse:
            self._idle.put(container)
        else:
            with self._lock:
                self._live.discard(container)
            container.kill()

    @staticmethod
    def _message(job: Job, limits: Limits) -> dict[str, object]:
        return {
            "program": job.program,
            "tests": job.tests,
            "timeout": job.timeout,
            "fail_fast": job.fail_fast,
            "output_cap": limits.output_cap,
            "rlimits": {
                "RLIMIT_AS": limits.memory_mb << 20,
                "RLIMIT_CPU": int(job.timeout) + 1,
                "RLIMIT_FSIZE": limits.tmpfs_mb << 20,
                "RLIMIT_CORE": 0,
                "RLIMIT_NOFILE": 256,
            },
        }

    def _receive(self, container: Container, job: Job, *, last_try: bool) -> tuple[RunResult | None, bool]:
        """The runner's answer for ``job`` (the next one it owes): (result or None to retry elsewhere, whether the
        container is reusable). The deadline runs from now: the runner starts a job as it finishes the last."""
        started = time.monotonic()
        try:
            reply = container.receive(deadline=started + job.timeout + self.config.grace_s)
        except RunnerSilent:
            # The runner enforces the timeout itself; if even it is stuck, the container goes, from outside.
            return RunResult(Verdict.TIMEOUT, duration=time.monotonic() - started,
                             detail=f"no answer within {job.timeout:g}s; container killed"), False  # fmt: skip
        except (RunnerGone, ValueError) as e:
            if not self._engine_up():
                return RunResult.infra(f"the Docker engine stopped answering: {ENGINE_HINT}"), False
            if container.oom_killed() or last_try:
                # Twice on fresh containers, or the memory limit: the candidate did it.
                return RunResult(Verdict.ERROR, duration=time.monotonic() - started,
                                 detail=f"the sandbox container died running this candidate ({e})"), False  # fmt: skip
            log.info("sandbox container died (%s); retrying the candidate on a fresh one", e)
            return None, False
        return RunResult.from_reply(reply), True

    def _engine_up(self) -> bool:
        try:
            assert self._client is not None
            self._client.ping()
        except (docker.errors.DockerException, requests.RequestException):
            return False
        return True

    def close(self) -> None:
        with self._lock:
            self._closed = True
            live, self._live = list(self._live), set()
        for container in live:
            container.kill()
        if self._client is not None:
            self._client.close()
