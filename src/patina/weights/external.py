"""Loading upscalers trained by other projects: Real-ESRGAN / ESRGAN RRDBNet and SRVGGNetCompact.

The state dict is read from a ``.pth`` / ``.pt`` (``torch.load`` with ``weights_only``: no pickled code
runs) or a ``.safetensors`` file without a Patina card; BasicSR's ``params_ema`` / ``params`` wrappers are
unwrapped, the original ESRGAN's ``model.N`` key names are renamed, and the architecture and its
hyper-parameters (scale, width, depth, activation) are read off the tensor names and shapes. The weights
then load into Patina's own ``RRDBNet`` / ``CompactUpscaler``, whose parameter names match.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from patina.core.errors import ModelNotFoundError, ParameterError
from patina.networks.upscale import CompactUpscaler, RRDBNet
from patina.weights.card import ModelCard

EXTERNAL_SUFFIXES = (".pth", ".pt", ".safetensors")
WRAPPERS = ("params_ema", "params", "state_dict", "model_state_dict")
"""Keys under which checkpoints nest the generator's state dict, in order of preference."""

State = dict[str, torch.Tensor]


def read_state_dict(path: str | Path) -> State:
    """The generator's tensors in ``path``, unwrapped from BasicSR-style containers."""
    path = Path(path)
    if not path.is_file():
        raise ModelNotFoundError(f"{path}: weights file not found")
    if path.suffix.lower() not in EXTERNAL_SUFFIXES:
        raise ParameterError(f"{path}: expected a {', '.join(EXTERNAL_SUFFIXES)} file")
    try:
        if path.suffix.lower() == ".safetensors":
            from safetensors.torch import load_file

            loaded: object = load_file(str(path))
        else:
            loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any reader failure is an unreadable checkpoint
        raise ParameterError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {exc})") from None
    for _ in range(2):  # e.g. {"params_ema": {...}} or {"state_dict": {"params": ...}} at most
        if isinstance(loaded, dict):
            wrapper = next((key for key in WRAPPERS if isinstance(loaded.get(key), dict)), None)
            if wrapper is not None:
                loaded = loaded[wrapper]
    if not isinstance(loaded, dict) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise ParameterError(f"{path}: no state dict of tensors found")
    return {str(key).removeprefix("module."): value for key, value in loaded.items()}


def rename_old_esrgan(state: State) -> State:
    """The original ESRGAN's ``model.0`` / ``model.1.sub.N.RDBk.convM.0`` / ``model.3`` ... keys as
    Real-ESRGAN names them (``conv_first``, ``body.N.rdbk.convM``, ``conv_up1`` ...)."""
    trunk = [int(m.group(1)) for key in state if (m := re.match(r"model\.1\.sub\.(\d+)\.weight$", key))]
    if not trunk:
        raise ParameterError("not an ESRGAN checkpoint: no model.1.sub.N trunk conv")
    trunk_conv = max(trunk)
    tail = sorted({int(m.group(1)) for key in state if (m := re.match(r"model\.(\d+)\.weight$", key))} - {0})
    if len(tail) < 3:
        raise ParameterError(f"ESRGAN checkpoint with an unexpected layout (convs {tail})")
    ups, (hr, last) = tail[:-2], tail[-2:]
    names = {"model.0.": "conv_first.", f"model.1.sub.{trunk_conv}.": "conv_body.",
             f"model.{hr}.": "conv_hr.", f"model.{last}.": "conv_last."}
    names.update({f"model.{index}.": f"conv_up{number}." for number, index in enumerate(ups, start=1)})
    renamed: State = {}
    for key, value in state.items():
        block = re.match(r"model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\.(weight|bias)$", key)
        if block:
            renamed[f"body.{block[1]}.rdb{block[2]}.conv{block[3]}.{block[4]}"] = value
            continue
        prefix = next((p for p in names if key.startswith(p)), None)
        if prefix is None:
            raise ParameterError(f"ESRGAN checkpoint with an unexpected key {key!r}")
        renamed[names[prefix] + key[len(prefix):]] = value
    return renamed


def detect(state: State) -> tuple[str, dict[str, Any]]:
    """(architecture name, constructor kwargs) of an RRDBNet or SRVGGNetCompact state dict."""
    if "conv_first.weight" in state:
        first = state["conv_first.weight"]
        unshuffle = math.isqrt(first.shape[1] // 3)
        blocks = 1 + max(int(m.group(1)) for k in state if (m := re.match(r"body\.(\d+)\.", k)))
        scale = {1: 8 if "conv_up3.weight" in state else 4, 2: 2, 4: 1}.get(unshuffle)
        if scale is None or first.shape[1] != 3 * unshuffle**2:
            raise ParameterError(f"RRDBNet with {first.shape[1]} input channels is not supported")
        return "RRDBNet", {"channels": first.shape[0], "blocks": blocks,
                           "growth": state["body.0.rdb1.conv1.weight"].shape[0], "scale": scale}
    if "body.0.weight" in state and state["body.0.weight"].ndim == 4:
        convs = sorted(int(m.group(1)) for k in state if (m := re.match(r"body\.(\d+)\.weight$", k))
                       and state[k].ndim == 4)
        last = state[f"body.{convs[-1]}.weight"]
        in_channels = state["body.0.weight"].shape[1]
        shuffle = math.isqrt(last.shape[0] // 3)
        if in_channels != 3 or last.shape[0] != 3 * shuffle**2:
            raise ParameterError(f"compact net with {in_channels} in / {last.shape[0]} out channels is not supported")
        activation = "prelu" if "body.1.weight" in state else "leakyrelu"
        return "CompactUpscaler", {"channels": state["body.0.weight"].shape[0], "convs": len(convs) - 2,
                                   "scale": shuffle, "activation": activation}
    raise ParameterError("unrecognised upscaler checkpoint: neither RRDBNet (conv_first, body.N.rdbK) nor "
                         "SRVGGNetCompact (body.N) keys")


def load_external(path: str | Path, *, device: torch.device | str = "cpu") -> tuple[nn.Module, ModelCard]:
    """Build and load an outside upscaler checkpoint; returns the model (eval, float32) and a card for it."""
    path = Path(path)
    state = read_state_dict(path)
    if "model.0.weight" in state:
        state = rename_old_esrgan(state)
    arch, kwargs = detect(state)
    model: nn.Module = RRDBNet(**kwargs) if arch == "RRDBNet" else CompactUpscaler(**kwargs)
    try:
        model.load_state_dict({k: v.float() for k, v in state.items()})
    except RuntimeError as exc:
        raise ParameterError(f"{path}: weights do not fit a {arch} {kwargs}: {exc}") from None
    card = ModelCard(name=path.stem, arch=arch, kwargs=kwargs, version="external", task="upscale",
                     parameters=sum(p.numel() for p in model.parameters()),
                     notes=f"loaded from {path.name}, an outside checkpoint (no Patina model card)")
    return model.to(device).eval().requires_grad_(False), card


__all__ = ["detect", "load_external", "read_state_dict", "rename_old_esrgan"]
