"""What the model is shown of a repository: the failing tests' files and what they import, in the layouts users
have (packages re-exporting through relative imports, src/ layouts, tests in another file than the bug)."""

from __future__ import annotations

from sandbox.repo import TestRun
from solver.fix import context_files

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
