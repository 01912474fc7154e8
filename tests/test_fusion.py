"""Style feature fusion (AdaIN, WCT: alpha, weighted style mixes) and the style decoder's shapes."""

from __future__ import annotations

import pytest
import torch

from patina.core.errors import ParameterError
from patina.networks import StyleDecoder, StyleEncoder
from patina.ops.fusion import adain, mean_std, wct


def features(seed: int, channels: int = 6, size: int = 12) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    mix = torch.randn(channels, channels, generator=generator)
    raw = torch.randn(1, channels, size, size, generator=generator)
    return torch.einsum("dc,nchw->ndhw", mix, raw) * (seed + 1) + seed


def test_adain_takes_the_style_statistics_and_alpha_blends():
    content, style = features(0), features(3)
    fused = adain(content, [style])
    for got, want in zip(mean_std(fused), mean_std(style), strict=True):
        assert torch.allclose(got, want, atol=1e-3, rtol=1e-3)
    assert torch.equal(adain(content, [style], alpha=0.0), content)
    half = adain(content, [style], alpha=0.5)
    assert torch.allclose(half, (content + fused) / 2, atol=1e-5)


def test_weighted_style_mix():
    content, first, second = features(0), features(1), features(2)
    assert torch.allclose(adain(content, [first, second], weights=[1, 0]), adain(content, [first]), atol=1e-5)
    mixed_mean, _ = mean_std(adain(content, [first, second], weights=[1, 3]))
    expected = 0.25 * mean_std(first)[0] + 0.75 * mean_std(second)[0]
    assert torch.allclose(mixed_mean, expected, atol=1e-3)


def test_wct_takes_the_style_covariance():
    content, style = features(0, size=20), features(2, size=20)
    fused = wct(content, [style])
    centred = lambda x: x[0].flatten(1) - x[0].flatten(1).mean(dim=1, keepdim=True)  # noqa: E731
    cov = lambda x: centred(x) @ centred(x).T / (x[0].flatten(1).shape[1] - 1)  # noqa: E731
    assert torch.allclose(cov(fused), cov(style), rtol=1e-2, atol=1e-2 * float(cov(style).abs().max()))
    assert torch.allclose(fused[0].flatten(1).mean(dim=1), style[0].flatten(1).mean(dim=1), atol=1e-3)
    assert torch.equal(wct(content, [style], alpha=0.0), content)


@pytest.mark.parametrize("fuse", [adain, wct])
def test_fusion_rejects_bad_parameters(fuse):
    content = features(0)
    with pytest.raises(ParameterError, match="alpha"):
        fuse(content, [content], alpha=1.5)
    with pytest.raises(ParameterError, match="at least one style"):
        fuse(content, [])
    with pytest.raises(ParameterError, match="weights"):
        fuse(content, [content, content], weights=[1, -1])


def test_decoder_inverts_the_encoder_resolution():
    encoder, decoder = StyleEncoder(widths=(8, 16, 24)), StyleDecoder(widths=(8, 16, 24))
    image = torch.rand(1, 3, 48, 64)
    assert decoder(encoder(image)[-1]).shape == image.shape
