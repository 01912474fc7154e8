"""Training samples for the face detector's verifier (:class:`~patina.networks.faces.FaceVerifier`): patches
around the candidates a trained detector proposes, labelled by the teacher's faces.

Each training photo is run through the detector (:meth:`~patina.pipelines.faces.FaceFinder.candidates`) as it
is and in a few copies aged whole by the old-photo chain, exactly as the face stage runs it. A candidate that
overlaps a teacher face by :data:`POSITIVE_IOU` is a face; one that overlaps no teacher face, doubtful ones
included, by :data:`NEGATIVE_IOU` is not; the rest are left out, unless ``doubtful`` mining keeps the candidates
on a doubtful face (by :data:`POSITIVE_IOU`) with a soft target, the teacher's score on the scale from
:data:`DOUBT_SCORE` (0) to :data:`FACE_SCORE` (1) (:func:`doubt_target`). A face patch also keeps where the teacher's
box is, relative to the candidate's (for a verifier that corrects boxes). The teacher's own faces, their boxes
moved a little, are added as faces too, so the verifier does not depend on one detector's boxes. Patches are cut as
the verifier reads them (:func:`~patina.networks.faces.face_patches`) but wider (:func:`mined_size` px,
:data:`MINED_CONTEXT`), mined once and cached; each sample cuts the verifier's patch out of one, moved and
scaled a little, so the verifier learns faces framed as a detector frames them, not one framing.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from patina.core.errors import ConfigError
from patina.data import read_rgb_uint8
from patina.degradations.chain import DegradationConfig, degrade
from patina.evaluation.face_teacher import DOUBT_SCORE, FACE_SCORE, PhotoFaces
from patina.networks.faces import PATCH, PATCH_CONTEXT, face_patches
from patina.ops.faces import Face, box_iou
from patina.pipelines.faces import FaceFinder
from patina.training.datasets import sample_seed, single_threaded_worker
from patina.training.face_data import cached_arrays

POSITIVE_IOU = 0.5
"""A candidate overlapping a teacher face by at least this is a face (the evaluation's hit)."""
NEGATIVE_IOU = 0.3
"""A candidate overlapping every teacher face (doubtful ones too) by less than this is not a face."""
BOX_JITTER = 0.08
"""A jittered teacher face's box moves by about this share of its size, and scales by about as much."""
MINED_ARRAYS = ("patches", "is_face", "target", "corners", "face_corners")
"""What mining gives per patch: the patch, whether it is a face, the verifier's target (1 for a face, 0 for none,
between for a doubtful face), the candidate's corners and the teacher face's (NaN for none and doubtful ones),
both :func:`relative_corners` of the candidate."""
MINED_CONTEXT = PATCH_CONTEXT * 4 / 3
"""Mined patches are this much wider than the verifier's, at the same pixel size: its patch is their middle."""


def mined_size(patch: int) -> int:
    """The side of the patches mined for a verifier reading ``patch`` px (:data:`MINED_CONTEXT`)."""
    return patch * 4 // 3


MINED_PATCH = mined_size(PATCH)
"""The side of the patches mined for a verifier reading the default :data:`PATCH`."""


class _PhotoPatches(Dataset):
    """Item ``i``: the labelled patches of photo ``i`` and its aged copies (:func:`mine_face_patches`' arrays)."""

    def __init__(self, files: list[Path], labels: dict[Path, PhotoFaces], *, detector: str, threshold: float,
                 aged_copies: int, jittered: int, degradation: DegradationConfig, seed: int, doubtful: bool,
                 patch: int) -> None:
        self.files, self.labels, self.detector, self.threshold = files, labels, detector, threshold
        self.doubtful, self.size = doubtful, mined_size(patch)
        self.aged_copies, self.jittered, self.degradation, self.seed = aged_copies, jittered, degradation, seed
        self._finder: FaceFinder | None = None  # loaded in each worker process on first use

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        if self._finder is None:
            self._finder = FaceFinder.load(self.detector, threshold=self.threshold)
        path = self.files[index]
        rng = np.random.default_rng(sample_seed(self.seed, index))
        clean = read_rgb_uint8(path).astype(np.float32) / 255
        parts: dict[str, list[np.ndarray]] = {name: [] for name in MINED_ARRAYS}
        for copy in range(1 + self.aged_copies):
            pixels = clean if copy == 0 else np.clip(degrade(clean, self.degradation,
                                                             int(rng.integers(2**31))).degraded, 0, 1)
            gray, factor, candidates = self._finder.candidates(torch.from_numpy(pixels.transpose(2, 0, 1).copy()))
            chosen, matches, targets = labelled_candidates(candidates, self.labels[path], factor,
                                                           doubtful=self.doubtful)
            faces = [face.scaled(factor) for face in self.labels[path].faces
                     if face.size >= self._finder.min_face]
            for face in faces:
                for _ in range(self.jittered):
                    chosen.append(jittered_box(face, rng))
                    matches.append(face)
                    targets.append(1.0)
            with torch.inference_mode():
                cut = face_patches(gray, chosen, size=self.size, context=MINED_CONTEXT)
            parts["patches"].append(np.round(cut[:, 0].clamp(0, 1).cpu().numpy() * 255).astype(np.uint8))
            parts["is_face"].append(np.array(targets) == 1)
            parts["target"].append(np.array(targets, np.float32))
            parts["corners"].append(np.array([relative_corners(box.box, box) for box in chosen], np.float32))
            parts["face_corners"].append(np.array([
                relative_corners(match.box, box) if match is not None and target == 1 else [np.nan] * 4
                for box, match, target in zip(chosen, matches, targets, strict=True)], np.float32))
        # a copy with nothing chosen gives empty arrays of the right shape
        shapes = {"patches": (self.size, self.size), **SHAPES}
        return {name: np.concatenate([v.reshape(-1, *shapes[name]) for v in values]) for name, values in parts.items()}


def labelled_candidates(candidates: list[Face], labels: PhotoFaces, factor: float, *,
                        doubtful: bool = False) -> tuple[list[Face], list[Face | None], list[float]]:
    """The ``candidates`` (in pixels of the photo shrunk by ``factor``) that are clearly a teacher face or clearly
    none (with ``doubtful``, also those on a doubtful face), for each the teacher face it is (in those pixels; None
    for none) and the verifier's target: 1 for a face, 0 for none, :func:`doubt_target` for a doubtful one."""
    teacher = [face.scaled(factor) for face in labels.faces]
    doubts = [face.scaled(factor) for face in labels.doubtful]
    faces = np.array([face.box for face in teacher]).reshape(-1, 4)
    doubtful_boxes = np.array([face.box for face in doubts]).reshape(-1, 4)
    chosen: list[Face] = []
    matches: list[Face | None] = []
    targets: list[float] = []
    for candidate in candidates:
        box = np.array([candidate.box])
        overlaps = box_iou(box, faces)[0] if len(faces) else np.zeros(0)
        doubt_overlaps = box_iou(box, doubtful_boxes)[0] if len(doubtful_boxes) else np.zeros(0)
        if overlaps.max(initial=0.0) >= POSITIVE_IOU:
            chosen.append(candidate)
            matches.append(teacher[int(overlaps.argmax())])
            targets.append(1.0)
        elif doubtful and doubt_overlaps.max(initial=0.0) >= POSITIVE_IOU:
            doubt = doubts[int(doubt_overlaps.argmax())]
            chosen.append(candidate)
            matches.append(doubt)
            targets.append(doubt_target(doubt.score))
        elif max(overlaps.max(initial=0.0), doubt_overlaps.max(initial=0.0)) < NEGATIVE_IOU:
            chosen.append(candidate)
            matches.append(None)
            targets.append(0.0)
    return chosen, matches, targets


def doubt_target(score: float) -> float:
    """The verifier's target for a candidate on a doubtful face the teacher scores ``score``: where that score lies
    between :data:`DOUBT_SCORE` (0) and :data:`FACE_SCORE` (1)."""
    return float(np.clip((score - DOUBT_SCORE) / (FACE_SCORE - DOUBT_SCORE), 0.0, 1.0))


def relative_corners(box: tuple[float, float, float, float], candidate: Face) -> list[float]:
    """``box``'s corners relative to ``candidate``'s centre, in units of its longer side (what the verifier's
    box correction is measured in)."""
    x0, y0, x1, y1 = candidate.box
    cx, cy, size = (x0 + x1) / 2, (y0 + y1) / 2, max(candidate.size, 1e-6)
    return [(box[0] - cx) / size, (box[1] - cy) / size, (box[2] - cx) / size, (box[3] - cy) / size]


def jittered_box(face: Face, rng: np.random.Generator) -> Face:
    """``face`` with its box moved and scaled at random by about :data:`BOX_JITTER` (landmarks kept)."""
    x0, y0, x1, y1 = face.box
    scale = float(np.exp(rng.normal(0.0, BOX_JITTER)))
    dx, dy = rng.normal(0.0, BOX_JITTER, 2) * face.size
    cx, cy, half_w, half_h = (x0 + x1) / 2 + dx, (y0 + y1) / 2 + dy, (x1 - x0) / 2 * scale, (y1 - y0) / 2 * scale
    return Face(box=(cx - half_w, cy - half_h, cx + half_w, cy + half_h), landmarks=face.landmarks, score=face.score)


SHAPES = {"is_face": (), "target": (), "corners": (4,), "face_corners": (4,)}


def mine_face_patches(files: list[Path], labels: dict[Path, PhotoFaces], *, detector: str, detector_key: str,
                      threshold: float, aged_copies: int, jittered: int, degradation: DegradationConfig, seed: int,
                      workers: int, cache: str | Path | None, doubtful: bool = False,
                      patch: int = PATCH) -> dict[str, np.ndarray]:
    """The labelled patches of every photo of ``files`` (module docstring) for a verifier reading ``patch`` px:
    :data:`MINED_ARRAYS`, ``patches`` (K, S, S) uint8 (S: :func:`mined_size`), ``is_face`` (K,) bool, ``target``
    (K,) float32, ``corners`` and ``face_corners`` (K, 4) float32; with ``doubtful``, the candidates on doubtful
    faces too. ``detector`` is the detector's file (``detector_key``: its sha256); ``workers`` processes share the
    mining. Made once per set of inputs and kept in ``cache``."""
    if not files:
        raise ConfigError("no photos to mine face patches from")
    key = json.dumps(["targets", [f"{path.resolve()}:{path.stat().st_size}" for path in files], detector_key,
                      threshold, aged_copies, jittered, repr(degradation), seed, mined_size(patch), MINED_CONTEXT,
                      doubtful])

    def make() -> dict[str, np.ndarray]:
        photos = _PhotoPatches(files, labels, detector=detector, threshold=threshold, aged_copies=aged_copies,
                               jittered=jittered, degradation=degradation, seed=seed, doubtful=doubtful, patch=patch)
        loader = DataLoader(photos, batch_size=None, num_workers=workers, worker_init_fn=single_threaded_worker)
        parts = list(loader)
        return {name: np.concatenate([part[name] for part in parts]) for name in MINED_ARRAYS}

    return cached_arrays(cache, "face-patches", key, make)


class FacePatchSamples(Dataset):
    """Samples of mined patches: sample ``i`` is a function of (seed, i): a face patch ``p_face`` of the time, a
    doubtful face's (its ``targets`` between 0 and 1) ``p_doubtful`` of the time, else another (with
    ``p_doubtful`` 0, the doubtful ones are among the others); the verifier's patch cut from its middle, moved
    and scaled by about :data:`BOX_JITTER`, mirrored half the time, its contrast and brightness varied a little.
    Items: ``patch`` (1, ``patch``, ``patch``) float in [0, 1], ``is_face`` (a 0/1 float) and ``target``
    (the verifier's: ``targets``, by default ``is_face``); given the mined corners, also ``box``: the correction
    from the patch's (moved, scaled, mirrored) candidate box to the teacher face's (zeros for none)."""

    def __init__(self, patches: np.ndarray, is_face: np.ndarray, *, p_face: float, seed: int,
                 targets: np.ndarray | None = None, p_doubtful: float = 0.0, corners: np.ndarray | None = None,
                 face_corners: np.ndarray | None = None, patch: int = PATCH) -> None:
        self.patches, self.p_face, self.p_doubtful, self.seed = patches, p_face, p_doubtful, seed
        self.size = patch
        self.targets = is_face.astype(np.float32) if targets is None else targets
        self.corners, self.face_corners = corners, face_corners
        doubtful = ~is_face & (self.targets > 0)
        self.faces, self.doubtful = np.flatnonzero(is_face), np.flatnonzero(doubtful)
        self.others = np.flatnonzero(~is_face & ~doubtful if p_doubtful else ~is_face)
        if not len(self.faces) or not len(self.others):
            raise ConfigError(f"the mined patches need faces and others: {len(self.faces)} faces, "
                              f"{len(self.others)} others")
        if p_doubtful and not len(self.doubtful):
            raise ConfigError("p_doubtful needs patches of doubtful faces: mine them with doubtful_faces")

    def __len__(self) -> int:
        return 2**62

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng(sample_seed(self.seed, index))
        draw = rng.random()
        face = bool(draw < self.p_face)
        pool = self.faces if face else self.doubtful if draw < self.p_face + self.p_doubtful else self.others
        chosen = int(pool[rng.integers(len(pool))])
        mined = self.patches[chosen].astype(np.float32) / 255
        scale = float(np.exp(rng.normal(0.0, BOX_JITTER)))
        shift = rng.normal(0.0, BOX_JITTER, 2)  # in the candidate's sizes
        centre = mined.shape[0] / 2 + shift * mined.shape[0] / MINED_CONTEXT
        size = self.size
        step = scale * (mined.shape[0] / MINED_CONTEXT) * PATCH_CONTEXT / size  # mined pixels per patch pixel
        mirror = -1.0 if rng.random() < 0.5 else 1.0
        # patch pixel (u, v) reads mined pixel centre + step * (u - size/2 + 0.5, v - size/2 + 0.5) - 0.5
        matrix = np.array([[mirror * step, 0.0, centre[0] - mirror * step * (size / 2 - 0.5) - 0.5],
                           [0.0, step, centre[1] - step * (size / 2 - 0.5) - 0.5]], np.float32)
        patch = cv2.warpAffine(mined, matrix, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REPLICATE)
        mean = float(patch.mean())
        patch = (patch - mean) * rng.uniform(0.7, 1.3) + mean + rng.uniform(-0.1, 0.1)
        sample = {"patch": torch.from_numpy(np.clip(patch, 0, 1)[None].astype(np.float32)),
                  "is_face": torch.tensor(float(face)), "target": torch.tensor(float(self.targets[chosen]))}
        if self.corners is not None and self.face_corners is not None:
            sample["box"] = torch.from_numpy(box_correction(self.corners[chosen], self.face_corners[chosen], shift,
                                                            scale, mirror < 0))
        return sample


def box_correction(corners: np.ndarray, face_corners: np.ndarray, shift: np.ndarray, scale: float,
                   mirrored: bool) -> np.ndarray:
    """The verifier's box target for a patch cut around a candidate moved by ``shift`` and scaled by ``scale``
    (mirrored when ``mirrored``): the face's corners less the moved candidate's, in the moved candidate's
    units (zeros when there is no face: NaN ``face_corners``)."""
    if np.isnan(face_corners).any():
        return np.zeros(4, np.float32)
    face = (face_corners - np.tile(shift, 2)) / scale  # relative to the moved centre, in the moved units
    own = corners.astype(np.float64)
    if mirrored:
        face, own = face[[2, 1, 0, 3]] * [-1, 1, -1, 1], own[[2, 1, 0, 3]] * [-1, 1, -1, 1]
    return (face - own).astype(np.float32)


__all__ = ["MINED_ARRAYS", "NEGATIVE_IOU", "POSITIVE_IOU", "FacePatchSamples", "box_correction", "jittered_box",
           "doubt_target", "labelled_candidates", "mine_face_patches", "mined_size",
           "relative_corners"]
