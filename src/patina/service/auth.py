"""Who may ask: the API token (`Authorization: Bearer TOKEN` or `X-API-Token: TOKEN`), or the web UI's session.

Logging in with the token (the login form), or once with the one-time code of the link `patina serve` prints,
gives the browser a session cookie: a random id (never the token), HttpOnly, SameSite=Strict, Secure when
served over HTTPS, valid for :data:`SESSION_SECONDS`. A request authenticated by the cookie alone that changes
something must also carry the header `X-Patina-UI: 1` (set by the UI's script), which another site's page
cannot send: no CSRF.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Annotated

from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, status
from fastapi.responses import RedirectResponse
from fastapi.security import APIKeyHeader, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from patina.archive import Archive
from patina.archive.users import has_rights_of, token_digest

COOKIE = "patina_session"
UI_HEADER = "X-Patina-UI"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_SECONDS = 7 * 24 * 3600
LOGIN_CODE_SECONDS = 15 * 60


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: a user's name and role (the service's own API token acts as ``admin``)."""

    name: str
    role: str

    def may(self, role: str) -> bool:
        """Whether this principal has the rights of ``role`` (viewer < editor < admin)."""
        return has_rights_of(self.role, role)


SERVICE_ADMIN = Principal("admin (the service's API token)", "admin")


class Sessions:
    """The web UI's sessions, kept in the archive's catalogue (:func:`patina.archive.users.start_session`): a
    restart logs nobody out, and a session lasts only as long as the token that opened it."""

    def __init__(self, archive: Archive, service_token: str) -> None:
        self.archive, self._service_digest = archive, token_digest(service_token)

    def start(self, token: str) -> str:
        """A new session's id, opened with ``token`` (the service's API token or a user's)."""
        return self.archive.start_session(token, SESSION_SECONDS)

    def principal(self, session: str | None) -> Principal | None:
        """Who a live session is for (as their token stands now), or None."""
        if not session or len(session) > 100:
            return None
        digest = self.archive.session_token_digest(session)
        if digest is None:
            return None
        if secrets.compare_digest(digest, self._service_digest):
            return SERVICE_ADMIN
        user = self.archive.user_with_token_digest(digest)
        return None if user is None else Principal(user.name, user.role)

    def end(self, session: str | None) -> None:
        if session and len(session) <= 100:
            self.archive.end_session(session)


class LoginCodes:
    """The one-time login codes of the links `patina serve` prints, in this server's memory."""

    def __init__(self) -> None:
        self._codes: dict[str, float] = {}
        self._lock = threading.Lock()

    def new(self) -> str:
        """A code that logs in once, within :data:`LOGIN_CODE_SECONDS` (the link `patina serve` prints)."""
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = time.time() + LOGIN_CODE_SECONDS
        return code

    def redeem(self, code: str) -> bool:
        """Use a login code up: True the first time, within its time."""
        with self._lock:
            until = self._codes.pop(code, None)
        return until is not None and until > time.time()


def presented_token(request: Request) -> str | None:
    """The API token a request carries in a header, if any."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    if token := request.headers.get("x-api-token"):
        return token.strip()
    return None


def token_matches(given: str | None, expected: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode(), expected.encode())


def principal_of_token(request: Request, token: str) -> Principal | None:
    """Who ``token`` is: the service's API token (admin), a user's own token (their role), or nobody."""
    if token_matches(token, request.app.state.settings.api_token):
        return SERVICE_ADMIN
    user = request.app.state.archive.user_with_token(token)
    return None if user is None else Principal(user.name, user.role)


def principal(request: Request) -> tuple[Principal | None, bool]:
    """(who the request acts for, or None; whether only by its session cookie)."""
    token = presented_token(request)
    if token is not None:
        return principal_of_token(request, token), False
    checked = getattr(request.state, "session_principal", None)  # a page's session, looked up by PagesNeedLogin
    return checked or request.app.state.sessions.principal(request.cookies.get(COOKIE)), True


def authenticated(request: Request) -> tuple[bool, bool]:
    """(whether the request may act, whether only by its session cookie)."""
    who, from_cookie = principal(request)
    return who is not None, from_cookie


_bearer = HTTPBearer(auto_error=False, description="The service's API token")
_header = APIKeyHeader(name="X-API-Token", auto_error=False, description="The service's API token")


def require_token(request: Request, _bearer_credentials: Annotated[object, Depends(_bearer)] = None,
                  _header_credentials: Annotated[object, Depends(_header)] = None) -> None:
    """FastAPI dependency: 401 unless the request carries the service's token (the two security
    parameters only declare the schemes in OpenAPI, so /docs offers an Authorize button)."""
    who, from_cookie = principal(request)
    if who is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or wrong API token",
                            headers={"WWW-Authenticate": "Bearer"})
    if request.method not in SAFE_METHODS and not who.may("editor"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"{who.name} is a {who.role}: changes need an editor")
    request.state.principal = who
    if from_cookie and request.method not in SAFE_METHODS and request.headers.get(UI_HEADER) != "1":
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"cookie-authenticated changes need the {UI_HEADER} header")


class PagesNeedLogin:
    """ASGI middleware: a request for a web page (``pages``: path prefixes) without a valid login is sent to the
    login page at once: without a session cookie on the event loop (no thread, no database); with one, after
    one lookup of the session by its primary key in a worker thread. No page's own work runs for it."""

    def __init__(self, app: ASGIApp, *, pages: tuple[str, ...]) -> None:
        self.app, self.pages = app, pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path and (path == "/" or path.startswith(self.pages)):
            request = Request(scope)
            token = presented_token(request)
            # a session or the service's token is checked here; another token (a user's) by the page itself
            session = request.cookies.get(COOKIE)
            if token is None:
                who = session and await run_in_threadpool(request.app.state.sessions.principal, session)
                if not who:
                    await RedirectResponse(f"/login?next={quote(path[:200])}", status_code=303)(scope, receive, send)
                    return
                request.state.session_principal = who  # the page's own check reuses it: one lookup a request
        await self.app(scope, receive, send)


PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
}
"""Headers of the web UI's pages (the API's OpenAPI page at /docs needs inline scripts and gets the rest)."""
COMMON_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
"""Headers of every response."""


class SecurityHeaders:
    """ASGI middleware adding :data:`COMMON_HEADERS` to every response and :data:`PAGE_HEADERS` to all but the
    OpenAPI documentation pages (``docs_prefixes``)."""

    def __init__(self, app: ASGIApp, *, docs_prefixes: tuple[str, ...] = ("/docs", "/redoc")) -> None:
        self.app, self.docs_prefixes = app, docs_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = {**COMMON_HEADERS, **({} if scope["path"].startswith(self.docs_prefixes) else PAGE_HEADERS)}

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *((name.lower().encode(), value.encode()) for name, value in extra.items()
                                        if name.lower().encode() not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)


class LoginThrottle:
    """At most ``attempts`` wrong tokens per client address within ``window`` seconds; after that the address
    is refused (429) until the window has passed. In memory, per server process."""

    def __init__(self, attempts: int = 5, window: float = 60.0) -> None:
        self.attempts, self.window = attempts, window
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> list[float]:
        recent = [moment for moment in self._failures.get(client, []) if now - moment < self.window]
        self._failures[client] = recent
        return recent

    def retry_after(self, client: str) -> int:
        """Seconds until ``client`` may try again (0: now)."""
        now = time.monotonic()
        with self._lock:
            recent = self._recent(client, now)
            return 0 if len(recent) < self.attempts else max(1, int(self.window - (now - recent[0])) + 1)

    def failed(self, client: str) -> None:
        """Count one wrong token from ``client``."""
        now = time.monotonic()
        with self._lock:
            self._recent(client, now).append(now)
            if len(self._failures) > 10_000:  # bounded memory under a flood from many addresses
                self._failures = {key: value for key, value in self._failures.items() if value}


def require_admin(request: Request) -> None:
    """FastAPI dependency (after :func:`require_token`): 403 unless the request acts for an admin."""
    who = getattr(request.state, "principal", None)
    if who is None or not who.may("admin"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this needs an admin")
