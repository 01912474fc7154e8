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
from patina.evaluation.report import DatasetResult, EvalProgress, EvalReport, ImageScore
from patina.evaluation.restore_eval import check_data_dirs, dataset_files, quantise, read_clean, to_tensor
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
    """Run the protocol (module docstring) on each set for bicubic and every network in ``models``
    (name -> x``scale`` network on the CPU or a device; the first is the one the tables compare)."""
    if scale not in (2, 3, 4):
        raise ParameterError(f"scale must be 2, 3 or 4, got {scale}")
    if limit is not None and limit < 1:
        raise ParameterError(f"limit must be at least 1, got {limit}")
    for name, network in models.items():
        if getattr(network, "scale", None) != scale:
            raise ParameterError(f"{name} upscales x{getattr(network, 'scale', '?')}, not x{scale}")
    dirs = check_data_dirs(list(data_dirs))
    first = next(iter(models), BICUBIC)
    report = EvalReport(task="upscale", settings={"protocol": protocol(scale), "scale": scale, **(settings or {})},
                        command=command, compare=(first, BICUBIC))
    jobs = [(d, dataset_files(d)[:limit]) for d in dirs]
    with EvalProgress("eval upscale", sum(len(files) for _, files in jobs), enabled=progress) as bar:
        for data_dir, files in jobs:
            result = DatasetResult(name=set_name(data_dir), path=str(data_dir), protocol=protocol(scale))
            result.method(BICUBIC, "bicubic (MATLAB)")
            for name in models:
                result.method(name, name)
            for name, path in files:
                bar.describe(f"{result.name} {name}")
                _evaluate_image(result, name, to_tensor(read_clean(path)), scale, models)
                bar.advance()
            report.datasets.append(result)
    return report


def _evaluate_image(result: DatasetResult, name: str, image: torch.Tensor, scale: int,
                    models: dict[str, nn.Module]) -> None:
    high, low = low_resolution(image, scale)
    result.methods[BICUBIC].images.append(_score(name, imresize(low, float(scale)), high, scale))
    for key, network in models.items():
        device = next(network.parameters()).device
        start = time.perf_counter()
        multiple = int(getattr(network, "size_multiple", 1))
        with torch.inference_mode():  # padded (reflect) to the network's size multiple, then cropped
            upscaled = network(pad_to_multiple(low, multiple).to(device)).float().cpu()
        upscaled = crop(upscaled, high.shape[-2], high.shape[-1])
        seconds = time.perf_counter() - start
        if upscaled.shape != high.shape:
            raise RuntimeError(f"{key} returned shape {tuple(upscaled.shape)} for {tuple(high.shape)}")
        result.methods[key].images.append(_score(name, upscaled, high, scale, seconds))


def _score(name: str, prediction: torch.Tensor, target: torch.Tensor, scale: int,
           seconds: float | None = None) -> ImageScore:
    return ImageScore(name, psnr_y(prediction, target, border=scale), ssim_y(prediction, target, border=scale),
                      seconds)


def model_names(scale: int, given: Sequence[str] | None) -> list[str]:
    """The models to score: ``given``, else the shipped fidelity and GAN upscalers of ``scale``."""
    return list(given) if given else [f"upscale-x{scale}-fidelity", f"upscale-x{scale}"]


__all__ = ["BICUBIC", "evaluate_upscale", "find_peers", "low_resolution", "model_names", "protocol"]
