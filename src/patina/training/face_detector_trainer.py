"""Training of Patina's face detector (:class:`~patina.networks.faces.FaceDetector`) on photos labelled by a
teacher (YuNet, :mod:`patina.evaluation.face_teacher`): boxes and five landmarks of each face.

The crops (:class:`~patina.training.face_data.FaceCrops`) are aged by the old-photo chain most of the time,
so the detector learns to find faces in faded, grainy, scratched, blurred prints. Per pyramid level: focal
loss of every cell's face score (doubtful cells ignored), GIoU of the boxes and L1 of the landmarks (divided
by the face's size) on the cells that hold a face. Distillation (``loss.soft_*``): the same three against the
teacher's answer at every cell of the *clean* crop while the detector reads the aged one: the score by
quality focal loss (Li et al. 2020, the teacher's score as a soft target), boxes and landmarks weighted by
the teacher's score where it is at least :data:`SOFT_POSITIVE`. Not a GAN; batch norm, an EMA of the weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch.nn import functional as F

from patina.core.errors import ConfigError
from patina.evaluation.face_teacher import PhotoFaces, teacher_faces
from patina.evaluation.faces_eval import detector_matching
from patina.networks.faces import STRIDES, FaceDetector, cell_centres
from patina.pipelines.faces import FaceFinder
from patina.training.config import FaceDetectorTrainConfig
from patina.training.datasets import degradation_preset
from patina.training.face_data import FaceCrops, LevelTargets, cell_targets
from patina.training.loss_terms import LossTerm
from patina.training.trainer import Generated, Trainer, init_source, kwargs_of, load_init_state
from patina.weights import ModelCard

FOCAL_ALPHA = 0.25
FOCAL_GAMMA = 2.0
SOFT_POSITIVE = 0.3
"""Cells where the teacher's score is at least this carry its box and landmarks as targets."""


def focal_loss(logits: torch.Tensor, positive: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Sigmoid focal loss (Lin et al. 2017) summed over the cells, each times its ``weight``."""
    target = positive.float()
    ce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p = torch.sigmoid(logits)
    p_t = p * target + (1 - p) * (1 - target)
    alpha = FOCAL_ALPHA * target + (1 - FOCAL_ALPHA) * (1 - target)
    return (alpha * (1 - p_t) ** FOCAL_GAMMA * ce * weight).sum()


def quality_focal_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Quality focal loss (Li et al. 2020): cross-entropy against a soft ``target`` in [0, 1], times the squared
    distance of the score from it, summed over the cells."""
    ce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return (ce * (torch.sigmoid(logits) - target).pow(FOCAL_GAMMA)).sum()


def giou_loss(predicted: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean (or ``weight``-weighted mean) 1 - generalised IoU of (K, 4) corner boxes."""
    top_left = torch.max(predicted[:, :2], target[:, :2])
    bottom_right = torch.min(predicted[:, 2:], target[:, 2:])
    overlap = (bottom_right - top_left).clamp_min(0).prod(dim=1)
    area = lambda b: (b[:, 2] - b[:, 0]).clamp_min(0) * (b[:, 3] - b[:, 1]).clamp_min(0)  # noqa: E731
    union = area(predicted) + area(target) - overlap
    hull = (torch.max(predicted[:, 2:], target[:, 2:]) - torch.min(predicted[:, :2], target[:, :2])).prod(dim=1)
    iou = overlap / union.clamp_min(1e-6)
    loss = 1 - iou + (hull - union) / hull.clamp_min(1e-6)
    return loss.mean() if weight is None else (loss * weight).sum() / weight.sum().clamp_min(1e-6)


def validation_metrics(finder: FaceFinder, photos: list[Path], labels: dict[Path, PhotoFaces]) -> dict[str, float]:
    """``val/precision_*`` and ``val/recall_*`` of ``finder`` against the teacher's faces on ``photos``, as they
    are (``clean``) and aged by the independent chain (``aged``)."""
    metrics = {}
    for condition, aged in (("clean", False), ("aged", True)):
        matching = detector_matching(finder, photos, labels, aged=aged)
        metrics[f"val/precision_{condition}"] = matching.precision
        metrics[f"val/recall_{condition}"] = matching.recall
    return metrics


class PositiveCells(NamedTuple):
    """The cells that hold a face: predictions (K, 15), centres (K, 2), strides (K, 1), the faces' boxes (K, 4)
    and landmarks (K, 10), in crop pixels."""

    predicted: torch.Tensor
    centres: torch.Tensor
    strides: torch.Tensor
    boxes: torch.Tensor
    landmarks: torch.Tensor

    def corners(self) -> torch.Tensor:
        """The predicted boxes as (K, 4) corners."""
        distances = self.predicted[:, 1:5] * self.strides
        return torch.cat([self.centres - distances[:, :2], self.centres + distances[:, 2:]], dim=1)

    def landmark_error(self, weight: torch.Tensor | None = None) -> torch.Tensor:
        """Mean (or ``weight``-weighted mean over the cells) distance of the predicted landmarks (per coordinate)
        from the faces', over the faces' sizes."""
        points = self.centres.repeat(1, 5) + self.predicted[:, 5:15] * self.strides
        size = torch.max(self.boxes[:, 2] - self.boxes[:, 0], self.boxes[:, 3] - self.boxes[:, 1]).clamp_min(1.0)
        error = ((points - self.landmarks).abs() / size[:, None]).mean(dim=1)
        return error.mean() if weight is None else (error * weight).sum() / weight.sum().clamp_min(1e-6)


class FaceDetectorTrainer(Trainer):
    """The face detector, with an EMA; the teacher labels the photos once (cached)."""

    task = "face-detect"

    def __init__(self, config: FaceDetectorTrainConfig, *, progress: bool = True) -> None:
        if config.data.crop % 64:
            raise ConfigError(f"data.crop must be a multiple of 64 for the face detector, got {config.data.crop}")
        super().__init__(config, progress=progress)
        self.labels: dict[Path, PhotoFaces] = teacher_faces(self.train_files + self.val_files,
                                                            teacher=config.teacher, cache=config.teacher_cache)
        self.detector = FaceDetector(**config.generator).to(self.device)
        (self.ema_detector,) = self.train_generator({"detector": self.detector})

    def initialise_from(self, path: Path) -> None:
        load_init_state(self.detector, init_source(path, "FaceDetector").state_dict(), path, "detector")

    def training_set(self) -> FaceCrops:
        cfg = self.config
        return FaceCrops(self.train_files, self.labels, crop=cfg.data.crop, side_range=tuple(cfg.side_range),
                         p_face=cfg.p_face, p_aged=cfg.p_aged,
                         degradation=degradation_preset(cfg.data.degradation, cfg.data.degradation_overrides),
                         seed=cfg.seed, dense_teacher=cfg.teacher if cfg.loss.distils else None)

    def generate(self, batch: dict[str, torch.Tensor], rng: np.random.Generator) -> Generated:
        image = batch["image"].to(self.device)
        outputs = self.detector(image)
        flat = [level.float().flatten(2).transpose(1, 2) for level in outputs]  # (N, cells, 15) each
        terms: dict[str, LossTerm] = {}
        if self.loss_terms.weight("score") or self.loss_terms.weight("box") or self.loss_terms.weight("landmarks"):
            terms |= self._label_terms(batch, outputs, flat)
        if "teacher" in batch:
            terms |= self._teacher_terms(torch.cat(flat, dim=1), batch["teacher"].to(self.device), outputs)
        shown = image.expand(-1, 3, -1, -1)
        return Generated(terms=terms, images=[shown], label="train/aged crop",
                         logged={"train/faces": float(batch["counts"][:, 0].sum())})

    def _label_terms(self, batch: dict[str, torch.Tensor], outputs: list[torch.Tensor],
                     flat: list[torch.Tensor]) -> dict[str, LossTerm]:
        """The loss terms against the teacher's faces (the photo's labels): ``score``, ``box``, ``landmarks``."""
        targets = cell_targets(batch, [(level.shape[-2], level.shape[-1]) for level in outputs])
        positives = max(1.0, float(sum(int(t.positive.sum()) for t in targets)))
        cells = self._positive_cells(flat, targets)
        zero = cells.predicted.sum()
        return {
            "score": lambda: torch.stack([focal_loss(f[..., 0], t.positive.to(self.device), t.weight.to(self.device))
                                          for f, t in zip(flat, targets, strict=True)]).sum() / positives,
            "box": lambda: giou_loss(cells.corners(), cells.boxes) if len(cells.predicted) else zero,
            "landmarks": lambda: cells.landmark_error() if len(cells.predicted) else zero,
        }

    def _teacher_terms(self, predicted: torch.Tensor, teacher: torch.Tensor,
                       outputs: list[torch.Tensor]) -> dict[str, LossTerm]:
        """The distillation terms against the teacher's answer at every cell (``teacher``: (N, cells, 15), as
        :func:`~patina.training.face_data.dense_targets`): ``soft_score``, ``soft_box``, ``soft_landmarks``."""
        centres = torch.cat([cell_centres(level.shape[-2], level.shape[-1], stride, self.device)
                             for level, stride in zip(outputs, STRIDES, strict=True)])
        strides = torch.cat([torch.full((level.shape[-2] * level.shape[-1], 1), float(stride), device=self.device)
                             for level, stride in zip(outputs, STRIDES, strict=True)])
        scores = teacher[..., 0]
        item, cell = torch.nonzero(scores >= SOFT_POSITIVE, as_tuple=True)
        weight = scores[item, cell]
        cells = PositiveCells(predicted[item, cell], centres[cell], strides[cell], teacher[item, cell, 1:5],
                              teacher[item, cell, 5:])
        zero = predicted.sum() * 0
        return {
            "soft_score": lambda: quality_focal_loss(predicted[..., 0], scores) / weight.sum().clamp_min(1.0),
            "soft_box": lambda: giou_loss(cells.corners(), cells.boxes, weight) if len(cell) else zero,
            "soft_landmarks": lambda: cells.landmark_error(weight) if len(cell) else zero,
        }

    def _positive_cells(self, flat: list[torch.Tensor], targets: list[LevelTargets]) -> PositiveCells:
        """The cells that hold a face, over all levels."""
        parts: list[list[torch.Tensor]] = [[], [], [], [], []]
        for level, target in zip(flat, targets, strict=True):
            item, cell = torch.nonzero(target.positive, as_tuple=True)
            parts[0].append(level[item.to(self.device), cell.to(self.device)])
            parts[1].append(target.centres[cell])
            parts[2].append(torch.full((len(cell), 1), float(target.stride)))
            parts[3].append(target.box[item, cell])
            parts[4].append(target.landmarks[item, cell])
        return PositiveCells(torch.cat(parts[0]), *(torch.cat(p).to(self.device) for p in parts[1:]))

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Precision and recall (IoU 0.5) of the EMA detector against the teacher on held-out photos, as they
        are and aged by the independent chain (faces of at least 48 px)."""
        photos = self.val_files[:self.config.validate_photos]
        if not photos:
            return {}
        finder = FaceFinder(self.ema_detector.shadow)  # type: ignore[arg-type]  # the EMA of a FaceDetector
        return validation_metrics(finder, photos, self.labels)

    def teacher_files(self) -> list[Path]:
        return [Path(self.config.teacher)]

    def export(self, folder: str | Path) -> list[ModelCard]:
        cfg = self.config
        return [self.save_network(self.ema_detector.shadow, folder, name=cfg.name, arch="FaceDetector",
                                  kwargs=kwargs_of(self.detector, cfg.generator), strides=list(STRIDES),
                                  train_images=len(self.train_files), val_images=len(self.val_files))]
