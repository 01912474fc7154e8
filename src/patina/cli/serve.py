"""`patina serve`: the REST API, job workers and web UI on the embedded default (SQLite archive, CPU)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
) -> None:
    """Start the service: REST API (OpenAPI at /docs), web UI at /, durable jobs run by a worker pool.

    The API token comes from $PATINA_API_TOKEN; without it a token is made up and a login link is
    printed. Limits: $PATINA_MAX_UPLOAD_MB (200) per upload request, $PATINA_MAX_PIXELS (200 M) per image.
    """
    import uvicorn
    from rich.console import Console

    from patina.service.app import create_app, open_archive
    from patina.service.settings import Settings

    settings = Settings.from_env(data_dir=data, workers=workers, device=device)
    if sample:
        from patina.cli.restore import sample_photo

        with open_archive(settings.data_dir) as archive:
            archive.import_paths([sample_photo()], collection="Samples")
    console = Console(highlight=False)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    console.print(f"Patina archive in [bold]{settings.data_dir}[/bold]; open "
                  f"http://{shown}:{port}/login" + (f"?token={settings.api_token}" if settings.token_generated else ""))
    if settings.token_generated:
        console.print(f"API token (set PATINA_API_TOKEN to choose one): {settings.api_token}")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
