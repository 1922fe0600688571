"""One bench run's choices scored on another benchmark's hidden tests, where both give the committee the same task.

    python -m benchmarks.rescore benchmarks/results/he+full --from humaneval+ --to humaneval \\
        --into benchmarks/results/he-full

HumanEval and HumanEval+ give the committee the same prompt, entry point and selection tests (the prompt's ``>>>``
examples); only the hidden tests that score it differ. With the same model answers (replayed from the response
cache) the committee makes the same choices on both: on the 48 tasks run live as both ``he-full`` and ``he+full``,
all 432 records of the nine configurations chose the same program. So the second benchmark's figures are the
first run's choices scored on the second's hidden tests, as EvalPlus scores one set of samples on its base and
plus tests, at no model call. A task the two benchmarks give the committee differently is left out and named: it
needs a live run (HumanEval/115: HumanEval+ moved its ``import math`` above the function), which resumes the same
run directory:

    committee bench humaneval --tasks 115 --samples 5 --ablate --run-id he-full --runs-dir benchmarks/results

(with the source run's settings: the same models and ``--samples``).

Records already in the target run are kept (they were run live). A rescored record says where it came from
(``rescored_from``); only the chosen program is kept, not every sample, so its ``hidden_by_tier`` is empty and the
tables leave cheap pass@1 and wall time out of rows with rescored records.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.datasets import BENCHMARKS, load_benchmark
from benchmarks.runner import read_records
from sandbox import Job, RunResult, Sandbox, SandboxConfig
from solver.protocols import Verifier
from solver.solve import SCORE_TIMEOUT_S, judged_split
from solver.task import Task


def same_for_the_committee(a: Task, b: Task) -> bool:
    """Whether the committee sees the two tasks alike: everything but their hidden tests."""
    return (a.prompt, a.entry_point, a.tests) == (b.prompt, b.entry_point, b.tests)


def rescore(
    source: Path, into: Path, source_tasks: Sequence[Task], target_tasks: Sequence[Task], verifier: Verifier
) -> tuple[dict[str, int], list[str]]:
    """Append to ``into``'s results files the records of ``source``'s that it lacks, scored on the target tasks'
    hidden tests. Returns the records added per configuration, and the tasks left out because they differ."""
    sources = {t.id: t for t in source_tasks}
    targets = {t.id: t for t in target_tasks if t.id in sources}
    differ = [i for i, t in targets.items() if not same_for_the_committee(sources[i], t)]
    for task_id in differ:
        del targets[task_id]
    into.mkdir(parents=True, exist_ok=True)
    added = {}
    for path in sorted(p for p in source.glob("*.jsonl") if not p.name.endswith(".samples.jsonl")):
        done = read_records(into / path.name)
        todo = [r for i, r in read_records(path, mend=False).items() if i in targets and i not in done]
        scored = [r for r in todo if r["program"] and r["hidden"] is not None]  # no program: nothing to score
        jobs = [Job(r["program"], targets[r["task_id"]].hidden_tests, timeout=SCORE_TIMEOUT_S,
                    split=judged_split(targets[r["task_id"]])) for r in scored]  # fmt: skip
        verdicts = {r["task_id"]: result for r, result in zip(scored, verifier.run_many(jobs), strict=True)}
        with (into / path.name).open("a") as out:
            for record in todo:
                out.write(json.dumps(rescored(record, verdicts.get(record["task_id"]), source.name)) + "\n")
        added[path.stem] = len(todo)
    return added, differ


def rescored(record: dict[str, Any], result: RunResult | None, source: str) -> dict[str, Any]:
    """``record`` with the target's hidden verdict; its selection runs stay, its scoring runs are the one run."""
    runs = [run for run in record["runs"] if run["purpose"] != "score"]
    if result is not None:
        runs.append({"purpose": "score", "verdict": result.verdict.value, "duration_s": round(result.duration, 4)})
    hidden = result.verdict.value if result is not None else record["hidden"]
    return {**record, "hidden": hidden, "hidden_by_tier": {}, "runs": runs, "rescored_from": source}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="the bench run whose choices are scored")
    parser.add_argument("--from", dest="source_benchmark", choices=BENCHMARKS, required=True)
    parser.add_argument("--to", dest="target_benchmark", choices=BENCHMARKS, required=True)
    parser.add_argument("--into", type=Path, required=True, help="the target run's directory (resumed)")
    args = parser.parse_args(argv)
    if not args.source.is_dir():
        parser.error(f"{args.source}: not a run directory")
    with Sandbox(SandboxConfig(containers=2)) as sandbox:
        added, differ = rescore(args.source, args.into, load_benchmark(args.source_benchmark),
                                load_benchmark(args.target_benchmark), sandbox)  # fmt: skip
    for name, count in added.items():
        print(f"{args.into / name}.jsonl: {count} records rescored from {args.source.name}")
    if differ:
        print(
            f"left out, as {args.target_benchmark} gives the committee a different task: {', '.join(differ)} "
            f"(run them live: committee bench {args.target_benchmark} --tasks ... --run-id {args.into.name})"
        )


if __name__ == "__main__":
    main()
