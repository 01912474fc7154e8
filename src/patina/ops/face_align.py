"""Aligning a face to a square crop by its five landmarks, and pasting a processed crop back.

The crop puts the landmarks where :data:`TEMPLATE` says (fractions of the crop's side, a frontal face with
room for hair and chin, as the face restoration models were trained); the transform is the similarity
(rotation, uniform scale, shift) that best maps the face's landmarks there (OpenCV's robust fit). Pasting
back warps what a model changed in the crop, faded out by a feathered mask, with the inverse transform and adds
it to the photo.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from patina.ops.faces import Face

TEMPLATE = np.array([[0.377, 0.469], [0.623, 0.469], [0.500, 0.613], [0.393, 0.725], [0.611, 0.725]], np.float32)
"""Where the five landmarks (:data:`patina.ops.faces.LANDMARKS` order) sit in an aligned crop, as fractions of its
side: eyes 0.246 apart, the mouth 0.26 below them."""
ANTIALIAS = 0.5
"""Gaussian sigma, in the crop's pixels, of the low-pass before a face is shrunk to its crop."""
FEATHER = 0.08
"""Width of the pasted crop's soft edge, as a fraction of its side."""
TONE_SIGMA = 0.08
"""Scale of the tone and colour :func:`match_tone` takes from the restoration: a Gaussian of this fraction of the
crop's side (10 px of a 128 px crop)."""


@dataclass(frozen=True)
class AlignedFace:
    """A face's aligned crop ((size, size, 3) float32) and the 2x3 transform from photo to crop pixels."""

    crop: np.ndarray
    matrix: np.ndarray

    @property
    def size(self) -> int:
        return int(self.crop.shape[0])


def alignment(face: Face, size: int) -> np.ndarray:
    """The 2x3 similarity from photo pixels to the ``size`` x ``size`` aligned crop of ``face``."""
    source = np.asarray(face.landmarks, np.float32).reshape(5, 2)
    matrix, _ = cv2.estimateAffinePartial2D(source, TEMPLATE * size, method=cv2.LMEDS)
    if matrix is None:  # degenerate landmarks (all on one point): fall back to the box
        x0, y0, x1, y1 = face.box
        scale = size / max(x1 - x0, y1 - y0, 1e-3)
        matrix = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], np.float64)
    return matrix.astype(np.float64)


def align_face(photo: np.ndarray, face: Face, size: int) -> AlignedFace:
    """The aligned crop of ``face`` in ``photo`` ((H, W, 3) float32), edges reflected where it leaves the photo;
    a face larger than the crop is low-passed first (Gaussian, for the shrink factor), so it does not alias."""
    matrix = alignment(face, size)
    shrink = 1.0 / np.sqrt(abs(np.linalg.det(matrix[:, :2])))
    if shrink > 1.0:
        photo = cv2.GaussianBlur(photo, (0, 0), ANTIALIAS * np.sqrt(shrink * shrink - 1.0))
    crop = cv2.warpAffine(photo, matrix, (size, size), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)
    return AlignedFace(np.clip(crop, 0, 1).astype(np.float32), matrix)


def feather_mask(size: int, feather: float = FEATHER) -> np.ndarray:
    """(size, size) float32: 1 inside, falling smoothly to 0 over ``feather`` of the side at the edges."""
    ramp = max(1, round(size * feather))
    distance = np.minimum(np.arange(size), np.arange(size)[::-1]).astype(np.float32)
    edge = np.clip(distance / ramp, 0, 1)
    edge = edge * edge * (3 - 2 * edge)  # smoothstep
    return np.outer(edge, edge).astype(np.float32)


def paste_face(photo: np.ndarray, aligned: AlignedFace, processed: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """``photo`` with what a face model changed in ``aligned``'s crop (``processed`` minus the crop) warped back
    over the face and added, through a feathered mask times ``strength`` (0: the photo unchanged). Only the change
    is resampled, so where the model changes nothing the photo keeps every pixel, its detail finer than the crop
    included. Returns a new array."""
    height, width = photo.shape[:2]
    inverse = cv2.invertAffineTransform(aligned.matrix)
    change = (processed.astype(np.float32) - aligned.crop) * feather_mask(aligned.size)[..., None]
    back = cv2.warpAffine(change, inverse, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=0)
    return np.clip(photo + back.reshape(photo.shape) * float(np.clip(strength, 0, 1)), 0, 1).astype(photo.dtype)


def match_tone(processed: np.ndarray, reference: np.ndarray, *, sigma: float = TONE_SIGMA) -> np.ndarray:
    """``processed`` with its large-scale tone and colour replaced by ``reference``'s: the difference of the two
    crops' Gaussian-blurred versions (sigma a fraction of the side) is added, so detail comes from ``processed``
    and the brightness and colour from ``reference`` (the surrounding restoration)."""
    blur = max(1.0, sigma * processed.shape[0])
    low = lambda image: cv2.GaussianBlur(image, (0, 0), blur, borderType=cv2.BORDER_REFLECT_101)  # noqa: E731
    return np.clip(processed + low(reference) - low(processed), 0, 1).astype(np.float32)


__all__ = ["FEATHER", "TEMPLATE", "TONE_SIGMA", "AlignedFace", "align_face", "alignment", "feather_mask", "match_tone",
           "paste_face"]
