"""``patina eval colorize``: turn colour photographs gray, colorize them, and score the colours.

Protocol ``colorize_eval`` (what a model card's ``colorize_eval/<set>`` metrics mean): each image of a set
(sorted by relative path, gray images skipped) is reduced to its CIE L* (a = b = 0) and given to

* ``gray``: the black-and-white image itself,
* ``mean_ab``: a global-statistics baseline: the same L* with the training set's mean (a*, b*) everywhere
  (the mean recorded in the model card),
* ``model``: the colorization pipeline (its default render size unless told otherwise),
* ``model_like_truth`` (with ``like_truth``): the pipeline steered by the original colour image itself as its
  ``like`` reference, an oracle check of reference-guided colour (how much a reference of the right colours
  can help).

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

from patina.core.errors import ParameterError
from patina.evaluation.common import quantise, to_tensor
from patina.evaluation.protocol import EvalProtocol, EvalSet, model_settings
from patina.evaluation.report import DatasetResult, EvalReport, ImageScore
from patina.ops.color import AB_SCALE, chroma_error, colourfulness, gray_rgb, join_lab, lightness
from patina.ops.metrics import psnr, ssim

PROTOCOL = "colorize_eval"
METHODS = {"gray": "gray (no colour)", "mean_ab": "mean-chroma baseline", "model": "model",
           "model_like_truth": "model, like the ground truth (oracle)"}
MIN_COLOURFULNESS = 2.0
"""Images less colourful than this are black-and-white already and cannot be scored on colour."""


class Colorizer(Protocol):
    """What :class:`ColorizeEval` needs of a pipeline (``ColorizePipeline`` is one)."""

    def __call__(self, image: torch.Tensor, like: torch.Tensor | None = None) -> torch.Tensor: ...


def colour_scores(name: str, prediction: torch.Tensor, target: torch.Tensor,
                  seconds: float | None = None) -> ImageScore:
    """PSNR, SSIM and the colour scores (``extra``) of an 8-bit-quantised prediction against its colour target."""
    prediction = quantise(prediction.float())
    extra = {"chroma_error": float(chroma_error(prediction, target)[0]),
             "colourfulness": float(colourfulness(prediction)[0])}
    return ImageScore(name, float(psnr(prediction, target)), float(ssim(prediction, target)), seconds, extra)


class ColorizeEval(EvalProtocol):
    """The ``colorize_eval`` protocol (module docstring).

    Args:
        pipeline: a ``ColorizePipeline``; None scores only the two baselines.
        mean_ab: the training set's mean (a*, b*) in Lab units, for the global-statistics baseline.
        limit: evaluate only the first ``limit`` colour images of each set.
        like_truth: also score the pipeline guided by each image's own colours (``model_like_truth``).
    """

    task = "colorize"
    protocol = PROTOCOL
    compare = ("model", "mean_ab")
    card_settings = ("render_size", "device")

    def __init__(self, pipeline: Colorizer | None, *, mean_ab: Sequence[float], limit: int | None = None,
                 like_truth: bool = False) -> None:
        super().__init__(limit=limit)
        if like_truth and pipeline is None:
            raise ParameterError("like_truth scores the model guided by the ground truth: give a pipeline")
        self.like_truth = like_truth
        if len(mean_ab) != 2:
            raise ParameterError(f"mean_ab must be two numbers (a*, b*), got {mean_ab!r}")
        self.pipeline, self.mean_ab = pipeline, list(mean_ab)
        self.mean = torch.tensor([float(v) for v in mean_ab]).view(1, 2, 1, 1) / AB_SCALE
        methods = ("gray", "mean_ab") + (("model",) if pipeline is not None else ()) + (
            ("model_like_truth",) if like_truth else ())
        self.methods = {key: METHODS[key] for key in methods}
        self.truth_colourfulness: list[float] = []

    @classmethod
    def load(cls, model: str, *, render_size: int | None, device: str, limit: int | None,
             like_truth: bool = False) -> ColorizeEval:
        """The protocol for a colorize model given by name, at ``render_size`` (None: the pipeline's default),
        with the mean-chroma baseline of the training set recorded in its card."""
        from patina.pipelines.colorize import ColorizeOptions, ColorizePipeline

        given: dict[str, object] = {"model": model} if render_size is None else {"model": model,
                                                                                  "render_size": render_size}
        pipeline = ColorizePipeline(ColorizeOptions.from_mapping(given), device=device)
        render = pipeline.render_size
        card = pipeline.card
        if card is None:  # never: the pipeline runs a colorize model, which has a card
            raise ParameterError(f"{model} has no model card")
        mean_ab = card.training.get("mean_ab")
        if not isinstance(mean_ab, list) or len(mean_ab) != 2:
            raise ParameterError(f"model card of {model} records no training-set mean_ab for the baseline")
        protocol = cls(pipeline, mean_ab=mean_ab, limit=limit, like_truth=like_truth)
        protocol.model_settings = {**model_settings(model, card), "render_size": render,
                                   "device": str(pipeline.device)}
        protocol.card_models = [model]
        return protocol

    def settings(self) -> dict[str, Any]:
        return {"mean_ab": self.mean_ab, **({"like_truth": True} if self.like_truth else {})}

    def read(self, source: Path) -> torch.Tensor:
        return quantise(to_tensor(super().read(source)))

    def begin(self, eval_set: EvalSet) -> None:
        self.truth_colourfulness = []

    def score_image(self, eval_set: EvalSet, name: str, image: torch.Tensor,
                    seed: int | None) -> dict[str, ImageScore] | None:
        truth = float(colourfulness(image)[0])
        if truth < MIN_COLOURFULNESS:
            return None
        self.truth_colourfulness.append(truth)
        gray = quantise(gray_rgb(image))
        baseline = join_lab(lightness(gray), self.mean.expand(1, 2, *gray.shape[-2:]))
        scores = {"gray": colour_scores(name, gray, image), "mean_ab": colour_scores(name, baseline, image)}
        if self.pipeline is not None:
            start = time.perf_counter()
            with torch.inference_mode():
                coloured = self.pipeline(gray).detach().float().cpu()
            seconds = time.perf_counter() - start
            if coloured.shape != gray.shape:
                raise RuntimeError(f"pipeline returned shape {tuple(coloured.shape)} for input {tuple(gray.shape)}")
            scores["model"] = colour_scores(name, coloured, image, seconds)
            if self.like_truth:
                with torch.inference_mode():
                    guided = self.pipeline(gray, like=image).detach().float().cpu()
                scores["model_like_truth"] = colour_scores(name, guided, image)
        if self.sheet.wants(eval_set.name):
            self.show(eval_set, name, {"gray": gray, "mean_ab": baseline,
                                       **({"model": coloured} if self.pipeline is not None else {}),
                                       "truth": image})
        return scores

    def end(self, eval_set: EvalSet, result: DatasetResult) -> None:
        if self.truth_colourfulness:
            result.reference = {"colourfulness": sum(self.truth_colourfulness) / len(self.truth_colourfulness)}

    def notes(self, report: EvalReport) -> list[str]:
        """How colourful the model is next to the ground truth, per set."""
        return [f"{result.name}: model colourfulness is "
                f"{result.methods['model'].extra_means()['colourfulness'] / result.reference['colourfulness']:.0%}"
                " of the ground truth's"
                for result in report.datasets if result.reference.get("colourfulness") and "model" in result.methods]


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
    """Run the ``colorize_eval`` protocol (module docstring, :class:`ColorizeEval`) on each set (a folder of
    colour images, named after the folder); ``settings`` are recorded in the report beside the protocol's."""
    protocol = ColorizeEval(pipeline, mean_ab=mean_ab, limit=limit)
    protocol.model_settings = dict(settings or {})
    return protocol.run(list(data_dirs), progress=progress, command=command)


__all__ = ["METHODS", "PROTOCOL", "ColorizeEval", "colour_scores", "evaluate_colorize"]
