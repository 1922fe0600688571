"""The `committee` command. The only place that sets up logging and progress, and that turns errors into
one-line messages (exit 1 for errors, 2 for usage, 130 on Ctrl-C)."""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import re
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from benchmarks.datasets import BENCHMARKS
from sandbox import ImageSpec, SandboxConfig, SandboxError, ensure_image
from sandbox.image import AUTO, DEFAULT_REGISTRY_BASE
from sandbox.pool import DEFAULT_CONTAINERS, connect
from solver import settings
from solver.committee import DEFAULT_CACHE_DIR, DEFAULT_MAX_IN_FLIGHT, Committee
from solver.endpoints import (
    DEFAULT_CHEAP,
    DEFAULT_STRONG,
    check_endpoint,
    open_model,
    parse_prices,
    probe_endpoint,
    validate_spec,
)
from solver.errors import CommitteeError
from solver.gate import Gate
from solver.ledger import totals
from solver.models import ModelClient
from solver.policy import DEFAULT_BATCH, DEFAULT_SAMPLES, CommitteeConfig
from solver.router import Router
from solver.task import load_tasks

log = logging.getLogger("solver")
console = Console(stderr=True, soft_wrap=True)  # soft wrap: an error stays one line


class State:
    debug = False


def _setup_logging(verbose: bool, debug: bool) -> None:
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    handler = RichHandler(console=console, show_path=False, rich_tracebacks=debug)
    logging.basicConfig(level=logging.WARNING, format="%(message)s", handlers=[handler], force=True)
    for name in ("solver", "sandbox", "benchmarks"):
        logging.getLogger(name).setLevel(level)


class CommitteeGroup(click.Group):
    """The command group, which looks for the settings file where the command works: `committee fix --repo DIR`
    (or `committee config fix --repo DIR`) reads DIR's, as the same command run from DIR would. The group's
    callback, which reads the file, runs before click parses the command's own options, so this reads --repo
    from the raw command line."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["settings_from"] = named_repo(args) or Path.cwd()
        return super().parse_args(ctx, args)


def named_repo(args: list[str]) -> Path | None:
    """The folder the last --repo of a `fix` or `config fix` command line names (click keeps the last one too)."""
    rest = list(args)
    while rest and rest[0].startswith("-"):  # the group's own options
        rest = rest[2:] if rest[0] == "--config" else rest[1:]
    if rest[:1] != ["fix"] and rest[:2] != ["config", "fix"]:
        return None
    found = None
    for arg, value in zip(rest, [*rest[1:], None], strict=True):
        if arg == "--repo" and value is not None:
            found = value
        elif arg.startswith("--repo="):
            found = arg.removeprefix("--repo=")
    return Path(found) if found is not None else None


@click.group(cls=CommitteeGroup)
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.option("-v", "--verbose", is_flag=True, help="Log what is happening.")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              envvar="COMMITTEE_CONFIG", show_envvar=True, default=None,
              help="Settings file (committee.toml, or a pyproject.toml's [tool.committee]); default: the nearest "
                   "one from here (for fix, from its --repo) up to the repository's root.")  # fmt: skip
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: bool, config_path: Path | None) -> None:
    """Solve code tasks with many cheap model samples checked by real tests; escalate only when none passes.

    Settings come from flags, then COMMITTEE_<OPTION> variables, then the settings file, then the defaults:
    `committee config COMMAND` shows them and where each came from.
    """
    State.debug = debug
    _setup_logging(verbose, debug)
    ctx.obj = settings.load(config_path) if config_path else settings.find(ctx.meta["settings_from"].resolve())
    ctx.default_map, ctx.meta["settings_errors"] = settings.default_map(ctx.obj, cli)
    settings.refuse(ctx.meta["settings_errors"], ctx.invoked_subcommand)


def model_options(f: Any) -> Any:
    options = [
        click.option("--cheap", default=DEFAULT_CHEAP, show_default=True,
                     help="Cheap tier: local:NAME|PATH.gguf, openai:MODEL, or MODEL@URL[?key=ENV_VAR]."),
        click.option("--strong", default=DEFAULT_STRONG, show_default=True,
                     help="Strong tier, same forms; 'none' never escalates."),
        click.option("--price", "prices", multiple=True, metavar="MODEL=IN,OUT",
                     help="$ per million input,output tokens for a model (repeatable); over the list prices."),
        click.option("--gpu-hour", type=click.FloatRange(min=0), default=None, metavar="DOLLARS",
                     help="Price models served on this machine by their wall time at DOLLARS an hour, not by "
                          "stand-in prices."),
    ]  # fmt: skip
    for option in reversed(options):
        f = option(f)
    return f


def announce_prices(clients: dict[str, ModelClient]) -> None:
    """One line of how each tier is priced, and one more for a tier without a price: its totals are incomplete."""
    console.print("[dim]prices: " + "; ".join(f"{tier} {c.config.model}: {c.pricing.label}"
                                              for tier, c in clients.items()) + "[/]", highlight=False)  # fmt: skip
    for tier, c in clients.items():
        if not c.pricing.priced:
            console.print(f"the {tier} model {c.config.model} has no known price: its calls count as $0 and every "
                          f"cost total says it is incomplete (give one with --price {c.config.model}=IN,OUT)",
                          style="yellow", markup=False, highlight=False)  # fmt: skip


def committee_options(f: Any) -> Any:
    options = [
        click.option("--samples", default=DEFAULT_SAMPLES, show_default=True, type=click.IntRange(0, 1000),
                     help="Most cheap candidates per task."),
        click.option("--batch", default=DEFAULT_BATCH, show_default=True, type=click.IntRange(1, 100),
                     help="Cheap candidates per round (stops after the first round with a pass)."),
        click.option("--repair", default=0, show_default=True, type=click.IntRange(0, 10),
                     help="Repair rounds: the best failing cheap candidate and its test output back to the cheap "
                          "model, before escalating."),
        click.option("--repair-history", is_flag=True,
                     help="Each repair round sees every earlier attempt and its failure, not only the latest."),
        click.option("--strong-tests", is_flag=True,
                     help="A task with no tests and no cheap majority asks the strong model for tests before a "
                          "solution."),
        click.option("--agree-on-pass", is_flag=True,
                     help="A cheap pass on weak tests (a few examples) is checked: more cheap samples, and the "
                          "behaviour most passing ones share on generated inputs is chosen."),
        click.option("--strong-judge", is_flag=True,
                     help="With --agree-on-pass, where passing samples disagree, the strong model says what the "
                          "function returns on an input that tells them apart (a short answer)."),
        click.option("--budget", "cheap_token_budget", type=click.IntRange(1), default=None,
                     help="Most cheap tokens per task; once spent, the task escalates (default: no limit but "
                          "--samples)."),
        click.option("--router", "router_path", type=click.Path(path_type=Path, dir_okay=False, exists=True),
                     default=None, help="A difficulty router (committee router train): the tasks it predicts the "
                                        "cheap committee fails go straight to the strong model."),
        click.option("--gate", "gate_path", type=click.Path(path_type=Path, dir_okay=False, exists=True),
                     default=None, help="An escalation gate (committee gate train): escalations it predicts the "
                                        "strong model fails too are not made."),
        click.option("--containers", default=DEFAULT_CONTAINERS, show_default=True, type=click.IntRange(1, 64),
                     help="Warm sandbox containers."),
        click.option("--parallel", default=DEFAULT_MAX_IN_FLIGHT, show_default=True, type=click.IntRange(1, 256),
                     help="Tasks in flight at once."),
        click.option("--ray-address", envvar="RAY_ADDRESS", default=None,
                     help="Join this Ray cluster instead of starting Ray locally."),
        click.option("--cache", "cache_dir", type=click.Path(path_type=Path), default=DEFAULT_CACHE_DIR,
                     show_default=True, help="Response cache (a rerun never pays twice)."),
    ]  # fmt: skip
    for option in reversed(options):
        f = option(f)
    return f


def _committee_config(
    samples: int, batch: int, repair: int, repair_history: bool, strong_tests: bool, agree_on_pass: bool,
    strong_judge: bool, cheap_token_budget: int | None, router_path: Path | None, gate_path: Path | None, **_: Any,
) -> CommitteeConfig:  # fmt: skip
    """The committee options as a config (rounds never exceed the samples left, so batch needs no clamp)."""
    if strong_judge and not agree_on_pass:
        raise click.UsageError("--strong-judge judges between the samples --agree-on-pass draws: give both")
    router = Router.load(router_path) if router_path else None
    gate = Gate.load(gate_path) if gate_path else None
    return CommitteeConfig(samples=samples, batch=batch, repair_rounds=repair, repair_history=repair_history,
                           strong_tests=strong_tests, agree_on_pass=agree_on_pass, strong_judge=strong_judge,
                           cheap_token_budget=cheap_token_budget, router=router, gate=gate)  # fmt: skip


@contextlib.contextmanager
def _committee(
    cheap: str,
    strong: str,
    prices: tuple[str, ...],
    gpu_hour: float | None,
    policy: CommitteeConfig,
    containers: int,
    parallel: int,
    ray_address: str | None,
    cache_dir: Path,
    log_dir: Path,
    **_: Any,  # the policy's own options, already in ``policy``
) -> Iterator[Committee]:
    if policy.samples == 0 and strong == "none":
        raise click.UsageError("--samples 0 with --strong none leaves nobody to answer")
    price_table = parse_prices(prices)
    with contextlib.ExitStack() as stack:
        specs = [cheap] if strong == "none" else [cheap, strong]
        for spec in specs:
            validate_spec(spec)  # every spec is checked before any server starts
        console.print(f"[dim]starting models (cheap: {cheap}, strong: {strong})...[/]")
        cheap_config = open_model(cheap, stack, log_dir=log_dir)
        strong_config = None if strong == "none" else open_model(strong, stack, log_dir=log_dir)
        for tier, config in (("cheap", cheap_config), ("strong", strong_config)):
            if config is not None:
                probe_endpoint(config, tier)
        tiers = {"cheap": cheap_config, "strong": strong_config}
        announce_prices({tier: ModelClient(config, tier, prices=price_table, local_per_hour=gpu_hour)
                         for tier, config in tiers.items() if config})  # fmt: skip
        committee = Committee(
            cheap=cheap_config,
            strong=strong_config,
            config=policy,
            sandbox=SandboxConfig(containers=containers),
            cache_dir=cache_dir,
            prices=price_table,
            local_per_hour=gpu_hour,
            ray_address=ray_address,
            max_in_flight=parallel,
        )
        stack.enter_context(committee)
        yield committee
        if len(usage := committee.sandbox_usage()) > 1:
            console.print("[dim]verified on " + ", ".join(f"node {node[:8]}: {jobs} candidates"
                                                           for node, jobs in usage.items()) + "[/]")  # fmt: skip


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console,
    )  # fmt: skip


@cli.command()
@click.argument("tasks_file", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Results JSONL (default: results-<time>.jsonl).")  # fmt: skip
@model_options
@committee_options
def solve(tasks_file: Path, out: Path | None, **options: Any) -> None:
    """Solve the tasks in TASKS_FILE (JSON or JSONL; HumanEval records work as they are)."""
    tasks = load_tasks(tasks_file)
    out = out or Path(f"results-{datetime.datetime.now():%Y%m%d-%H%M%S}.jsonl")
    rows, policy = [], _committee_config(**options)
    with _committee(**options, policy=policy, log_dir=out.parent) as committee, _progress() as bar, out.open("w") as f:
        job = bar.add_task("solving", total=len(tasks), rate="")
        for solution in committee.solve_many(tasks):
            f.write(json.dumps(solution.record()) + "\n")
            f.flush()
            rows.append(solution)
            solved = sum(s.solved for s in rows)
            bar.update(job, advance=1, rate=f"{solved}/{len(rows)} pass")
    table = Table(title=f"{len(rows)} tasks from {tasks_file}")
    for column in ("task", "verdict", "chosen by", "tier", "escalated", "samples", "tokens", "cost $"):
        table.add_column(column)
    for s in sorted(rows, key=lambda s: s.task_id):
        t = totals(s.calls)
        verdict = "UNSURE" if s.solved and s.unsure else s.verdict.value
        table.add_row(s.task_id, verdict, s.choice if s.solved else "-", s.tier or "-",
                      "yes" if s.escalated else "no", str(s.samples), f"{t.tokens_in + t.tokens_out:,}",
                      t.dollars())  # fmt: skip
    from benchmarks.report import print_table

    print_table(table)
    console.print(f"results: {out}")
    if rows and all(s.verdict.value == "INFRA_ERROR" for s in rows):
        raise CommitteeError(f"every task ended in an infra error (see {out}): check the endpoints and Docker")


BENCH_FIX_DEFAULTS = {"samples": 5, "repair": 1}
"""`committee bench fix` runs with `committee fix`'s defaults, not solve's."""


@cli.command()
@click.argument("benchmark", type=click.Choice([*BENCHMARKS, "fix"]))
@click.option("--limit", type=click.IntRange(1), default=None, help="First N tasks only.")
@click.option("--tasks", "task_ids", default=None, help="Comma-separated task ids (e.g. 0,5,HumanEval/7).")
@click.option("--run-id", default=None, help="Run directory name; rerunning an id resumes it.")
@click.option("--runs-dir", type=click.Path(path_type=Path), default=Path("runs"), show_default=True)
@click.option(
    "--oracle",
    is_flag=True,
    help="Also run the committee selecting with the hidden tests (reported as committee-oracle).",
)
@click.option(
    "--ablate",
    is_flag=True,
    help="Run the levers one at a time (examples only, +agreement, +model-tests, +repair, +strong-tests, "
    "+agreement-on-pass, +strong-judge, +gate with --gate, +router with --router) "
    "beside both baselines, and the oracle router.",
)
@click.option(
    "--configs",
    "only",
    default=None,
    help="Comma-separated configurations to run of those the run would (e.g. committee,strong-alone).",
)
@model_options
@committee_options
@click.pass_context
def bench(ctx: click.Context, benchmark: str, limit: int | None, task_ids: str | None, run_id: str | None,
          runs_dir: Path, oracle: bool, ablate: bool, only: str | None, **options: Any) -> None:  # fmt: skip
    """Run BENCHMARK with the committee and, in the same run, cheap-alone and strong-alone baselines.

    `fix` is the CI bot on bugs injected into real packages (scored on each package's whole suite); of the
    committee options it takes --samples (default 5 there), --repair (default 1), --containers and --cache, and
    --ablate runs its levers (whole files, search/replace blocks, without failing first, without spreading the
    cheap round over the suspects, answers cut at 768 tokens).
    """
    if benchmark == "fix":
        if oracle:
            raise click.UsageError("bench fix has no --oracle: its scoring suite is the repository's own")
        for name, fix_default in BENCH_FIX_DEFAULTS.items():
            if ctx.get_parameter_source(name) == click.core.ParameterSource.DEFAULT:
                options[name] = fix_default
        _bench_fix(limit, task_ids, run_id, runs_dir, ablate=ablate, only=only, **options)
        return
    from benchmarks.datasets import load_benchmark
    from benchmarks.report import ABLATION_NOTES, ablation_table, print_table, table, table_notes
    from benchmarks.runner import ablation, configurations, run_bench

    tasks = load_benchmark(benchmark, limit=limit, ids=task_ids.split(",") if task_ids else None)
    run_dir = runs_dir / (run_id or f"{benchmark}-{datetime.datetime.now():%Y%m%d-%H%M%S}")
    committee_config = _committee_config(**options)
    with_strong = options["strong"] != "none"
    if ablate and not with_strong:
        raise click.UsageError("--ablate compares against the strong model: give one with --strong")
    if ablate:
        configs = ablation(committee_config, router=committee_config.router, gate=committee_config.gate)
    else:
        configs = configurations(committee_config, with_strong=with_strong, oracle=oracle)
    configs = _only(configs, only)
    console.print(f"{benchmark}: {len(tasks)} tasks; run directory {run_dir}")
    with _committee(**options, policy=committee_config, log_dir=run_dir) as committee, _progress() as bar:
        jobs: dict[str, Any] = {}

        def progress(name: str, done: int, total: int, passed: int) -> None:
            if name not in jobs:
                jobs[name] = bar.add_task(name, total=total, rate="")
            bar.update(jobs[name], completed=done, rate=f"pass@1 {passed}/{done}" if done else "")

        started = time.monotonic()
        summaries = run_bench(committee, tasks, run_dir, configs, progress=progress)
    print_table(table(summaries, title=f"{benchmark}: {len(tasks)} tasks, scored on hidden tests"))
    console.print(table_notes(summaries), style="dim", highlight=False)
    if ablate:
        print_table(ablation_table(summaries, title=f"{benchmark}: {len(tasks)} tasks, the levers one at a time"))
        console.print(ABLATION_NOTES, style="dim", highlight=False)
    console.print(f"wall time {time.monotonic() - started:.0f} s; report: {run_dir / 'report.json'}, "
                  f"{run_dir / 'report.png'}; samples: {run_dir}/*.samples.jsonl")  # fmt: skip
    if any(s.infra_errors == s.tasks for s in summaries):
        raise CommitteeError(f"a configuration ended in infra errors on every task (see {run_dir}): check endpoints")


def _only(configs: dict[str, Any], only: str | None) -> dict[str, Any]:
    """The configurations ``--configs`` names, in the run's order."""
    if not only:
        return configs
    wanted = only.split(",")
    if unknown := set(wanted) - set(configs):
        raise click.UsageError(
            f"no configuration {', '.join(sorted(unknown))} in this run; it has {', '.join(configs)}"
        )
    return {name: config for name, config in configs.items() if name in wanted}


def _bench_fix(limit: int | None, task_ids: str | None, run_id: str | None, runs_dir: Path, *, ablate: bool,
               only: str | None, samples: int, repair: int, cheap: str, strong: str, prices: tuple[str, ...],
               gpu_hour: float | None, cache_dir: Path, containers: int, **_: Any) -> None:  # fmt: skip
    from benchmarks.fixbench.cases import load_cases, load_packages
    from benchmarks.fixbench.run import (
        ablation,
        case_rows,
        configurations,
        markdown,
        read_records,
        run_fix_bench,
        table_rows,
    )
    from sandbox.repo import RepoSandbox
    from solver.fix import FixConfig, prompt_chars
    from solver.models import ResponseCache

    if strong == "none":
        raise click.UsageError("bench fix compares against the strong model: give one with --strong")
    cases, packages = load_cases(), load_packages()
    if task_ids:
        wanted = task_ids.split(",")
        if unknown := set(wanted) - {c.id for c in cases}:
            raise CommitteeError(f"no such fix cases: {', '.join(sorted(unknown))}; ids look like {cases[0].id}")
        cases = [c for c in cases if c.id in wanted]
    cases = cases[:limit] if limit else cases
    run_dir = runs_dir / (run_id or f"fix-{datetime.datetime.now():%Y%m%d-%H%M%S}")
    price_table = parse_prices(prices)
    console.print(f"fix: {len(cases)} cases from {len({c.package for c in cases})} packages; run directory {run_dir}")
    with contextlib.ExitStack() as stack, _progress() as bar:
        for spec in (cheap, strong):
            validate_spec(spec)
        endpoints = {}
        for tier, spec in (("cheap", cheap), ("strong", strong)):
            endpoints[tier] = open_model(spec, stack, log_dir=run_dir)
            probe_endpoint(endpoints[tier], tier)
        clients = {tier: ModelClient(c, tier, cache=ResponseCache(cache_dir), prices=price_table,
                                     local_per_hour=gpu_hour) for tier, c in endpoints.items()}  # fmt: skip
        announce_prices(clients)
        policy = FixConfig(samples=samples, repair_rounds=repair, prompt_chars=prompt_chars(*endpoints.values()))
        sandbox = RepoSandbox(parallel=containers)
        stack.callback(sandbox.close)
        jobs: dict[str, Any] = {}

        def progress(name: str, done: int, total: int, fixed: int) -> None:
            if name not in jobs:
                jobs[name] = bar.add_task(name, total=total, rate="")
            bar.update(jobs[name], completed=done, rate=f"fixed {fixed}/{done}" if done else "")

        configs = _only(ablation(policy) if ablate else configurations(policy), only)
        summaries = run_fix_bench(cases, packages, run_dir, configs, clients, sandbox, progress=progress)
    records = {s.config: read_records(run_dir / f"{s.config}.jsonl") for s in summaries}
    click.echo(markdown(table_rows(summaries)) + "\n\n" + markdown(case_rows(cases, records)))
    console.print(f"report: {run_dir / 'report.json'}, {run_dir / 'report.png'}")
    if any(s.cases and s.infra_errors == s.cases for s in summaries):
        raise CommitteeError(f"a configuration ended in infra errors on every case (see {run_dir}): check Docker")


def printable(text: str) -> str:
    """Text from a repository or a model, safe for a terminal: control characters but newlines and tabs shown as
    ``\\xNN`` (an escape sequence could rewrite the screen or the CI log)."""
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", lambda m: f"\\x{ord(m.group()):02x}", text)


FIX_EXIT = {"fixed": 0, "nothing to fix": 0, "not fixed": 3, "infra error": 4}


@cli.command()
@click.option(
    "--repo",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=Path("."),
    show_default=True,
    help="The repository whose tests fail.",
)
@click.option("--test-cmd", default="pytest", show_default=True, help="Its test command (pytest and its arguments).")
@model_options
@click.option(
    "--samples",
    default=5,
    show_default=True,
    type=click.IntRange(0, 100),
    help="Cheap patches: a greedy one, then the rest in parallel.",
)
@click.option(
    "--repair",
    default=1,
    show_default=True,
    type=click.IntRange(0, 10),
    help="Repair rounds per tier: its best failed patch goes back with the new failures.",
)
@click.option(
    "--allow-config-edits",
    "allow_config",
    is_flag=True,
    help="Let patches change build, test and CI configuration (conftest.py, pyproject.toml, .github/, ...) and "
    "non-Python files; never tests, .git or secret-looking files. Named in the summary when used.",
)
@click.option("--apply/--no-apply", default=True, show_default=True, help="Write the fix into the working tree.")
@click.option(
    "--commit",
    "branch",
    default=None,
    metavar="BRANCH",
    help="Commit the fix on this new branch instead of writing it (the working tree and HEAD stay as they are).",
)
@click.option(
    "--push",
    "remote",
    default=None,
    metavar="REMOTE",
    help="With --commit: push the branch there and open a pull request with gh.",
)
@click.option("--base", default="main", show_default=True, help="The pull request's base branch.")
@click.option(
    "--summary",
    "summary_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write the Markdown summary here (for a PR comment).",
)
@click.option(
    "--cache",
    "cache_dir",
    type=click.Path(path_type=Path),
    default=DEFAULT_CACHE_DIR,
    show_default=True,
    help="Response cache (a rerun never pays twice).",
)
@click.pass_context
def fix(ctx: click.Context, repo: Path, test_cmd: str, cheap: str, strong: str, prices: tuple[str, ...],
        gpu_hour: float | None, samples: int, repair: int, allow_config: bool, apply: bool, branch: str | None,
        remote: str | None, base: str, summary_path: Path | None, cache_dir: Path) -> None:  # fmt: skip
    """Repair the failing pytest tests of a repository with a patch verified in the sandbox.

    Exit status: 0 fixed (or nothing failing), 3 not fixed, 4 infra error (the tests could not run), 1 bad input,
    2 usage.
    """
    from sandbox.repo import RepoSandbox, check_pytest
    from solver.checkout import listing, snapshot, withheld, write_regular
    from solver.fix import FixConfig, fix_repository, prompt_chars
    from solver.models import ResponseCache
    from solver.vcs import commit_on_branch, push_and_open_pr

    if remote and not branch:
        raise click.UsageError("--push needs --commit BRANCH")
    pytest_args = check_pytest(test_cmd)
    repo = repo.resolve()
    names = listing(repo)
    files = snapshot(repo, names)
    if secrets := withheld(names):
        shown = ", ".join(secrets[:5]) + (f" and {len(secrets) - 5} more" if len(secrets) > 5 else "")
        console.print(
            f"not copied to the sandbox or shown to a model (secret-looking): {printable(shown)}", markup=False
        )
    price_table = parse_prices(prices)
    cache = ResponseCache(cache_dir)
    with contextlib.ExitStack() as stack:
        for spec in [cheap] if strong == "none" else [cheap, strong]:
            validate_spec(spec)
        sandbox = RepoSandbox()
        stack.callback(sandbox.close)
        console.print(f"[dim]running `{test_cmd}` in the sandbox...[/]")
        sandbox.start(files)
        cheap_config = open_model(cheap, stack)  # local servers log beside the models, never in the repository
        strong_config = None if strong == "none" else open_model(strong, stack)
        clients = {}
        for tier, config in (("cheap", cheap_config), ("strong", strong_config)):
            if config is not None:
                probe_endpoint(config, tier)
                clients[tier] = ModelClient(config, tier, cache=cache, prices=price_table, local_per_hour=gpu_hour)
        announce_prices(clients)
        policy = FixConfig(samples=samples, repair_rounds=repair, escalate=strong != "none", allow_config=allow_config,
                           prompt_chars=prompt_chars(cheap_config, strong_config))  # fmt: skip
        result = fix_repository(files, sandbox, test_cmd, pytest_args, clients["cheap"], clients.get("strong"), policy)
    summary = result.summary(test_cmd)
    summary_path = summary_path or Path(tempfile.mkstemp(prefix="committee-summary-", suffix=".md")[1])
    summary_path.write_text(summary)
    if result.diff:
        click.echo(printable(result.diff), nl=False)
    console.print(printable(summary), markup=False, highlight=False)  # repository text: no rich markup
    if result.status == "fixed":
        if branch:
            commit = commit_on_branch(repo, result.changes, branch, f"Fix failing tests ({test_cmd})\n\n{summary}")
            console.print(f"committed {commit[:12]} on {branch}")
            if remote:
                url = push_and_open_pr(repo, remote, branch, base, f"Fix failing tests: {test_cmd}", summary_path)
                console.print(f"pull request: {url}")
        elif apply:
            write_regular(repo, result.changes)
            console.print(f"wrote {len(result.changes)} file(s) in {repo}", markup=False)
    if result.detail:
        console.print(printable(result.detail), style="red", markup=False, highlight=False)
    ctx.exit(FIX_EXIT[result.status])


@cli.command()
@model_options
def check(cheap: str, strong: str, prices: tuple[str, ...], gpu_hour: float | None) -> None:
    """Check that the Docker engine, the sandbox image and both model endpoints answer, and say how each is
    priced."""
    client = connect()
    console.print(f"Docker engine: ok (server {client.version().get('Version', '?')})")
    console.print(f"sandbox image: {ensure_image(client)}")
    client.close()
    with contextlib.ExitStack() as stack:
        for tier, spec in (("cheap", cheap), ("strong", strong)):
            if spec == "none":
                continue
            config = open_model(spec, stack)
            latency = check_endpoint(config)
            priced = ModelClient(config, tier, prices=parse_prices(prices), local_per_hour=gpu_hour).pricing
            console.print(f"{tier} model {config.model} at {config.base_url}: ok ({latency:.1f} s), {priced.label}")


@cli.command("config", context_settings={"ignore_unknown_options": True})
@click.argument("command", type=click.Choice(["solve", "bench", "fix", "check"]), default="solve")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option("--json", "as_json", is_flag=True, help="As JSON: each setting's value and where it came from.")
@click.pass_context
def config(ctx: click.Context, command: str, args: tuple[str, ...], as_json: bool) -> None:
    """Show the settings COMMAND runs with and where each came from.

    Each comes from a flag among ARGS (`committee config fix --samples 3`), a COMMITTEE_ variable, the settings file
    or the default."""
    chosen = cli.commands[command]
    settings.refuse(ctx.meta["settings_errors"], command)
    run = chosen.make_context(command, list(args), parent=ctx.find_root(), resilient_parsing=True)
    found: settings.ConfigFile | None = ctx.find_object(settings.ConfigFile)
    rows = {key: (_shown(run.params.get(option.name or "")), settings.source(run, option, found))
            for key, option in settings.settable(chosen).items()}  # fmt: skip
    if command == "bench" and run.params.get("benchmark") == "fix":
        rows |= {k: (str(v), "default (bench fix)") for k, v in BENCH_FIX_DEFAULTS.items() if rows[k][1] == "default"}
    if as_json:
        file = str(found.path) if found else None
        click.echo(json.dumps({"file": file, "settings": {k: {"value": v, "source": src}
                                                          for k, (v, src) in rows.items()}}, indent=2))  # fmt: skip
        return
    click.echo(f"committee {command}; settings file: {found.path if found else 'none (none found from here up)'}")
    width = max(map(len, rows)) + 2
    value_width = min(60, max(len(v) for v, _ in rows.values()) + 2)
    for key, (value, src) in rows.items():
        click.echo(f"  {key.ljust(width)}{value.ljust(value_width)}{src}")


def _shown(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return " ".join(map(str, value)) or "(none)"
    return str(value)


@cli.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False))
@click.option("--configs", "only", default=None, help="Comma-separated configurations to show (default: all).")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path, dir_okay=False), default=Path("report.png"),
              show_default=True, help="Where to write the plot of cost against pass@1.")  # fmt: skip
def report(run_dirs: tuple[Path, ...], only: str | None, plot_path: Path) -> None:
    """The tables and plot of finished (or stopped) bench runs again, side by side, from their RUN_DIRS: no model,
    no sandbox. Each run's rows count the tasks all its configurations finished."""
    from benchmarks.fixbench.run import markdown, table_rows
    from benchmarks.past_runs import plot_runs, read_runs, title
    from benchmarks.report import ABLATION_NOTES, ablation_table, print_table, table, table_notes

    runs = read_runs(run_dirs, only.split(",") if only else None)
    if runs[0].kind == "fix":
        for run in runs:
            click.echo(f"{title(run)}\n\n{markdown(table_rows(run.summaries))}\n")
    else:
        rows = [s for r in runs for s in r.summaries]
        names = [r.name for r in runs for _ in r.summaries] if len(runs) > 1 else None
        heading = "; ".join(title(r) for r in runs) + ", scored on hidden tests"
        print_table(table(rows, title=heading, runs=names))
        console.print(table_notes(rows), style="dim", highlight=False)
        if any(s.config.startswith("+") for s in rows):
            print_table(ablation_table(rows, title="the levers one at a time", runs=names))
            console.print(ABLATION_NOTES, style="dim", highlight=False)
    plot_runs(runs, plot_path)
    console.print(f"plot: {plot_path}")


@cli.group()
def router() -> None:
    """The difficulty router: which tasks go straight to the strong model."""


@router.command("train")
@click.argument("tasks")
@click.argument("results", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--strong-share",
    default=0.2,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Share of tasks to route to the strong model (the threshold is calibrated on these tasks).",
)
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=Path("router.json"),
              show_default=True)  # fmt: skip
def router_train(tasks: str, results: Path, strong_share: float, out: Path) -> None:
    """Train a router on TASKS (a benchmark name or a tasks file) and RESULTS, the cheap committee's results on
    them (a bench run's +repair.jsonl or committee.jsonl, or committee solve's output)."""
    from benchmarks.datasets import load_benchmark
    from benchmarks.runner import read_records
    from solver.router import cheap_failed, train

    by_id = {t.id: t for t in (load_benchmark(tasks) if tasks in BENCHMARKS else load_tasks(tasks))}
    records = read_records(results)
    unknown = records.keys() - by_id.keys()
    if unknown or not records:
        raise CommitteeError(f"{results}: {'no results' if not records else 'tasks not in ' + tasks}: "
                             f"{', '.join(sorted(unknown)[:3])}; give the tasks these results are for")  # fmt: skip
    labelled = [(by_id[i], cheap_failed(r)) for i, r in records.items()]
    trained = train([t for t, _ in labelled], [f for _, f in labelled], strong_share=strong_share)
    trained.save(out)
    failed = sum(f for _, f in labelled)
    console.print(f"{out}: trained on {len(labelled)} tasks ({failed} the cheap committee failed); routes "
                  f"{100 * trained.strong_share:.0f}% of them to the strong model")  # fmt: skip


@cli.group()
def gate() -> None:
    """The escalation gate: which escalations are not worth a strong call."""


@gate.command("train")
@click.argument("run_dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=Path("gate.json"),
              show_default=True)  # fmt: skip
def gate_train(run_dir: Path, out: Path) -> None:
    """Train a gate on RUN_DIR, a `committee bench --ablate` run: the escalations of its +repair.jsonl, labelled
    by whether strong-alone.jsonl failed the task's hidden tests."""
    from benchmarks.runner import CHEAP_COMMITTEE, read_records
    from solver.gate import escalations, train

    paths = [run_dir / f"{CHEAP_COMMITTEE}.jsonl", run_dir / "strong-alone.jsonl"]
    if missing := [p for p in paths if not p.exists()]:
        raise CommitteeError(f"{missing[0]}: not found; give a run of committee bench --ablate")
    rows = escalations(*(read_records(p) for p in paths))
    evidence, failed = [e.evidence for e in rows], [e.strong_failed for e in rows]
    trained = train(evidence, failed)
    trained.save(out)
    console.print(f"{out}: trained on {len(failed)} escalations ({sum(failed)} the strong model failed); withholds "
                  f"{sum(trained.probabilities(evidence) >= trained.threshold)} of them")  # fmt: skip


@cli.group()
def sandbox() -> None:
    """The sandbox image."""


@sandbox.command("build")
@click.option("--rebuild", is_flag=True, help="Build even when the image exists.")
@click.option("--registry-base", default=AUTO, show_default=True, metavar="IMAGE|auto|none",
              help="Registry image to build from; 'none' builds from a debootstrap Debian root; 'auto' takes "
                   f"{DEFAULT_REGISTRY_BASE} where a registry answers, else debootstrap.")  # fmt: skip
def sandbox_build(rebuild: bool, registry_base: str) -> None:
    """Build the sandbox image (from a registry's Python image, or from debootstrap where no registry answers)."""
    for name in ("sandbox", "solver"):
        logging.getLogger(name).setLevel(logging.INFO)
    client = connect()
    spec = ImageSpec(registry_base=None if registry_base == "none" else registry_base)
    tag = ensure_image(client, spec, rebuild=rebuild)
    client.close()
    console.print(f"sandbox image: {tag}")


@cli.group()
def models() -> None:
    """Local models."""


@models.command("fetch")
def models_fetch() -> None:
    """Fetch the local models (Qwen2.5-Coder 0.5B and 1.5B Instruct, GGUF)."""
    from solver.local import MODELS_DIR, fetch_models

    logging.getLogger("solver").setLevel(logging.INFO)
    fetch_models()
    console.print(f"models in {MODELS_DIR}")


@models.command("install-vllm")
def models_install_vllm() -> None:
    """Make a venv with vLLM's CPU build for `vllm:` models (about 2 minutes)."""
    from solver.local_vllm import install_vllm

    logging.getLogger("solver").setLevel(logging.INFO)
    console.print(f"vLLM's Python: {install_vllm()}")


settings.attach_environment(cli)


def main() -> None:
    # `kill` (SIGTERM) unwinds like Ctrl-C, so local model servers and sandbox containers are stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        code = cli.main(standalone_mode=False)  # a command's own exit status (fix) comes back here
    except (click.exceptions.Abort, KeyboardInterrupt):
        console.print("Interrupted.")
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except (CommitteeError, SandboxError) as e:
        if State.debug:
            console.print_exception()
        console.print(f"[red]Error:[/] {escape(printable(str(e)))}")
        sys.exit(1)
    except Exception as e:  # noqa: BLE001 - the one place an unexpected error becomes a line, not a traceback
        if State.debug:
            console.print_exception()
        first_line = (str(e).strip().splitlines() or [""])[0]
        console.print(f"[red]Error:[/] unexpected {type(e).__name__}: {first_line} (rerun with --debug for details)")
        sys.exit(1)
    if isinstance(code, int) and code:
        sys.exit(code)
