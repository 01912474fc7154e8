"""Calibrating a trained colorizer's decoding: the output settings that make held-out colorizations as
colourful as possible without being worse than the mean-chroma baseline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from patina.core.errors import ConfigError
from patina.data import read_rgb_tensor
from patina.evaluation.colorize_eval import colour_scores
from patina.evaluation.common import quantise
from patina.networks import ColorizeGenerator
from patina.networks.colorize import ChromaDecoding
from patina.ops.color import AB_SCALE, chroma_error, colourfulness, gray_rgb, join_lab, lightness

GAINS = tuple(round(1 + 0.1 * i, 1) for i in range(11))
"""Output gains tried for a regression colorizer."""
REBALANCING = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)
TEMPERATURES = (1.0, 0.7, 0.5, 0.38)
"""Rebalancing strengths x annealed-mean temperatures tried for a classification colorizer."""


def calibration_grid(generator: ColorizeGenerator) -> list[dict[str, float]]:
    """The output settings :func:`calibrate_colorize` tries for this generator."""
    if generator.bin_step:
        return [{"rebalance": r, "temperature": t} for r in REBALANCING for t in TEMPERATURES]
    return [{"chroma_gain": gain} for gain in GAINS]


def calibrate_colorize(model_path: str | Path, files: list[Path], *, mean_ab: list[float],
                       grid: list[dict[str, float]] | None = None,
                       ) -> tuple[dict[str, float], list[dict[str, float]]]:
    """The output settings that make held-out colorizations as colourful as possible without being worse
    than the mean-chroma baseline (and not more colourful than the truth).

    The settings (``grid``, by default :func:`calibration_grid`) are ``chroma_gain`` for a regression
    generator, ``rebalance`` and the annealed-mean ``temperature`` for a classification one. Every image of
    ``files`` is turned gray and colorized with the pipeline's defaults at each; returns the chosen
    settings (the first of the grid, the plain output, if none qualifies) and a row per setting: mean chroma
    error of the model and of the baseline, and colourfulness relative to the ground truth.
    """
    from patina.pipelines.colorize import ColorizePipeline

    pipeline = ColorizePipeline(model=str(model_path), device="cpu")
    generator = pipeline.generator
    if not isinstance(generator, ColorizeGenerator):  # a colorize model is one (narrows the type)
        raise ConfigError(f"{model_path}: a {type(generator).__name__}, not a ColorizeGenerator")
    mean = torch.tensor(mean_ab, dtype=torch.float32).view(1, 2, 1, 1) / AB_SCALE
    targets = [quantise(read_rgb_tensor(path)) for path in files]
    targets = [t for t in targets if colourfulness(t).item() >= 2.0]
    if not targets:
        raise ConfigError("no colour images to calibrate the colorizer on")
    truth = float(np.mean([colourfulness(t).item() for t in targets]))
    baseline = float(np.mean([chroma_error(join_lab(lightness(t), mean.expand(1, 2, *t.shape[-2:])), t).item()
                              for t in targets]))
    grays = [quantise(gray_rgb(t)) for t in targets]
    grid, rows = grid or calibration_grid(generator), []
    for settings in grid:
        pipeline.decoding = ChromaDecoding(rebalance=settings.get("rebalance", 0.0),
                                           temperature=settings.get("temperature", 1.0),
                                           gain=settings.get("chroma_gain", 1.0))
        scores = [colour_scores("", pipeline(gray), target).extra for gray, target in zip(grays, targets, strict=True)]
        rows.append({**settings, "chroma_error": float(np.mean([s["chroma_error"] for s in scores])),
                     "baseline_chroma_error": baseline,
                     "colourfulness_ratio": float(np.mean([s["colourfulness"] for s in scores])) / truth})
    allowed = [r for r in rows if r["chroma_error"] <= baseline and r["colourfulness_ratio"] <= 1.0]
    best = max(allowed, key=lambda r: (r["colourfulness_ratio"], -r["chroma_error"]), default=None)
    return {name: (best or rows[0])[name] for name in grid[0]}, rows


__all__ = ["GAINS", "REBALANCING", "TEMPERATURES", "calibrate_colorize", "calibration_grid"]
