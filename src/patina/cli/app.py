"""The `patina` command: one Typer app, each command in its own module."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from patina.core.errors import PatinaError

app = typer.Typer(help="Patina: restore, upscale, colorize and re-style old photographs with GANs.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


def _register() -> None:
    from patina.cli import eval as eval_command
    from patina.cli import models, restore, train

    app.command("restore")(restore.restore)
    app.add_typer(eval_command.app, name="eval")
    app.add_typer(train.app, name="train")
    app.command("models")(models.list_models)


_register()


def main() -> None:
    """Entry point: run the app, turning Patina's own errors into one red line and exit status 2."""
    try:
        code = app(standalone_mode=False)
    except PatinaError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        Console(stderr=True).print("[red]aborted[/red]")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click usage errors arrive here with standalone_mode=False
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
    sys.exit(code if isinstance(code, int) else 0)
