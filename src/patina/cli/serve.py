"""`patina serve`: the REST API, job workers and web UI on the embedded default (SQLite archive, CPU)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer


def serve(
    data: Annotated[Path | None, typer.Option(
        help="Archive folder (created on first start); default $PATINA_DATA_DIR or ./patina-data.")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int | None, typer.Option(help="Job worker threads (default $PATINA_WORKERS or 1).")] = None,
    device: Annotated[str | None, typer.Option(help="Device for jobs: cpu, cuda, ... (default cpu).")] = None,
    sample: Annotated[bool, typer.Option(
        "--sample", help="Import the bundled sample old photo, so there is something to try.")] = False,
    log_level: Annotated[str, typer.Option(
        help="What the log shows on stderr: debug, info (requests, job start / finish / failure), warning "
             "(failures only) or error.")] = "info",
) -> None:
    """Start the service: REST API (OpenAPI at /docs), web UI at /, durable jobs run by a worker pool.

    The API token comes from $PATINA_API_TOKEN; without it a token is made up and printed. A one-time login
    link is printed either way. Limits: $PATINA_MAX_UPLOAD_MB (200) per upload request, $PATINA_MAX_PIXELS
    (200 M) per image.
    """
    from rich.console import Console

    from patina.core.errors import ParameterError

    if log_level.lower() not in LOG_LEVELS:
        raise ParameterError(f"--log-level must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
    try:
        import uvicorn

        from patina.service.app import create_app, open_archive
    except ImportError as exc:
        raise ParameterError(f"patina serve needs the service extras ({exc.name} is missing): "
                             "pip install -e '.[service]'") from None
    from patina.service.settings import Settings

    configure_logging(log_level)

    settings = Settings.from_env(data_dir=data, workers=workers, device=device)
    if sample:
        from patina.cli.restore import sample_photo

        with open_archive(settings.data_dir) as archive:
            archive.import_paths([sample_photo()], collection="Samples")
    app = create_app(settings)
    console = Console(highlight=False)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    console.print(f"Patina archive in [bold]{settings.data_dir}[/bold]; open "
                  f"http://{shown}:{port}/login?code={app.state.login_codes.new()} (works once, for 15 "
                  "minutes; then log in with the API token)")
    if settings.token_generated:
        console.print(f"API token (set PATINA_API_TOKEN to choose one): {settings.api_token}")
    uvicorn.run(app, host=host, port=port, log_level=log_level.lower(), log_config=None)


LOG_LEVELS = ("debug", "info", "warning", "error")


def configure_logging(level: str) -> None:
    """One format for Patina's own log (jobs), uvicorn's (requests, errors) and the rest, on stderr; a token or a
    login code in a request's URL is shown as ***."""
    import logging

    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
                        force=True)
    logging.getLogger("uvicorn.access").addFilter(_hide_tokens)


def _hide_tokens(record: Any) -> bool:
    """A logging filter: ``token=...`` or ``code=...`` in the record's arguments (a request line's URL) becomes
    ``token=***`` / ``code=***``."""
    if isinstance(record.args, tuple):
        record.args = tuple(_TOKEN_IN_URL.sub(r"\1***", arg) if isinstance(arg, str) else arg for arg in record.args)
    return True


_TOKEN_IN_URL = re.compile(r"((?:^|[?&])(?:token|code)=)[^&\s]*")
