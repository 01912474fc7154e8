"""The FastAPI application: REST API under /api (OpenAPI at /docs, its assets served locally so it works
offline), web UI at /, a worker pool for jobs.

    from patina.service.app import create_app
    app = create_app(Settings.from_env())     # then run it with uvicorn, or `patina serve`
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.routing import Match
from fastapi_offline import FastAPIOffline
from fastapi.staticfiles import StaticFiles

import patina
from patina.archive import Archive
from patina.archive.archive import CONFIG_NAME
from patina.batch import JobQueue, WorkerPool
from patina.core.errors import BusyError, ParameterError
from patina.service import api, ui
from patina.service.auth import LoginCodes, LoginThrottle, PagesNeedLogin, SecurityHeaders, Sessions
from patina.service.settings import Settings
from patina.service.uploads import BodyLimit

STATIC = Path(__file__).parent / "static"


def open_archive(data_dir: Path) -> Archive:
    """The archive in ``data_dir``, created on first start."""
    if (data_dir / CONFIG_NAME).is_file():
        return Archive.open(data_dir)
    return Archive.create(data_dir)


def create_app(settings: Settings, *, start_workers: bool = True) -> FastAPI:
    """The app for ``settings``. Its archive opens (and its worker pool starts, re-queuing jobs left
    running by a previous process) when the app starts, and closes when it stops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        archive = open_archive(settings.data_dir)
        workers = WorkerPool(archive, workers=settings.workers, device=settings.device)
        app.state.archive, app.state.workers = archive, workers
        app.state.sessions = Sessions(archive, settings.api_token)
        if start_workers:
            workers.start()
        try:
            yield
        finally:
            workers.stop()
            archive.close()

    app = FastAPIOffline(title="Patina", version=patina.__version__, lifespan=lifespan,
                  description="Restore, upscale, colorize and re-style old photographs, and keep them in an "
                              "archive. Every /api route needs the API token: `Authorization: Bearer TOKEN`.")
    app.state.settings = settings
    app.state.login_throttle = LoginThrottle()
    app.state.login_codes = LoginCodes()
    app.add_middleware(BodyLimit, max_upload_bytes=settings.max_upload_bytes)
    app.add_middleware(PagesNeedLogin, pages=ui.PAGES)
    app.add_middleware(SecurityHeaders)
    app.include_router(api.router)
    app.include_router(ui.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(ParameterError)
    async def bad_parameter(_request: Request, exc: Exception) -> JSONResponse:
        """A bad parameter a route did not answer itself: 422 with the reason."""
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(BusyError)
    async def busy(_request: Request, exc: Exception) -> JSONResponse:
        """Too many searches or large decodes at once: 503, try again shortly."""
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "2"})

    @app.exception_handler(405)
    async def method_not_allowed(request: Request, _exc: Exception) -> JSONResponse:
        """405 with every method the path takes in ``Allow`` (one route per method: Starlette names one)."""
        allowed = sorted({method for route in app.routes if isinstance(route, APIRoute)
                          and route.matches(request.scope)[0] != Match.NONE for method in route.methods or ()})
        return JSONResponse({"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": ", ".join(allowed)})

    @app.get("/api/health", tags=["health"])
    def health(request: Request) -> dict[str, Any]:
        """Liveness check (no token needed): the worker threads alive and the queue ('degraded' when a worker is
        down and not yet restarted)."""
        workers: WorkerPool = request.app.state.workers
        alive = workers.alive()
        return {"status": "ok" if alive == workers.workers or not start_workers else "degraded",
                "version": patina.__version__,
                "workers": {"configured": workers.workers, "alive": alive, "restarts": workers.restarts},
                "queue": JobQueue(request.app.state.archive).stats()}

    return app
