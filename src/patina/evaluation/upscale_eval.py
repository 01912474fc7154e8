"""``patina eval upscale``: the standard super-resolution benchmark protocol.

Protocol ``upscale_eval_x<s>`` (what a model card's ``upscale_eval_x4/<set>`` metrics mean): each image of a
set (sorted by relative path; gray ones as RGB) is cropped to a multiple of the scale ``s``, downscaled by
``1/s`` with MATLAB's bicubic ``imresize`` (antialiased, as the papers and their LR files do) and rounded
to 8 bit. Then

* ``bicubic``: the low-resolution image upscaled back with the same MATLAB bicubic,
* each model (its registry name or file stem), run whole (no tiles; padded by reflection to its size
  multiple and cropped back), and
* each peer (``peer:<file stem>``): outside checkpoints of scale ``s`` found in the peers folder,

are scored against the high-resolution image as 8-bit RGB on the BT.601 Y channel, ``s`` pixels cropped
on every side: PSNR and SSIM (gaussian window 11, sigma 1.5). Seconds are the model call on this device.

Protocol ``upscale_eval_degraded_x<s>`` (``--degraded``): the low-resolution image is made as a real one
is, by :func:`degraded_low_resolution` (written apart from the training chain, seeded by the image's
index): gaussian blur, the same bicubic downscale, colour gaussian noise, JPEG. Scores as above, and,
with a VGG feature teacher, ``feature_distance``: the squared distance of the VGG19 relu1_1, relu2_1 and
relu3_1 features of the result and of the high-resolution image, relative to the latter's energy, averaged
over the three layers, on the central :data:`FEATURE_CROP` pixels square at most (lower is closer; an
un-learnt stand-in for LPIPS). Teachers (outside x<s> upscalers
under ``--teachers``) are scored as ``teacher:<file stem>``; below x4, the x4 teachers' outputs are resized
to x<s> (``teacher:<file stem>-to-x<s>``), the target the x2 students were distilled towards.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from patina.core.errors import ParameterError
from patina.evaluation.common import check_data_dirs, dataset_files, feature_distance, quantise, to_tensor
from patina.evaluation.protocol import EvalProtocol, EvalSet
from patina.evaluation.report import EvalReport, ImageScore
from patina.ops.metrics import psnr_y, ssim_y
from patina.ops.resize import imresize
from patina.pipelines.tiling import crop, pad_to_multiple

BICUBIC = "bicubic"
PEER_SUFFIXES = (".safetensors", ".pth", ".pt")
DEGRADED_BLUR = (0.6, 1.6)
"""Gaussian blur sigma range (high-resolution pixels) of the degraded protocol."""
DEGRADED_NOISE = (2.0, 10.0)
"""Colour gaussian noise sigma range (8-bit levels) of the degraded protocol, after the downscale."""
DEGRADED_JPEG = (40, 85)
"""JPEG quality range of the degraded protocol."""
FEATURE_CROP = 512
"""Side of the central square the feature distance compares (VGG on a whole 1024 px image is seconds on a CPU)."""


def protocol(scale: int, *, degraded: bool = False) -> str:
    """The protocol id of ``scale``, e.g. ``upscale_eval_x4`` (``upscale_eval_degraded_x4`` with ``degraded``)."""
    return f"upscale_eval_degraded_x{scale}" if degraded else f"upscale_eval_x{scale}"


def low_resolution(image: torch.Tensor, scale: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(high-resolution image cropped to a multiple of ``scale``, its 8-bit MATLAB-bicubic downscale)."""
    height, width = (image.shape[-2] // scale) * scale, (image.shape[-1] // scale) * scale
    if height < 2 * scale or width < 2 * scale:
        raise ParameterError(f"image of {image.shape[-1]}x{image.shape[-2]} is too small for x{scale}")
    high = image[..., :height, :width]
    return high, quantise(imresize(high, 1 / scale))


def degraded_low_resolution(image: torch.Tensor, scale: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(high-resolution image cropped to a multiple of ``scale``, a real-looking low-resolution copy): blurred
    (gaussian, sigma in :data:`DEGRADED_BLUR`), MATLAB-bicubic downscaled, noisy (:data:`DEGRADED_NOISE`) and
    JPEG-compressed (:data:`DEGRADED_JPEG`), each drawn from ``seed``."""
    high, _ = low_resolution(image, scale)
    rng = np.random.default_rng([2026, seed])
    sigma = float(rng.uniform(*DEGRADED_BLUR))
    pixels = high[0].permute(1, 2, 0).numpy()
    blurred = cv2.GaussianBlur(pixels, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)
    low = imresize(torch.from_numpy(blurred).permute(2, 0, 1)[None], 1 / scale)[0].permute(1, 2, 0).numpy()
    low = low + rng.normal(0.0, rng.uniform(*DEGRADED_NOISE) / 255, low.shape).astype(np.float32)
    quality = int(rng.integers(DEGRADED_JPEG[0], DEGRADED_JPEG[1] + 1))
    encoded = cv2.imencode(".jpg", np.round(np.clip(low, 0, 1)[..., ::-1] * 255).astype(np.uint8),
                           [cv2.IMWRITE_JPEG_QUALITY, quality])[1]
    decoded = np.asarray(cv2.imdecode(encoded, cv2.IMREAD_COLOR))[..., ::-1].astype(np.float32) / 255
    return high, torch.from_numpy(np.ascontiguousarray(decoded.transpose(2, 0, 1)))[None]


def central(image: torch.Tensor, side: int = FEATURE_CROP) -> torch.Tensor:
    """The central ``side`` x ``side`` of ``image`` (all of a side that is shorter)."""
    height, width = image.shape[-2:]
    top, left = max(0, (height - side) // 2), max(0, (width - side) // 2)
    return image[..., top : top + side, left : left + side]


def set_name(data_dir: Path) -> str:
    """The set's name: its folder's, or the parent's for a folder called ``HR`` (``Set5/HR`` is Set5)."""
    folder = data_dir.resolve()
    return folder.parent.name if folder.name.upper() == "HR" else folder.name


def find_peers(folder: str | Path | None, scale: int, *, prefix: str = "peer",
               rescale: bool = False) -> dict[str, nn.Module]:
    """``<prefix>:<stem>`` -> network for every outside upscaler of ``scale`` in ``folder`` and its
    subfolders (none if it is absent); files that are not upscalers (a classifier, say) are passed over.
    With ``rescale``, upscalers of a larger scale come too, their output resized to ``scale``
    (``<prefix>:<stem>-to-x<scale>``: an x4 teacher halved is the x2 students' teacher)."""
    from patina.networks.upscale import Rescaled
    from patina.weights.external import load_external

    if folder is None or not Path(folder).is_dir():
        return {}
    peers = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.suffix.lower() in PEER_SUFFIXES and not path.with_suffix(".json").is_file():
            try:
                network, _card = load_external(path)
            except ParameterError:
                continue
            native = getattr(network, "scale", None)
            if native == scale:
                peers[f"{prefix}:{path.stem}"] = network
            elif rescale and isinstance(native, int) and native > scale:
                peers[f"{prefix}:{path.stem}-to-x{scale}"] = Rescaled(network, scale)
    return peers


def model_names(scale: int, given: Sequence[str] | None) -> list[str]:
    """The models to score: ``given``, else the shipped fidelity and GAN upscalers of ``scale``."""
    return list(given) if given else [f"upscale-x{scale}-fidelity", f"upscale-x{scale}"]


class UpscaleEval(EvalProtocol):
    """The ``upscale_eval_x<s>`` protocol (module docstring; ``upscale_eval_degraded_x<s>`` with ``degraded``)
    for bicubic and every network in ``models`` (name -> x``scale`` network on the CPU or a device; the first
    is the one the tables compare); with ``features`` (a VGG feature teacher) also the feature distance."""

    task = "upscale"
    card_settings = ("device",)

    def __init__(self, models: dict[str, nn.Module], *, scale: int, limit: int | None = None,
                 degraded: bool = False, features: nn.Module | None = None) -> None:
        if scale not in (2, 3, 4):
            raise ParameterError(f"scale must be 2, 3 or 4, got {scale}")
        super().__init__(limit=limit)
        for name, network in models.items():
            if getattr(network, "scale", None) != scale:
                raise ParameterError(f"{name} upscales x{getattr(network, 'scale', '?')}, not x{scale}")
        self.models, self.scale, self.degraded = models, scale, degraded
        self.protocol, self.features = protocol(scale, degraded=degraded), features
        self._target_features: Sequence[torch.Tensor] | None = None  # of the image being scored
        self.compare = (next(iter(models), BICUBIC), BICUBIC)
        self.methods = {BICUBIC: "bicubic (MATLAB)", **{name: name for name in models}}

    @classmethod
    def load(cls, names: Sequence[str] | None, *, scale: int, peers: str | Path | None, device: str,
             limit: int | None, degraded: bool = False, teachers: str | Path | None = None,
             features: str | Path | None = None) -> UpscaleEval:
        """The protocol for our upscalers ``names`` (default :func:`model_names`), the peers found in ``peers``
        and the teachers in ``teachers``; ``features``: the VGG19 relu3_1 teacher's file, if it exists."""
        from patina.core.device import select_device
        from patina.pipelines.upscale import default_model
        from patina.weights import load

        default_model(scale)  # validates the scale
        target = select_device(device)
        networks, cards = {}, {}
        for name in model_names(scale, names):
            loaded = load(name, device=target, task="upscale")
            networks[name], cards[name] = loaded.network, loaded.card
        networks.update({key: network.to(target) for key, network in find_peers(peers, scale).items()})
        networks.update({key: network.to(target) for key, network in
                         find_peers(teachers, scale, prefix="teacher", rescale=True).items()})
        feature_teacher = None
        if features is not None and Path(features).is_file():
            from patina.losses import VGGTeacher

            feature_teacher = VGGTeacher.from_file(features).to(target)
        evaluation = cls(networks, scale=scale, limit=limit, degraded=degraded, features=feature_teacher)
        models = {n: {"version": c.version, "sha256": c.sha256} for n, c in cards.items()}
        evaluation.model_settings = {"models": models, "device": str(target)}
        evaluation.card_models = [name for name, card in cards.items() if card.version != "external"]
        return evaluation

    def eval_sets(self, data_dirs: Sequence[str | Path]) -> list[EvalSet]:
        """One set per folder, named by :func:`set_name`."""
        return [EvalSet(set_name(d), d, dataset_files(d)) for d in check_data_dirs(list(data_dirs))]

    def settings(self) -> dict[str, Any]:
        return {"scale": self.scale, "feature_distance": "vgg19 relu1_1-relu3_1" if self.features else None}

    def seed(self, index: int) -> int | None:
        """The degraded protocol's seed of an image: its index in the set."""
        return index if self.degraded else None

    def read(self, source: Path) -> torch.Tensor:
        return to_tensor(super().read(source))

    def score_image(self, eval_set: EvalSet, name: str, image: torch.Tensor, seed: int | None) -> dict[str, ImageScore]:
        high, low = (degraded_low_resolution(image, self.scale, seed or 0) if self.degraded
                     else low_resolution(image, self.scale))
        self._target_features = None
        if self.features is not None:
            with torch.inference_mode():
                self._target_features = self.features(central(high).to(next(self.features.parameters()).device))
        bicubic = imresize(low, float(self.scale))
        scores = {BICUBIC: self._score(name, bicubic, high)}
        pictures = {BICUBIC: bicubic}
        for key, network in self.models.items():
            device = next(network.parameters()).device
            start = time.perf_counter()
            multiple = int(getattr(network, "size_multiple", 1))
            with torch.inference_mode():  # padded (reflect) to the network's size multiple, then cropped
                upscaled = network(pad_to_multiple(low, multiple).to(device)).float().cpu()
            upscaled = crop(upscaled, high.shape[-2], high.shape[-1])
            seconds = time.perf_counter() - start
            if upscaled.shape != high.shape:
                raise RuntimeError(f"{key} returned shape {tuple(upscaled.shape)} for {tuple(high.shape)}")
            scores[key] = self._score(name, upscaled, high, seconds)
            pictures[key] = upscaled
        if self.sheet.wants(eval_set.name):
            self.show(eval_set, name, {**pictures, "truth": high})
        return scores

    def _score(self, name: str, prediction: torch.Tensor, target: torch.Tensor,
               seconds: float | None = None) -> ImageScore:
        extra = {}
        if self.features is not None and self._target_features is not None:
            device = next(self.features.parameters()).device
            extra["feature_distance"] = feature_distance(self.features, central(quantise(prediction)).to(device),
                                                         self._target_features)
        return ImageScore(name, psnr_y(prediction, target, border=self.scale),
                          ssim_y(prediction, target, border=self.scale), seconds, extra)


def evaluate_upscale(
    data_dirs: Iterable[str | Path],
    *,
    scale: int,
    models: dict[str, nn.Module],
    limit: int | None = None,
    progress: bool = True,
    settings: dict[str, Any] | None = None,
    command: str = "",
) -> EvalReport:
    """Run the protocol (module docstring, :class:`UpscaleEval`) on each set for bicubic and every network in
    ``models``; ``settings`` are recorded in the report beside the protocol's."""
    protocol = UpscaleEval(models, scale=scale, limit=limit)
    protocol.model_settings = dict(settings or {})
    return protocol.run(list(data_dirs), progress=progress, command=command)


__all__ = ["BICUBIC", "FEATURE_CROP", "UpscaleEval", "central", "degraded_low_resolution", "evaluate_upscale",
           "feature_distance", "find_peers", "low_resolution", "model_names", "protocol"]
