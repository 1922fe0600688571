"""The selection study's strategies on samples whose behaviours are given: where passing samples disagree, a judge
that knows the reference's outputs picks the cluster that gives them, however few its votes."""

from __future__ import annotations

from benchmarks.selection import Judged, Sample, dual_agreement, judged_agreement, reference_judge
from solver.agreement import Behaviour
from solver.task import Task

SQUARE, DOUBLE = Behaviour("sq", ("4", "9", "1")), Behaviour("db", ("4", "6", "2"))
TASK = Task("double", "def double(x):\n    ...\n", "double", tests="assert double(2) == 4\n")


def sample(found: Behaviour, hidden: bool) -> Sample:
    return Sample(found.key, examples=True, behaviour=found, hidden=hidden)


def test_a_judge_overrules_the_largest_cluster_only_where_it_names_the_other_clusters_outputs() -> None:
    samples = [sample(SQUARE, False), sample(SQUARE, False), sample(DOUBLE, True)]
    task = Judged(TASK, samples, calls={1: "double(3)", 2: "double(1)"}, reference=DOUBLE)
    assert not dual_agreement(task).hidden  # CodeT: the two squaring samples outvote the right one
    assert judged_agreement(reference_judge)(task).hidden
    unknowing = Judged(TASK, samples, calls={}, reference=DOUBLE)  # no input short enough to ask about
    assert judged_agreement(reference_judge)(unknowing) == dual_agreement(unknowing)
    wrong = Judged(TASK, samples, calls={1: "double(3)"}, reference=Behaviour("x", ("4", "0", "0")))
    assert judged_agreement(reference_judge)(wrong) == dual_agreement(wrong)  # matches none: CodeT's choice
