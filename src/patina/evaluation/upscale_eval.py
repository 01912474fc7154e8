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
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from patina.core.errors import ParameterError
from patina.evaluation.common import check_data_dirs, dataset_files, quantise, to_tensor
from patina.evaluation.protocol import EvalProtocol, EvalSet
from patina.evaluation.report import EvalReport, ImageScore
from patina.ops.metrics import psnr_y, ssim_y
from patina.ops.resize import imresize
from patina.pipelines.tiling import crop, pad_to_multiple

BICUBIC = "bicubic"
PEER_SUFFIXES = (".safetensors", ".pth", ".pt")


def protocol(scale: int) -> str:
    """The protocol id of ``scale``, e.g. ``upscale_eval_x4``."""
    return f"upscale_eval_x{scale}"


def low_resolution(image: torch.Tensor, scale: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(high-resolution image cropped to a multiple of ``scale``, its 8-bit MATLAB-bicubic downscale)."""
    height, width = (image.shape[-2] // scale) * scale, (image.shape[-1] // scale) * scale
    if height < 2 * scale or width < 2 * scale:
        raise ParameterError(f"image of {image.shape[-1]}x{image.shape[-2]} is too small for x{scale}")
    high = image[..., :height, :width]
    return high, quantise(imresize(high, 1 / scale))


def set_name(data_dir: Path) -> str:
    """The set's name: its folder's, or the parent's for a folder called ``HR`` (``Set5/HR`` is Set5)."""
    folder = data_dir.resolve()
    return folder.parent.name if folder.name.upper() == "HR" else folder.name


def find_peers(folder: str | Path | None, scale: int) -> dict[str, nn.Module]:
    """``peer:<stem>`` -> network for every outside upscaler of ``scale`` in ``folder`` (none if it is absent)."""
    from patina.weights.external import load_external

    if folder is None or not Path(folder).is_dir():
        return {}
    peers = {}
    for path in sorted(Path(folder).iterdir()):
        if path.suffix.lower() in PEER_SUFFIXES and not path.with_suffix(".json").is_file():
            network, _card = load_external(path)
            if getattr(network, "scale", None) == scale:
                peers[f"peer:{path.stem}"] = network
    return peers


def model_names(scale: int, given: Sequence[str] | None) -> list[str]:
    """The models to score: ``given``, else the shipped fidelity and GAN upscalers of ``scale``."""
    return list(given) if given else [f"upscale-x{scale}-fidelity", f"upscale-x{scale}"]


class UpscaleEval(EvalProtocol):
    """The ``upscale_eval_x<s>`` protocol (module docstring) for bicubic and every network in ``models``
    (name -> x``scale`` network on the CPU or a device; the first is the one the tables compare)."""

    task = "upscale"
    card_settings = ("device",)

    def __init__(self, models: dict[str, nn.Module], *, scale: int, limit: int | None = None) -> None:
        if scale not in (2, 3, 4):
            raise ParameterError(f"scale must be 2, 3 or 4, got {scale}")
        super().__init__(limit=limit)
        for name, network in models.items():
            if getattr(network, "scale", None) != scale:
                raise ParameterError(f"{name} upscales x{getattr(network, 'scale', '?')}, not x{scale}")
        self.models, self.scale, self.protocol = models, scale, protocol(scale)
        self.compare = (next(iter(models), BICUBIC), BICUBIC)
        self.methods = {BICUBIC: "bicubic (MATLAB)", **{name: name for name in models}}

    @classmethod
    def load(cls, names: Sequence[str] | None, *, scale: int, peers: str | Path | None, device: str,
             limit: int | None) -> UpscaleEval:
        """The protocol for our upscalers ``names`` (default :func:`model_names`) and the peers found in ``peers``."""
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
        evaluation = cls(networks, scale=scale, limit=limit)
        models = {n: {"version": c.version, "sha256": c.sha256} for n, c in cards.items()}
        evaluation.model_settings = {"models": models, "device": str(target)}
        evaluation.card_models = list(cards)
        return evaluation

    def eval_sets(self, data_dirs: Sequence[str | Path]) -> list[EvalSet]:
        """One set per folder, named by :func:`set_name`."""
        return [EvalSet(set_name(d), d, dataset_files(d)) for d in check_data_dirs(list(data_dirs))]

    def settings(self) -> dict[str, Any]:
        return {"scale": self.scale}

    def read(self, source: Path) -> torch.Tensor:
        return to_tensor(super().read(source))

    def score_image(self, eval_set: EvalSet, name: str, image: torch.Tensor, seed: int | None) -> dict[str, ImageScore]:
        high, low = low_resolution(image, self.scale)
        scores = {BICUBIC: self._score(name, imresize(low, float(self.scale)), high)}
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
        return scores

    def _score(self, name: str, prediction: torch.Tensor, target: torch.Tensor,
               seconds: float | None = None) -> ImageScore:
        return ImageScore(name, psnr_y(prediction, target, border=self.scale),
                          ssim_y(prediction, target, border=self.scale), seconds)


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


__all__ = ["BICUBIC", "UpscaleEval", "evaluate_upscale", "find_peers", "low_resolution", "model_names", "protocol"]
