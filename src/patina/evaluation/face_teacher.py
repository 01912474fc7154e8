"""Reference faces from the YuNet teacher (../shared/weights/teachers/yunet, Apache-2.0): the labels Patina's
own face detector is trained on and measured against. The teacher never runs in a pipeline.

YuNet (through OpenCV's ``cv2.FaceDetectorYN``) is run on each clean photo enlarged so its long side is at least
:data:`TEACHER_SIDE` (it misses faces under ~15 px), and its faces are sorted by score: at least
:data:`FACE_SCORE` a face, between :data:`DOUBT_SCORE` and that a doubtful one, which training and evaluation
ignore (neither a face to find nor background). Each photo's labels are computed once and cached on disk
(outside the repository) in a file named by the teacher's sha256 and these settings.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from patina.core.errors import ConfigError
from patina.data import read_rgb_uint8
from patina.ops.faces import Face

DEFAULT_TEACHER = "../shared/weights/teachers/yunet/yunet_n_dynamic.onnx"
FACE_SCORE = 0.75
DOUBT_SCORE = 0.45
TEACHER_SIDE = 640
MAX_ENLARGEMENT = 3.0
DEFAULT_CACHE = "~/.cache/patina/teachers"


@dataclass(frozen=True)
class PhotoFaces:
    """The teacher's faces in one photo (pixels of the photo as stored): sure ones and doubtful ones."""

    faces: tuple[Face, ...]
    doubtful: tuple[Face, ...] = ()

    def scaled(self, factor: float) -> PhotoFaces:
        return PhotoFaces(tuple(f.scaled(factor) for f in self.faces), tuple(f.scaled(factor) for f in self.doubtful))

    def to_dict(self) -> dict[str, list]:
        return {"faces": [f.to_dict() for f in self.faces], "doubtful": [f.to_dict() for f in self.doubtful]}

    @classmethod
    def from_dict(cls, data: dict) -> PhotoFaces:
        return cls(tuple(Face.from_dict(f) for f in data["faces"]), tuple(Face.from_dict(f) for f in data["doubtful"]))


def _teacher_file(path: str | Path) -> Path:
    """``path`` as a Path, refused with a clear error when the teacher's file is not there."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"face teacher not found: {path} (see ../shared/weights/teachers/README.md)")
    return path


class FaceTeacher:
    """YuNet, run by OpenCV on 8-bit RGB photos."""

    def __init__(self, path: str | Path = DEFAULT_TEACHER) -> None:
        self.path = _teacher_file(path)
        self.digest = hashlib.sha256(self.path.read_bytes()).hexdigest()
        self.detector = cv2.FaceDetectorYN.create(str(self.path), "", (320, 320), DOUBT_SCORE, 0.3, 5000)

    def faces(self, photo: np.ndarray) -> PhotoFaces:
        """The faces in ``photo`` ((H, W, 3) uint8 RGB)."""
        height, width = photo.shape[:2]
        factor = min(MAX_ENLARGEMENT, max(1.0, TEACHER_SIDE / max(height, width)))
        bgr = np.ascontiguousarray(photo[..., ::-1])
        if factor > 1:
            bgr = cv2.resize(bgr, (round(width * factor), round(height * factor)), interpolation=cv2.INTER_CUBIC)
        self.detector.setInputSize((bgr.shape[1], bgr.shape[0]))
        _, rows = self.detector.detect(bgr)
        found = [] if rows is None else [_face(row, 1 / factor) for row in rows]
        return PhotoFaces(tuple(f for f in found if f.score >= FACE_SCORE),
                          tuple(f for f in found if f.score < FACE_SCORE))


TEACHER_STRIDES = (8, 16, 32)
"""The teacher's output levels: one prior per cell at each of these strides."""


@dataclass(frozen=True)
class DenseFaces:
    """The teacher's raw answer for every cell of one level of a picture (cells row by row): ``scores`` (C,) in
    [0, 1], ``boxes`` (C, 4) corners and ``landmarks`` (C, 10) x, y, in the picture's pixels."""

    stride: int
    scores: np.ndarray
    boxes: np.ndarray
    landmarks: np.ndarray


class DenseFaceTeacher:
    """YuNet's score, box and landmarks at every cell of its three levels (before thresholds and suppression),
    run by OpenCV's DNN module: soft targets for distilling it into a student with cells on the same strides."""

    def __init__(self, path: str | Path = DEFAULT_TEACHER) -> None:
        self.path = _teacher_file(path)
        self.net = cv2.dnn.readNet(str(self.path))
        self.names = [f"{kind}_{stride}" for kind in ("cls", "obj", "bbox", "kps") for stride in TEACHER_STRIDES]

    def levels(self, photo: np.ndarray) -> list[DenseFaces]:
        """Every cell's answer for ``photo`` ((H, W, 3) uint8 RGB, H and W multiples of 32), one entry a level."""
        height, width = photo.shape[:2]
        if height % 32 or width % 32:
            raise ValueError(f"the dense teacher needs sides that are multiples of 32, got {width}x{height}")
        self.net.setInput(cv2.dnn.blobFromImage(np.ascontiguousarray(photo[..., ::-1])))
        outputs = dict(zip(self.names, self.net.forward(self.names), strict=True))
        levels = []
        for stride in TEACHER_STRIDES:
            rows, cols = height // stride, width // stride
            cls, obj = (np.clip(outputs[f"{kind}_{stride}"].reshape(-1), 0, 1) for kind in ("cls", "obj"))
            bbox, kps = outputs[f"bbox_{stride}"].reshape(-1, 4), outputs[f"kps_{stride}"].reshape(-1, 5, 2)
            ys, xs = np.divmod(np.arange(rows * cols), cols)
            cell = np.stack([xs, ys], axis=1).astype(np.float32)
            centre = (cell + bbox[:, :2]) * stride
            size = np.exp(np.minimum(bbox[:, 2:], 10.0)) * stride
            boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
            points = ((kps + cell[:, None, :]) * stride).reshape(-1, 10)
            levels.append(DenseFaces(stride, np.sqrt(cls * obj), boxes.astype(np.float32), points.astype(np.float32)))
        return levels


def _face(row: np.ndarray, factor: float) -> Face:
    x, y, w, h = (float(v) * factor for v in row[:4])
    points = row[4:14].reshape(5, 2) * factor
    return Face(box=(x, y, x + w, y + h), landmarks=tuple((float(px), float(py)) for px, py in points),
                score=float(row[14]))


def teacher_faces(files: Sequence[Path], *, teacher: str | Path = DEFAULT_TEACHER,
                  cache: str | Path | None = DEFAULT_CACHE) -> dict[Path, PhotoFaces]:
    """The teacher's faces in each of ``files``. With a ``cache`` folder, labels are kept in one file per
    teacher and settings, by photo (its resolved path and size in bytes): photos labelled before are not run
    again, new ones are added."""
    model = FaceTeacher(teacher)
    stored: dict[str, dict] = {}
    cache_file = None
    if cache is not None:
        key = json.dumps([model.digest, FACE_SCORE, DOUBT_SCORE, TEACHER_SIDE, MAX_ENLARGEMENT])
        cache_file = Path(os.path.expanduser(cache)) / f"faces-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"
        if cache_file.is_file():
            stored = json.loads(cache_file.read_text())
    labels: dict[Path, PhotoFaces] = {}
    for path in map(Path, files):
        photo_key = f"{path.resolve()}:{path.stat().st_size}"
        if photo_key not in stored:
            stored[photo_key] = model.faces(read_rgb_uint8(path)).to_dict()
        labels[path] = PhotoFaces.from_dict(stored[photo_key])
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        partial = cache_file.with_suffix(".part")
        partial.write_text(json.dumps(stored))
        partial.replace(cache_file)
    return labels


__all__ = ["DEFAULT_CACHE", "DEFAULT_TEACHER", "DOUBT_SCORE", "FACE_SCORE", "TEACHER_STRIDES", "DenseFaceTeacher",
           "DenseFaces", "FaceTeacher", "PhotoFaces", "teacher_faces"]
