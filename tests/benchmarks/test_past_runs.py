"""`committee report` on the recorded runs of benchmarks/results: the same figures as the runs printed, side by side,
with nothing started and nothing written but the plot."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from pathlib import Path

import pytest

from benchmarks.past_runs import read_run, read_runs, title
from benchmarks.report import price_note
from solver.errors import InputError
from tests.solver.test_settings import committee

RESULTS = Path(__file__).parents[2] / "benchmarks" / "results"


def digest(folder: Path) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(folder.iterdir()))).hexdigest()


BASELINES = ("cheap-alone", "strong-alone", "examples")


def snapshot(run: str, into: Path, *, baselines: int, levers: int) -> Path:
    """A copy of a recorded run as it stood when the first ``baselines`` tasks had run in the baseline rows and the
    first ``levers`` in the others: the recorded runs keep growing, the figures asserted here do not."""
    into.mkdir(parents=True)
    for path in (RESULTS / run).iterdir():
        if path.suffix != ".jsonl":
            shutil.copy(path, into / path.name)
            continue
        limit = baselines if path.stem in BASELINES else levers
        lines = [
            line for line in path.read_text().splitlines() if int(json.loads(line)["task_id"].split("/")[1]) < limit
        ]
        (into / path.name).write_text("".join(line + "\n" for line in lines))
    return into


@pytest.fixture
def stopped(tmp_path: Path) -> Path:
    """HumanEval+ stopped with the baselines on all 164 tasks and the levers on 64."""
    return snapshot("he+full", tmp_path / "he+full", baselines=164, levers=64)


@pytest.fixture
def finished(tmp_path: Path) -> Path:
    """HumanEval's first 48 tasks in every configuration."""
    return snapshot("he-full", tmp_path / "he-full", baselines=48, levers=48)


def test_a_stopped_run_counts_the_tasks_all_its_configurations_finished(stopped: Path) -> None:
    run = read_run(stopped)
    assert run.finished["cheap-alone"] == 164 and run.finished["+repair"] == 64 and run.common == 64
    assert title(run) == "he+full: the 64 of 164 tasks all finished (a slice)"
    by_name = {s.config: s for s in run.summaries}
    assert list(by_name)[:3] == ["cheap-alone", "strong-alone", "examples"]  # the run's own order
    assert (by_name["+repair"].passed, by_name["+repair"].tasks) == (52, 64)
    assert by_name["oracle-router"].passed == 55  # computed from +repair and strong-alone, as the run does
    assert math.isnan(by_name["cheap-alone"].wall_s)  # its time covers 164 tasks, not the 64 counted


def test_a_finished_run_gives_the_figures_it_printed(finished: Path) -> None:
    run = read_run(finished)
    assert run.common == 48 and title(run) == "he-full: 48 tasks"
    by_name = {s.config: (s.passed, s.tasks) for s in run.summaries}
    assert by_name["cheap-alone"] == (37, 48) and by_name["strong-alone"] == (41, 48)
    assert by_name["+repair"] == (44, 48) and by_name["oracle-router"] == (44, 48)
    timings = json.loads((finished / "timings.json").read_text())
    assert all(s.wall_s == timings[s.config] for s in run.summaries if s.config in timings)


def test_the_baselines_on_all_their_tasks(stopped: Path) -> None:
    run = read_run(stopped, ["cheap-alone", "strong-alone"])
    assert {s.config: (s.passed, s.tasks) for s in run.summaries} == {"cheap-alone": (84, 164),
                                                                      "strong-alone": (105, 164)}  # fmt: skip
    timings = json.loads((stopped / "timings.json").read_text())
    assert [s.wall_s for s in run.summaries] == [timings["cheap-alone"], timings["strong-alone"]]


def test_two_runs_side_by_side_from_the_command_line(tmp_path: Path, stopped: Path, finished: Path) -> None:
    before = digest(stopped), digest(finished)
    configs = "cheap-alone,strong-alone,+repair"
    done = committee("report", str(finished), str(stopped), "--configs", configs, "--plot", str(tmp_path / "both.png"),
                     cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [line.split("│")[1:4] for line in done.stdout.splitlines() if line.startswith("│")]
    cells = [[c.strip() for c in row] for row in rows]
    assert ["he-full", "strong-alone", "85.4% 41/48"] in cells
    assert ["he+full", "+repair", "81.2% 52/64"] in cells
    assert ["he+full", "oracle-router", "85.9% 55/64"] in cells
    assert (tmp_path / "both.png").stat().st_size > 10_000
    assert (digest(stopped), digest(finished)) == before  # read, never mended


def test_a_fix_run_reports_its_cases(tmp_path: Path) -> None:
    done = committee("report", str(RESULTS / "fix12"), "--plot", str(tmp_path / "fix.png"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "fix12: the 6 of 7 cases all finished (a slice)" in done.stdout
    assert "| committee | 0.0% 0/6 |" in done.stdout


def test_runs_with_the_same_name_are_told_apart_by_their_paths(tmp_path: Path) -> None:
    for parent in ("a", "b"):
        snapshot("he-full", tmp_path / parent / "he-full", baselines=48, levers=48)
    runs = read_runs([tmp_path / "a" / "he-full", tmp_path / "b" / "he-full"], ["cheap-alone"])
    assert [r.name for r in runs] == [str(tmp_path / "a" / "he-full"), str(tmp_path / "b" / "he-full")]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: None, "not a run directory"),
        (lambda d: d.mkdir(), "no result records"),
        (lambda d: (d.mkdir(), (d / "x.jsonl").write_text("cut sh")), "no finished record"),
    ],
    ids=["missing", "empty", "no-record"],
)
def test_what_is_not_a_run_is_said_in_one_line(tmp_path: Path, make: object, message: str) -> None:
    run_dir = tmp_path / "run"
    make(run_dir)  # type: ignore[operator]
    with pytest.raises(InputError, match=message):
        read_run(run_dir)


def test_mixed_kinds_and_unknown_configurations_are_refused() -> None:
    with pytest.raises(InputError, match="different kinds"):
        read_runs([RESULTS / "he-full", RESULTS / "fix12"], ["cheap-alone"])
    with pytest.raises(InputError, match="no configuration 'committe'"):
        read_run(RESULTS / "he-full", ["committe"])


def test_the_price_note_names_each_tier_once(finished: Path) -> None:
    assert price_note(read_run(finished).summaries) == "prices: cheap: not recorded; strong: not recorded"
