"""Evaluation results shared by every ``patina eval`` task: scores, Rich tables, JSON, model-card metrics.

A task (restore, later upscale, colorize, ...) fills an :class:`EvalReport`: for each evaluation set a
:class:`DatasetResult` holding one :class:`MethodScores` per method (e.g. ``degraded``, ``baseline``, ``model``),
each with the PSNR / SSIM / seconds of every image. Everything here is task-agnostic.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from patina.core.errors import ParameterError


class EvaluationDataError(ParameterError):
    """An evaluation set is missing, is not a folder, holds no images, or two sets share a name."""


@dataclass
class ImageScore:
    """One method on one image."""

    name: str
    psnr: float
    ssim: float
    seconds: float | None = None
    extra: dict[str, float] = field(default_factory=dict)   # task-specific scores, e.g. chroma_error


@dataclass
class MethodScores:
    """One method on one evaluation set: per-image scores and their means."""

    key: str     # short, stable id used in JSON and model cards: "degraded", "baseline", "model"
    label: str   # what the table shows: "degraded input", "classical baseline", "model"
    images: list[ImageScore] = field(default_factory=list)

    @property
    def psnr(self) -> float:
        return _mean([s.psnr for s in self.images])

    @property
    def ssim(self) -> float:
        return _mean([s.ssim for s in self.images])

    @property
    def seconds_per_image(self) -> float | None:
        times = [s.seconds for s in self.images if s.seconds is not None]
        return _mean(times) if times else None

    def extra_means(self) -> dict[str, float]:
        """Mean of every task-specific score, in the order the images first report them."""
        names = dict.fromkeys(name for s in self.images for name in s.extra)
        return {name: _mean([s.extra[name] for s in self.images if name in s.extra]) for name in names}

    def summary(self) -> dict[str, float]:
        """Mean PSNR (dB, 3 decimals), SSIM (4 decimals), task-specific scores (4 decimals) and, when timed,
        seconds per image."""
        out: dict[str, float] = {"psnr": round(self.psnr, 3), "ssim": round(self.ssim, 4)}
        out.update({name: round(value, 4) for name, value in self.extra_means().items()})
        if self.seconds_per_image is not None:
            out["seconds_per_image"] = round(self.seconds_per_image, 4)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, **self.summary(),
                "images": [{"name": s.name, "psnr": s.psnr, "ssim": s.ssim, "seconds": s.seconds, **s.extra}
                           for s in self.images]}


@dataclass
class DatasetResult:
    """Every method on one evaluation set, degraded with one seed per image."""

    name: str            # the set's folder name, e.g. "Kodak24"
    path: str
    protocol: str        # e.g. "restore_eval": what was done to the images; with ``name`` it keys a card's metrics
    seeds: list[int] = field(default_factory=list)  # empty when the protocol uses no randomness
    methods: dict[str, MethodScores] = field(default_factory=dict)
    reference: dict[str, float] = field(default_factory=dict)  # scores of the ground truth itself, if any

    @property
    def image_count(self) -> int:
        """Images evaluated: one per seed, or (for protocols without seeds) the most any method scored."""
        return len(self.seeds) or max((len(m.images) for m in self.methods.values()), default=0)

    @property
    def key(self) -> str:
        """The model-card metrics key, e.g. ``restore_eval/Kodak24``."""
        return f"{self.protocol}/{self.name}"

    @property
    def seeds_label(self) -> str:
        """``"0..23"`` for a contiguous seed list, else the seeds joined by commas."""
        seeds = self.seeds
        if len(seeds) > 1 and seeds == list(range(seeds[0], seeds[0] + len(seeds))):
            return f"{seeds[0]}..{seeds[-1]}"
        return ",".join(str(s) for s in seeds)

    def method(self, key: str, label: str) -> MethodScores:
        """The scores of method ``key``, created (with ``label``) on first use."""
        if key not in self.methods:
            self.methods[key] = MethodScores(key, label)
        return self.methods[key]

    def delta(self, key: str, reference: str) -> dict[str, float] | None:
        """``key`` minus ``reference`` in mean PSNR and SSIM, or None when either is missing."""
        if key not in self.methods or reference not in self.methods:
            return None
        a, b = self.methods[key], self.methods[reference]
        return {"psnr": a.psnr - b.psnr, "ssim": a.ssim - b.ssim}

    def to_dict(self) -> dict[str, Any]:
        out = {"name": self.name, "path": self.path, "protocol": self.protocol, "key": self.key,
               "seeds": self.seeds_label, "images": self.image_count,
               "methods": {k: m.to_dict() for k, m in self.methods.items()}}
        if self.reference:
            out["ground_truth"] = self.reference
        return out


@dataclass
class EvalReport:
    """The outcome of one ``patina eval <task>`` run."""

    task: str
    datasets: list[DatasetResult] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)   # model, mask model, device, ... (JSON types)
    command: str = ""
    compare: tuple[str, str] = ("model", "baseline")         # the delta the tables show: first minus second

    def to_dict(self) -> dict[str, Any]:
        from patina import __version__

        return {"task": self.task, "command": self.command, "patina_version": __version__,
                "settings": self.settings, "datasets": [d.to_dict() for d in self.datasets]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"


class EvalProgress:
    """A transient Rich progress bar on stderr over ``total`` images (or nothing, when not ``enabled``)."""

    def __init__(self, description: str, total: int, *, enabled: bool = True) -> None:
        self.bar = None
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            self.task = self.bar.add_task(description, total=total)

    def __enter__(self) -> EvalProgress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def describe(self, text: str) -> None:
        """Show what is being evaluated now."""
        if self.bar is not None:
            self.bar.update(self.task, description=text)

    def advance(self) -> None:
        """One image done."""
        if self.bar is not None:
            self.bar.advance(self.task)


def _mean(values: list[float]) -> float:
    return math.fsum(values) / len(values) if values else float("nan")


def _fmt(value: float | None, digits: int, signed: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


EXTRA_COLUMNS = {"chroma_error": "chroma err. (ΔE ab)", "colourfulness": "colourfulness",
                 "feature_distance": "VGG feat. dist."}
"""Table headers of task-specific scores; others are shown under their own name."""
EXTRA_DIGITS = {"feature_distance": 4}
"""Decimals the tables show of task-specific scores (default 2)."""


def dataset_table(result: DatasetResult, compare: tuple[str, str] = ("model", "baseline")) -> Table:
    """A Rich table of one evaluation set: a row per method (PSNR, SSIM, task scores, s/image), then the
    ground truth's own scores (if any) and the compared delta."""
    seeds = f", seeds {result.seeds_label}" if result.seeds else ""
    table = Table(title=f"{result.name}  ({result.image_count} images{seeds})", title_justify="left")
    extras = list(dict.fromkeys(name for m in result.methods.values() for name in m.extra_means()))
    table.add_column("method", overflow="fold")
    table.add_column("PSNR (dB)", justify="right")
    table.add_column("SSIM", justify="right")
    for name in extras:
        table.add_column(EXTRA_COLUMNS.get(name, name), justify="right")
    table.add_column("s/image", justify="right")
    for scores in result.methods.values():
        means = scores.extra_means()
        table.add_row(scores.label, _fmt(scores.psnr, 2), _fmt(scores.ssim, 4),
                      *(_fmt(means.get(name), EXTRA_DIGITS.get(name, 2)) for name in extras),
                      _fmt(scores.seconds_per_image, 3))
    if result.reference:
        table.add_row("ground truth", "", "", *(_fmt(result.reference.get(name), 2) for name in extras), "",
                      style="dim")
    delta = result.delta(*compare)
    if delta is not None:
        a, b = (result.methods[k].label for k in compare)
        table.add_section()
        table.add_row(f"{a} − {b}", _fmt(delta["psnr"], 2, True), _fmt(delta["ssim"], 4, True),
                      *("" for _ in extras), "", style="bold")
    return table


def print_report(report: EvalReport, console: Console | None = None) -> None:
    """Print one table per evaluation set."""
    console = console or Console()
    for result in report.datasets:
        console.print(dataset_table(result, report.compare))


def write_json(report: EvalReport, path: str | Path) -> Path:
    """Write the full report (means and per-image scores) as JSON; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, report.to_json())
    return path


def card_metrics(report: EvalReport, *, extra: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """The model-card ``metrics`` entries of a report: ``{"<protocol>/<set>": {method: {psnr, ssim}, ...}}``."""
    entries: dict[str, dict[str, Any]] = {}
    for result in report.datasets:
        entry: dict[str, Any] = {key: scores.summary() for key, scores in result.methods.items()}
        if result.reference:
            entry["ground_truth"] = {k: round(v, 4) for k, v in result.reference.items()}
        if result.seeds:
            entry["seeds"] = result.seeds_label
        entry.update(images=result.image_count, **(extra or {}))
        entry["command"] = report.command
        entries[result.key] = entry
    return entries


def update_card(card_path: str | Path, report: EvalReport, *, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge the report's metrics into the ``metrics`` field of a model card JSON; nothing else changes.

    Only the card file is rewritten (atomically, same JSON layout as :class:`patina.weights.ModelCard`); the
    weights file is never touched, so the sha256 in the card stays valid. Entries of other evaluation sets
    already in the card are kept; those of the evaluated sets are replaced. Returns the new metrics.
    """
    card_path = Path(card_path)
    if not card_path.is_file():
        raise EvaluationDataError(f"{card_path}: model card not found")
    try:
        card = json.loads(card_path.read_text())
    except (OSError, ValueError) as exc:
        raise EvaluationDataError(f"{card_path}: cannot read model card: {exc}") from exc
    if not isinstance(card, dict):
        raise EvaluationDataError(f"{card_path}: model card is not a JSON object")
    metrics = card.get("metrics")
    if not isinstance(metrics, dict):
        metrics = {}
    metrics.update(card_metrics(report, extra=extra))
    card["metrics"] = metrics
    _atomic_write(card_path, json.dumps(card, indent=2, sort_keys=False) + "\n")
    return metrics


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
