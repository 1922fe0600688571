"""Agreement's pure parts: the judge's answer read as a literal, weak tests, output digests, clusters and the
inputs worth asking about."""

from __future__ import annotations

import pytest

from solver.agreement import Behaviour, canonical, clusters, digest, literal_answer, matching, questions, weak


@pytest.mark.parametrize(
    ("answer", "value"),
    [
        ("6", 6),
        ("It doubles 3, so:\n6", 6),
        ("`[1, 2]`", [1, 2]),
        ("```python\n(4, 5)\n```", (4, 5)),
        ("double(3) == 6", 6),
        ("The function returns 'abc'.", "abc"),
        ("The answer is True", True),
    ],
)
def test_the_judges_value_is_read_from_its_last_line(answer: str, value: object) -> None:
    assert literal_answer(answer) == value


@pytest.mark.parametrize("answer", ["", "I cannot tell.", "__import__('os').system('id')", "x" * 10_000])
def test_an_answer_without_a_literal_names_no_value_and_runs_nothing(answer: str) -> None:
    with pytest.raises(ValueError):
        literal_answer(answer)


def test_outputs_equal_to_a_test_digest_alike() -> None:
    assert digest(2) == digest(2.0) and digest({3, 1, 2}) == digest({2, 3, 1}) and digest({"a": 1, "b": 2}) == digest(
        {"b": 2, "a": 1})  # fmt: skip
    assert digest(1) != digest(True) and digest([1]) != digest((1,)) and digest(0.1 + 0.2) == digest(0.3)
    assert canonical(None) == "None"


def test_a_handful_of_examples_is_weak_and_a_suite_is_not() -> None:
    examples = "assert f(1) == 2\nassert f(2) == 3\nassert f(1) == 2\n"
    suite = "".join(f"assert f({n}) == {n + 1}\n" for n in range(12))
    assert weak(examples, "f") and not weak(suite, "f") and not weak("def broken(:", "f")


def behaving(*outputs: str) -> Behaviour:
    return Behaviour(key="".join(outputs), outputs=outputs)


def test_clusters_sum_votes_and_the_judge_is_asked_where_the_two_largest_differ() -> None:
    square, double, other = behaving("a", "b", "c", "d"), behaving("a", "x", "c", "y"), behaving("q", "q", "q", "q")
    ranked = clusters([(square, 1), (double, 1), (square, 2), (other, 1)])
    assert ranked == [(square, 3), (double, 1), (other, 1)]
    calls = {0: "f(2)", 1: "f(30)", 3: "f(4)"}  # input 2 has no call short enough to show
    assert questions(ranked, calls) == [3, 1]  # where square and double differ, shortest call first
    assert matching(ranked, {1: "x", 3: "y"}) == [(double, 1)]
    assert matching(ranked, {1: "z"}) == [] and questions(ranked[:1], calls) == []
