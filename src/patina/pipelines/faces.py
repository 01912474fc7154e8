"""Finding faces in a photo with Patina's own detector (:class:`~patina.networks.faces.FaceDetector`).

The detector reads the luminance of a copy shrunk to :data:`DETECT_SIDE` on its long side (never enlarged),
padded to a multiple of 64; the faces come back in pixels of the photo as given.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from patina.core.device import select_device
from patina.core.errors import ParameterError
from patina.networks.faces import FaceDetector, decode_faces, luminance
from patina.ops.faces import Face
from patina.weights import ModelDescriptor, load

DETECT_SIDE = 640
"""Long side of the copy the detector reads: a face 48 px wide in a 1 MP photo is ~26 px there."""
SCORE_THRESHOLD = 0.5


class FaceFinder:
    """The faces in RGB photos: ``finder(image)`` with a (3, H, W) or (1, 3, H, W) float tensor in [0, 1]."""

    def __init__(self, network: FaceDetector, *, side: int = DETECT_SIDE, threshold: float = SCORE_THRESHOLD) -> None:
        self.network = network
        self.device = next(network.parameters()).device
        self.side, self.threshold = side, threshold
        self.descriptor: ModelDescriptor | None = None

    @classmethod
    def load(cls, model: str = "face-detector", *, device: str | torch.device = "cpu", side: int = DETECT_SIDE,
             threshold: float = SCORE_THRESHOLD) -> FaceFinder:
        """The finder of the registered or file model ``model``."""
        descriptor = load(model, device=select_device(device) if isinstance(device, str) else device,
                          task="face-detect")
        if not isinstance(descriptor.network, FaceDetector):
            raise ParameterError(f"{model} is a {type(descriptor.network).__name__}, not a FaceDetector")
        finder = cls(descriptor.network.fused(), side=side, threshold=threshold)
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

    @torch.inference_mode()
    def __call__(self, image: torch.Tensor) -> list[Face]:
        batch = image[None] if image.dim() == 3 else image
        if batch.dim() != 4 or batch.shape[0] != 1 or batch.shape[1] not in (1, 3):
            raise ValueError(f"expected one (3, H, W) or (1, 3, H, W) image, got {tuple(image.shape)}")
        gray, factor = self.luminance_copy(batch.to(self.device, torch.float32))
        was_training = self.network.training
        self.network.eval()
        faces = decode_faces(self.network(gray), threshold=self.threshold)[0]
        self.network.train(was_training)
        height, width = batch.shape[-2:]
        return [_clipped(face.scaled(1 / factor), width, height) for face in faces]


def _clipped(face: Face, width: int, height: int) -> Face:
    """``face`` with its box kept inside the picture."""
    x0, y0, x1, y1 = face.box
    box = (min(max(x0, 0.0), width), min(max(y0, 0.0), height), min(max(x1, 0.0), width), min(max(y1, 0.0), height))
    return Face(box=box, landmarks=face.landmarks, score=face.score)


__all__ = ["DETECT_SIDE", "FaceFinder", "SCORE_THRESHOLD"]
