from pathlib import Path

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


def test_global_context_branch_starts_as_a_no_op_and_is_used_when_given():
    torch.manual_seed(0)
    plain = RestoreGenerator(widths=(8, 16), blocks=(1, 1))
    torch.nn.init.normal_(plain.tail.weight, std=0.05)
    with_context = RestoreGenerator(widths=(8, 16), blocks=(1, 1), global_context=True)
    missing, unexpected = with_context.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(key.startswith("context_net.") for key in missing)
    image, mask = torch.rand(2, 3, 32, 48), torch.zeros(2, 1, 32, 48)
    assert torch.allclose(with_context(image, mask), plain(image, mask), atol=1e-6)

    torch.nn.init.normal_(with_context.context_net.mlp[-1].weight, std=0.1)
    from patina.networks.restore import thumbnail

    context = with_context.describe(thumbnail(image))
    assert context.shape == (2, 4 * 8 + 12)
    assert torch.allclose(with_context(image, mask), with_context(image, mask, context), atol=1e-6)
    other = with_context.describe(thumbnail(image.flip(0)))  # another photo's context changes the result
    assert (with_context(image, mask, other) - with_context(image, mask)).abs().max() > 1e-3


def test_thumbnail_of_integer_pixels_matches_pooling_the_float_image():
    from patina.networks.restore import thumbnail

    pixels = torch.randint(0, 256, (1, 3, 701, 333), dtype=torch.uint8)
    expected = torch.nn.functional.adaptive_avg_pool2d(pixels.float() / 255, 64)
    assert torch.allclose(thumbnail(pixels), expected, atol=1e-5)
    wide = torch.rand(1, 3, 200, 900)
    assert torch.allclose(thumbnail(wide.flip(-1)), thumbnail(wide).flip(-1), atol=1e-6)  # mirror-symmetric bins


def test_efficientnet_lite0_feature_shapes_and_same_padding() -> None:
    from patina.networks.efficientnet import FEATURE_CHANNELS, EfficientNetLite0

    net = EfficientNetLite0().eval()
    assert len(net.state_dict()) == 296  # the teacher file's tensors, names included
    with torch.no_grad():
        features = net.features(torch.randn(1, 3, 100, 75))
        logits = net.classify(features[32])
    for stride, channels in FEATURE_CHANNELS.items():  # TensorFlow "SAME": ceil(size / stride)
        assert features[stride].shape == (1, channels, -(-100 // stride), -(-75 // stride))
    assert logits.shape == (1, 1000)


TEACHER = Path(__file__).resolve().parents[2] / "shared/weights/teachers/efficientnet_lite0"


@pytest.mark.skipif(not TEACHER.is_dir(), reason="../shared/weights/teachers is not on this machine")
def test_the_efficientnet_teacher_loads_and_classifies_training_photos() -> None:
    import numpy as np
    from PIL import Image
    from safetensors.torch import load_file

    from patina.networks.efficientnet import EfficientNetLite0, imagenet_input

    net = EfficientNetLite0().eval()
    net.load_state_dict(load_file(TEACHER / "efficientnet_lite0_imagenet.safetensors"))
    photos = TEACHER.parents[2] / "data/train/imagenet_sample_1k"
    for name, label in (("n02129604_tiger.jpg", 292), ("n02279972_monarch.jpg", 323)):
        picture = Image.open(photos / name).convert("RGB").resize((224, 224), Image.BICUBIC)
        rgb = torch.from_numpy(np.asarray(picture).astype(np.float32) / 255).permute(2, 0, 1)[None]
        with torch.no_grad():
            assert int(net(imagenet_input(rgb)).argmax()) == label
