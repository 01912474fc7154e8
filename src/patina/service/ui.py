"""The web UI: server-rendered pages (Jinja2) with a little JavaScript (static/app.js) calling the API.

Pages: /login, / (gallery: search, drag-and-drop upload, collections, a run on a whole collection),
/items/{id} (compare view with slider / side by side and zoom to 1:1, presets and typed settings from each
pipeline's options, the job's progress and result beside its button, description, downloads, history), /jobs
(thumbnails, names, filter, ETA). A page without a valid login cookie sends the browser to /login.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from patina.archive import DUBLIN_CORE_FIELDS
from patina.archive.schema import MASTER
from patina.batch import JobQueue
from patina.core.errors import BusyError, ItemNotFoundError, ParameterError
from patina.pipelines.recipes import RECIPES
from patina.service.auth import COOKIE, SESSION_SECONDS, authenticated, principal_of_token
from patina.service.presets import EXPERT_OPTIONS, PRESETS

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
PAGES = ("/items/", "/jobs")
"""Path prefixes of the pages (besides /) that need a login; checked first by ``auth.PagesNeedLogin``."""
PAGE_SIZE = 60
MAX_PAGE = 10_000
PICKER_SIZE = 60
"""Archive photographs offered by a picture option's picker (style images, references)."""


def _logged_in(request: Request) -> bool:
    return authenticated(request)[0]


def _login_first(request: Request) -> Response | None:
    """The way to the login page when the request has no valid login (checked before a page does any work)."""
    if _logged_in(request):
        return None
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


def _page(request: Request, name: str, **context: Any) -> Response:
    return templates.TemplateResponse(request, name, context)


def _login_response(request: Request, next_page: str, token: str) -> Response:
    """Start a session opened with ``token`` (a valid one): its random id in a cookie (never the token), then on
    to ``next_page`` here."""
    target = next_page if next_page.startswith("/") and not next_page.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, request.app.state.sessions.start(token), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=SESSION_SECONDS)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, code: str | None = None, next: str = "/") -> Response:
    if code is None:
        return templates.TemplateResponse(request, "login.html", {"next": next, "error": False})
    if request.app.state.login_codes.redeem(code):  # the one-time link `patina serve` prints
        return _login_response(request, next, request.app.state.settings.api_token)
    return templates.TemplateResponse(request, "login.html", {"next": next, "error": False, "expired": True},
                                      status_code=401)


@router.post("/login")
def login(request: Request, token: Annotated[str, Form()], next: Annotated[str, Form()] = "/") -> Response:
    return _try_login(request, token, next)


def _try_login(request: Request, token: str, next_page: str) -> Response:
    """Log in with ``token``, unless this address gave too many wrong ones lately (429, see LoginThrottle)."""
    throttle = request.app.state.login_throttle
    client = request.client.host if request.client else "?"
    if wait := throttle.retry_after(client):
        return templates.TemplateResponse(request, "login.html", {"next": next_page, "error": True, "wait": wait},
                                          status_code=429, headers={"Retry-After": str(wait)})
    if principal_of_token(request, token) is None:
        throttle.failed(client)
        return templates.TemplateResponse(request, "login.html", {"next": next_page, "error": True},
                                          status_code=401)
    return _login_response(request, next_page, token)


@router.post("/logout")
def logout(request: Request) -> Response:
    request.app.state.sessions.end(request.cookies.get(COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/", response_class=HTMLResponse)
def gallery(request: Request, q: str = "", collection: str | None = None, page: str = "1") -> Response:
    if (login := _login_first(request)) is not None:
        return login
    archive = request.app.state.archive
    page_number = min(MAX_PAGE, max(1, int(page))) if page.isdigit() else 1
    problem = ""
    if q.strip():
        try:
            found = archive.search(q, limit=PAGE_SIZE * page_number)
        except (ParameterError, BusyError) as exc:
            found, problem = [], str(exc)
        items = [r for r in found if r.role == MASTER][PAGE_SIZE * (page_number - 1):]
        total = len(items)
    else:
        items = archive.items(role=MASTER, collection=collection or None, limit=PAGE_SIZE,
                              offset=PAGE_SIZE * (page_number - 1))
        total = archive.count(role=MASTER, collection=collection or None)
    return _page(request, "gallery.html", items=items, q=q, page=page_number, total=total, collection=collection,
                 collections=archive.collections(), more=PAGE_SIZE * page_number < total and not q.strip(),
                 presets=PRESETS, fields=DUBLIN_CORE_FIELDS, problem=problem)


@router.get("/items/{item_id}", response_class=HTMLResponse)
def item_page(request: Request, item_id: str) -> Response:
    if (login := _login_first(request)) is not None:
        return login
    archive = request.app.state.archive
    try:
        if not item_id.isdigit() or len(item_id) > 12:
            raise ItemNotFoundError(item_id)
        item = archive.item(int(item_id))
    except ItemNotFoundError:
        return templates.TemplateResponse(request, "missing.html", {"item_id": item_id[:20]}, status_code=404)
    derivatives = archive.items(ids=item.derivative_ids)
    jobs = JobQueue(archive).list(item_id=item.id, limit=20)
    pictures = archive.items(role=MASTER, limit=PICKER_SIZE)  # for the options that take archive pictures
    return _page(request, "item.html", item=item, derivatives=derivatives, events=archive.events(item.id),
                 jobs=jobs, pipelines=RECIPES, fields=DUBLIN_CORE_FIELDS, presets=PRESETS, pictures=pictures,
                 expert=EXPERT_OPTIONS)


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(request: Request) -> Response:
    if (login := _login_first(request)) is not None:
        return login
    archive = request.app.state.archive
    jobs = JobQueue(archive).list(limit=200)
    items = {record.id: record for record in archive.items(ids=sorted({job.item_id for job in jobs}),
                                                             withdrawn=None)}
    return _page(request, "jobs.html", jobs=jobs, items=items)
