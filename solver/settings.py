"""The configuration file: ``committee.toml``, or ``[tool.committee]`` in pyproject.toml, as the commands' defaults.

Click already merges in the order the file promises: a flag over its environment variable (``COMMITTEE_SAMPLES``
for ``--samples``) over the file's value (click's ``default_map``) over the option's default, and
``ctx.get_parameter_source`` says which won, so ``committee config`` shows what a command will really use.

A file's top-level keys apply to every command with that option; a ``[tool.committee.fix]`` (or ``bench``, ``solve``,
``check``) table to that command only, over them.

The file may be a pull request's (the GitHub Action runs ``committee fix`` in its checkout), so it is read as input
from anyone:
- it may set only SETTABLE: no key widens what a patch may touch (``--allow-config-edits``) or says where output goes
  (nor the response cache: links in a folder it names would send the cache's writes, and reads, out of the
  repository, and answers it ships would be read as the model's);
- a model spec in it may not name an API key variable (``?key=ENV``): the key would go to whatever URL the file
  names; keys are named by flags and environment variables, which the user controls. Nor a local model by its path:
  the model file could be the pull request's, crafted for the host's model server;
- its paths are relative to the folder it was found in and stay inside it (symlinks resolved, the file's own too);
- each value has its flag's type (a number for ``samples``, true or false for a switch) and passes its flag's checks.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from solver.endpoints import LocalModel, parse_spec
from solver.errors import InputError
from solver.local import KNOWN_MODELS

SETTABLE = (
    "cheap", "strong", "price", "gpu-hour", "samples", "batch", "repair", "repair-history", "strong-tests",
    "agree-on-pass", "strong-judge", "budget", "router", "gate", "containers", "parallel", "test-cmd", "base",
)  # fmt: skip
"""The options a file or an environment variable may set (named by their long flag, without the dashes)."""

SPEC_KEYS = ("cheap", "strong")


def environment_variable(key: str) -> str:
    return "COMMITTEE_" + key.upper().replace("-", "_")


@dataclass(frozen=True)
class ConfigFile:
    path: Path
    """Where it was found (a link is not followed here: its paths stay inside this folder, not the target's)."""
    values: dict[str, Any]
    """The committee table as written: keys, and command tables."""

    @property
    def folder(self) -> Path:
        return self.path.parent.resolve()

    def in_table(self, command: str, key: str) -> bool:
        """Whether ``key`` is set in ``command``'s own table, not at the top."""
        return key in self.values.get(command, {})

    @property
    def label(self) -> str:
        return f"{self.path.name} [tool.committee]" if self.path.name == "pyproject.toml" else self.path.name


def find(start: Path) -> ConfigFile | None:
    """The nearest committee.toml, or pyproject.toml with a [tool.committee] table, from ``start`` up to the
    repository's root (the first directory holding .git) or the filesystem's."""
    for folder in [start, *start.parents]:
        for name in ("committee.toml", "pyproject.toml"):
            if (path := folder / name).is_file() and (found := load(path, required=False)):
                return found
        if (folder / ".git").exists():
            return None
    return None


def load(path: Path, *, required: bool = True) -> ConfigFile | None:
    """``path``'s committee settings: a committee.toml's whole table, a pyproject.toml's [tool.committee]."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InputError(f"{path}: not a readable TOML file ({e})") from None
    tool = data.get("tool", {})
    values = data if path.name != "pyproject.toml" else tool.get("committee") if isinstance(tool, dict) else None
    if values is None:
        if required:
            raise InputError(f"{path}: no [tool.committee] table")
        return None
    if not isinstance(values, dict):
        raise InputError(f"{path}: [tool.committee] must be a table")
    return ConfigFile(path.absolute(), values)


def key_of(option: click.Option) -> str:
    """An option's key in the file: its long flag without the dashes."""
    return max(option.opts, key=len).lstrip("-")


def settable(command: click.Command) -> dict[str, click.Option]:
    """The command's options a file or environment may set, by key."""
    options = (p for p in command.params if isinstance(p, click.Option))
    return {key_of(o): o for o in options if key_of(o) in SETTABLE}


def attach_environment(group: click.Group) -> None:
    """Give every settable option of the group's commands its COMMITTEE_ environment variable."""
    for command in group.commands.values():
        for key, option in settable(command).items():
            option.envvar = environment_variable(key)
            option.show_envvar = True


def default_map(config: ConfigFile | None, group: click.Group) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The file's values as click's defaults, per command, each checked as its option would check a flag; and what
    is wrong with them, per command (``samples = 500`` is fine for solve, not for fix: only fix refuses to run).
    A key no command takes, or a table that is not one, is wrong for all: raised here."""
    if config is None:
        return {}, {}
    commands = {name: (c, options) for name, c in group.commands.items() if (options := settable(c))}
    shared = {k: v for k, v in config.values.items() if k not in commands}
    for key in shared:
        if not any(key in options for _, options in commands.values()):
            raise InputError(f"{config.path}: unknown key {key!r}: it may set {', '.join(SETTABLE)}, and "
                             f"[{'], ['.join(commands)}] tables of them")  # fmt: skip
    result, errors = {}, {}
    for name, (command, options) in commands.items():
        own = config.values.get(name, {})
        if not isinstance(own, dict):
            raise InputError(f"{config.path}: {name} must be a table of {name}'s settings")
        if unknown := sorted(own.keys() - options.keys()):
            raise InputError(f"{config.path}: [{name}] has no key {unknown[0]!r}: it may set {', '.join(options)}")
        merged = {k: v for k, v in shared.items() if k in options} | own
        try:
            result[name] = {options[k].name: _checked(config, name, command, options[k], k, v)
                            for k, v in merged.items()}  # fmt: skip
        except InputError as e:
            errors[name] = str(e)
    return {name: values for name, values in result.items() if values}, errors


def refuse(errors: dict[str, str], command: str | None) -> None:
    """Raise what ``default_map`` found wrong with the file for ``command``, the one about to run."""
    if command in errors:
        raise InputError(errors[command])


def _checked(config: ConfigFile, name: str, command: click.Command, option: click.Option, key: str,
             value: Any) -> Any:  # fmt: skip
    table = f" [{name}]" if config.in_table(name, key) else f" (for committee {name})"
    where = f"{config.path}: {key} = {value!r}"
    if wanted := _wrong_type(option, value):
        example = f", e.g. {key} = [{value!r}]" if option.multiple and isinstance(value, str) else ""
        raise InputError(f"{where}{table}: give {wanted}{example}")
    if isinstance(option.type, click.Path):
        value = _inside(config, where, value)
    if key == "strong" and value == "none":
        return value
    if key in SPEC_KEYS:
        if "?key=" in value:
            raise InputError(f"{where}: a file may not name an API key variable (a pull request could send the key "
                             f"anywhere); give this model with --{key} or {environment_variable(key)}")  # fmt: skip
        try:
            parsed = parse_spec(value)
        except InputError as e:
            raise InputError(f"{config.path}: {e}") from None
        if isinstance(parsed, LocalModel) and parsed.model not in KNOWN_MODELS:
            raise InputError(f"{where}: a file may name a local model ({', '.join(KNOWN_MODELS)}), not a path (a pull "
                             f"request could ship a crafted model file); give it with --{key}")  # fmt: skip
    try:
        option.type_cast_value(click.Context(command, info_name=name), value)
    except click.BadParameter as e:
        raise InputError(f"{where}{table}: {e.message}") from None
    return value


def _wrong_type(option: click.Option, value: Any) -> str | None:
    """What TOML type the option needs, if ``value`` is not of it (click would cast 3.7 to 3, or [3] to '[3]')."""
    if option.multiple:
        ok, wanted = isinstance(value, list) and all(isinstance(v, str) for v in value), "a list of strings"
    elif isinstance(option.type, click.types.BoolParamType):
        ok, wanted = isinstance(value, bool), "true or false"
    elif isinstance(option.type, click.types.IntParamType):
        ok, wanted = isinstance(value, int) and not isinstance(value, bool), "a whole number"
    elif isinstance(option.type, click.types.FloatParamType):
        ok, wanted = isinstance(value, int | float) and not isinstance(value, bool), "a number"
    else:
        ok, wanted = isinstance(value, str), "a string"
    return None if ok else wanted


def _inside(config: ConfigFile, where: str, value: Any) -> str:
    """A path from the file, relative to the folder it was found in, that stays inside that folder."""
    folder = config.folder
    if Path(value).is_absolute():
        raise InputError(f"{where}: give a path relative to {folder} (for one elsewhere use a flag or variable)")
    path = (folder / value).resolve()
    if not path.is_relative_to(folder):
        raise InputError(f"{where}: the path leaves {folder}; a file's paths stay inside its directory")
    return str(path)


def source(ctx: click.Context, option: click.Option, config: ConfigFile | None) -> str:
    """Where an option's value came from, as ``committee config`` shows it."""
    found = ctx.get_parameter_source(option.name or "")
    if found is ParameterSource.COMMANDLINE:
        return "flag --" + key_of(option)
    if found is ParameterSource.ENVIRONMENT:
        return f"env {option.envvar}"
    if found is ParameterSource.DEFAULT_MAP and config is not None:
        table = ctx.info_name or ""
        return f"{config.label} [{table}]" if config.in_table(table, key_of(option)) else config.label
    return "default"
