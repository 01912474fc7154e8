"""Uploads: a limit on the request body enforced while it streams in, and safe file names.

Uploaded bytes go to a temporary file inside the store's tmp/ and are imported from there; the name
the browser sent is only ever recorded as text (its last path component, cleaned), never used as a
path, so no upload can write outside the store.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CHUNK = 1 << 20


def safe_name(filename: str | None) -> str:
    """The last component of a client-supplied file name, without control characters or leading dots."""
    name = PureWindowsPath(PurePosixPath(filename or "").name).name  # handles both / and \\
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C")
    name = re.sub(r"\s+", " ", name).strip().lstrip(".")
    return name[:200] or "upload"


def save_upload(file: Any, destination: Any) -> None:
    """Copy an UploadFile's spooled body to ``destination``."""
    file.file.seek(0)
    with open(destination, "xb") as out:
        shutil.copyfileobj(file.file, out, CHUNK)


class BodyTooLarge(HTTPException):
    """Raised while the body streams in; FastAPI turns it into a 413 response."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body larger than the limit of {max_bytes} bytes")


UPLOAD_PATHS = re.compile(r"^/api/items(/\d+/masks|/metadata-csv)?$")
"""The routes that take files (photos, masks, spreadsheets): they get the upload limit, every other route the
small one for forms and JSON."""
MAX_FORM_BYTES = 1_000_000


class BodyLimit:
    """ASGI middleware: a request whose body is over its route's limit gets 413 (``max_upload_bytes`` for
    :data:`UPLOAD_PATHS`, ``max_form_bytes`` for every other route), checked against the Content-Length header
    first and against the bytes actually received when it is absent or wrong."""

    def __init__(self, app: ASGIApp, *, max_upload_bytes: int, max_form_bytes: int = MAX_FORM_BYTES) -> None:
        self.app, self.max_upload_bytes, self.max_form_bytes = app, max_upload_bytes, max_form_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.max_upload_bytes if UPLOAD_PATHS.match(scope["path"]) else self.max_form_bytes
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _too_large(send, limit)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _too_large(send, limit)


async def _too_large(send: Send, max_bytes: int) -> None:
    body = f'{{"detail":"request body larger than the limit of {max_bytes} bytes"}}'.encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
