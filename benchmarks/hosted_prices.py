"""What the ledger shows for hosted models: `committee solve` configured by a committee.toml alone, against the fake
OpenAI-compatible server posing as openai/gpt-4o-mini (cheap) and deepseek/deepseek-chat (strong).

    python -m benchmarks.hosted_prices

The cheap model doubles whatever it is asked, so it solves `double` and fails `triple`, which escalates. Every
answer reports 1,000 prompt tokens and 50 completion tokens; the strong model's provider reports 600 of the prompt
tokens as served from its cache. Prices are genai-prices' list prices at the time of the run (DeepSeek's vary by
hour of the day). Needs Docker and the sandbox image, no model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.fake_openai import Reply, fake_openai, fenced

TASKS = [("demo/double", "double", "Twice", 2), ("demo/triple", "triple", "Thrice", 3)]


def answer(request: dict[str, Any]) -> Reply:
    strong = request["model"] == "deepseek/deepseek-chat"
    prompt = request["messages"][-1]["content"]
    name, factor = next((n, k) for _, n, word, k in TASKS if word in prompt)
    code = fenced(f"def {name}(x):\n    return x * {factor if strong else 2}")
    return Reply([code] * request.get("n", 1), prompt_tokens=1000, cached_prompt_tokens=600 if strong else 0)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, fake_openai(answer) as server:
        folder = Path(tmp)
        with (folder / "tasks.jsonl").open("w") as f:
            for task_id, name, word, k in TASKS:
                prompt = f'def {name}(x: int) -> int:\n    """{word} x.\n    >>> {name}(2)\n    {2 * k}\n    """\n'
                test = f"def check(candidate):\n    assert candidate(5) == {5 * k}\n"
                f.write(json.dumps({"task_id": task_id, "entry_point": name, "prompt": prompt, "test": test}) + "\n")
        (folder / "committee.toml").write_text(
            f'cheap = "openai/gpt-4o-mini@{server.base_url}"\nstrong = "deepseek/deepseek-chat@{server.base_url}"\n'
            "samples = 1\ncontainers = 1\n"
        )
        for args in (["config", "solve"], ["solve", "tasks.jsonl", "--out", "results.jsonl"]):
            done = subprocess.run([sys.executable, "-m", "solver", *args], cwd=folder, text=True, capture_output=True,
                                  env={**os.environ, "COMMITTEE_CACHE": str(folder / "cache")})  # fmt: skip
            print(done.stdout + "\n".join(line for line in done.stderr.splitlines() if line.startswith("prices:")))
            if done.returncode:
                sys.exit(done.stderr)
        for line in (folder / "results.jsonl").read_text().splitlines():
            record = json.loads(line)
            for c in record["calls"]:
                print(f"{record['task_id']}: {c['tier']} {c['model']}: {c['tokens_in']} in ({c['cached_in']} cached), "
                      f"{c['tokens_out']} out, ${c['cost']:.7f} ({c['price_basis']})")  # fmt: skip


if __name__ == "__main__":
    main()
