"""``patina eval restore``: degrade clean evaluation sets with fixed seeds and score input, baseline and model.

Protocol ``restore_eval`` (what a model card's ``restore_eval/<set>`` metrics mean): the images of a set are
sorted by relative path; image ``i`` is degraded by :func:`patina.degradations.chain.degrade` with
``EVAL_CONFIG`` and seed ``i`` (+ an optional offset); PSNR and SSIM (:mod:`patina.ops.metrics`, 8-bit, whole
image, RGB) are measured against the sample's target (the clean image, gray for a black-and-white photo) for

* ``degraded``: the degraded input itself,
* ``baseline``: :func:`patina.evaluation.baselines.classical_restore` with the damage mask detected by the
  pipeline's mask network (probability > 0.5, dilated by 1 px), i.e. the same information the model gets,
* ``model``: the restoration pipeline's output.

Seconds per image are wall time of the classical ops alone (baseline; the mask network's forward pass is not
counted) and of the whole pipeline call (model: mask network + generator + tiling, result on the CPU).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from patina.degradations.chain import EVAL_CONFIG, DegradationConfig, degrade
from patina.evaluation.baselines import classical_restore, detected_mask
from patina.evaluation.report import DatasetResult, EvalProgress, EvalReport, EvaluationDataError
from patina.ops.metrics import psnr, ssim

PROTOCOL = "restore_eval"
METHODS = {"degraded": "degraded input", "baseline": "classical baseline", "model": "model"}
BASELINE_MASKS = ("detected", "oracle", "none")


class RestoreModel(Protocol):
    """What :func:`evaluate_restore` needs of a pipeline (``RestorePipeline`` is one)."""

    def __call__(self, image: torch.Tensor) -> torch.Tensor: ...

    def detect_damage(self, image: torch.Tensor) -> torch.Tensor: ...


def dataset_files(data_dir: str | Path) -> list[tuple[str, Path]]:
    """The images of an evaluation set as ``(relative name, path)``, sorted by name; raises EvaluationDataError."""
    from patina.imageio import find_images

    data_dir = Path(data_dir)
    if not data_dir.exists():
        raise EvaluationDataError(f"evaluation set {data_dir} does not exist")
    if not data_dir.is_dir():
        raise EvaluationDataError(f"evaluation set {data_dir} is not a folder")
    files = sorted((relative.as_posix(), path) for path, relative in find_images([data_dir]))
    if not files:
        raise EvaluationDataError(f"evaluation set {data_dir} holds no images")
    return files


def read_clean(path: Path) -> np.ndarray:
    """A clean evaluation image as (H, W, 3) float32 RGB in [0, 1] (gray repeated, alpha dropped)."""
    from patina.imageio import image_to_tensor, read_image

    tensor = image_to_tensor(read_image(path))
    return np.ascontiguousarray(tensor[0].permute(1, 2, 0).numpy(), dtype=np.float32)


def quantise(image: torch.Tensor) -> torch.Tensor:
    """Round to 8-bit levels (float32), as the written file would hold."""
    return torch.round(image.float().clamp(0, 1) * 255) / 255


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) array -> (1, 3, H, W) float32 tensor."""
    return torch.from_numpy(np.ascontiguousarray(np.asarray(image, dtype=np.float32).transpose(2, 0, 1)))[None]


def score(prediction: torch.Tensor, target: torch.Tensor) -> tuple[float, float]:
    """(PSNR, SSIM) of a (1, 3, H, W) prediction against its target."""
    prediction = prediction.detach().float().cpu()
    return float(psnr(prediction, target)), float(ssim(prediction, target))


def check_data_dirs(data_dirs: Sequence[str | Path]) -> list[Path]:
    """Evaluation-set folders as paths; EvaluationDataError when none, missing, empty, or two share a name."""
    dirs = [Path(d) for d in data_dirs]
    if not dirs:
        raise EvaluationDataError("no evaluation set given (use --data DIR)")
    names = [d.resolve().name for d in dirs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise EvaluationDataError(f"evaluation sets must have distinct folder names; repeated: {', '.join(duplicates)}")
    for d in dirs:
        dataset_files(d)   # fail before any work when a later set is missing
    return dirs


def evaluate_restore(
    data_dirs: Iterable[str | Path],
    *,
    pipeline: RestoreModel | None,
    seeds_offset: int = 0,
    limit: int | None = None,
    progress: bool = True,
    baseline_mask: str = "detected",
    config: DegradationConfig = EVAL_CONFIG,
    settings: dict[str, Any] | None = None,
    command: str = "",
) -> EvalReport:
    """Run the ``restore_eval`` protocol (module docstring) on each set; returns the means per set and method.

    Args:
        data_dirs: folders of clean images; each folder's name names the set (``Kodak24``).
        pipeline: a ``RestorePipeline`` (or anything with ``__call__`` and ``detect_damage``); None scores only
            the degraded input and the baseline (which then needs ``baseline_mask`` 'oracle' or 'none').
        seeds_offset: image ``i`` gets seed ``i + seeds_offset``.
        limit: evaluate only the first ``limit`` images of each set.
        progress: show a progress bar on stderr.
        baseline_mask: the baseline's inpainting mask: 'detected' (the pipeline's mask network; the protocol),
            'oracle' (the true damage mask: an upper bound for diagnosis) or 'none' (no inpainting).
    """
    from patina.core.errors import ParameterError

    if baseline_mask not in BASELINE_MASKS:
        raise ParameterError(f"baseline_mask must be one of {', '.join(BASELINE_MASKS)}, got {baseline_mask!r}")
    if baseline_mask == "detected" and pipeline is None:
        raise ParameterError("baseline_mask='detected' needs a pipeline with a damage-mask network")
    if limit is not None and limit < 1:
        raise ParameterError(f"limit must be at least 1, got {limit}")
    dirs = check_data_dirs(list(data_dirs))
    report = EvalReport(task="restore", settings={"protocol": PROTOCOL, "seeds_offset": seeds_offset,
                                                  "baseline_mask": baseline_mask, **(settings or {})},
                        command=command)
    jobs = [(d, dataset_files(d)[:limit]) for d in dirs]
    total = sum(len(files) for _, files in jobs)

    with EvalProgress("eval restore", total, enabled=progress) as bar:
        for data_dir, files in jobs:
            result = DatasetResult(name=data_dir.resolve().name, path=str(data_dir), protocol=PROTOCOL)
            for label_key in ("degraded", "baseline") + (("model",) if pipeline is not None else ()):
                result.method(label_key, METHODS[label_key])
            for index, (name, path) in enumerate(files):
                bar.describe(f"{result.name} {name}")
                seed = index + seeds_offset
                _evaluate_image(result, name, read_clean(path), seed, pipeline, baseline_mask, config)
                result.seeds.append(seed)
                bar.advance()
            report.datasets.append(result)
    return report


def _evaluate_image(result: DatasetResult, name: str, clean: np.ndarray, seed: int,
                    pipeline: RestoreModel | None, baseline_mask: str, config: DegradationConfig) -> None:
    from patina.evaluation.report import ImageScore

    sample = degrade(clean, config, seed=seed)
    target = to_tensor(sample.target)
    degraded = to_tensor(sample.degraded)
    result.methods["degraded"].images.append(ImageScore(name, *score(degraded, target)))

    with torch.inference_mode():
        if baseline_mask == "detected":
            probability = pipeline.detect_damage(degraded)[0, 0].float().cpu().numpy()
            mask = detected_mask(probability)
        elif baseline_mask == "oracle":
            mask = detected_mask(sample.mask)
        else:
            mask = None
        start = time.perf_counter()
        baseline = classical_restore(sample.degraded, mask)
        seconds = time.perf_counter() - start
        result.methods["baseline"].images.append(ImageScore(name, *score(to_tensor(baseline), target), seconds))

        if pipeline is not None:
            start = time.perf_counter()
            restored = pipeline(degraded).detach().float().cpu()
            seconds = time.perf_counter() - start
            if restored.shape != degraded.shape:
                raise RuntimeError(f"pipeline returned shape {tuple(restored.shape)} for input {tuple(degraded.shape)}")
            result.methods["model"].images.append(ImageScore(name, *score(restored, target), seconds))
