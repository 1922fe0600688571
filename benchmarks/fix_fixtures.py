"""`committee fix` on the fixture repositories of tests/fix_repos (each with a real bug), with real models or a
scripted one: each fixture's outcome, tier, patches tried and cost.

    python -m benchmarks.fix_fixtures [--cheap local:qwen2.5-coder-0.5b-instruct] [--strong local:...] [NAME ...]
    python -m benchmarks.fix_fixtures --scripted

SCRIPTED holds, per fixture, the answers a scripted model gives (the fast tests serve them from a fake
OpenAI-compatible server): they exercise every way the committee reaches a fix.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path
from typing import Any

from benchmarks.fake_openai import Reply, fake_openai
from sandbox.repo import RepoSandbox
from solver.checkout import snapshot
from solver.endpoints import DEFAULT_CHEAP, DEFAULT_STRONG, open_model, probe_endpoint
from solver.fix import FOCUSED, FixConfig, FixResult, fix_repository, prompt_chars
from solver.ledger import totals
from solver.models import ModelClient, ModelConfig
from solver.prices import STAND_IN_PRICES

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fix_repos"


def whole(path: str, text: str) -> str:
    return f"Here is the fix.\n\nFILE: {path}\n```python\n{text.strip()}\n```\n"


OFF_BY_ONE_DIFF = """The range stops one window early.

```diff
--- a/windows.py
+++ b/windows.py
@@ -1,3 +1,3 @@
 def moving_sums(values, width):
     \"\"\"The sum of every run of `width` consecutive values, in order.\"\"\"
-    return [sum(values[i : i + width]) for i in range(len(values) - width)]
+    return [sum(values[i : i + width]) for i in range(len(values) - width + 1)]
```
"""
PORTS = '''def parse_port(text):
    """The TCP port number in `text`; ValueError when it is not one."""
    port = int(text)
    if not 0 < port < 65536:
        raise {error}(f"port out of range: {{port}}")
    return port
'''
CENTS_FIXED = '''def to_cents(amount):
    """An amount such as "12.34" or "12.5" in whole cents."""
    units, _, fraction = amount.partition(".")
    return int(units) * 100 + int(fraction.ljust(2, "0") or 0)
'''
INVOICE_FIXED = '''from cents import to_cents


def total(lines):
    """The total in cents of invoice lines, each (unit price, quantity)."""
    return sum(to_cents(price) * quantity for price, quantity in lines)
'''
NAMES = '''def normalize(name):
    """A name as it is stored: surrounding and repeated spaces removed, its case kept."""
    return " ".join(name.split()){lower}


def sort_key(name):
    """Names sort by their stored form, ignoring case."""
    return normalize(name){casefold}
'''
SCRIPTED: dict[str, dict[str, Any]] = {
    # a unified diff, right at once
    "off_by_one": {"greedy": OFF_BY_ONE_DIFF},
    # a wrong greedy answer, then a round of samples, one right
    "wrong_exception": {
        "greedy": whole("ports.py", PORTS.format(error="TypeError")),
        "samples": [
            whole("ports.py", PORTS.format(error=error)) if error else "I am not sure what is wrong."
            for error in ("TypeError", "", "ValueError", "KeyError")
        ],
    },  # fmt: skip
    # a bare code block with only the function it fixed: merged into its file
    "missing_edge_case": {
        "greedy": "```python\ndef mean(values):\n    return sum(values) / len(values) if values else 0.0\n```\n"
    },
    # half the fix, a patch that edits the tests (refused), then a repair round with the new failure
    "two_files": {
        "greedy": whole("cents.py", CENTS_FIXED),
        "samples": [whole("tests/test_invoice.py", "def test_total():\n    pass\n")] * 4,
        "repair": whole("cents.py", CENTS_FIXED) + "\n" + whole("invoice.py", INVOICE_FIXED),
    },
    # the obvious fix breaks another test, again in the repair; the strong model fixes the caller
    "fix_breaks_other": {
        "greedy": whole("names.py", NAMES.format(lower=".lower()", casefold="")),
        "samples": [whole("names.py", NAMES.format(lower=".lower()", casefold=""))] * 4,
        "repair": whole("names.py", NAMES.format(lower=".casefold()", casefold="")),
        "strong": whole("names.py", NAMES.format(lower="", casefold=".casefold()")),
        # shown sort_key alone (a round spread over the suspects), the cheap model fixes it there
        "focused": {"def sort_key": whole("names.py", "def sort_key(name):\n    return normalize(name).casefold()\n")},
    },
}


def scripted_model(request: dict[str, Any]) -> Reply:
    """Answers from SCRIPTED, by the fixture whose file the prompt shows, the tier, and the kind of request."""
    text = "\n".join(str(m["content"]) for m in request["messages"])
    marks = {"off_by_one": "windows.py", "wrong_exception": "ports.py", "missing_edge_case": "stats.py",
             "two_files": "invoice.py", "fix_breaks_other": "names.py"}  # fmt: skip
    script = SCRIPTED[next(name for name, mark in marks.items() if f"FILE: {mark}" in text)]
    n = request.get("n", 1)
    if request["model"] == "strong":
        return Reply([script.get("strong", "no idea")])
    if len(request["messages"]) > 2:
        return Reply([script.get("repair", "no idea")])
    if FOCUSED in text:  # one suspect shown alone
        return Reply([next((a for mark, a in script.get("focused", {}).items() if mark in text), "no idea")] * n)
    if request.get("temperature") == 0:
        return Reply([script["greedy"]])
    return Reply((script.get("samples", []) + ["no idea"] * n)[:n])


def fix_fixture(name: str, cheap: ModelClient, strong: ModelClient | None, config: FixConfig) -> FixResult:
    files = snapshot(FIXTURES / name)
    sandbox = RepoSandbox()
    sandbox.start(files)
    try:
        return fix_repository(files, sandbox, "pytest", [], cheap, strong, config)
    finally:
        sandbox.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(SCRIPTED))
    parser.add_argument("--cheap", default=DEFAULT_CHEAP)
    parser.add_argument("--strong", default=DEFAULT_STRONG)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--scripted", action="store_true", help="The scripted model, priced as the local models.")
    args = parser.parse_args()
    rows = []
    with contextlib.ExitStack() as stack:
        clients = {}
        if args.scripted:
            server = stack.enter_context(fake_openai(scripted_model))
            args.cheap, args.strong = "scripted cheap", "scripted strong"
        for tier, spec in (("cheap", args.cheap), ("strong", args.strong)):
            if args.scripted:
                price = STAND_IN_PRICES[f"qwen2.5-coder-{'0.5b' if tier == 'cheap' else '1.5b'}-instruct"]
                config = ModelConfig(tier, server.base_url, price=price)
            else:
                config = open_model(spec, stack)
                probe_endpoint(config, tier)
            clients[tier] = ModelClient(config, tier)
        for name in args.names:
            started = time.monotonic()
            policy = FixConfig(samples=args.samples, prompt_chars=prompt_chars(*(c.config for c in clients.values())))
            result = fix_fixture(name, clients["cheap"], clients["strong"], policy)
            cost = totals(result.calls)
            rows.append(f"| {name} | {result.status} | {result.tier or '-'} | {len(result.failing_before)} | "
                        f"{result.samples} | {result.candidates} | {cost.tokens_in + cost.tokens_out:,} | "
                        f"{cost.dollars(5)} | {time.monotonic() - started:.0f} |")  # fmt: skip
            print(rows[-1], flush=True)
    print(f"\ncheap {args.cheap}, strong {args.strong}, up to {args.samples} cheap answers, 1 repair round, "
          "uncached\n")  # fmt: skip
    print("| fixture | outcome | tier | failing tests | model answers | patches tried | tokens | cost $ | wall s |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
