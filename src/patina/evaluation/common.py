"""What every ``patina eval`` protocol shares: finding the images of an evaluation set, reading them,
8-bit quantising and PSNR / SSIM. The lowest evaluation module: the protocols import it, never each other."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from patina.evaluation.report import EvaluationDataError
from patina.imageio import find_images, image_to_tensor, read_image
from patina.ops.metrics import psnr, ssim


def dataset_files(data_dir: str | Path) -> list[tuple[str, Path]]:
    """The images of an evaluation set as ``(relative name, path)``, sorted by name; raises EvaluationDataError."""
    data_dir = Path(data_dir)
    if not data_dir.exists():
        raise EvaluationDataError(f"evaluation set {data_dir} does not exist")
    if not data_dir.is_dir():
        raise EvaluationDataError(f"evaluation set {data_dir} is not a folder")
    files = sorted((relative.as_posix(), path) for path, relative in find_images([data_dir]))
    if not files:
        raise EvaluationDataError(f"evaluation set {data_dir} holds no images")
    return files


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


def read_clean(path: Path) -> np.ndarray:
    """A clean evaluation image as (H, W, 3) float32 RGB in [0, 1] (gray repeated, alpha dropped)."""
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


def feature_distance(teacher: nn.Module, prediction: torch.Tensor, target: Sequence[torch.Tensor]) -> float:
    """Mean over the teacher's feature layers of ``|f(prediction) - target|^2 / |target|^2``, ``target``
    being the teacher's features of the reference image."""
    with torch.inference_mode():
        pairs = zip(teacher(prediction), target, strict=True)
        return float(np.mean([float((p - t).pow(2).mean() / t.pow(2).mean().clamp_min(1e-12)) for p, t in pairs]))


__all__ = ["check_data_dirs", "dataset_files", "feature_distance", "quantise", "read_clean", "score", "to_tensor"]
