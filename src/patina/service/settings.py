"""Service settings, read from the environment (PATINA_*) or given directly (tests, `patina serve`)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from patina.core.errors import ConfigError


@dataclass(frozen=True)
class Settings:
    """What the service needs to know.

    data_dir: the archive folder (created on first start, SQLite catalogue inside).
    api_token: the token every API call and the web UI's login must present.
    max_upload_bytes / max_pixels: limits on one upload request and on one image's pixel count.
    workers / device: the in-process job worker pool.
    """

    data_dir: Path = Path("patina-data")
    api_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    max_upload_bytes: int = 200 * 1024 * 1024
    max_pixels: int = 200_000_000
    workers: int = 1
    device: str = "cpu"
    token_generated: bool = False

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from PATINA_DATA_DIR, PATINA_API_TOKEN, PATINA_MAX_UPLOAD_MB, PATINA_MAX_PIXELS,
        PATINA_WORKERS and PATINA_DEVICE; ``overrides`` (not None) win. Without a token one is generated."""
        env = os.environ
        values: dict[str, object] = {}
        try:
            if "PATINA_DATA_DIR" in env:
                values["data_dir"] = Path(env["PATINA_DATA_DIR"])
            if env.get("PATINA_API_TOKEN"):
                values["api_token"] = env["PATINA_API_TOKEN"]
            if "PATINA_MAX_UPLOAD_MB" in env:
                values["max_upload_bytes"] = int(float(env["PATINA_MAX_UPLOAD_MB"]) * 1024 * 1024)
            if "PATINA_MAX_PIXELS" in env:
                values["max_pixels"] = int(env["PATINA_MAX_PIXELS"])
            if "PATINA_WORKERS" in env:
                values["workers"] = int(env["PATINA_WORKERS"])
            if "PATINA_DEVICE" in env:
                values["device"] = env["PATINA_DEVICE"]
        except ValueError as exc:
            raise ConfigError(f"bad PATINA_* setting: {exc}") from None
        values.update({key: value for key, value in overrides.items() if value is not None})
        values["token_generated"] = "api_token" not in values
        settings = cls(**values)  # type: ignore[arg-type]
        settings.check()
        return settings

    def check(self) -> None:
        if len(self.api_token) < 8:
            raise ConfigError("the API token must have at least 8 characters")
        if self.max_upload_bytes < 1 or self.max_pixels < 1 or self.workers < 1:
            raise ConfigError("upload limits and the worker count must be positive")
