"""Errors that Patina raises on purpose; the CLI prints them as one line, never a traceback."""

from __future__ import annotations


class PatinaError(Exception):
    """Base class of every error Patina raises deliberately."""


class ImageReadError(PatinaError):
    """A file could not be decoded: corrupt, truncated, unsupported or too large."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ImageTooLargeError(ImageReadError):
    """An image has more pixels than the reader's limit (a guard against decompression bombs)."""


class ImageWriteError(PatinaError):
    """An image could not be encoded or written."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ConfigError(PatinaError):
    """A configuration file or value is invalid."""


class ModelNotFoundError(PatinaError):
    """A model name is not in the registry, or its weights file is missing."""


class WeightsIntegrityError(PatinaError):
    """A weights file does not match the sha256 recorded in its model card."""


class ParameterError(PatinaError):
    """A user-supplied parameter is out of range."""


class ArchiveError(PatinaError):
    """The archive cannot do what was asked: no archive there, unknown item, a store that disagrees with its
    catalogue."""


class BusyError(ArchiveError):
    """The archive or the process is at its limit of concurrent work of this kind (searches, large decodes):
    try again in a moment."""


class ItemNotFoundError(ArchiveError):
    """No catalogued item has that id or sha256 prefix."""


def failure_reason(exc: BaseException) -> str:
    """One line saying why something failed, for a person: Patina's own reason, or the exception named."""
    if isinstance(exc, PatinaError):
        return str(getattr(exc, "reason", "") or exc)
    if isinstance(exc, MemoryError):
        return "not enough memory (try a smaller --tile)"
    return f"unexpected {type(exc).__name__}: {exc}"
