"""The content-addressed file store: every file lives at objects/ab/cd/<sha256>, written once, read-only.

A file enters the store through a temporary file in ``tmp/`` that is hashed while it is written,
flushed to disk and then renamed into place, so an object is complete or absent, never half written.
Objects are made read-only (mode 0444) and the store has no method that opens one for writing.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import socket
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from patina.core.errors import ArchiveError

CHUNK = 1 << 20
READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
_HOST = socket.gethostname().replace("~", "-")
STALE_TEMPORARY = 3600.0
"""A temporary file not named by this store (e.g. an encoder's ``.x.png.tmp`` of a killed job) is removed once
it is older than this (seconds)."""


@dataclass(frozen=True)
class StoredFile:
    """A file now in the store: its sha256, size in bytes, and whether it was already there."""

    sha256: str
    size: int
    existed: bool


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_folder(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (a no-op where folders cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class ObjectStore:
    """Files addressed by their SHA-256 under ``root``/objects, with temporaries in ``root``/tmp."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.objects = self.root / "objects"
        self.tmp = self.root / "tmp"

    def create(self) -> None:
        """Make the store's folders."""
        self.objects.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        """Where the object with this hash lives (whether or not it exists)."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ArchiveError(f"not a sha256 hex digest: {sha256!r}")
        return self.objects / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def add_file(self, source: str | Path) -> StoredFile:
        """Copy ``source`` into the store (hashing while copying); ``source`` is only read."""
        with open(source, "rb") as fh:
            return self._add_stream(fh)

    def condition(self, sha256: str, size: int) -> str:
        """'intact', 'missing' or 'damaged' (another size, or bytes that no longer hash to the name)."""
        target = self.path(sha256)
        try:
            if target.stat().st_size != size:
                return "damaged"
        except FileNotFoundError:
            return "missing"
        return "intact" if sha256_file(target) == sha256 else "damaged"

    def repair(self, sha256: str, source: str | Path) -> bool:
        """Put the bytes of ``source`` in place of the missing or damaged object ``sha256`` (they must hash to it);
        True when they did and the object is whole again."""
        with open(source, "rb") as fh:
            return self._add_stream(fh, replace=sha256).sha256 == sha256

    def add_bytes(self, data: bytes) -> StoredFile:
        """Put ``data`` into the store."""
        temp = self.temp_path()
        try:
            with open(temp, "xb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            return self._commit(temp, hashlib.sha256(data).hexdigest(), len(data))
        finally:
            temp.unlink(missing_ok=True)

    def _add_stream(self, fh: BinaryIO, *, replace: str | None = None) -> StoredFile:
        temp = self.temp_path()
        digest = hashlib.sha256()
        size = 0
        try:
            with open(temp, "xb") as out:
                while chunk := fh.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            return self._commit(temp, digest.hexdigest(), size, replace=replace)
        finally:
            temp.unlink(missing_ok=True)

    def _commit(self, temp: Path, sha256: str, size: int, *, replace: str | None = None) -> StoredFile:
        """Rename a complete, synced temporary file into its place, unless an intact copy is there (``replace``:
        the hash of a damaged object these bytes may take the place of)."""
        target = self.path(sha256)
        if target.is_file() and replace == sha256 and self.condition(sha256, size) == "damaged":
            os.chmod(temp, READ_ONLY)
            os.replace(temp, target)  # the damaged copy goes; the folder stays writable
            _fsync_folder(target.parent)
            return StoredFile(sha256, size, existed=False)
        if target.is_file():
            if target.stat().st_size == size and sha256_file(target) == sha256:
                return StoredFile(sha256, size, existed=True)
            raise ArchiveError(
                f"the stored object {sha256} is damaged (its bytes no longer match its name); "
                "run 'patina archive verify' and restore it from a backup"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(temp, READ_ONLY)
        os.replace(temp, target)
        _fsync_folder(target.parent)
        return StoredFile(sha256, size, existed=False)

    def remove(self, sha256: str) -> bool:
        """Delete the object with this hash (a purged derivative's; masters are never removed). True when there
        was one."""
        path = self.path(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        _fsync_folder(path.parent)
        return True

    def temp_path(self, suffix: str = ".part") -> Path:
        """A fresh temporary path in the store's tmp folder, named after this process and machine."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        return self.tmp / f"{os.getpid()}@{_HOST}~{secrets.token_hex(6)}{suffix}"

    def open(self, sha256: str) -> BinaryIO:
        """Open a stored object for reading."""
        try:
            return open(self.path(sha256), "rb")
        except FileNotFoundError:
            raise ArchiveError(f"object {sha256} is missing from the store") from None

    def copy_to(self, sha256: str, destination: str | Path) -> None:
        """Copy an object out of the store (the copy is writable, the object stays read-only)."""
        with self.open(sha256) as src, open(destination, "wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK)

    def iter_objects(self) -> Iterator[str]:
        """Every file under objects/ (what is on disk, not what is catalogued): an object's sha256 when it sits
        where its hash puts it, else its path relative to objects/ (a stray file)."""
        for path in sorted(self.objects.rglob("*")):
            if path.is_file() or path.is_symlink():
                relative = path.relative_to(self.objects).as_posix()
                name = path.name
                placed = len(name) == 64 and relative == f"{name[:2]}/{name[2:4]}/{name}"
                yield name if placed else relative

    def clean_temporaries(self) -> int:
        """Remove temporary files left by processes of this machine that no longer run (e.g. after a
        kill -9); files of other machines sharing the store are left to them."""
        removed = 0
        for path in self.tmp.glob("*"):
            pid, _, rest = path.name.partition("@")
            host = rest.rpartition("~")[0]
            if not pid.isdigit() or not host:  # not named by temp_path (an encoder's own temporary): by its age
                if not _older_than(path, STALE_TEMPORARY):
                    continue
            elif host != _HOST or process_alive(int(pid)):
                continue
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
        return removed


def _older_than(path: Path, seconds: float) -> bool:
    try:
        return time.time() - path.lstat().st_mtime > seconds
    except OSError:
        return False


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
