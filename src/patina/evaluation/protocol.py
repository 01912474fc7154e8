"""The outer loop of every ``patina eval`` task, written once: :class:`EvalProtocol`.

A protocol walks its evaluation sets (sorted images, read one at a time), asks its per-image hook
(:meth:`EvalProtocol.score_image`) for one :class:`ImageScore` per method, and collects them into a
:class:`DatasetResult` per set and an :class:`EvalReport`, with a progress bar. :meth:`EvalProtocol.publish`
prints the report, writes its JSON and records its means in the evaluated models' cards. A task is a
small subclass: its methods, its settings and its hook.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from patina.core.errors import ParameterError
from patina.evaluation.common import check_data_dirs, dataset_files, read_clean
from patina.evaluation.report import (DatasetResult, EvalProgress, EvalReport, ImageScore, print_report,
                                      update_card, write_json)
from patina.evaluation.sheet import SheetRows, write_sheet


@dataclass(frozen=True)
class EvalSet:
    """One evaluation set as a protocol scores it: its name (with the protocol, the card's metrics key),
    its folder, its images as ``(name, what read() takes)`` in order, and a protocol's variant (e.g. an era)."""

    name: str
    path: Path
    images: list[tuple[str, Any]]
    variant: Any = None


class EvalProtocol:
    """The loop sets -> images -> read -> :meth:`score_image` -> a :class:`DatasetResult` per set -> report.

    Subclasses set ``task`` and ``protocol``, fill ``methods`` (key -> label: every set's rows, in order)
    and implement :meth:`score_image`; the other hooks have defaults.
    """

    task = ""
    protocol = ""                    # e.g. "restore_eval": what was done to the images
    compare = ("model", "baseline")  # the delta the tables show: first minus second
    card_settings: tuple[str, ...] = ()
    """Report settings that :meth:`publish` also writes into a model card's metrics entries."""

    def __init__(self, *, limit: int | None = None) -> None:
        if limit is not None and limit < 1:
            raise ParameterError(f"limit must be at least 1, got {limit}")
        self.limit = limit
        self.methods: dict[str, str] = {}
        self.model_settings: dict[str, Any] = {}  # what the report records of the evaluated model(s)
        self.card_models: list[str] = []           # whose model cards publish(update_cards=True) updates
        self.sheet = SheetRows()                   # pictures kept for publish(sheet_path=...); see keep_pictures

    # -- hooks -------------------------------------------------------------------------------------
    def eval_sets(self, data_dirs: Sequence[str | Path]) -> list[EvalSet]:
        """The sets to score: one per folder (all checked first), named after it, its images sorted by name."""
        return [EvalSet(d.resolve().name, d, dataset_files(d)) for d in check_data_dirs(list(data_dirs))]

    def prepare(self) -> None:
        """Load what scoring needs once the sets were found (reference statistics, models)."""

    def settings(self) -> dict[str, Any]:
        """The protocol's settings recorded in the report (after ``protocol``, before the model's)."""
        return {}

    def begin(self, eval_set: EvalSet) -> None:
        """Called before the first image of a set."""

    def read(self, source: Any) -> Any:
        """An image of a set (default: a clean RGB float array of the file ``source``)."""
        return read_clean(source)

    def seed(self, index: int) -> int | None:
        """The seed of the ``index``-th image of a set (recorded in the result), or None for none."""
        return None

    def score_image(self, eval_set: EvalSet, name: str, image: Any, seed: int | None) -> dict[str, ImageScore] | None:
        """Each method's score of one image (keys of ``methods``), or None to skip the image."""
        raise NotImplementedError

    def end(self, eval_set: EvalSet, result: DatasetResult) -> None:
        """Called after the last image of a set, before its result joins the report."""

    def notes(self, report: EvalReport) -> list[str]:
        """Conclusions printed under the tables."""
        return []

    def keep_pictures(self, per_set: int) -> None:
        """Keep the pictures of the first ``per_set`` images of each set for a comparison sheet."""
        self.sheet.per_set = per_set

    def show(self, eval_set: EvalSet, name: str, pictures: dict[str, Any]) -> None:
        """Offer one image's pictures (method key -> (1, 3, H, W) tensor; ``truth`` for the ground truth) to the
        sheet; a hook calls it when ``self.sheet.wants(eval_set.name)``."""
        self.sheet.keep(eval_set.name, name, pictures)

    # -- the loop ----------------------------------------------------------------------------------
    def run(self, data_dirs: Sequence[str | Path], *, progress: bool = True, command: str = "") -> EvalReport:
        """Score every set; each set's first ``limit`` images that are not skipped (all when None)."""
        sets = self.eval_sets(data_dirs)
        self.prepare()
        report = EvalReport(task=self.task, command=command, compare=self.compare,
                            settings={"protocol": self.protocol, **self.settings(), **self.model_settings})
        total = sum(len(s.images) if self.limit is None else min(len(s.images), self.limit) for s in sets)
        with EvalProgress(f"eval {self.task}", total, enabled=progress) as bar:
            for eval_set in sets:
                report.datasets.append(self._run_set(eval_set, bar))
        return report

    def _run_set(self, eval_set: EvalSet, bar: EvalProgress) -> DatasetResult:
        result = DatasetResult(name=eval_set.name, path=str(eval_set.path), protocol=self.protocol)
        for key, label in self.methods.items():
            result.method(key, label)
        self.begin(eval_set)
        scored = 0
        for index, (name, source) in enumerate(eval_set.images):
            if self.limit is not None and scored >= self.limit:
                break
            bar.describe(f"{eval_set.name} {name}")
            seed = self.seed(index)
            scores = self.score_image(eval_set, name, self.read(source), seed)
            if scores is not None:
                for key, image_score in scores.items():
                    result.methods[key].images.append(image_score)
                if seed is not None:
                    result.seeds.append(seed)
                scored += 1
            bar.advance()
        self.end(eval_set, result)
        return result

    # -- output ------------------------------------------------------------------------------------
    def publish(self, report: EvalReport, *, json_path: str | Path | None = None, update_cards: bool = False,
                console: Console | None = None, sheet_path: str | Path | None = None) -> None:
        """Print the tables and notes; write the JSON, the comparison sheet (see :meth:`keep_pictures`) and update
        the evaluated models' cards, as asked."""
        from patina.weights import resolve
        from patina.weights.files import card_path

        console = console or Console()
        print_report(report, console)
        for line in self.notes(report):
            console.print(line, highlight=False)
        if json_path is not None:
            console.print(f"scores written to {write_json(report, json_path)}", highlight=False)
        if sheet_path is not None:
            labels = {**self.methods, "truth": "ground truth"}
            console.print(f"sheet written to {write_sheet(sheet_path, report, self.sheet, labels)}", highlight=False)
        if update_cards:
            extra = {key: report.settings[key] for key in self.card_settings if key in report.settings}
            for model in self.card_models:
                path = card_path(resolve(model))
                update_card(path, report, extra=extra)
                console.print(f"metrics written to {path}", highlight=False)


def model_settings(model: str, card: Any = None) -> dict[str, str]:
    """What a report records of an evaluated model: its name, version and weights' sha256 (from ``card``,
    else read from the model's card file)."""
    if card is None:
        from patina.weights import ModelCard, resolve
        from patina.weights.files import card_path

        card = ModelCard.read(card_path(resolve(model)))
    return {"model": model, "model_version": card.version, "model_sha256": card.sha256}


__all__ = ["EvalProtocol", "EvalSet", "model_settings"]
