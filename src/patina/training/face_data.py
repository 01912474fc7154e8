"""Training samples for the face detector, and the per-cell targets its loss compares against.

A sample is a square crop of a training photo at a random scale (faces from a few pixels to the whole crop),
flipped half the time, aged by the old-photo chain (:mod:`patina.degradations.chain`) most of the time, and
turned to luminance, with the teacher's faces (:mod:`patina.evaluation.face_teacher`) moved along. A face
mostly cut off by the crop's edge, or too small to learn, becomes a doubtful one: the loss ignores the cells
on it rather than calling them background. With a dense teacher, a sample also carries the teacher's answer
at every cell of the clean crop (:func:`dense_targets`): soft targets for distillation.

The face restorer's samples: aged/clean pairs of aligned face crops (:class:`AlignedFacePairs`), or, for a
face model that corrects the general restoration, aged/restored/clean crops cut from whole photos aged and
restored once (:func:`restored_face_crops`, :class:`RestoredFaceCrops`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from patina.core.errors import ConfigError
from patina.data import read_rgb_uint8
from patina.degradations.chain import DegradationConfig, degrade
from patina.evaluation.face_teacher import TEACHER_STRIDES, DenseFaceTeacher, PhotoFaces
from patina.networks.faces import LEVEL_SIZES, OUTPUTS, STRIDES, cell_centres
from patina.ops.face_align import align_face
from patina.ops.faces import MIRRORED_LANDMARKS, Face
from patina.training.datasets import sample_seed

MAX_FACES = 32
"""Faces (and doubtful faces) a sample carries; more are dropped (never seen in the training photos)."""
MIN_FACE = 8.0
"""Faces smaller than this (pixels of the crop) are doubtful: too few pixels to tell."""
MIN_VISIBLE = 0.6
"""A face with less than this share of its box inside the crop is doubtful."""
CENTRE_RADIUS = 1.5
"""Cells within this many strides of a face's centre (and inside its box) are its positive cells."""
NEIGHBOUR_MARGIN = 0.25
"""A face within this fraction of a level boundary is ignored (not background) on the neighbouring level."""


class FaceCrops(Dataset):
    """Sample ``i`` is a function of (seed, i): the photo (one with faces ``p_face`` of the time), the scale
    (the photo's long side is ``side_range`` times the crop, log-uniform), the crop, the flip and the aging.

    Items: ``image`` (1, S, S) luminance; ``faces`` (MAX_FACES, 14): box x0, y0, x1, y1 and 5 landmarks x, y,
    in crop pixels; ``doubtful`` (MAX_FACES, 4) boxes; ``counts`` (2,): how many rows of each are real; with
    ``dense_teacher`` (the teacher's .onnx), ``teacher``: :func:`dense_targets` of the clean crop.
    """

    def __init__(self, files: list[Path], labels: dict[Path, PhotoFaces], *, crop: int,
                 side_range: tuple[float, float], p_face: float, p_aged: float, degradation: DegradationConfig,
                 seed: int, dense_teacher: str | Path | None = None) -> None:
        if not files:
            raise ConfigError("no training photos for the face detector")
        self.files, self.labels, self.crop = files, labels, crop
        self.with_faces = [i for i, path in enumerate(files) if labels[path].faces]
        self.side_range, self.p_face, self.p_aged = side_range, p_face, p_aged
        self.degradation, self.seed = degradation, seed
        self.dense_teacher = dense_teacher
        self._teacher: DenseFaceTeacher | None = None  # made in each worker process on first use

    def __len__(self) -> int:
        return 2**62

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng(sample_seed(self.seed, index))
        pool = self.with_faces if self.with_faces and rng.random() < self.p_face else range(len(self.files))
        path = self.files[int(rng.choice(pool))]
        photo, labels = read_rgb_uint8(path), self.labels[path]
        factor = self.crop * float(np.exp(rng.uniform(*np.log(self.side_range)))) / max(photo.shape[:2])
        size = (max(1, round(photo.shape[1] * factor)), max(1, round(photo.shape[0] * factor)))
        photo = cv2.resize(photo, size, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC)
        canvas = np.full((max(self.crop, size[1]), max(self.crop, size[0]), 3), int(photo.mean()), np.uint8)
        top = int(rng.integers(canvas.shape[0] - size[1] + 1))
        left = int(rng.integers(canvas.shape[1] - size[0] + 1))
        canvas[top:top + size[1], left:left + size[0]] = photo
        y0 = int(rng.integers(canvas.shape[0] - self.crop + 1))
        x0 = int(rng.integers(canvas.shape[1] - self.crop + 1))
        clean = canvas[y0:y0 + self.crop, x0:x0 + self.crop]
        shift = (left - x0, top - y0)
        flip = bool(rng.random() < 0.5)
        if flip:
            clean = clean[:, ::-1]
        crop = clean.astype(np.float32) / 255
        faces, doubtful = [], [_moved(face, factor, shift, flip, self.crop) for face in labels.doubtful]
        for face in (_moved(face, factor, shift, flip, self.crop) for face in labels.faces):
            visible = _visible_share(face.box, self.crop)
            if visible < MIN_VISIBLE or face.size < MIN_FACE:
                doubtful.append(face)
            else:
                faces.append(face)
        if rng.random() < self.p_aged:
            crop = degrade(np.ascontiguousarray(crop), self.degradation, int(rng.integers(2**31))).degraded
        luminance = cv2.cvtColor(np.ascontiguousarray(crop, dtype=np.float32), cv2.COLOR_RGB2GRAY)  # BT.601
        sample = {"image": torch.from_numpy(np.clip(luminance, 0, 1)[None].astype(np.float32)),
                  "faces": _rows([[*f.box, *np.ravel(f.landmarks)] for f in faces], 14),
                  "doubtful": _rows([list(f.box) for f in doubtful if _visible_share(f.box, self.crop) > 0], 4),
                  "counts": torch.tensor([min(len(faces), MAX_FACES),
                                          min(sum(_visible_share(f.box, self.crop) > 0 for f in doubtful),
                                              MAX_FACES)])}
        if self.dense_teacher is not None:
            if self._teacher is None:
                self._teacher = DenseFaceTeacher(self.dense_teacher)
            sample["teacher"] = dense_targets(self._teacher, np.ascontiguousarray(clean))
        return sample


def dense_targets(teacher: DenseFaceTeacher, crop: np.ndarray) -> torch.Tensor:
    """The teacher's answer for every cell of the detector's levels on ``crop`` ((S, S, 3) uint8 RGB), as one
    (cells, 15) tensor in the order of the detector's flattened outputs (level by level, row by row): score, box
    corners, landmarks x, y, in crop pixels. Levels the teacher lacks (stride 64) get score 0 (no face there:
    the teacher finds the largest faces on its coarsest level)."""
    side = crop.shape[0]
    levels = {level.stride: level for level in teacher.levels(crop)}
    parts = []
    for stride in STRIDES:
        cells = (side // stride) ** 2
        rows = np.zeros((cells, OUTPUTS), np.float32)
        if stride in TEACHER_STRIDES:
            level = levels[stride]
            rows[:, 0], rows[:, 1:5], rows[:, 5:] = level.scores, level.boxes, level.landmarks
        parts.append(rows)
    return torch.from_numpy(np.concatenate(parts))


def _moved(face: Face, factor: float, shift: tuple[int, int], flip: bool, crop: int) -> Face:
    """``face`` in the crop: scaled by ``factor``, shifted, mirrored when ``flip``."""
    face = face.scaled(factor)
    x0, y0, x1, y1 = face.box
    dx, dy = shift
    points = [(x + dx, y + dy) for x, y in face.landmarks]
    box = (x0 + dx, y0 + dy, x1 + dx, y1 + dy)
    if flip:
        box = (crop - box[2], box[1], crop - box[0], box[3])
        points = [(crop - points[i][0], points[i][1]) for i in MIRRORED_LANDMARKS]
    return Face(box=box, landmarks=tuple(points), score=face.score)


def _visible_share(box: tuple[float, float, float, float], crop: int) -> float:
    area = max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)
    inside = max(min(box[2], crop) - max(box[0], 0.0), 0.0) * max(min(box[3], crop) - max(box[1], 0.0), 0.0)
    return inside / area if area > 0 else 0.0


def _rows(values: list[list[float]], width: int) -> torch.Tensor:
    rows = torch.zeros(MAX_FACES, width)
    if values:
        given = torch.tensor(values[:MAX_FACES], dtype=torch.float32)
        rows[:len(given)] = given
    return rows


@dataclass
class LevelTargets:
    """What one pyramid level's cells should give for a batch: ``positive`` and ``weight`` (N, cells) (weight
    0: ignored), and for positive cells the face's ``box`` (N, cells, 4) and ``landmarks`` (N, cells, 10)."""

    positive: torch.Tensor
    weight: torch.Tensor
    box: torch.Tensor
    landmarks: torch.Tensor
    centres: torch.Tensor
    stride: int


def level_of(size: float) -> int:
    """The pyramid level that detects a face whose box's longer side is ``size`` pixels."""
    return max(i for i, low in enumerate(LEVEL_SIZES) if size >= low)


def cell_targets(batch: dict[str, torch.Tensor], shapes: list[tuple[int, int]]) -> list[LevelTargets]:
    """Targets of every level (``shapes``: each level's cells, height x width) for a batch of :class:`FaceCrops`.

    A face's positive cells are on its level: those within :data:`CENTRE_RADIUS` strides of its centre and
    inside its box, and always the cell under its centre; a cell claimed by two faces goes to the smaller.
    Ignored (weight 0): cells on doubtful boxes, and a face's centre cells on the neighbouring level when its
    size is within :data:`NEIGHBOUR_MARGIN` of the boundary between them."""
    faces, doubtful, counts = batch["faces"], batch["doubtful"], batch["counts"]
    count = faces.shape[0]
    targets = []
    for level, ((height, width), stride) in enumerate(zip(shapes, STRIDES, strict=True)):
        centres = cell_centres(height, width, stride)
        cells = len(centres)
        positive = torch.zeros(count, cells, dtype=torch.bool)
        weight = torch.ones(count, cells)
        box = torch.zeros(count, cells, 4)
        landmarks = torch.zeros(count, cells, 10)
        claimed = torch.full((count, cells), float("inf"))
        for item in range(count):
            for row in doubtful[item, :int(counts[item, 1])]:
                weight[item, _inside(centres, row)] = 0.0
            for row in faces[item, :int(counts[item, 0])]:
                size = float(torch.max(row[2] - row[0], row[3] - row[1]))
                home = level_of(size)
                region = _centre_region(centres, row, stride)
                if home != level:
                    if _near_boundary(size, home, level):
                        weight[item, region] = 0.0
                    continue
                area = float((row[2] - row[0]) * (row[3] - row[1]))
                mine = region & (area < claimed[item])
                claimed[item, mine] = area
                positive[item, mine] = True
                box[item, mine] = row[:4]
                landmarks[item, mine] = row[4:]
        weight[positive] = 1.0
        targets.append(LevelTargets(positive, weight, box, landmarks, centres, stride))
    return targets


def _inside(centres: torch.Tensor, box: torch.Tensor) -> torch.Tensor:
    return ((centres[:, 0] >= box[0]) & (centres[:, 0] <= box[2]) & (centres[:, 1] >= box[1])
            & (centres[:, 1] <= box[3]))


def _centre_region(centres: torch.Tensor, row: torch.Tensor, stride: int) -> torch.Tensor:
    """Cells of a level that are positive for the face ``row``: near its centre and inside its box, and the
    cell under its centre."""
    centre = torch.stack([(row[0] + row[2]) / 2, (row[1] + row[3]) / 2])
    near = ((centres - centre).abs() <= CENTRE_RADIUS * stride).all(dim=1) & _inside(centres, row)
    under = ((centres - centre).abs() <= stride / 2).all(dim=1)
    return near | under


def _near_boundary(size: float, home: int, level: int) -> bool:
    """Whether a face of ``size`` on level ``home`` is close enough to ``level``'s size range to be ignored there."""
    if level == home + 1:
        return size >= LEVEL_SIZES[level] * (1 - NEIGHBOUR_MARGIN)
    if level == home - 1:
        return size <= LEVEL_SIZES[home] * (1 + NEIGHBOUR_MARGIN)
    return False


def jittered(face: Face, rng: np.random.Generator, amount: float) -> Face:
    """``face`` with its landmarks moved by a random similarity about their centre (scale and shift up to
    ``amount``, rotation up to ``amount`` * 60 degrees), as a detector's landmarks are off by a little."""
    points = np.asarray(face.landmarks, np.float64)
    centre = points.mean(axis=0)
    turn = np.deg2rad(rng.uniform(-60, 60) * amount)
    scale = 1 + rng.uniform(-amount, amount)
    rotation = scale * np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    shift = rng.uniform(-amount, amount, 2) * face.size
    moved = (points - centre) @ rotation.T + centre + shift
    return Face(box=face.box, landmarks=tuple((float(x), float(y)) for x, y in moved), score=face.score)


class AlignedFacePairs(Dataset):
    """Aged/clean pairs of aligned face crops: sample ``i`` is a function of (seed, i): a teacher face of at
    least ``min_face`` px (so the crop is not enlarged much), its landmarks jittered, aligned to ``crop``
    pixels, mirrored half the time, and aged by the degradation chain (whose target is gray for a
    black-and-white print). Items: ``degraded`` and ``target`` (3, crop, crop)."""

    def __init__(self, files: list[Path], labels: dict[Path, PhotoFaces], *, crop: int, min_face: float,
                 jitter: float, degradation: DegradationConfig, seed: int) -> None:
        self.faces = [(path, face) for path in files for face in labels[path].faces if face.size >= min_face]
        if not self.faces:
            raise ConfigError(f"no teacher faces of at least {min_face:g} px among {len(files)} photos")
        self.crop, self.jitter, self.degradation, self.seed = crop, jitter, degradation, seed

    def __len__(self) -> int:
        return 2**62

    def pair(self, index: int, *, jitter: float | None = None) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng(sample_seed(self.seed, index))
        path, face = self.faces[int(rng.integers(len(self.faces)))]
        face = jittered(face, rng, self.jitter if jitter is None else jitter)
        clean = align_face(read_rgb_uint8(path).astype(np.float32) / 255, face, self.crop).crop
        if rng.random() < 0.5:
            clean = np.ascontiguousarray(clean[:, ::-1])
        sample = degrade(clean, self.degradation, int(rng.integers(2**31)))
        return {key: torch.from_numpy(np.ascontiguousarray(value.transpose(2, 0, 1)))
                for key, value in (("degraded", sample.degraded), ("target", sample.target))}

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.pair(index)


RestoreFn = Callable[[torch.Tensor], torch.Tensor]
"""The general restoration: (1, 3, H, W) float in [0, 1] -> the restored (1, 3, H, W)."""
TRIPLETS = ("degraded", "restored", "target")


def restored_face_crops(files: list[Path], labels: dict[Path, PhotoFaces], *, restore: RestoreFn, restore_key: str,
                        crop: int, min_face: float, jitter: float, variants: int, degradation: DegradationConfig,
                        seed: int, cache: str | Path | None) -> dict[str, np.ndarray]:
    """The aligned ``crop`` px crops of every teacher face of at least ``min_face`` px, as the face stage sees
    them: each photo aged whole by the degradation chain ``variants`` times, restored by ``restore``, and the
    aged, restored and clean (the chain's target) photos cropped at the face (landmarks jittered by ``jitter``).
    Returns (F, crop, crop, 3) uint8 arrays by :data:`TRIPLETS` name. Made once per set of inputs and kept in
    ``cache`` (``restore_key`` names the restoration: its weights' sha256)."""
    chosen = [path for path in files if any(face.size >= min_face for face in labels[path].faces)]
    if not chosen:
        raise ConfigError(f"no teacher faces of at least {min_face:g} px among {len(files)} photos")
    key = json.dumps([[f"{path.resolve()}:{path.stat().st_size}" for path in chosen], restore_key, crop, min_face,
                      jitter, variants, repr(degradation), seed])

    def make() -> dict[str, np.ndarray]:
        crops: dict[str, list[np.ndarray]] = {name: [] for name in TRIPLETS}
        for variant in range(variants):
            for index, path in enumerate(chosen):
                rng = np.random.default_rng(sample_seed(seed, index, stream=variant + 1))
                sample = degrade(read_rgb_uint8(path).astype(np.float32) / 255, degradation, int(rng.integers(2**31)))
                with torch.inference_mode():
                    restored = restore(torch.from_numpy(sample.degraded.transpose(2, 0, 1).copy())[None])
                photos = (sample.degraded, restored[0].permute(1, 2, 0).numpy(), sample.target)
                for face in labels[path].faces:
                    if face.size >= min_face:
                        moved = jittered(face, rng, jitter)
                        for name, photo in zip(TRIPLETS, photos, strict=True):
                            aligned = align_face(np.clip(photo, 0, 1), moved, crop).crop
                            crops[name].append(np.round(aligned * 255).astype(np.uint8))
        return {name: np.stack(values) for name, values in crops.items()}

    return cached_arrays(cache, "face-crops", key, make)


def cached_arrays(cache: str | Path | None, prefix: str, key: str,
                  make: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays ``make`` returns, kept in ``cache`` as ``<prefix>-<hash of key>.npz`` and read from there when
    made before (no cache: always made)."""
    if cache is None:
        return make()
    cache_file = Path(os.path.expanduser(cache)) / f"{prefix}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"
    if cache_file.is_file():
        with np.load(cache_file) as stored:
            return {name: stored[name] for name in stored.files}
    arrays = make()
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    partial = cache_file.with_name(cache_file.name + ".part.npz")
    np.savez(partial, **arrays)  # type: ignore[arg-type]  # numpy's stubs take the names for flags
    partial.replace(cache_file)
    return arrays


class RestoredFaceCrops(Dataset):
    """Samples of :func:`restored_face_crops`' faces: sample ``i`` is a function of (seed, i): a face, mirrored
    half the time. Items: ``degraded``, ``restored`` and ``target`` (3, S, S) float in [0, 1]."""

    def __init__(self, crops: dict[str, np.ndarray], *, seed: int) -> None:
        self.crops, self.seed = crops, seed
        self.count = len(crops["target"])

    def __len__(self) -> int:
        return 2**62

    def item(self, face: int, *, mirrored: bool = False) -> dict[str, torch.Tensor]:
        """The crops of face number ``face``."""
        sample = {}
        for name in TRIPLETS:
            pixels = self.crops[name][face][:, ::-1] if mirrored else self.crops[name][face]
            sample[name] = torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1))).float() / 255
        return sample

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng(sample_seed(self.seed, index))
        return self.item(int(rng.integers(self.count)), mirrored=bool(rng.random() < 0.5))


__all__ = ["MAX_FACES", "TRIPLETS", "AlignedFacePairs", "FaceCrops", "LevelTargets", "RestoreFn", "RestoredFaceCrops",
           "cached_arrays", "cell_targets", "dense_targets", "jittered", "level_of", "restored_face_crops"]
