"""patina.ops.metrics: PSNR and SSIM on (N, C, H, W) tensors in [0, 1], quantised to 8 bit."""

from __future__ import annotations

import math

import pytest
import torch

from patina.ops.metrics import crop_border, psnr, rgb_to_y, ssim


def _image(seed: int = 0, size: int = 48) -> torch.Tensor:
    """A smooth-ish random RGB image on the 8-bit grid, values kept away from 0 and 1."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, size // 8, size // 8, generator=generator)
    image = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
    return torch.round((0.1 + 0.8 * image) * 255) / 255


def test_identical_images_give_capped_psnr_and_unit_ssim() -> None:
    image = _image()
    # the MSE is clamped at 1e-12, so identical images give 10 * log10(1e12) = 120 dB
    assert psnr(image, image).item() == pytest.approx(120.0, abs=1e-3)
    assert ssim(image, image).item() == pytest.approx(1.0, abs=1e-5)


def test_uniform_error_of_one_level_gives_48_13_db() -> None:
    target = _image()
    prediction = target + 1.0 / 255
    expected = 20 * math.log10(255.0)  # 48.1308...
    assert psnr(prediction, target).item() == pytest.approx(expected, abs=1e-3)
    assert psnr(prediction, target).item() == pytest.approx(48.13, abs=5e-3)
    # symmetric in its arguments
    assert psnr(target, prediction).item() == pytest.approx(expected, abs=1e-3)


def test_psnr_quantises_to_8_bit() -> None:
    target = _image()
    # an error smaller than half a level disappears in the 8-bit rounding
    assert psnr(target + 0.4 / 255, target).item() == pytest.approx(120.0, abs=1e-3)


def test_psnr_averages_over_the_batch() -> None:
    target = _image().repeat(2, 1, 1, 1)
    prediction = target.clone()
    prediction[0] += 1.0 / 255
    prediction[1] += 2.0 / 255
    expected = (20 * math.log10(255.0) + 20 * math.log10(255.0 / 2)) / 2
    assert psnr(prediction, target).item() == pytest.approx(expected, abs=1e-3)


def test_ssim_decreases_as_noise_grows() -> None:
    target = _image(size=64)
    generator = torch.Generator().manual_seed(1)
    noise = torch.randn(target.shape, generator=generator)
    values = [ssim((target + sigma * noise).clamp(0, 1), target).item() for sigma in (0.0, 0.02, 0.05, 0.1, 0.2)]
    assert values[0] == pytest.approx(1.0, abs=1e-5)
    assert all(a > b for a, b in zip(values, values[1:], strict=False)), values
    psnrs = [psnr((target + sigma * noise).clamp(0, 1), target).item() for sigma in (0.02, 0.05, 0.1, 0.2)]
    assert all(a > b for a, b in zip(psnrs, psnrs[1:], strict=False)), psnrs


def test_border_cropping_ignores_errors_in_the_border() -> None:
    target = _image(size=40)
    prediction = target.clone()
    prediction[..., :4, :] = 1 - prediction[..., :4, :]   # ruin the top 4 rows
    prediction[..., :, -3:] = 0.0                          # and the right 3 columns
    assert psnr(prediction, target).item() < 30
    assert ssim(prediction, target).item() < 0.95
    assert psnr(prediction, target, border=4).item() == pytest.approx(120.0, abs=1e-3)
    assert ssim(prediction, target, border=4).item() == pytest.approx(1.0, abs=1e-5)
    # a border too small to drop the damage still sees it
    assert psnr(prediction, target, border=2).item() < 30


def test_crop_border_shape() -> None:
    image = torch.zeros(2, 3, 20, 30)
    assert crop_border(image, 0).shape == (2, 3, 20, 30)
    assert crop_border(image, 3).shape == (2, 3, 14, 24)


def test_rgb_to_y_range() -> None:
    black, white = torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)
    assert rgb_to_y(black).mean().item() == pytest.approx(16 / 255, abs=1e-6)
    assert rgb_to_y(white).mean().item() == pytest.approx(235 / 255, abs=1e-4)
