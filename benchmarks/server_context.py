"""What a local llama.cpp server's context costs: resident memory idle and after one long prompt, and prompt
throughput, for both local models at two context sizes (the committee's prompts grow with a repository's code).

    python -m benchmarks.server_context [--contexts 4096,32768]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import time
from pathlib import Path

from openai import OpenAI

from solver.local import KNOWN_MODELS, llama_server

SOURCE = Path(__file__).resolve().parents[1] / "solver"


def resident_mb(port: int) -> float:
    pid = subprocess.run(["pgrep", "-f", f"port {port}"], capture_output=True, text=True).stdout.split()[0]
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contexts", default="4096,32768")
    args = parser.parse_args()
    code = "".join(path.read_text() for path in sorted(SOURCE.glob("*.py")))
    print("| model | context | RSS idle MB | RSS after the prompt MB | prompt tokens | wall s | prompt tokens/s |")
    print("|---|---|---|---|---|---|---|")
    for model in KNOWN_MODELS:
        for context in map(int, args.contexts.split(",")):
            with llama_server(model, context=context) as config:
                port = int(config.base_url.rsplit(":", 1)[1].split("/")[0])
                idle = resident_mb(port)
                prompt = code[: min(24_000, (context - 200) * 3)] + "\nSay OK."
                started = time.monotonic()
                answer = OpenAI(base_url=config.base_url, api_key="-").chat.completions.create(
                    model=config.model, messages=[{"role": "user", "content": prompt}], max_tokens=5, temperature=0
                )
                wall = time.monotonic() - started
                tokens = answer.usage.prompt_tokens if answer.usage else 0
                print(f"| {model} | {context} | {idle:.0f} | {resident_mb(port):.0f} | {tokens} | {wall:.0f} | "
                      f"{tokens / wall:.0f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
