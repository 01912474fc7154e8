"""Device and dtype selection."""

from __future__ import annotations

import torch

from patina.core.errors import ParameterError


def select_device(name: str = "auto") -> torch.device:
    """'auto' picks CUDA, then MPS, then CPU; otherwise the named device, checked to exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ParameterError(f"unknown device {name!r}") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(f"device {name!r} requested but CUDA is not available")
    return device


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """The reduced precision to autocast to on ``device``, or None to stay in float32."""
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return None
