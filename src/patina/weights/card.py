"""Model cards: the JSON file that sits beside every shipped weights file."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patina.core.config import from_dict


@dataclass
class ModelCard:
    """What a weights file is, how to build it, how it was made and how well it does."""

    name: str
    arch: str
    kwargs: dict[str, Any]
    version: str
    sha256: str = ""
    dtype: str = "float16"
    parameters: int = 0
    task: str = ""
    data: list[str] = field(default_factory=list)
    steps: int = 0
    device: str = ""
    training: dict[str, Any] = field(default_factory=dict)
    teachers: list[dict[str, str]] = field(default_factory=list)
    """Networks from outside the project the model learnt from: name, licence, sha256 of each."""
    metrics: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    license: str = "Apache-2.0"

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=False) + "\n"

    @classmethod
    def read(cls, path: str | Path) -> ModelCard:
        return from_dict(cls, json.loads(Path(path).read_text()), where=Path(path).name)

    def write(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json())
