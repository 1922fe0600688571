"""Split verdicts: the candidate in its own process, the tests in another that never loads candidate code.

Every verdict forger (``benchmarks.adversarial.FORGERS``: a wrong ``add`` that tries to pass all the same) must
never get PASS judged split; a right candidate passes as it would judged shared; values cross in a strict codec.
"""

from __future__ import annotations

import collections
import json
import math
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.adversarial import FORGER_TESTS, FORGERS
from sandbox import Job, Sandbox, Verdict
from sandbox.split import CodecError, decode, encode, from_json, to_json

RIGHT = "def add(a, b):\n    print('adding')\n    return a + b\n"


@pytest.mark.parametrize("case", list(FORGERS), ids=list(FORGERS))
def test_no_verdict_forger_passes_judged_split(one_container: Sandbox, case: str) -> None:
    result = one_container.run(Job(FORGERS[case], FORGER_TESTS, timeout=3, split=True))
    assert result.verdict is not Verdict.PASS, result.detail
    assert result.judged == "split"
    healthy = one_container.run(Job(RIGHT, FORGER_TESTS, split=True))  # and the container serves the next one
    assert healthy.verdict is Verdict.PASS, healthy.detail


def test_a_right_candidate_passes_split_as_shared_and_its_output_is_not_the_tests(one_container: Sandbox) -> None:
    tests = (
        "import math\nimport pytest\nfrom solution import *\n\n\n"
        "def test_values():\n    assert add(1, 2) == 3 and add('a', 'b') == 'ab' and add((1,), (2,)) == (1, 2)\n"
        "    assert math.isnan(add(float('nan'), 1.0)) and add(10**5000, 1) == 10**5000 + 1\n"
        "    assert add({1: [2]}, None) == {1: [2]} and SCALE == 10\n\n\n"
        "def test_errors():\n    with pytest.raises(ValueError, match='negative'):\n        add(-1, 0)\n"
        "    print('from the tests')\n"
    )
    program = (
        "SCALE = 10\n\n\ndef add(a, b):\n    print('from the candidate')\n"
        "    if a == -1:\n        raise ValueError('negative')\n"
        "    return a if b is None else a + b\n"
    )
    shared, split = (one_container.run(Job(program, tests, split=s)) for s in (False, True))
    assert (shared.verdict, split.verdict) == (Verdict.PASS, Verdict.PASS), split.detail
    assert (shared.judged, split.judged) == ("shared", "split")
    assert split.stdout == "from the tests\n" and "from the candidate" in split.stderr


def test_a_candidate_that_does_not_load_or_loops_is_its_own_error(one_container: Sandbox) -> None:
    broken = one_container.run(Job("import no_such_module\n", FORGER_TESTS, split=True))
    assert broken.verdict is Verdict.ERROR and "no_such_module" in broken.detail
    looping = one_container.run(Job("while True:\n    pass\n", FORGER_TESTS, timeout=1, split=True))
    assert looping.verdict is Verdict.TIMEOUT


def test_evalplus_hidden_tests_judge_split(one_container: Sandbox) -> None:
    from benchmarks.evalplus import hidden_tests

    reference = "def add(a, b):\n    return a + b\n"
    tests = hidden_tests("add", reference, [[1, 2], [0.5, 0.25]], [[10**20, 1], [-3, 3]], atol=0)
    right, wrong = (
        one_container.run(Job(p, tests, split=True)) for p in (reference, FORGERS["an object equal to anything"])
    )
    assert (right.verdict, wrong.verdict) == (Verdict.PASS, Verdict.ERROR), right.detail


VALUES = [None, True, False, 0, -7, 10**400, 10**9000, 1.5, -0.0, math.inf, -math.inf, 2 - 1j, "", "é\n\udcff",
          b"\x00\xff", [1, [2, (3,)]], (), {"a": {1: 2.0}, (1, 2): frozenset({3})}, {1, 2}, frozenset(), [1, "a", None],
          collections.Counter("abca"), collections.OrderedDict(b=1, a=2), collections.deque([1, (2,)])]  # fmt: skip


@pytest.mark.parametrize("value", VALUES, ids=[type(v).__name__ for v in VALUES])
def test_plain_values_cross_exactly(value: object) -> None:
    back = decode(encode(value))
    assert back == value and type(back) is type(value)
    if isinstance(value, float):
        assert math.copysign(1, back) == math.copysign(1, value)


def test_nan_crosses_as_nan_a_defaultdict_as_a_dict_and_a_match_as_its_text() -> None:
    assert math.isnan(decode(encode(math.nan)))
    assert decode(encode(collections.defaultdict(list, {1: [2]}))) == {1: [2]}
    match = decode(encode(re.search("b+", "abbc")))
    assert match is not None and (match.group(), match.span()) == ("bb", (1, 3))


class Int(int):
    pass


@pytest.mark.parametrize("value", [Int(1), [Int(1)], object(), lambda: 1, {"k": object()}, range(3), [[1], {2: ...}]])
def test_anything_else_does_not_cross(value: object) -> None:
    with pytest.raises(CodecError):
        encode(value)


@pytest.mark.parametrize(
    "data", [{}, {"i": 5}, {"q": []}, {"d": [[[1], 2]]}, {"d": [[1]]}, {"j": [1, 2]}, {"t": [], "S": []}, [{"y": 1}]]
)
def test_malformed_data_is_refused(data: object) -> None:
    with pytest.raises(CodecError):
        decode(data)


@pytest.mark.parametrize(
    "wire", [b"", b" [1]", b"[1] ", b"[1][2]", b"[1", b"\xff", b"nul", b"[" * 100_000 + b"]" * 100_000]
)
def test_a_message_is_exactly_one_json_value(wire: bytes) -> None:
    """What the other process sends is read by the C scanner alone: anything but one JSON value, even one with
    trailing bytes or nested past the recursion limit, is refused."""
    with pytest.raises(CodecError):
        from_json(wire)


def test_messages_read_back_as_json_writes_them() -> None:
    message = ["call", "f", [1, -2.5, float("inf"), "caf\u00e9", None, True, [[]]], {"d": [["k", {"t": [1]}]]}]
    assert to_json(message) == json.dumps(message, check_circular=False)
    assert from_json(to_json(message).encode()) == message


def test_nesting_is_bounded() -> None:
    deep: list[object] = []
    for _ in range(200):
        deep = [deep]
    with pytest.raises(CodecError):
        encode(deep)


def test_tests_that_pass_a_callback_are_judged_shared_and_say_so(one_container: Sandbox) -> None:
    tests = "from solution import apply\n\n\ndef test_apply():\n    assert apply(lambda x: x + 1, 1) == 2\n"
    result = one_container.run(Job("def apply(f, x):\n    return f(x)\n", tests, split=True))
    assert (result.verdict, result.judged) == (Verdict.PASS, "shared"), result.detail


def test_a_candidate_that_kills_the_zygote_costs_a_container_never_a_wrong_verdict(one_container: Sandbox) -> None:
    killer = (
        "import os, signal\nfor p in os.listdir('/proc'):\n    if p.isdigit() and int(p) not in (1, os.getpid()):\n"
        "        try:\n            os.kill(int(p), signal.SIGKILL)\n        except OSError:\n            pass\n"
        "def add(a, b):\n    return a + b\n"
    )
    results = one_container.run_many([Job(killer, FORGER_TESTS, split=False), Job(RIGHT, FORGER_TESTS, split=True)])
    assert [r.verdict for r in results] == [Verdict.PASS, Verdict.PASS], results[1].detail


def _same(a: object, b: object) -> bool:
    """Equal, of the same types all the way down, nan equal to nan."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))  # type: ignore[arg-type]
    if isinstance(a, complex):
        return _same(a.real, b.real) and _same(a.imag, b.imag)  # type: ignore[attr-defined]
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(map(_same, a, b))  # type: ignore[arg-type]
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(v, b[k]) for k, v in a.items())  # type: ignore[attr-defined]
    return a == b


_hashable = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text() | st.binary(),
    lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=3),
    max_leaves=8,
)
_values = st.recursive(
    _hashable | st.floats() | st.complex_numbers(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner)
        | st.dictionaries(_hashable, inner, max_size=3)
        | st.sets(_hashable, max_size=3)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_values)
def test_any_plain_value_crosses_as_itself(value: object) -> None:
    assert _same(decode(json.loads(json.dumps(encode(value)))), value)


def test_a_split_candidate_runs_as_it_would_shared_subprocesses_and_ctrl_c_included(one_container: Sandbox) -> None:
    # the zygote auto-reaps its children and ignores SIGINT; the candidate it forks must not inherit either
    program = (
        "import signal, subprocess\n\n\ndef add(a, b):\n"
        "    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler\n"
        "    return a + b + subprocess.run(['sh', '-c', 'exit 3']).returncode - 3\n"
    )
    shared, split = (one_container.run(Job(program, FORGER_TESTS, split=s)) for s in (False, True))
    assert (shared.verdict, split.verdict) == (Verdict.PASS, Verdict.PASS), split.detail


# The tests' process, as an attacker finds it: the runner's child that is not the candidate's parent (the zygote).
# Looked for once the tests call the candidate: before, the last task's may still be there, being replaced.
PEER = (
    "import os, signal, time\n\n\n"
    "def _parent(pid):\n    with open(f'/proc/{pid}/stat') as f:\n"
    "        return int(f.read().rsplit(')', 1)[1].split()[1])\n\n\n"
    "def tests_pid():\n"
    "    return next(int(p) for p in os.listdir('/proc') if p.isdigit() and int(p) not in (1, os.getppid())\n"
    "                and _parent(p) == 1)\n"
)
PEER_TESTS = "from solution import *\n\n\ndef test_add():\n    print(tests_pid())\n    assert add(1, 2) == 3\n"
WRONG = "def add(a, b):\n    return 0\n"


def test_a_task_s_candidates_share_one_tests_process_and_no_other_task_does(one_container: Sandbox) -> None:
    other_task = PEER_TESTS.replace("add(1, 2) == 3", "add(2, 2) == 4")
    results = one_container.run_many(
        [Job(PEER + RIGHT.replace("adding", str(i)), PEER_TESTS, split=True) for i in range(3)]
    )
    results += [one_container.run(Job(PEER + RIGHT, other_task, split=True))]
    results += [one_container.run(Job(PEER + WRONG, PEER_TESTS, split=True))]
    assert [r.verdict for r in results] == [Verdict.PASS] * 4 + [Verdict.FAIL], [r.detail for r in results]
    pids = [r.stdout for r in results]
    assert pids[0] == pids[1] == pids[2] and len({pids[2], pids[3], pids[4]}) == 3


def signalling(attack: str) -> str:
    """A wrong ``add`` that, the first time the tests call it, runs ``attack`` on the tests' process (``pid``)."""
    body = "".join(f"        {line}\n" for line in attack.splitlines())
    first = "    if not hasattr(add, 'done'):\n        add.done, pid = True, tests_pid()\n"
    return f"def add(a, b):\n{first}{body}    return 0\n"


SIGNALLERS = {
    "stops the tests' process": "os.kill(pid, signal.SIGSTOP)",
    **{
        f"leaves a daemon sending {name}": (  # during its job, and after it until the runner kills what is left
            "if os.fork() == 0:\n    os.setsid()\n    end = time.monotonic() + 3\n"
            "    while time.monotonic() < end:\n        try:\n"
            f"            os.kill(pid, signal.{name})\n"
            "        except OSError:\n            pass\n        time.sleep(0.0002)\n    os._exit(0)"
        )
        for name in ("SIGSTOP", "SIGINT", "SIGUSR1", "SIGTSTP")
    },
}


@pytest.mark.parametrize("attack", list(SIGNALLERS), ids=list(SIGNALLERS))
def test_a_candidate_that_signals_the_tests_process_moves_no_other_candidate_s_verdict(
    one_container: Sandbox, attack: str
) -> None:
    # The tests' process outlives a job when the next has the same tests: whatever a candidate's signals do to it,
    # during its job or after, the next candidates are judged as a fresh one would judge them. (The runner wins the
    # race to the window between a job's end and its kill of what is left; ``quiet`` and the blocking cover it.)
    hostile = Job(PEER + signalling(SIGNALLERS[attack]), PEER_TESTS, timeout=2, split=True)
    results = one_container.run_many(
        [hostile, Job(PEER + RIGHT, PEER_TESTS, split=True), Job(PEER + WRONG, PEER_TESTS, split=True)]
    )
    assert results[0].verdict is not Verdict.PASS
    assert [r.verdict for r in results[1:]] == [Verdict.PASS, Verdict.FAIL], [r.detail for r in results]


def test_a_tests_process_that_a_signal_reached_is_not_quiet() -> None:
    # What the runner checks before it gives the tests' process of the last job the next one; run on real
    # processes here (no candidate code: the runner's own check, on the host).
    from sandbox.runner import quiet

    waiting = (
        "import signal, time\nsignal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])\nprint(1, flush=True)\n"
        "time.sleep(60)\n"
    )
    with subprocess.Popen([sys.executable, "-c", waiting], stdout=subprocess.PIPE) as process:
        try:
            assert process.stdout is not None and process.stdout.readline() == b"1\n"
            assert quiet(process.pid)  # asleep, nothing pending
            os.kill(process.pid, signal.SIGUSR1)  # blocked: it stays pending, where the runner sees it
            assert not quiet(process.pid)
        finally:
            process.kill()
    with subprocess.Popen(["sleep", "60"]) as process:
        try:
            os.kill(process.pid, signal.SIGSTOP)
            deadline = time.monotonic() + 5
            while quiet(process.pid) and time.monotonic() < deadline:  # the stop lands asynchronously
                time.sleep(0.001)
            assert not quiet(process.pid)
        finally:
            process.kill()
    assert not quiet(process.pid)  # gone


def test_tests_that_patch_their_process_judge_no_other_tests_candidates(one_container: Sandbox) -> None:
    # Tests written by a model are as hostile as candidates, and their process now outlives a job: what they
    # patch there may judge their own task's later candidates (they are its judge anyway), never another's.
    forged = json.dumps({"verdict": "PASS", "passed": 1, "total": 1})
    patch = f"os.write = lambda fd, data: _write(fd, {forged!r}.encode() if fd == 3 else data)\n"
    forging = "import os\n_write = os.write\n" + patch + FORGER_TESTS
    results = one_container.run_many([Job(WRONG, forging, split=True), Job(WRONG, FORGER_TESTS, split=True)])
    assert [r.verdict for r in results] == [Verdict.PASS, Verdict.FAIL]  # the forged judge's verdict is its own
