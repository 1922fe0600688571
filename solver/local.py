"""Local models: fetch the GGUF files and run llama.cpp's OpenAI-compatible server for the user.

``local:qwen2.5-coder-0.5b-instruct`` (a known name) or ``local:/path/model.gguf`` becomes a server on a free
loopback port, started on first use and stopped on exit, so nobody juggles servers by hand.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from solver.errors import EndpointError, InputError
from solver.models import ModelConfig

log = logging.getLogger(__name__)

MODELS_DIR = Path(os.environ.get("COMMITTEE_MODELS", Path.home() / ".cache" / "committee" / "models"))
# Known models: file name here -> (Hugging Face repository, file name there).
KNOWN_MODELS = {
    "qwen2.5-coder-0.5b-instruct": ("Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"),
    "qwen2.5-coder-1.5b-instruct": ("Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"),
}
# Where no hub is reachable (as on the project's build machines), this script brings the same files.
FETCH_SCRIPT_ENV = "COMMITTEE_FETCH_SCRIPT"
_SHARED_FETCH_SCRIPT = Path(__file__).resolve().parents[2] / "shared" / "models" / "fetch-cpu-models"
SERVER_START_TIMEOUT_S = 180.0
DEFAULT_THREADS = os.cpu_count() or 2
# Tokens of context: room for committee fix's largest prompt (32,000 characters, about 10,700 tokens), an answer and
# a repair round; Qwen2.5-Coder takes 32k. The KV cache is small (at 16k about 0.2 GB for 0.5B, 0.5 GB for 1.5B),
# but llama-cpp-python's server keeps about 0.6 MB of logits per prompt token, so a longer context would let one
# prompt take gigabytes (python -m benchmarks.server_context).
DEFAULT_CONTEXT = 16_384


def model_path(name_or_path: str) -> tuple[str, Path]:
    """(served model name, GGUF path) for a known model name or a path; fetches a known model when missing."""
    if name_or_path in KNOWN_MODELS:
        path = MODELS_DIR / f"{name_or_path}.gguf"
        if not path.is_file():
            fetch_models()
        return name_or_path, path
    path = Path(name_or_path).expanduser()
    if not path.is_file():
        known = ", ".join(KNOWN_MODELS)
        raise InputError(f"{path}: no such model file; give a .gguf path or one of: {known}")
    return path.stem, path


def fetch_models() -> None:
    """Bring the known models into MODELS_DIR: the offline fetch script where there is one, else the Hub."""
    MODELS_DIR.mkdir(parents=True, exist_ok=True)
    script = Path(os.environ.get(FETCH_SCRIPT_ENV, _SHARED_FETCH_SCRIPT))
    if script.is_file():
        log.info("fetching models with %s (about a minute the first time)", script)
        done = subprocess.run([str(script), str(MODELS_DIR)], capture_output=True, text=True)
        if done.returncode == 0:
            return
        log.warning("%s failed: %s", script, done.stderr.strip()[-500:])
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as e:
        raise InputError("the local models are missing and cannot be fetched: `pip install huggingface_hub`, or "
                         f"set {FETCH_SCRIPT_ENV} to a script that fetches them") from e  # fmt: skip
    for name, (repo, filename) in KNOWN_MODELS.items():
        target = MODELS_DIR / f"{name}.gguf"
        if not target.is_file():
            log.info("downloading %s from the Hugging Face Hub", repo)
            shutil.copy(hf_hub_download(repo, filename), target)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def llama_server(name_or_path: str, *, threads: int = DEFAULT_THREADS, context: int = DEFAULT_CONTEXT,
                 log_dir: Path | None = None) -> Iterator[ModelConfig]:  # fmt: skip
    """Run llama.cpp's OpenAI-compatible server on a GGUF model for the duration of the block."""
    try:
        import llama_cpp.server  # noqa: F401
    except ImportError as e:
        raise InputError("local models need llama.cpp's server: pip install 'llama-cpp-python[server]'") from e
    name, path = model_path(name_or_path)
    port = free_port()
    cmd = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--model_alias", name,
        "--host", "127.0.0.1", "--port", str(port), "--n_threads", str(threads), "--n_ctx", str(context),
    ]  # fmt: skip
    log_path = (log_dir or MODELS_DIR.parent / "logs") / f"llama-server-{name}.log"
    log.info("starting llama.cpp server for %s on port %d (log: %s)", name, port, log_path)
    with run_server(cmd, port=port, log_path=log_path, server="llama.cpp") as base_url:
        yield ModelConfig(model=name, base_url=base_url, supports_n=False, context_tokens=context)


@contextlib.contextmanager
def run_server(cmd: list[str], *, port: int, log_path: Path, server: str, env: dict[str, str] | None = None,
               start_timeout_s: float = SERVER_START_TIMEOUT_S) -> Iterator[str]:  # fmt: skip
    """Run an OpenAI-compatible model server on loopback ``port`` for the duration of the block; yields its API
    root once it answers, and stops it on the way out."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as server_log:
        proc = subprocess.Popen(cmd, stdout=server_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                preexec_fn=_die_with_parent)  # fmt: skip
    try:
        base_url = f"http://127.0.0.1:{port}/v1"
        _wait_ready(base_url, proc, log_path, server, start_timeout_s)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _die_with_parent() -> None:
    """In the server's process before exec: the kernel sends it SIGTERM when we die, even by SIGKILL, so no model
    server outlives the run that started it."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG


def _wait_ready(base_url: str, proc: subprocess.Popen[bytes], log_path: Path, server: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise EndpointError(f"the {server} server exited at start (status {proc.returncode}); see {log_path}")
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise EndpointError(f"the {server} server did not answer within {timeout_s:.0f} s; see {log_path}")
