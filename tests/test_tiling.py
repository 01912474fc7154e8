"""Tiled inference: padding, tile layout, blending weights, and tiled == untiled for convolutional nets."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from patina.core.errors import ParameterError
from patina.networks import RestoreGenerator
from patina.pipelines import tiling
from patina.pipelines.tiling import (
    auto_tile_size,
    available_memory,
    crop,
    pad_to_multiple,
    read_window,
    reflect_indices,
    tile_spans,
    tiled_apply,
)


def textured_image(height: int = 300, width: int = 420, seed: int = 0) -> torch.Tensor:
    """Gradients plus sinusoidal texture plus noise: (1, 3, H, W) in [0, 1]."""
    generator = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, height), torch.linspace(0, 1, width), indexing="ij")
    image = torch.stack([yy, xx, 0.5 + 0.3 * torch.sin(xx * 50) * torch.cos(yy * 37)])[None]
    return (image + 0.15 * torch.rand(1, 3, height, width, generator=generator)).clamp(0, 1)


@pytest.mark.parametrize("size", [1, 2, 3, 7, 16])
def test_reflect_indices_match_reflect_padding(size):
    if size == 1:
        assert reflect_indices(0, 5, 1).tolist() == [0] * 5
        return
    row = torch.arange(size, dtype=torch.float32)[None, None]
    pad = size - 1  # the most F.pad(reflect) allows
    expected = F.pad(row, (0, pad), mode="reflect")[0, 0].long()
    assert torch.equal(reflect_indices(0, size + pad, size), expected)
    assert reflect_indices(0, 4 * size, size).max() < size  # any amount of padding works


def test_pad_to_multiple_and_crop_round_trip():
    image = torch.rand(1, 3, 37, 50)
    padded = pad_to_multiple(image, 16)
    assert padded.shape == (1, 3, 48, 64)
    assert torch.equal(crop(padded, 37, 50), image)
    assert torch.equal(padded, F.pad(image, (0, 14, 0, 11), mode="reflect"))
    tiny = torch.rand(1, 3, 1, 2)
    assert pad_to_multiple(tiny, 16).shape == (1, 3, 16, 16)


def test_read_window_scales_integers():
    pixels = torch.randint(0, 65536, (1, 3, 20, 30), dtype=torch.int32).to(torch.uint16)
    window = read_window(pixels, 4, 24, 8, 40)
    assert window.dtype == torch.float32 and window.shape == (1, 3, 20, 32)
    assert torch.allclose(window[..., :16, :22], pixels[..., 4:, 8:].float() / 65535)


@pytest.mark.parametrize("length,tile,overlap,multiple", [(1000, 896, 64, 8), (424, 128, 64, 4), (4096, 512, 64, 16),
                                                          (432, 200, 30, 8), (64, 64, 16, 16)])
def test_tile_spans_cover_with_aligned_overlapping_tiles(length, tile, overlap, multiple):
    spans = tile_spans(length, tile, overlap, multiple)
    assert spans[0][0] == 0 and spans[-1][1] == length
    for start, stop in spans:
        assert start % multiple == 0 and stop % multiple == 0 and 0 < stop - start <= tile
    for (_, prev_stop), (start, _) in zip(spans, spans[1:], strict=False):
        assert prev_stop - start >= overlap
    sizes = {stop - start for start, stop in spans}
    assert len(sizes) == 1  # evenly spread: no sliver tile


@pytest.mark.parametrize("scale", [1, 2])
def test_blending_weights_sum_to_one(scale):
    image = textured_image(97, 131)

    def fn(tile):
        return F.interpolate(tile, scale_factor=scale, mode="nearest") if scale > 1 else tile * 1.0

    out = tiled_apply(fn, image, tile=32, overlap=16, multiple=8, scale=scale, context=8)
    assert out.shape == (1, 3, 97 * scale, 131 * scale)
    assert torch.allclose(out, fn(image), atol=1e-6)


def test_tiles_are_aligned_sized_and_bounded():
    seen = []

    def fn(tile):
        seen.append(tuple(tile.shape[-2:]))
        return tile

    tiled_apply(fn, textured_image(300, 420), tile=128, overlap=32, multiple=16, context=32)
    assert len(seen) > 4
    assert all(h % 16 == 0 and w % 16 == 0 and h <= 128 + 64 and w <= 128 + 64 for h, w in seen)


def test_untiled_and_small_images_are_one_call():
    calls = []
    image = torch.rand(1, 3, 97, 131)
    fn = lambda tile: calls.append(tile.shape) or tile  # noqa: E731
    for tile in (None, 0):
        out = tiled_apply(fn, image, tile=tile, overlap=64, multiple=16)
        assert out.shape == image.shape and torch.allclose(out, image)
    tiled_apply(fn, image, tile=64, overlap=16, multiple=16, context=40)  # 64 + 2*40 >= 144: fits one window
    assert calls == [(1, 3, 112, 144)] * 3


def test_integer_input_equals_float_input():
    pixels = (textured_image(60, 90) * 255).round().to(torch.uint8)
    fn = lambda tile: tile.flip(1) * 0.5  # noqa: E731
    assert torch.allclose(tiled_apply(fn, pixels, tile=32, overlap=8, multiple=8),
                          tiled_apply(fn, pixels.float() / 255, tile=32, overlap=8, multiple=8), atol=1e-6)


def test_extra_channels_are_cut_into_the_same_tiles():
    image = textured_image(60, 90)
    mask = (torch.rand(1, 1, 60, 90) * 255).round().to(torch.uint8)
    seen = []
    fn = lambda window: seen.append(window.shape[1]) or window[:, 3:] * window[:, :1]  # noqa: E731
    out = tiled_apply(fn, image, tile=32, overlap=8, multiple=8, extra=mask)
    assert len(seen) > 1 and set(seen) == {4}
    assert torch.allclose(out, mask.float() / 255 * image[:, :1], atol=1e-6)
    with pytest.raises(ParameterError, match="extra channels"):
        tiled_apply(fn, image, tile=32, overlap=8, multiple=8, extra=mask[..., :50])


def test_tiled_network_matches_untiled_within_one_level():
    torch.manual_seed(0)
    net = RestoreGenerator(widths=(8, 16, 16), blocks=(1, 1, 1)).eval()
    torch.nn.init.normal_(net.tail.weight, std=0.05)
    image = textured_image()
    fn = lambda tile: net(tile, torch.zeros_like(tile[:, :1])).clamp(0, 1)  # noqa: E731
    with torch.inference_mode():
        whole = tiled_apply(fn, image, tile=None, overlap=32, multiple=net.size_multiple)
        tiled = tiled_apply(fn, image, tile=128, overlap=32, multiple=net.size_multiple)
    assert (whole - image).abs().mean() > 0.01  # the net does change the image
    assert (tiled - whole).abs().max() < 1 / 255


def test_shift_alignment_matters():
    """Why tiles start at multiples of ``multiple``: the net is not equivariant to other shifts."""
    torch.manual_seed(0)
    net = RestoreGenerator(widths=(8, 16), blocks=(1, 1)).eval()
    torch.nn.init.normal_(net.tail.weight, std=0.05)
    image = textured_image(64, 64)
    with torch.inference_mode():
        out = net(image, torch.zeros_like(image[:, :1]))
        shifted = net(image[..., 2:58, :].contiguous(), torch.zeros(1, 1, 56, 64))
    assert (out[..., 2 + 16:2 + 40, 16:48] - shifted[..., 16:40, 16:48]).abs().max() > 1e-3


def test_bad_arguments():
    image = torch.rand(1, 3, 64, 64)
    with pytest.raises(ParameterError):
        tiled_apply(lambda t: t, image, tile=-1, overlap=8, multiple=8)
    with pytest.raises(ParameterError):
        tiled_apply(lambda t: t, torch.rand(1, 3, 200, 200), tile=32, overlap=32, multiple=8, context=0)
    with pytest.raises(ParameterError):
        tiled_apply(lambda t: t, image[0], tile=32, overlap=8, multiple=8)
    with pytest.raises(ValueError):
        tiled_apply(lambda t: t[..., :8, :8], image, tile=None, overlap=8, multiple=8)


def test_available_memory_is_positive():
    assert available_memory("cpu") > 0


def test_auto_tile_size_follows_memory(monkeypatch):
    monkeypatch.setattr(tiling, "available_memory", lambda device: 64 << 30)
    big = auto_tile_size("cpu", 450.0, context=64, multiple=16)
    assert big == tiling.CPU_MAX_WINDOW - 128 and big % 16 == 0
    monkeypatch.setattr(tiling, "available_memory", lambda device: 40 << 20)  # 40 MB: a quarter is 10 MB
    small = auto_tile_size("cpu", 450.0, context=0, multiple=16)
    assert small % 16 == 0 and tiling.MIN_TILE <= small < 160
    monkeypatch.setattr(tiling, "available_memory", lambda device: 0)
    assert auto_tile_size("cpu", 450.0, context=64, multiple=16) == tiling.MIN_TILE
    with pytest.raises(ParameterError):
        auto_tile_size("cpu", 0.0)
