"""The fix benchmark's cases: one injected bug in a real package's source, with the tests it breaks.

A package is a pinned sdist whose own test suite runs in the sandbox; its record keeps the tests that pass on the
original code (run twice: a test that does not pass both times is left out as flaky). A case is one mutation of
its source (``benchmarks.fixbench.mutations``), kept only if the suite, run the same way, fails at least one of
those tests, not only the mutated module's own doctests, and not most of the suite (a bug that breaks the import
is found by any traceback). Both are small JSON records shipped in
``benchmarks/data``; ``python -m benchmarks.fixbench.cases`` regenerates them (it runs every suite in the sandbox,
never on the host).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from benchmarks.fixbench.mutations import KINDS, Mutation, diff, mutations
from benchmarks.fixbench.sdists import Sdist, read_sdist
from sandbox.repo import TestRun
from solver.diffs import apply_diff
from solver.errors import InputError
from solver.patches import is_test_file

log = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parents[1] / "data"
PACKAGES_FILE = DATA / "fix_packages.json"
CASES_FILE = DATA / "fix_cases.jsonl"
LEFT_OUT = re.compile(r"(^|/)(requirements[^/]*\.(txt|in)|tox\.ini|\.github)(/|$)")
"""Files of an sdist the benchmark leaves out: its dependencies are the benchmark's to give (none beyond pytest and
hypothesis), and CI configuration is noise in a prompt."""


@dataclass(frozen=True)
class Package:
    sdist: Sdist
    license: str
    source: tuple[str, ...]
    """The folders (or files) of its source, where bugs are injected."""
    pytest_args: tuple[str, ...]
    """The suite command's arguments: ``pytest ARGS`` in the sdist's root."""
    passing: tuple[str, ...] = ()
    """Tests that pass on the original code, twice."""

    @property
    def name(self) -> str:
        return self.sdist.name

    @property
    def test_cmd(self) -> str:
        import shlex

        return shlex.join(["pytest", *self.pytest_args])

    def record(self) -> dict[str, object]:
        return {**asdict(self), "sdist": asdict(self.sdist)}

    @classmethod
    def from_record(cls, r: dict[str, object]) -> Package:
        return cls(Sdist(**r["sdist"]), str(r["license"]), tuple(r["source"]), tuple(r["pytest_args"]),  # type: ignore[arg-type]
                   tuple(r.get("passing", ())))  # type: ignore[arg-type]  # fmt: skip


@dataclass(frozen=True)
class Case:
    id: str
    package: str
    version: str
    file: str
    kind: str
    line: int
    description: str
    diff: str
    """The mutation, applied to the original file."""
    fail_to_pass: tuple[str, ...]
    """Tests that pass on the original code and fail with the bug."""
    test_cmd: str

    def record(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_record(cls, r: dict[str, object]) -> Case:
        return cls(**{**r, "fail_to_pass": tuple(r["fail_to_pass"])})  # type: ignore[arg-type]


def load_packages(path: Path = PACKAGES_FILE) -> dict[str, Package]:
    return {p.name: p for p in map(Package.from_record, json.loads(path.read_text()))}


def load_cases(path: Path = CASES_FILE) -> list[Case]:
    return [Case.from_record(json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def repository(package: Package, tree: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """The package's sdist as the repository the bot sees: its source, tests and configuration."""
    tree = read_sdist(package.sdist) if tree is None else tree
    return {p: data for p, data in tree.items() if not LEFT_OUT.search(p)}


def buggy(case: Case, files: dict[str, bytes]) -> dict[str, bytes]:
    """The repository with the case's bug in it."""
    return {**files, **apply_diff(files, case.diff)}


def source_files(package: Package, files: dict[str, bytes]) -> list[str]:
    inside = [p for p in files if p.endswith(".py") and any(p == s or p.startswith(s.rstrip("/") + "/")
                                                           for s in package.source)]  # fmt: skip
    return sorted(p for p in inside if not is_test_file(p) and "/_vendor" not in p)


def is_own_doctest(test_id: str, path: str) -> bool:
    """Whether a test is collected from the module at ``path`` itself (its doctests: JUnit's class path of a
    doctest is its module's, ``pkg.mod::pkg.mod.func``), so it only restates the mutated line."""
    return test_id.split("::")[0] == ".".join(PurePosixPath(path).with_suffix("").parts)


Runner = Callable[[dict[str, bytes], Sequence[str]], TestRun]


@dataclass
class Generator:
    """Finds a package's passing tests and its cases: mutations tried in a random order that goes round the kinds,
    until ``per_package`` are kept or ``tries`` have run."""

    run: Runner
    per_package: int = 4
    tries: int = 40
    seed: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def baseline(self, package: Package, files: dict[str, bytes]) -> tuple[str, ...]:
        first, second = (self.run(files, package.pytest_args) for _ in range(2))
        for run in (first, second):
            if run.infra or not run.passing:
                raise InputError(f"{package.name}'s suite does not run: {run.infra or run.output[-500:]}")
        return tuple(sorted(first.passing & second.passing))

    def candidates(self, package: Package, files: dict[str, bytes]) -> list[Mutation]:
        rng = random.Random(f"{self.seed}:{package.name}")
        by_kind: dict[str, list[Mutation]] = defaultdict(list)
        for path in source_files(package, files):
            for m in mutations(path, files[path]):
                by_kind[m.kind].append(m)
        for found in by_kind.values():
            rng.shuffle(found)
        order = []
        while any(by_kind.values()):  # round the kinds: every kind gets its turn
            for kind in KINDS:
                if by_kind.get(kind):
                    order.append(by_kind[kind].pop())
        return order

    def cases(self, package: Package, files: dict[str, bytes]) -> list[Case]:
        passing = set(package.passing)
        kept: list[Case] = []
        kinds_kept: dict[str, int] = defaultdict(int)
        for tried, m in enumerate(self.candidates(package, files)):
            if len(kept) >= self.per_package or tried >= self.tries:
                break
            if kinds_kept[m.kind] >= max(1, self.per_package // 3):
                continue  # variety: no kind takes more than a third of a package's cases
            mutated = m.apply(files[m.file])
            run = self.run({**files, m.file: mutated}, package.pytest_args)
            broken = sorted(passing - run.passing)
            reason = ("infra" if run.infra else "not caught" if not broken
                      else "doctest only" if all(is_own_doctest(t, m.file) for t in broken)
                      else "breaks most of the suite" if len(broken) > len(passing) / 2 else "")  # fmt: skip
            if reason:
                self.skipped[reason] += 1
                continue
            case_id = f"{package.name}-{len(kept) + 1:02d}"
            patch = diff(m.file, files[m.file], mutated)
            kept.append(Case(case_id, package.name, package.sdist.version, m.file, m.kind, m.line, m.description, patch,
                             tuple(broken), package.test_cmd))  # fmt: skip
            kinds_kept[m.kind] += 1
            log.warning("%s: %s at %s:%d breaks %d test(s)", kept[-1].id, m.kind, m.file, m.line, len(broken))
        return kept


def main() -> None:
    from benchmarks.fixbench.packages import PACKAGES
    from sandbox.repo import RepoSandbox

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="Packages to (re)generate (default: all).")
    parser.add_argument("--per-package", type=int, default=4)
    parser.add_argument("--tries", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    wanted = [p for p in PACKAGES if not args.names or p.name in args.names]
    packages = load_packages() if PACKAGES_FILE.exists() else {}
    cases = [c for c in (load_cases() if CASES_FILE.exists() else []) if c.package not in {p.name for p in wanted}]
    sandbox = RepoSandbox(timeout_s=60)  # the suites take seconds: longer is a mutation that loops
    generator = Generator(sandbox.run, per_package=args.per_package, tries=args.tries, seed=args.seed)
    for package in wanted:
        started = time.monotonic()
        files = repository(package)
        sandbox.start(files)
        package = Package(package.sdist, package.license, package.source, package.pytest_args,
                          generator.baseline(package, files))  # fmt: skip
        packages[package.name] = package
        found = generator.cases(package, files)
        cases += found
        print(f"{package.name} {package.sdist.version}: {len(package.passing)} passing tests, {len(found)} cases, "
              f"{time.monotonic() - started:.0f} s", flush=True)  # fmt: skip
        PACKAGES_FILE.write_text(json.dumps([p.record() for p in packages.values()], indent=1) + "\n")
        order = {p.name: i for i, p in enumerate(PACKAGES)}
        cases.sort(key=lambda c: (order.get(c.package, 99), c.id))
        CASES_FILE.write_text("".join(json.dumps(c.record()) + "\n" for c in cases))
    sandbox.close()
    print(f"skipped mutations: {dict(generator.skipped)}")


if __name__ == "__main__":
    main()
