"""How to draw many samples of one prompt from a server: one request with ``n``, parallel requests, or one after
another. Tokens per second for each, measured in one run on the same server.

    python -m benchmarks.sampling [--model local:qwen2.5-coder-0.5b-instruct | MODEL@URL] [--samples 4]
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from rich.table import Table

from benchmarks.datasets import load_benchmark
from benchmarks.report import print_table
from solver.endpoints import open_model
from solver.models import ModelClient
from solver.prompts import solve_prompt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="local:qwen2.5-coder-0.5b-instruct")
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--task", default="HumanEval/2")
    args = parser.parse_args()
    messages = solve_prompt(load_benchmark("humaneval", ids=[args.task])[0])
    table = Table(title=f"{args.samples} samples of {args.task}'s prompt, temperature 0.8, uncached")
    for column in ("pattern", "requests", "samples", "completion tokens", "wall s", "tokens/s"):
        table.add_column(column, justify="left" if column == "pattern" else "right")
    with contextlib.ExitStack() as stack:
        config = open_model(args.model, stack)

        def draw(n: int, supports_n: bool) -> tuple[int, int, int]:
            client = ModelClient(replace(config, supports_n=supports_n), "cheap")
            samples = client.sample(messages, n)
            requests = 1 if client.batches_samples else n  # a server that ignores n is asked one at a time
            return requests, len(samples), sum(s.call.tokens_out for s in samples)

        patterns = {
            "one request with n": lambda: draw(args.samples, True),
            "one at a time": lambda: draw(args.samples, False),
            "parallel requests": lambda: _parallel(lambda: draw(1, False), args.samples),
        }
        for name, run in patterns.items():
            started = time.perf_counter()
            requests, got, tokens = run()
            wall = time.perf_counter() - started
            table.add_row(name, str(requests), str(got), str(tokens), f"{wall:.1f}", f"{tokens / wall:.1f}")
    print_table(table)


def _parallel(draw_one: Callable[[], tuple[int, int, int]], n: int) -> tuple[int, int, int]:
    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(lambda _: draw_one(), range(n)))
    return n, sum(r[1] for r in results), sum(r[2] for r in results)


if __name__ == "__main__":
    main()
