"""What the model is shown of a repository: the failing tests' files and what they import, in the layouts users
have (packages re-exporting through relative imports, src/ layouts, tests in another file than the bug)."""

from __future__ import annotations

from sandbox.repo import TestRun
from solver.fix import ANSWER_TOKENS, MAX_PROMPT_CHARS, context_files, fix_prompt, prompt_chars
from solver.models import ModelConfig

FAILED = TestRun({"tests.test_api::test_total": "failed"}, "", 1)


def test_relative_re_exports_lead_to_the_code_under_test() -> None:
    files = {
        "src/shop/__init__.py": b"from .api import total\nfrom . import money\n",
        "src/shop/api.py": b"from ..shop.money import cents\nfrom .util.rounding import half_up\n",
        "src/shop/money.py": b"def cents(x):\n    return x\n",
        "src/shop/util/__init__.py": b"",
        "src/shop/util/rounding.py": b"def half_up(x):\n    return x\n",
        "tests/test_api.py": b"from shop import total\n\n\ndef test_total():\n    assert total([]) == 0\n",
        "docs/conf.py": b"project = 'shop'\n",
    }
    chosen = context_files(files, FAILED)
    assert chosen[0] == "tests/test_api.py"
    assert {"src/shop/__init__.py", "src/shop/api.py", "src/shop/money.py", "src/shop/util/rounding.py"} <= set(chosen)
    assert "docs/conf.py" not in chosen


def test_a_module_imported_from_its_package_is_followed() -> None:
    files = {
        "calc/__init__.py": b"",
        "calc/ops.py": b"def add(a, b):\n    return a - b\n",
        "tests/test_api.py": b"from calc import ops\n\n\ndef test_total():\n    assert ops.add(1, 1) == 2\n",
    }
    assert context_files(files, FAILED) == ["tests/test_api.py", "calc/__init__.py", "calc/ops.py"]


def test_the_prompt_fits_the_models_context() -> None:
    files = {
        "calc/__init__.py": b"from .big import *\nfrom .ops import add\n",
        "calc/big.py": b"".join(b"def f%d(x):\n    return x + %d\n\n\n" % (i, i) for i in range(2000)),
        "calc/ops.py": b"def add(a, b):\n    return a - b\n",
        "tests/test_api.py": b"from calc import add\n\n\ndef test_total():\n    assert add(1, 1) == 2\n",
    }
    run = TestRun(FAILED.outcomes, "E   assert 0 == 2\n" * 2000, 1)
    cheap = ModelConfig("cheap", "http://127.0.0.1:1/v1", context_tokens=4096, max_tokens=768)
    strong = ModelConfig("strong", "http://127.0.0.1:1/v1", context_tokens=32768)
    budget = prompt_chars(cheap, strong, None)
    assert budget == (4096 - ANSWER_TOKENS) * 3 and prompt_chars(None) == MAX_PROMPT_CHARS
    short = ModelConfig("short", "http://127.0.0.1:1/v1", context_tokens=2048)  # vLLM's --max-model-len 2048
    assert short.answer_limit(ANSWER_TOKENS) == 1024 and prompt_chars(short) == 1024 * 3  # half for the answer
    prompt = "".join(m["content"] for m in fix_prompt(files, run, "pytest", budget))
    assert len(prompt) <= budget
    assert "FILE: calc/ops.py" in prompt and "calc/big.py" not in prompt  # the module of 2,000 functions is left out
    assert "assert 0 == 2" in prompt


def test_the_failure_text_is_the_same_from_run_to_run() -> None:
    """Timings and addresses differ between two runs of the same failure: left in, they would change the prompt
    and miss the response cache on every rerun."""
    from solver.fix import failure_text

    def run(seconds: str, address: str) -> TestRun:
        return TestRun({"tests.test_a::test_x": "failed"},
                       f"=== FAILURES ===\nE   assert <Obj at {address}> == 1\n"
                       f"=========== 1 failed, 559 passed, 5 warnings in {seconds} ===========\n", 1)  # fmt: skip

    first, second = failure_text(run("1.33s", "0x7f3a2b1c9d40")), failure_text(run("61.02s (0:01:01)", "0x7f11aa"))
    assert first == second and "559 passed, 5 warnings ===" in first and "<Obj at 0x...>" in first
