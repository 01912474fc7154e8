"""The `patina` command: one Typer app, each command in its own module."""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from patina.cli.terminal import HELP_OPTION_NAMES, PatinaGroup, error_console
from patina.core.errors import PatinaError

app = typer.Typer(help="Patina: restore, upscale, colorize and re-style old photographs with GANs.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, cls=PatinaGroup,
                  context_settings={"help_option_names": HELP_OPTION_NAMES})


def _register() -> None:
    from patina.cli import archive, colorize, models, restore, retro, serve, stylize, train, upscale
    from patina.cli import eval as eval_command

    app.command("restore")(restore.restore)
    app.command("upscale")(upscale.upscale)
    app.command("colorize")(colorize.colorize)
    app.command("retro")(retro.retro)
    app.command("stylize")(stylize.stylize)
    app.add_typer(eval_command.app, name="eval")
    app.add_typer(train.app, name="train")
    app.command("models")(models.list_models)
    app.add_typer(archive.app, name="archive")
    app.command("serve")(serve.serve)


_register()


def main() -> None:
    """Entry point: Typer handles usage errors (exit 2) and exit codes; Patina's own errors become one red line
    and exit status 2 instead of a traceback."""
    try:
        app()
    except PatinaError as exc:
        error_console().print(f"[red]error:[/red] {escape(str(exc))}")
        sys.exit(2)
