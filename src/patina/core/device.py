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


def fast_cpu_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX tiles): there bf16 convolutions run
    2-3x faster than float32 and move half the bytes; elsewhere bf16 is emulated and slower."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # a torch without these probes
        return False


def autocast_dtype(device: torch.device, *, cpu_bf16: bool = False) -> torch.dtype | None:
    """The reduced precision to autocast to on ``device``, or None to stay in float32. On the CPU only when
    asked (``cpu_bf16``: a pipeline whose results bf16 leaves unchanged, or training with ``optim.amp``) and
    :func:`fast_cpu_bf16`."""
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and cpu_bf16 and fast_cpu_bf16():
        return torch.bfloat16
    return None


def precision_name(autocast: torch.dtype | None) -> str:
    """The name of the precision a network runs in under ``autocast`` (an :func:`autocast_dtype` result):
    'bfloat16', 'float16', or 'float32' for None."""
    return str(autocast or torch.float32).removeprefix("torch.")
