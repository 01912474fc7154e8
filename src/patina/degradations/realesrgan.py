"""Real-ESRGAN's second-order degradation: how a clean photo becomes a realistic low-resolution input.

Two rounds of [blur -> resize -> noise -> JPEG], the blur drawn from isotropic / anisotropic gaussian,
generalised gaussian, plateau and sinc (ringing) kernels, the resize from area / bilinear / bicubic, the
noise gaussian or Poisson (colour or gray); the second round ends, in either order, with JPEG and a resize
to ``1 / scale`` of the input followed by a sinc filter. Seeded (``seed`` decides everything), numpy + cv2.

    low = second_order(clean_hr, scale=4, seed=7)        # (H, W, 3) float32 -> (H / 4, W / 4, 3) uint8-valued
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ._common import check_image, finish
from .compression import jpeg
from .noise import gaussian_noise, poisson_noise

Range = tuple[float, float]
KERNEL_KINDS = ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso")
RESIZE_MODES = (cv2.INTER_AREA, cv2.INTER_LINEAR, cv2.INTER_CUBIC)


@dataclass(frozen=True)
class RoundConfig:
    """One [blur -> resize -> noise -> JPEG] round; the defaults are Real-ESRGAN's first round."""

    blur_prob: float = 1.0
    kernel_probs: tuple[float, ...] = (0.45, 0.25, 0.12, 0.03, 0.12, 0.03)
    sigma: Range = (0.2, 3.0)
    beta_generalized: Range = (0.5, 4.0)
    beta_plateau: Range = (1.0, 2.0)
    sinc_prob: float = 0.1
    resize_probs: tuple[float, float, float] = (0.2, 0.7, 0.1)  # up, down, keep
    resize_range: Range = (0.15, 1.5)
    gaussian_noise_prob: float = 0.5
    noise_sigma: Range = (1.0, 30.0)  # 8-bit levels
    poisson_scale: Range = (0.05, 3.0)
    gray_noise_prob: float = 0.4
    jpeg_quality: Range = (30.0, 95.0)


FIRST_ROUND = RoundConfig()
SECOND_ROUND = RoundConfig(blur_prob=0.8, sigma=(0.2, 1.5), resize_probs=(0.3, 0.4, 0.3), resize_range=(0.3, 1.2),
                           noise_sigma=(1.0, 25.0), poisson_scale=(0.05, 2.5))
FINAL_SINC_PROB = 0.8
SECOND_ROUND_PROB = 0.8  # otherwise one round (a milder mix, as some real inputs are)


def bessel_j1(x: np.ndarray) -> np.ndarray:
    """Bessel function of the first kind, order 1, by its integral form (no SciPy): accurate to ~1e-7."""
    tau = np.linspace(0.0, math.pi, 257)
    values = np.cos(tau[None, :] - np.asarray(x, dtype=np.float64).reshape(-1, 1) * np.sin(tau[None, :]))
    weights = np.full(tau.shape, tau[1] - tau[0])
    weights[[0, -1]] /= 2  # trapezoid rule
    return (values @ weights / math.pi).reshape(np.shape(x))


def sinc_kernel(size: int, cutoff: float) -> np.ndarray:
    """2-D circular low-pass (sinc) kernel of odd ``size`` with cutoff frequency ``cutoff`` (radians)."""
    radius = size // 2
    y, x = np.mgrid[-radius:radius + 1, -radius:radius + 1].astype(np.float64)
    r = np.hypot(x, y)
    with np.errstate(invalid="ignore", divide="ignore"):
        kernel = cutoff * bessel_j1(cutoff * r) / (2 * math.pi * r)
    kernel[radius, radius] = cutoff**2 / (4 * math.pi)
    return (kernel / kernel.sum()).astype(np.float32)


def anisotropic_kernel(size: int, sigma_x: float, sigma_y: float, angle: float, *, shape: str = "gaussian",
                       beta: float = 1.0) -> np.ndarray:
    """Gaussian (``beta`` 1), generalised gaussian (exp(-d^beta / 2)) or plateau (1 / (1 + d^beta)) kernel,
    ``d`` the squared distance in the kernel's rotated, per-axis-scaled frame."""
    radius = size // 2
    y, x = np.mgrid[-radius:radius + 1, -radius:radius + 1].astype(np.float64)
    cos, sin = math.cos(angle), math.sin(angle)
    u, v = cos * x + sin * y, -sin * x + cos * y
    d = (u / sigma_x) ** 2 + (v / sigma_y) ** 2  # squared Mahalanobis distance
    if shape == "plateau":
        kernel = 1.0 / (1.0 + d ** beta)
    else:
        kernel = np.exp(-0.5 * d ** beta)
    return (kernel / kernel.sum()).astype(np.float32)


def random_blur_kernel(rng: np.random.Generator, config: RoundConfig) -> np.ndarray:
    """A blur kernel drawn as Real-ESRGAN draws them (odd size 7..21)."""
    size = int(rng.choice(np.arange(7, 22, 2)))
    if rng.random() < config.sinc_prob:
        cutoff = rng.uniform(math.pi / 3, math.pi) if size < 13 else rng.uniform(math.pi / 5, math.pi)
        return sinc_kernel(size, cutoff)
    probabilities = np.asarray(config.kernel_probs) / sum(config.kernel_probs)
    kind = KERNEL_KINDS[int(rng.choice(len(KERNEL_KINDS), p=probabilities))]
    sigma_x = rng.uniform(*config.sigma)
    sigma_y = sigma_x if kind.endswith("iso") and not kind.endswith("aniso") else rng.uniform(*config.sigma)
    angle = rng.uniform(-math.pi, math.pi) if kind.endswith("aniso") else 0.0
    if kind.startswith("generalized"):
        return anisotropic_kernel(size, sigma_x, sigma_y, angle, beta=rng.uniform(*config.beta_generalized))
    if kind.startswith("plateau"):
        return anisotropic_kernel(size, sigma_x, sigma_y, angle, shape="plateau",
                                  beta=rng.uniform(*config.beta_plateau))
    return anisotropic_kernel(size, sigma_x, sigma_y, angle)


def _filter(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT_101)


def _resize(image: np.ndarray, height: int, width: int, mode: int) -> np.ndarray:
    return cv2.resize(image, (max(1, width), max(1, height)), interpolation=mode)


def _noise(image: np.ndarray, rng: np.random.Generator, config: RoundConfig) -> np.ndarray:
    gray = bool(rng.random() < config.gray_noise_prob)
    seed = int(rng.integers(2**31))
    if rng.random() < config.gaussian_noise_prob:
        return gaussian_noise(image, sigma=rng.uniform(*config.noise_sigma) / 255.0, gray=gray, seed=seed)
    # Real-ESRGAN scales unit-count Poisson noise at 256 levels by ``scale``: the same as 256 / scale^2 photons
    scale = rng.uniform(*config.poisson_scale)
    return poisson_noise(image, scale=256.0 / scale**2, gray=gray, seed=seed)


def degradation_round(image: np.ndarray, rng: np.random.Generator, config: RoundConfig, *,
                      base_size: tuple[int, int]) -> np.ndarray:
    """Blur, resize (relative to ``base_size``, the size at the round's start), noise and JPEG, each drawn."""
    if rng.random() < config.blur_prob:
        image = _filter(image, random_blur_kernel(rng, config))
    direction = rng.choice(3, p=config.resize_probs)
    factor = (rng.uniform(1.0, config.resize_range[1]) if direction == 0
              else rng.uniform(config.resize_range[0], 1.0) if direction == 1 else 1.0)
    if factor != 1.0:
        mode = RESIZE_MODES[int(rng.integers(len(RESIZE_MODES)))]
        image = _resize(image, round(base_size[0] * factor), round(base_size[1] * factor), mode)
    image = finish(_noise(image, rng, config))
    return jpeg(image, quality=int(rng.uniform(*config.jpeg_quality)))


def second_order(clean: np.ndarray, *, scale: int, seed: int) -> np.ndarray:
    """Degrade a clean (H, W, 3) image (H, W multiples of ``scale``) into its (H / scale, W / scale, 3)
    low-resolution float32 counterpart (8-bit values, as a JPEG-decoded input has)."""
    image = check_image(clean)
    height, width = image.shape[:2]
    if height % scale or width % scale:
        raise ValueError(f"image size {width}x{height} is not a multiple of the scale {scale}")
    rng = np.random.default_rng(seed)
    image = degradation_round(image, rng, FIRST_ROUND, base_size=(height, width))
    low_size = (height // scale, width // scale)
    if rng.random() < SECOND_ROUND_PROB:
        image = degradation_round(image, rng, SECOND_ROUND, base_size=(height // scale, width // scale))
    mode = RESIZE_MODES[int(rng.integers(len(RESIZE_MODES)))]
    sinc = sinc_kernel(int(rng.choice(np.arange(7, 22, 2))), rng.uniform(math.pi / 3, math.pi)) \
        if rng.random() < FINAL_SINC_PROB else None
    quality = int(rng.uniform(*SECOND_ROUND.jpeg_quality))
    if rng.random() < 0.5:  # resize back + sinc, then JPEG
        image = _resize(image, *low_size, mode)
        image = finish(_filter(image, sinc)) if sinc is not None else image
        image = jpeg(image, quality=quality)
    else:  # JPEG, then resize back + sinc
        image = jpeg(image, quality=quality)
        image = _resize(image, *low_size, mode)
        image = finish(_filter(image, sinc)) if sinc is not None else image
    return np.round(finish(image) * 255.0).astype(np.float32) / 255.0


def unsharp_mask(image: np.ndarray, *, weight: float = 0.5, radius: int = 50,
                 threshold: float = 10 / 255) -> np.ndarray:
    """Real-ESRGAN's target sharpening: add ``weight`` x (image - blur), softly masked where the residual
    exceeds ``threshold``, so training targets carry crisper edges than the photos they come from."""
    image = check_image(image)
    size = radius + 1 if radius % 2 == 0 else radius
    blurred = cv2.GaussianBlur(image, (size, size), 0)
    residual = image - blurred
    mask = (np.abs(residual) * 255 > threshold * 255).astype(np.float32)
    soft = cv2.GaussianBlur(mask, (size, size), 0)
    sharp = finish(image + weight * residual)
    return finish(soft * sharp + (1 - soft) * image)


__all__ = ["FIRST_ROUND", "SECOND_ROUND", "RoundConfig", "anisotropic_kernel", "bessel_j1", "degradation_round",
           "random_blur_kernel", "second_order", "sinc_kernel", "unsharp_mask"]
