"""What every `patina` command prints, and the options every command takes for it: ``-h``/``--help``,
``--version``, ``-q``/``--quiet`` and ``--no-progress``.

:class:`PatinaGroup` (the root group's class) adds the options to each command of the tree, so a new command has
them without declaring them; their values live in :data:`VERBOSITY` for the run (reset by every invocation).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperGroup

HELP_OPTION_NAMES = ["-h", "--help"]


@dataclass
class Verbosity:
    """``quiet``: only errors and what the command was asked for (no progress, notes, per-file lines or
    summaries); ``progress``: progress bars on a terminal."""

    quiet: bool = False
    progress: bool = True


VERBOSITY = Verbosity()


def patina_version() -> str:
    """The installed package's version ('unknown' when run from a source tree that was never installed)."""
    try:
        return version("patina")
    except PackageNotFoundError:
        return "unknown"


def show_progress() -> bool:
    """True when progress bars are wanted: not --quiet, not --no-progress, and stderr is a terminal."""
    return VERBOSITY.progress and not VERBOSITY.quiet and sys.stderr.isatty()


def console() -> Console:
    """The console for what a command reports on stdout (silent with --quiet)."""
    return Console(highlight=False, soft_wrap=True, quiet=VERBOSITY.quiet)


def error_console() -> Console:
    """The console for errors and warnings (stderr; never silenced)."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _print_version(ctx: typer.Context, _param: typer.CallbackParam, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        typer.echo(f"patina {patina_version()}")
        ctx.exit()


def _set(field: str, value: Any) -> Any:
    """A callback that sets ``VERBOSITY.<field>`` to ``value`` when the flag is given; the root group's resets
    it first, so each invocation starts from the defaults (``patina -q restore`` and ``patina restore -q`` agree)."""
    def callback(ctx: typer.Context, _param: typer.CallbackParam, given: bool) -> None:
        if ctx.parent is None:
            setattr(VERBOSITY, field, getattr(Verbosity, field))
        if given:
            setattr(VERBOSITY, field, value)
    return callback


def _print_help(ctx: typer.Context, _param: typer.CallbackParam, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        typer.echo(ctx.get_help(), color=ctx.color)
        ctx.exit()


def _common(
    help_: Annotated[bool, typer.Option("-h", "--help", is_eager=True, expose_value=False, callback=_print_help,
                                        help="Show this message and exit.")] = False,
    version: Annotated[bool, typer.Option("--version", is_eager=True, expose_value=False, callback=_print_version,
                                          help="Show Patina's version and exit.")] = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", expose_value=False, callback=_set("quiet", True),
                                        help="Print only errors and what was asked for: no progress, notes or "
                                             "summaries.")] = False,
    no_progress: Annotated[bool, typer.Option("--no-progress", expose_value=False, callback=_set("progress", False),
                                              help="No progress bars.")] = False,
) -> None:
    """The common options, declared the Typer way (see :func:`common_options`)."""


_COMMON = ("help_", "version", "quiet", "no_progress")


def common_options() -> list[Any]:
    """Fresh instances of the options every command takes (one set per command), built by Typer from
    :func:`_common`'s signature."""
    declared = typer.Typer()
    declared.command()(_common)
    return [param for param in typer.main.get_command(declared).params if param.name in _COMMON]


def _add_common_options(command: Any) -> None:
    taken = {name for param in command.params for name in param.opts + param.secondary_opts}
    command.params.extend(option for option in common_options() if not taken & set(option.opts))
    command.add_help_option = False  # its own -h/--help is among the common options (a flag shown as one)
    for param in command.params:
        if getattr(param, "is_flag", False):
            param.metavar = ""  # a flag takes no value: Typer would show '<bool>' as if it did
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            _add_common_options(sub)


class PatinaGroup(TyperGroup):
    """The root command group: gives every command in the tree the common options (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _add_common_options(self)


__all__ = ["HELP_OPTION_NAMES", "VERBOSITY", "PatinaGroup", "Verbosity", "common_options", "console",
           "error_console", "patina_version", "show_progress"]
