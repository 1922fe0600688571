"""vLLM against llama.cpp as the cheap tier's server, with the committee's sampling pattern, uncached.

    python -m benchmarks.serving [--tasks 20] [--model qwen2.5-coder-0.5b-instruct] [--servers local,vllm]

For each server and each of the first ``--tasks`` HumanEval tasks: the committee's first two rounds, a greedy
answer and then ``--batch`` samples at the committee's temperature, drawn the way the committee draws them from
that server (in one request with ``n`` where the server supports it, else one request per sample). Prints
completion tokens/s (start-up excluded, shown apart), pass@1 of the greedy answer and the share of tasks where any
of the samples passes, both on the hidden tests in the sandbox. Then, on each server, the batch drawn in one
request against the same number of parallel requests, on one task.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from rich.table import Table

from benchmarks.datasets import load_benchmark
from benchmarks.report import print_table
from sandbox import Job, Sandbox, Verdict
from solver.endpoints import open_model
from solver.extract import assemble, extract_code
from solver.models import ModelClient, ModelConfig, Sample
from solver.policy import DEFAULT_BATCH
from solver.prompts import solve_prompt
from solver.task import Task


@dataclass
class Drawn:
    samples: list[list[Sample]]
    """Per task: the greedy answer, then the batch."""
    seconds: float

    @property
    def tokens(self) -> int:
        return sum(s.call.tokens_out for task in self.samples for s in task)


def draw(config: ModelConfig, tasks: list[Task], batch: int) -> Drawn:
    client = ModelClient(config, "cheap")  # no cache: every sample is generated
    started = time.perf_counter()
    samples = []
    for task in tasks:
        messages = solve_prompt(task)
        samples.append(client.sample(messages, 1, greedy=True) + client.sample(messages, batch))
    return Drawn(samples, time.perf_counter() - started)


def score(sandbox: Sandbox, tasks: list[Task], drawn: Drawn) -> tuple[int, int]:
    """(tasks whose greedy answer passes the hidden tests, tasks where any sample does)."""
    jobs = [[Job(assemble(t.prompt, extract_code(s.text, t.entry_point), t.entry_point), t.hidden_tests, timeout=10)
             for s in samples] for t, samples in zip(tasks, drawn.samples, strict=True)]  # fmt: skip
    results = sandbox.run_many([job for task_jobs in jobs for job in task_jobs])
    passed, greedy, any_passed = iter([r.verdict is Verdict.PASS for r in results]), 0, 0
    for task_jobs in jobs:
        verdicts = [next(passed) for _ in task_jobs]
        greedy, any_passed = greedy + verdicts[0], any_passed + any(verdicts)
    return greedy, any_passed


def one_request_against_parallel(config: ModelConfig, task: Task, batch: int) -> list[tuple[str, int, float]]:
    """(pattern, completion tokens, seconds) for ``batch`` samples of one prompt: one request with ``n``, and
    ``batch`` requests at once."""
    messages = solve_prompt(task)
    rows = []
    for pattern in ("one request with n", "parallel requests"):
        client = ModelClient(replace(config, supports_n=pattern == "one request with n"), "cheap")
        started = time.perf_counter()
        if pattern == "one request with n":
            samples = client.sample(messages, batch)
        else:
            with ThreadPoolExecutor(batch) as pool:
                futures = [pool.submit(client.sample, messages, 1, start=i) for i in range(batch)]
                samples = [s for future in futures for s in future.result()]
        seconds = time.perf_counter() - started
        if pattern == "one request with n" and not client.batches_samples:  # it answered one: the client asked on
            pattern = "n not supported: one at a time"
        rows.append((pattern, sum(s.call.tokens_out for s in samples), seconds))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--model", default="qwen2.5-coder-0.5b-instruct", help="a known model name or a .gguf")
    parser.add_argument("--servers", default="local,vllm", help="spec prefixes to compare: local (llama.cpp), vllm")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="samples after the greedy answer")
    args = parser.parse_args()
    tasks = load_benchmark("humaneval", limit=args.tasks)
    main_table = Table(title=f"{args.model}, first {len(tasks)} HumanEval tasks: greedy + {args.batch} samples each, "
                             "uncached")  # fmt: skip
    for column in ("server", "requests", "start-up s", "samples", "completion tokens", "wall s", "tokens/s",
                   "greedy pass@1", "any sample passes"):  # fmt: skip
        main_table.add_column(column, justify="left" if column in ("server", "requests") else "right")
    pattern_table = Table(title=f"{args.batch} samples of {tasks[0].id}'s prompt on one server")
    for column in ("server", "pattern", "completion tokens", "wall s", "tokens/s"):
        pattern_table.add_column(column, justify="left" if column in ("server", "pattern") else "right")
    with Sandbox() as sandbox:
        for server in args.servers.split(","):
            with contextlib.ExitStack() as stack:
                started = time.perf_counter()
                config = open_model(f"{server}:{args.model}", stack)
                startup = time.perf_counter() - started
                drawn = draw(config, tasks, args.batch)
                greedy, any_passed = score(sandbox, tasks, drawn)
                samples = sum(len(s) for s in drawn.samples)
                main_table.add_row(
                    server, "n per request" if config.supports_n else "one per sample", f"{startup:.0f}",
                    str(samples), str(drawn.tokens), f"{drawn.seconds:.0f}", f"{drawn.tokens / drawn.seconds:.1f}",
                    f"{greedy}/{len(tasks)}", f"{any_passed}/{len(tasks)}",
                )  # fmt: skip
                for pattern, tokens, seconds in one_request_against_parallel(config, tasks[0], args.batch):
                    pattern_table.add_row(server, pattern, str(tokens), f"{seconds:.1f}", f"{tokens / seconds:.1f}")
    print_table(main_table)
    print_table(pattern_table)


if __name__ == "__main__":
    main()
