"""API token check: `Authorization: Bearer TOKEN`, `X-API-Token: TOKEN`, or the web UI's login cookie.

A request authenticated by the cookie alone that changes something must also carry the header
`X-Patina-UI: 1` (set by the UI's script), which another site's page cannot send: no CSRF.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Annotated

from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, status
from fastapi.responses import RedirectResponse
from fastapi.security import APIKeyHeader, HTTPBearer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "patina_token"
UI_HEADER = "X-Patina-UI"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def presented_token(request: Request) -> tuple[str | None, bool]:
    """The token a request carries and whether it came from the cookie."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip(), False
    if token := request.headers.get("x-api-token"):
        return token.strip(), False
    return request.cookies.get(COOKIE), True


def token_matches(given: str | None, expected: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode(), expected.encode())


_bearer = HTTPBearer(auto_error=False, description="The service's API token")
_header = APIKeyHeader(name="X-API-Token", auto_error=False, description="The service's API token")


def require_token(request: Request, _bearer_credentials: Annotated[object, Depends(_bearer)] = None,
                  _header_credentials: Annotated[object, Depends(_header)] = None) -> None:
    """FastAPI dependency: 401 unless the request carries the service's token (the two security
    parameters only declare the schemes in OpenAPI, so /docs offers an Authorize button)."""
    token, from_cookie = presented_token(request)
    if not token_matches(token, request.app.state.settings.api_token):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or wrong API token",
                            headers={"WWW-Authenticate": "Bearer"})
    if from_cookie and request.method not in SAFE_METHODS and request.headers.get(UI_HEADER) != "1":
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"cookie-authenticated changes need the {UI_HEADER} header")


class PagesNeedLogin:
    """ASGI middleware: a request for a web page (``pages``: path prefixes) without a valid login is sent to the
    login page at once, on the event loop: no worker thread, no database, no search runs for it."""

    def __init__(self, app: ASGIApp, *, token: str, pages: tuple[str, ...]) -> None:
        self.app, self.token, self.pages = app, token, pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path and (path == "/" or path.startswith(self.pages)):
            token, _ = presented_token(Request(scope))
            if not token_matches(token, self.token):
                await RedirectResponse(f"/login?next={quote(path[:200])}", status_code=303)(scope, receive, send)
                return
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
