"""The face stage: finding faces with Patina's own detector (:class:`FaceFinder`) and restoring them with the
face model (:class:`FaceRefiner`: detect, align by the landmarks, restore, paste back).

The detector reads the luminance of a copy shrunk to :data:`DETECT_SIDE` on its long side (never enlarged),
padded to a multiple of 64; a cascade's verifier reads patches of that copy around the faces its maps propose.
The faces come back in pixels of the photo as given.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from patina.core.device import autocast_dtype, select_device
from patina.core.errors import ModelNotFoundError, ParameterError
from patina.core.tensor import from_float01, to_float01
from patina.networks.face_restore import CROP, FaceRestorer
from patina.networks.faces import FaceDetector, decode_faces, luminance
from patina.networks.tone import LUMA
from patina.ops.face_align import align_face, alignment, match_tone, paste_face
from patina.ops.faces import Face
from patina.weights import ModelDescriptor, load

DETECT_SIDE = 640
"""Long side of the copy the detector reads: a face 48 px wide in a 1 MP photo is ~26 px there."""
MIN_FACE = 36.0
"""Faces smaller than this (the box's longer side, in the photo's pixels) are not returned: too small for the
face stage to help, and where most of the detector's false faces are."""


class FaceFinder:
    """The faces in RGB photos: ``finder(image)`` with a (3, H, W) or (1, 3, H, W) float tensor in [0, 1]."""

    def __init__(self, network: FaceDetector, *, side: int = DETECT_SIDE, threshold: float | None = None,
                 verify_threshold: float | None = None, min_face: float = MIN_FACE) -> None:
        self.network = network
        self.device = next(network.parameters()).device
        self.side, self.min_face = side, min_face
        self.threshold = network.threshold if threshold is None else threshold
        """Faces (a cascade's candidates) scoring at least this are found (default: the calibrated threshold)."""
        self.verify_threshold = network.verify_threshold if verify_threshold is None else verify_threshold
        """A cascade's candidates scoring at least this once verified are faces (default: calibrated)."""
        self.autocast = autocast_dtype(self.device, cpu_bf16=True)
        """bfloat16 where it is fast (a GPU, or a CPU that computes it natively): the thresholds are calibrated
        in the precision the detector runs in."""
        self.descriptor: ModelDescriptor | None = None

    @classmethod
    def load(cls, model: str = "face-detector", *, device: str | torch.device = "cpu", side: int = DETECT_SIDE,
             threshold: float | None = None, verify_threshold: float | None = None) -> FaceFinder:
        """The finder of the registered or file model ``model``."""
        descriptor = load(model, device=select_device(device) if isinstance(device, str) else device,
                          task="face-detect")
        finder = cls(descriptor.network_as(FaceDetector).fused(), side=side, threshold=threshold,
                     verify_threshold=verify_threshold)
        finder.descriptor = descriptor
        return finder

    def luminance_copy(self, image: torch.Tensor) -> tuple[torch.Tensor, float]:
        """The detector's input for ``image`` (1, 3, H, W): its luminance, shrunk and padded; and the shrink factor."""
        gray = luminance(image) if image.shape[1] == 3 else image[:, :1]
        height, width = gray.shape[-2:]
        factor = min(1.0, self.side / max(height, width))
        if factor < 1:
            size = (max(1, round(height * factor)), max(1, round(width * factor)))
            gray = F.interpolate(gray, size=size, mode="area")
        pad_h, pad_w = -gray.shape[-2] % 64, -gray.shape[-1] % 64
        if pad_h or pad_w:
            gray = F.pad(gray, (0, pad_w, 0, pad_h), mode="replicate")
        return gray, factor

    def __call__(self, image: torch.Tensor) -> list[Face]:
        return self.detect(image)

    @torch.inference_mode()
    def candidates(self, image: torch.Tensor, *, magnify: float = 1.0) -> tuple[torch.Tensor, float, list[Face]]:
        """What the detector's maps propose in ``image`` (3, H, W) or (1, 3, H, W), before any verifier: its
        luminance copy, the shrink factor and the faces (at least :attr:`min_face` in the pixels of a photo
        ``magnify`` times larger) in the copy's pixels."""
        batch = image[None] if image.dim() == 3 else image
        if batch.dim() != 4 or batch.shape[0] != 1 or batch.shape[1] not in (1, 3):
            raise ValueError(f"expected one (3, H, W) or (1, 3, H, W) image, got {tuple(image.shape)}")
        gray, factor = self.luminance_copy(batch.to(self.device, torch.float32))
        with self._running():
            faces = decode_faces(self.network(gray), threshold=self.threshold)[0]
        return gray, factor, [face for face in faces if face.size * magnify / factor >= self.min_face]

    @torch.inference_mode()
    def detect(self, image: torch.Tensor, *, magnify: float = 1.0) -> list[Face]:
        """The faces in ``image`` (3, H, W) or (1, 3, H, W), in the pixels of a photo ``magnify`` times larger."""
        gray, factor, faces = self.candidates(image, magnify=magnify)
        with self._running():
            faces = self.network.verified(gray, faces, self.verify_threshold)
        height, width = image.shape[-2] * magnify, image.shape[-1] * magnify
        found = [face.scaled(magnify / factor) for face in faces]  # a verifier's box correction may shrink one
        return [_clipped(face, width, height) for face in found if face.size >= self.min_face]

    @contextmanager
    def _running(self) -> Iterator[None]:
        """The network in eval mode (its mode restored after) and autocast to :attr:`autocast` when set."""
        was_training = self.network.training
        self.network.eval()
        try:
            if self.autocast is None:
                yield
            else:
                with torch.autocast(device_type=self.device.type, dtype=self.autocast):
                    yield
        finally:
            self.network.train(was_training)

    def find(self, pixels: np.ndarray) -> list[Face]:
        """The faces in (H, W, C) pixels (uint8, uint16 or float in [0, 1]; gray or RGB) of any size: shrunk on
        the CPU first, so a large scan never becomes a full-size float tensor."""
        height, width = pixels.shape[:2]
        factor = min(1.0, self.side / max(height, width))
        small = pixels
        if factor < 1:
            size = (max(1, round(width * factor)), max(1, round(height * factor)))
            small = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
        small = to_float01(small.reshape(*small.shape[:2], -1)[:, :, :3])
        image = torch.from_numpy(np.ascontiguousarray(small.transpose(2, 0, 1)))
        return self.detect(image.expand(3, -1, -1) if image.shape[0] == 1 else image, magnify=width / small.shape[1])


def _clipped(face: Face, width: float, height: float) -> Face:
    """``face`` with its box kept inside the picture."""
    x0, y0, x1, y1 = face.box
    box = (min(max(x0, 0.0), width), min(max(y0, 0.0), height), min(max(x1, 0.0), width), min(max(y1, 0.0), height))
    return Face(box=box, landmarks=face.landmarks, score=face.score)


GRAY_SPREAD = 0.02
"""A restored face crop whose channels differ by less than this everywhere (on average) is gray: only the luminance
of what the face model changes is pasted there, so a black-and-white print gains no colour."""


@dataclass(frozen=True)
class Region:
    """A rectangle of a photo: ``rows`` and ``cols`` slices' bounds, in pixels."""

    top: int
    left: int
    bottom: int
    right: int

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.top, self.bottom), slice(self.left, self.right)


class FaceRefiner:
    """The face stage of restoration: ``refine(restored, source)`` finds the faces in the restored photo, aligns
    each by its landmarks to a :data:`~patina.networks.face_restore.CROP` px crop of the *source* (the photo as it
    was given: the face model was trained on aged faces), restores it (a conditioned face model also reads the
    restored photo's same crop and corrects that), gives it the tone and colour of the restored photo there
    (:func:`~patina.ops.face_align.match_tone`), and adds what that changed in the crop back into the restored
    photo through a feathered mask times ``strength`` (:func:`~patina.ops.face_align.paste_face`): where the model
    changes nothing, the restored photo keeps every pixel, its detail finer than the crop included.
    Only the pixels around each face are read and written, so a large scan is fine: the faces are found
    on a shrunk copy and restored from the full-resolution pixels.
    """

    def __init__(self, finder: FaceFinder, restorer: FaceRestorer, *, strength: float = 1.0) -> None:
        if not 0.0 <= strength <= 1.0:
            raise ParameterError(f"face strength must be in [0, 1], got {strength}")
        self.finder, self.restorer, self.strength = finder, restorer.eval(), strength
        self.device = next(restorer.parameters()).device

    @classmethod
    def load(cls, restorer: str = "face-restore", detector: str = "face-detector", *,
             device: str | torch.device = "cpu", strength: float = 1.0) -> tuple[FaceRefiner, list[ModelDescriptor]]:
        """The refiner of the registered or file models, and their descriptors (detector first)."""
        device = select_device(device) if isinstance(device, str) else device
        try:
            finder = FaceFinder.load(detector, device=device)
            descriptor = load(restorer, device=device, task="face-restore")
        except ModelNotFoundError as error:
            raise ModelNotFoundError(f"{error}. No face model is registered yet: give the face model and the face "
                                     "detector as .safetensors files (experiments/faces-stage8/ and faces-stage9/ "
                                     "in the source tree have the latest ones)") from None
        assert finder.descriptor is not None
        return cls(finder, descriptor.network_as(FaceRestorer), strength=strength), [finder.descriptor, descriptor]

    def refine(self, restored: np.ndarray, source: np.ndarray, *, faces: list[Face] | None = None) -> list[Face]:
        """Restore the faces of ``restored`` (H, W, C) pixels in place from ``source`` (the same photo before
        restoration, possibly smaller by a whole factor: an upscaled restoration). ``faces``: found ones to use
        (default: :meth:`FaceFinder.find` on ``restored``). Returns the faces, in ``restored``'s pixels."""
        faces = self.finder.find(restored) if faces is None else faces
        if self.strength == 0.0:
            return faces
        scale = restored.shape[0] / source.shape[0]
        for face in faces:
            self._refine_one(restored, source, face, scale)
        return faces

    def _refine_one(self, restored: np.ndarray, source: np.ndarray, face: Face, scale: float) -> None:
        around = _surroundings(restored, face)
        given = _surroundings(source, face.scaled(1 / scale))
        if around is None or given is None:
            return
        (restored_pixels, region, local), (source_pixels, _, source_face) = around, given
        aligned_restored = align_face(restored_pixels, local, CROP)
        with torch.inference_mode():
            crop = _batch(align_face(source_pixels, source_face, CROP).crop, self.device)
            condition = _batch(aligned_restored.crop, self.device) if self.restorer.conditioned else None
            out = self.restorer(crop, condition).float().clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy()
        if _is_gray(aligned_restored.crop):  # a black-and-white print: only the change's luminance, no colour
            out = aligned_restored.crop + ((out - aligned_restored.crop) @ np.asarray(LUMA, np.float32))[..., None]
        out = match_tone(out, aligned_restored.crop)
        pasted = paste_face(restored_pixels, aligned_restored, out, self.strength)
        if restored.shape[2] == 1:
            pasted = (pasted @ np.asarray(LUMA, np.float32))[..., None]
        restored[region.slices] = from_float01(pasted, restored.dtype)


def _batch(crop: np.ndarray, device: torch.device) -> torch.Tensor:
    """An (S, S, 3) float crop as a (1, 3, S, S) tensor on ``device``."""
    return torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1)))[None].to(device)


def _surroundings(pixels: np.ndarray, face: Face) -> tuple[np.ndarray, Region, Face] | None:
    """The float RGB pixels around ``face`` that its aligned crop covers, that region, and the face in the
    region's pixels; None when the crop lies outside the photo."""
    region = _footprint(alignment(face, CROP), pixels.shape[:2])
    if region is None:
        return None
    return _rgb(to_float01(pixels[region.slices])), region, face.shifted(region.left, region.top)


def _footprint(matrix: np.ndarray, shape: tuple[int, ...]) -> Region | None:
    """The photo pixels the aligned crop of ``matrix`` covers, a pixel more each side, inside the photo."""
    corners = np.array([[0, 0], [CROP, 0], [0, CROP], [CROP, CROP]], np.float64)
    inverse = cv2.invertAffineTransform(matrix)
    points = corners @ inverse[:, :2].T + inverse[:, 2]
    (left, top), (right, bottom) = np.floor(points.min(axis=0)) - 1, np.ceil(points.max(axis=0)) + 1
    region = Region(max(0, int(top)), max(0, int(left)), min(shape[0], int(bottom)), min(shape[1], int(right)))
    return region if region.bottom - region.top >= 2 and region.right - region.left >= 2 else None


def _rgb(pixels: np.ndarray) -> np.ndarray:
    """(H, W, C) float pixels as RGB: gray repeated, alpha dropped."""
    return np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else np.ascontiguousarray(pixels[:, :, :3])


def _is_gray(crop: np.ndarray) -> bool:
    return float(np.abs(crop - crop.mean(axis=2, keepdims=True)).mean()) < GRAY_SPREAD


__all__ = ["DETECT_SIDE", "MIN_FACE", "FaceFinder", "FaceRefiner"]
