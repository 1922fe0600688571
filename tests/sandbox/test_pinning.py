"""Containers pinned to the least used CPUs (``SandboxConfig.pin_cpus``), counting every pool on the engine."""

from __future__ import annotations

import time
from collections import Counter

import docker

from sandbox import Job, Sandbox, SandboxConfig, Verdict
from sandbox.container import CPUS_LABEL, LABEL
from sandbox.pool import connect

TESTS = "from solution import f\n\ndef test_f():\n    assert f() == 1\n"


def jobs(n: int) -> list[Job]:
    """Distinct jobs (identical ones run once), so that every container gets some."""
    return [Job(f"def f():\n    return {i} // {i}\n", TESTS, timeout=10.0) for i in range(1, n + 1)]


def pinned(client: docker.DockerClient) -> dict[str, str]:
    """Each sandbox container on the engine (other pools' too, starting and dying ones too, as the pools count them)
    and the CPUs it is pinned to, as Docker has it."""
    # ignore_removed: the listing inspects each container after listing them, and a dying one is gone by then
    listed = client.containers.list(all=True, filters={"label": LABEL}, ignore_removed=True)
    return {c.id: c.attrs["HostConfig"]["CpusetCpus"] for c in listed}


def least_used(use: Counter[str], cpus: int, n: int) -> list[str]:
    """The rule: each new container takes the CPU fewest containers are pinned to, the lowest on a tie."""
    picks = []
    for _ in range(n):
        cpu = min(map(str, range(cpus)), key=lambda c: (use[c], int(c)))
        use[cpu] += 1
        picks.append(cpu)
    return sorted(picks)


def test_containers_spread_over_the_cpus_counting_other_pools_and_a_replacement_takes_the_one_freed(
    engine: None,
) -> None:
    client = connect()
    cpus = int(client.info()["NCPU"])
    with Sandbox(SandboxConfig(containers=1)) as other_pool:  # as another committee on the same machine
        before = pinned(client)
        with Sandbox(SandboxConfig(containers=cpus + 1)) as sandbox:
            ours = {i: s for i, s in pinned(client).items() if i not in before}
            assert sorted(ours.values()) == least_used(Counter(before.values()), cpus, cpus + 1)
            listed = client.containers.list(all=True, filters={"label": LABEL}, ignore_removed=True)
            labels = {c.id: c.labels[CPUS_LABEL] for c in listed}
            assert all(labels[i] == s for i, s in ours.items())  # the label other pools count by

            victim = next(iter(ours))
            client.containers.get(victim).kill()
            while victim in pinned(client):  # removed once dead (auto-remove)
                time.sleep(0.1)
            left = Counter(pinned(client).values())
            assert all(r.verdict is Verdict.PASS for r in sandbox.run_many(jobs(8 * (cpus + 1))))
            (replacement,) = [s for i, s in pinned(client).items() if i not in before and i not in ours]
            assert [replacement] == least_used(left, cpus, 1)
        assert other_pool.run(jobs(1)[0]).verdict is Verdict.PASS
    client.close()


def test_pinning_off_leaves_containers_on_any_cpu(engine: None) -> None:
    client = connect()
    before = pinned(client)
    with Sandbox(SandboxConfig(containers=1, pin_cpus=False)) as sandbox:
        assert sandbox.run(jobs(1)[0]).verdict is Verdict.PASS
        assert [s for i, s in pinned(client).items() if i not in before] == [""]
    client.close()
