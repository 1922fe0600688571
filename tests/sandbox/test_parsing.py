"""Property tests of output truncation and runner-reply parsing (pure: no Docker)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from sandbox.result import RunResult, Verdict
from sandbox.runner import Capped


@given(st.lists(st.binary(max_size=300)), st.integers(min_value=0, max_value=1000))
def test_capped_keeps_the_prefix_and_knows_it_cut(chunks: list[bytes], cap: int) -> None:
    capped = Capped(cap)
    for chunk in chunks:
        capped.add(chunk)
    whole = b"".join(chunks)
    assert bytes(capped.data) == whole[:cap]
    assert capped.truncated == (len(whole) > cap)
    assert capped.size == len(whole)
    capped.text()  # any bytes decode


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=8,
)
reply_keys = st.sampled_from(["verdict", "passed", "total", "duration", "stdout", "stderr", "detail", "x"])


@given(st.dictionaries(reply_keys, json_values | st.sampled_from([v.value for v in Verdict])))
def test_any_reply_parses_or_is_an_infra_error(reply: dict[str, Any]) -> None:
    result = RunResult.from_reply(reply)
    assert isinstance(result.verdict, Verdict)
    if "verdict" not in reply or reply["verdict"] not in [v.value for v in Verdict]:
        assert result.verdict is Verdict.INFRA_ERROR


@given(st.sampled_from(list(Verdict)), st.integers(0, 50), st.integers(0, 50), st.text(), st.booleans())
def test_well_formed_reply_round_trips(verdict: Verdict, passed: int, total: int, out: str, cut: bool) -> None:
    reply = {"verdict": verdict.value, "passed": passed, "total": total, "stdout": out, "stdout_truncated": cut}
    result = RunResult.from_reply(reply)
    assert (result.verdict, result.passed, result.total, result.stdout, result.truncated) == (
        verdict, passed, total, out, cut,
    )  # fmt: skip
