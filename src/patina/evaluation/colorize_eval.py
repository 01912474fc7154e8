"""``patina eval colorize``: turn colour photographs gray, colorize them, and score the colours.

Protocol ``colorize_eval`` (what a model card's ``colorize_eval/<set>`` metrics mean): each image of a set
(sorted by relative path, gray images skipped) is reduced to its CIE L* (a = b = 0) and given to

* ``gray``: the black-and-white image itself,
* ``mean_ab``: a global-statistics baseline: the same L* with the training set's mean (a*, b*) everywhere
  (the mean recorded in the model card),
* ``model``: the colorization pipeline (its default render size unless told otherwise).

Each output, as 8-bit RGB, is scored against the original colour image: PSNR and SSIM (RGB, whole image),
``chroma_error`` = mean Euclidean (a*, b*) distance in CIE Lab, and ``colourfulness`` (Hasler & Suesstrunk),
next to the ground truth's own colourfulness. The model's time is the whole pipeline call on the CPU result.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import torch

from patina.evaluation.report import DatasetResult, EvalProgress, EvalReport, ImageScore
from patina.evaluation.restore_eval import check_data_dirs, dataset_files, quantise, read_clean, to_tensor
from patina.ops.color import AB_SCALE, chroma_error, colourfulness, gray_rgb, join_lab, lightness
from patina.ops.metrics import psnr, ssim

PROTOCOL = "colorize_eval"
METHODS = {"gray": "gray (no colour)", "mean_ab": "mean-chroma baseline", "model": "model"}
MIN_COLOURFULNESS = 2.0
"""Images less colourful than this are black-and-white already and cannot be scored on colour."""


class Colorizer(Protocol):
    """What :func:`evaluate_colorize` needs of a pipeline (``ColorizePipeline`` is one)."""

    def __call__(self, image: torch.Tensor) -> torch.Tensor: ...


def colour_scores(name: str, prediction: torch.Tensor, target: torch.Tensor,
                  seconds: float | None = None) -> ImageScore:
    """PSNR, SSIM and the colour scores (``extra``) of an 8-bit-quantised prediction against its colour target."""
    prediction = quantise(prediction.float())
    extra = {"chroma_error": float(chroma_error(prediction, target)[0]),
             "colourfulness": float(colourfulness(prediction)[0])}
    return ImageScore(name, float(psnr(prediction, target)), float(ssim(prediction, target)), seconds, extra)


def evaluate_colorize(
    data_dirs: Iterable[str | Path],
    *,
    pipeline: Colorizer | None,
    mean_ab: Sequence[float],
    limit: int | None = None,
    progress: bool = True,
    settings: dict[str, Any] | None = None,
    command: str = "",
) -> EvalReport:
    """Run the ``colorize_eval`` protocol (module docstring) on each set.

    Args:
        data_dirs: folders of colour images; each folder's name names the set.
        pipeline: a ``ColorizePipeline``; None scores only the two baselines.
        mean_ab: the training set's mean (a*, b*) in Lab units, for the global-statistics baseline.
        limit: evaluate only the first ``limit`` colour images of each set.
    """
    from patina.core.errors import ParameterError

    if limit is not None and limit < 1:
        raise ParameterError(f"limit must be at least 1, got {limit}")
    if len(mean_ab) != 2:
        raise ParameterError(f"mean_ab must be two numbers (a*, b*), got {mean_ab!r}")
    dirs = check_data_dirs(list(data_dirs))
    report = EvalReport(task="colorize", settings={"protocol": PROTOCOL, "mean_ab": list(mean_ab), **(settings or {})},
                        command=command, compare=("model", "mean_ab"))
    mean = torch.tensor([float(v) for v in mean_ab]).view(1, 2, 1, 1) / AB_SCALE
    jobs = [(d, dataset_files(d)) for d in dirs]
    with EvalProgress("eval colorize", sum(len(files) for _, files in jobs), enabled=progress) as bar:
        for data_dir, files in jobs:
            result = DatasetResult(name=data_dir.resolve().name, path=str(data_dir), protocol=PROTOCOL)
            for key in ("gray", "mean_ab") + (("model",) if pipeline is not None else ()):
                result.method(key, METHODS[key])
            truth_colourfulness: list[float] = []
            for name, path in files:
                if limit is not None and len(truth_colourfulness) >= limit:
                    break
                bar.describe(f"{result.name} {name}")
                target = quantise(to_tensor(read_clean(path)))
                truth = float(colourfulness(target)[0])
                if truth >= MIN_COLOURFULNESS:
                    truth_colourfulness.append(truth)
                    _evaluate_image(result, name, target, mean, pipeline)
                bar.advance()
            if truth_colourfulness:
                result.reference = {"colourfulness": sum(truth_colourfulness) / len(truth_colourfulness)}
            report.datasets.append(result)
    return report


def _evaluate_image(result: DatasetResult, name: str, target: torch.Tensor, mean: torch.Tensor,
                    pipeline: Colorizer | None) -> None:
    gray = quantise(gray_rgb(target))
    result.methods["gray"].images.append(colour_scores(name, gray, target))
    baseline = join_lab(lightness(gray), mean.expand(1, 2, *gray.shape[-2:]))
    result.methods["mean_ab"].images.append(colour_scores(name, baseline, target))
    if pipeline is not None:
        start = time.perf_counter()
        with torch.inference_mode():
            coloured = pipeline(gray).detach().float().cpu()
        seconds = time.perf_counter() - start
        if coloured.shape != gray.shape:
            raise RuntimeError(f"pipeline returned shape {tuple(coloured.shape)} for input {tuple(gray.shape)}")
        result.methods["model"].images.append(colour_scores(name, coloured, target, seconds))


__all__ = ["METHODS", "PROTOCOL", "evaluate_colorize"]
