import pytest
import torch

from patina.networks import DamageMaskNet, PatchDiscriminator, RestoreGenerator


def test_generator_shapes_and_size_multiple():
    generator = RestoreGenerator(widths=(8, 16, 32), blocks=(1, 1, 1))
    assert generator.size_multiple == 8
    image = torch.rand(2, 3, 48, 64)
    out = generator(image, torch.zeros(2, 1, 48, 64))
    assert out.shape == image.shape


def test_generator_starts_as_identity():
    generator = RestoreGenerator(widths=(8, 16), blocks=(1, 1))
    image = torch.rand(1, 3, 32, 32)
    assert torch.equal(generator(image, torch.rand(1, 1, 32, 32)), image)


def test_generator_uses_the_mask_channel():
    torch.manual_seed(0)
    generator = RestoreGenerator(widths=(8, 16), blocks=(1, 1))
    torch.nn.init.normal_(generator.tail.weight, std=0.1)
    image = torch.rand(1, 3, 32, 32)
    assert not torch.allclose(generator(image, torch.zeros(1, 1, 32, 32)), generator(image, torch.ones(1, 1, 32, 32)))


def test_default_models_are_small():
    assert sum(p.numel() for p in RestoreGenerator().parameters()) < 3_000_000
    assert sum(p.numel() for p in DamageMaskNet().parameters()) < 1_000_000


def test_mask_net_outputs_one_logit_per_pixel():
    net = DamageMaskNet(widths=(8, 16), blocks=(1, 1))
    assert net(torch.rand(2, 3, 32, 48)).shape == (2, 1, 32, 48)


def test_patch_discriminator_is_spectrally_normalised_and_patchwise():
    disc = PatchDiscriminator(in_channels=6, width=16, layers=3)
    logits = disc(torch.rand(2, 6, 128, 128))
    assert logits.shape[0] == 2 and logits.shape[1] == 1 and logits.shape[2] > 1
    convs = [m for m in disc.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(hasattr(conv, "parametrizations") for conv in convs)
    assert len(disc.features(torch.rand(1, 6, 64, 64))) == 4


def test_unet_rejects_mismatched_widths():
    with pytest.raises(ValueError):
        RestoreGenerator(widths=(8, 16), blocks=(1,))
