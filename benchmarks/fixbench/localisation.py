"""Does the prompt show the bug? For every fix case, without a model: the buggy suite runs in the sandbox, the
first prompt is built with and without localisation, and the table says whether the mutated line is in the code
shown (whole or as its function), at which place among the functions, and how long the prompt is; and whether the
mutated function is one of the suspects the cheap round spreads over (a prompt of its own), at which rank.

    python -m benchmarks.fixbench.localisation [--limit N] [--chars 32000]
"""

from __future__ import annotations

import argparse
import re
import statistics

from benchmarks.fixbench.cases import buggy, load_cases, load_packages, repository
from benchmarks.fixbench.run import markdown
from sandbox.repo import RepoSandbox
from solver.fix import MAX_PROMPT_CHARS, FixConfig, fix_prompt, suspects


def shown(prompt: str, path: str, line: int) -> int | None:
    """The place (1-based, among the code blocks) of the one that holds ``path``'s ``line`` (the whole file, or
    its function), or None."""
    blocks = re.findall(r"FILE: (\S+)\n```python\n(.*?)```", prompt, re.DOTALL)
    for place, (where, block) in enumerate(blocks, 1):
        span = re.match(r"# lines (\d+)-(\d+)\n", block)
        if where == path and (not span or int(span.group(1)) <= line <= int(span.group(2))):
            return place
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--chars", type=int, default=MAX_PROMPT_CHARS, help="The prompt's size limit.")
    args = parser.parse_args()
    packages, cases = load_packages(), load_cases()[: args.limit]
    sandbox = RepoSandbox()
    rows = [
        ["case", "kind", "whole files: bug shown", "chars", "localised: bug shown", "chars", "a suspect of the spread"]
    ]
    spread = FixConfig().spread
    focused = []
    found: dict[bool, list[bool]] = {}
    sizes: dict[bool, list[int]] = {}
    started = None
    print(markdown(rows), flush=True)
    for case in cases:
        package = packages[case.package]
        files = buggy(case, repository(package))
        if started != case.package:
            sandbox.start(files)
            started = case.package
        run = sandbox.run(files, package.pytest_args)
        row = [case.id, case.kind]
        for mode in (False, True):
            prompt = fix_prompt(files, run, case.test_cmd, args.chars, localise=mode)[1]["content"]
            place = shown(prompt, case.file, case.line)
            found.setdefault(mode, []).append(place is not None)
            sizes.setdefault(mode, []).append(len(prompt))
            row += ["-" if place is None else f"yes ({place})", f"{len(prompt):,}"]
        ranks = [
            i
            for i, d in enumerate(suspects(files, run)[0][:spread])
            if d.path == case.file and d.start <= case.line <= d.end
        ]
        focused.append(bool(ranks))
        row.append(f"yes ({ranks[0] + 1})" if ranks else "-")
        rows.append(row)
        print("| " + " | ".join(row) + " |", flush=True)
    sandbox.close()
    print()
    summary = [["prompt", "bug shown", "median chars", "largest"]]
    for mode in (False, True):
        summary.append(["localised" if mode else "whole files", f"{sum(found[mode])}/{len(cases)}",
                        f"{statistics.median(sizes[mode]):,.0f}", f"{max(sizes[mode]):,}"])  # fmt: skip
    print(markdown(summary))
    print(
        f"\nthe mutated function is one of the {spread} suspects the cheap round spreads over: "
        f"{sum(focused)}/{len(cases)}"
    )


if __name__ == "__main__":
    main()
