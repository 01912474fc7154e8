"""How well a face detector finds the teacher's faces (:mod:`patina.evaluation.face_teacher`) in held-out
photos, clean and aged by the independent chain (:mod:`patina.evaluation.aging`).

A teacher face whose box is at least :data:`MIN_FACE` pixels on its longer side is one to find; smaller and
doubtful teacher faces are ignored (finding one is neither a hit nor a false positive). Found faces are
matched to the teacher's at IoU 0.5 (:func:`patina.ops.faces.match_faces`); precision and recall are
totals over the photos, faceless ones included (a face found there is a false positive).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from patina.data import read_rgb
from patina.evaluation.aging import age_photo
from patina.evaluation.face_teacher import PhotoFaces
from patina.ops.faces import Face, Matching, match_faces

MIN_FACE = 48.0
"""Teacher faces at least this many pixels (box, longer side) count; smaller ones are ignored."""

FaceFinderFn = Callable[[torch.Tensor], list[Face]]


def reference_faces(labels: PhotoFaces, min_face: float = MIN_FACE) -> tuple[list[Face], list[Face]]:
    """The teacher faces a detector must find in a photo, and those it is not judged on."""
    faces = [face for face in labels.faces if face.size >= min_face]
    ignored = [face for face in labels.faces if face.size < min_face] + list(labels.doubtful)
    return faces, ignored


def detector_matching(find: FaceFinderFn, photos: Sequence[Path], labels: dict[Path, PhotoFaces], *,
                      aged: bool, min_face: float = MIN_FACE) -> Matching:
    """Found against teacher faces over ``photos`` (aged with seed = the photo's index when ``aged``)."""
    total = Matching(0, 0, 0)
    for index, path in enumerate(photos):
        pixels = read_rgb(path)
        if aged:
            pixels = age_photo(pixels, seed=index).aged
        image = torch.from_numpy(pixels.transpose(2, 0, 1).copy())
        faces, ignored = reference_faces(labels[path], min_face)
        total = total + match_faces(find(image), faces, ignored=ignored)
    return total


__all__ = ["MIN_FACE", "FaceFinderFn", "detector_matching", "reference_faces"]
