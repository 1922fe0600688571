"""Shared fixtures. Docker-backed tests run for real; without an engine they skip locally and fail in CI."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from sandbox import EngineUnavailable, Sandbox, SandboxConfig
from sandbox.pool import connect
from solver.cluster import SANDBOX_RESOURCE

# Docker and model servers share these cores: a slow example is no failure (timings never decide a test).
settings.register_profile("committee", deadline=None)
settings.load_profile("committee")


def _require_engine() -> None:
    try:
        connect().close()
    except EngineUnavailable as e:
        if os.environ.get("CI"):
            raise  # CI installs and starts an engine: its absence is a failure there, never a skip
        pytest.skip(f"needs a Docker engine: {e}")


@pytest.fixture(scope="session")
def engine() -> None:
    """A Docker engine answers (for tests whose sandboxes start in other processes)."""
    _require_engine()


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    _require_engine()
    with Sandbox(SandboxConfig(containers=2)) as sb:
        yield sb


@pytest.fixture(scope="session")
def one_container() -> Iterator[Sandbox]:
    """A pool of one: consecutive candidates share its container."""
    _require_engine()
    with Sandbox(SandboxConfig(containers=1)) as sb:
        yield sb


@pytest.fixture(scope="session")
def ray_local() -> Iterator[None]:
    """One local Ray for the whole session (a Committee joins a running Ray instead of starting its own)."""
    import ray

    ray.init(num_cpus=2, resources={SANDBOX_RESOURCE: 1}, include_dashboard=False, log_to_driver=False,
             configure_logging=False)  # fmt: skip
    yield
    ray.shutdown()
