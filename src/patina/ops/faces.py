"""Faces found in a picture (a box, five landmarks, a score) and the box arithmetic around them: overlap,
non-maximum suppression, matching found faces to reference ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LANDMARKS = ("right eye", "left eye", "nose tip", "right mouth corner", "left mouth corner")
"""The five landmarks, in the order of YuNet and RetinaFace (the subject's right eye is on the picture's left)."""

MIRRORED_LANDMARKS = (1, 0, 2, 4, 3)
"""Landmark order after a left-right flip of the picture."""


@dataclass(frozen=True)
class Face:
    """One face: box corners (x0, y0, x1, y1) and landmarks ((5, 2) x, y) in pixels of the picture, and a
    detection score in [0, 1]."""

    box: tuple[float, float, float, float]
    landmarks: tuple[tuple[float, float], ...]
    score: float

    @property
    def size(self) -> float:
        """The longer side of the box."""
        return max(self.box[2] - self.box[0], self.box[3] - self.box[1])

    def scaled(self, factor: float) -> Face:
        """The same face in a picture resized by ``factor``."""
        return Face(box=tuple(v * factor for v in self.box),  # type: ignore[arg-type]
                    landmarks=tuple((x * factor, y * factor) for x, y in self.landmarks), score=self.score)

    def shifted(self, dx: float, dy: float) -> Face:
        """The same face with the picture's origin moved to (``dx``, ``dy``)."""
        x0, y0, x1, y1 = self.box
        return Face(box=(x0 - dx, y0 - dy, x1 - dx, y1 - dy),
                    landmarks=tuple((x - dx, y - dy) for x, y in self.landmarks), score=self.score)

    def to_dict(self) -> dict[str, object]:
        """JSON form: box and landmarks rounded to 0.1 px, score to 3 digits."""
        return {"box": [round(v, 1) for v in self.box],
                "landmarks": [[round(x, 1), round(y, 1)] for x, y in self.landmarks],
                "score": round(self.score, 3)}

    @classmethod
    def from_dict(cls, data: dict) -> Face:
        return cls(box=tuple(float(v) for v in data["box"]),  # type: ignore[arg-type]
                   landmarks=tuple((float(x), float(y)) for x, y in data["landmarks"]), score=float(data["score"]))


def box_iou(boxes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Intersection over union of every box of ``boxes`` (N, 4) with every one of ``others`` (M, 4): (N, M)."""
    boxes, others = np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(others, np.float64).reshape(-1, 4)
    top_left = np.maximum(boxes[:, None, :2], others[None, :, :2])
    bottom_right = np.minimum(boxes[:, None, 2:], others[None, :, 2:])
    overlap = np.clip(bottom_right - top_left, 0, None).prod(axis=2)
    area = lambda b: np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)  # noqa: E731
    union = area(boxes)[:, None] + area(others)[None, :] - overlap
    return np.where(union > 0, overlap / np.maximum(union, 1e-12), 0.0)


def suppress_overlaps(faces: Sequence[Face], iou: float = 0.4) -> list[Face]:
    """Non-maximum suppression: the faces by falling score, each dropped if it overlaps a kept one by more
    than ``iou``."""
    ordered = sorted(faces, key=lambda face: -face.score)
    if not ordered:
        return []
    overlaps = box_iou(np.array([f.box for f in ordered]), np.array([f.box for f in ordered]))
    kept: list[int] = []
    for index in range(len(ordered)):
        if all(overlaps[index, other] <= iou for other in kept):
            kept.append(index)
    return [ordered[index] for index in kept]


@dataclass(frozen=True)
class Matching:
    """Found faces against reference faces: true positives, false positives (found faces that match no
    reference face, nor any ``ignored`` one), and missed reference faces."""

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        present = self.true_positives + self.missed
        return self.true_positives / present if present else 1.0

    def __add__(self, other: Matching) -> Matching:
        return Matching(self.true_positives + other.true_positives, self.false_positives + other.false_positives,
                        self.missed + other.missed)

    true_positives: int
    false_positives: int
    missed: int


def match_faces(found: Sequence[Face], reference: Sequence[Face], *, ignored: Sequence[Face] = (),
                iou: float = 0.5, ignored_iou: float = 0.3) -> Matching:
    """Greedy matching by falling score: a found face is a true positive if it overlaps a still unmatched
    reference face by ``iou`` or more; one that overlaps an ``ignored`` face (too small or too doubtful to
    count either way) by ``ignored_iou`` is neither a hit nor a false positive."""
    matched: set[int] = set()
    true_positives = false_positives = 0
    reference_boxes = np.array([f.box for f in reference]).reshape(-1, 4)
    ignored_boxes = np.array([f.box for f in ignored]).reshape(-1, 4)
    for face in sorted(found, key=lambda f: -f.score):
        overlaps = box_iou(np.array([face.box]), reference_boxes)[0]
        candidates = [i for i in np.argsort(-overlaps) if overlaps[i] >= iou and i not in matched]
        if candidates:
            matched.add(int(candidates[0]))
            true_positives += 1
        elif not (len(ignored_boxes) and box_iou(np.array([face.box]), ignored_boxes).max() >= ignored_iou):
            false_positives += 1
    return Matching(true_positives, false_positives, len(reference) - len(matched))


__all__ = ["LANDMARKS", "MIRRORED_LANDMARKS", "Face", "Matching", "box_iou", "match_faces", "suppress_overlaps"]
