from pathlib import Path

import pytest
import torch

from patina.losses import (
    CharbonnierLoss,
    FrequencyLoss,
    PerceptualLoss,
    SSIMLoss,
    VGGTeacher,
    charbonnier_loss,
    dice_loss,
    discriminator_loss,
    feature_matching_loss,
    frequency_loss,
    generator_loss,
    gradient_penalty,
    gram_matrix,
    mask_loss,
    r1_penalty,
    ssim_loss,
)

TEACHER = Path(__file__).resolve().parents[2] / "shared/weights/vgg19_relu3_1/vgg_normalised_conv3_1.pth"


@pytest.fixture
def pair():
    torch.manual_seed(0)
    return torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)


def test_reconstruction_losses_are_zero_on_identical_images_and_positive_otherwise(pair):
    x, y = pair
    assert charbonnier_loss(x, x) < 2e-3
    assert ssim_loss(x, x) < 1e-4
    assert frequency_loss(x, x) == 0
    for loss in (charbonnier_loss, ssim_loss, frequency_loss):
        assert loss(x, y) > 0.05


def test_modules_equal_functions(pair):
    x, y = pair
    assert torch.equal(CharbonnierLoss()(x, y), charbonnier_loss(x, y))
    assert torch.equal(SSIMLoss()(x, y), ssim_loss(x, y))
    assert torch.equal(FrequencyLoss()(x, y), frequency_loss(x, y))


@pytest.mark.parametrize("kind", ["bce", "lsgan", "hinge", "wgan"])
def test_adversarial_losses_reward_the_right_side(kind):
    good_real, good_fake = torch.full((4, 1, 8, 8), 3.0), torch.full((4, 1, 8, 8), -3.0)
    assert discriminator_loss(kind, good_real, good_fake) < discriminator_loss(kind, good_fake, good_real)
    assert generator_loss(kind, good_real) < generator_loss(kind, good_fake)


def test_unknown_gan_kind_is_an_error():
    with pytest.raises(ValueError):
        discriminator_loss("nope", torch.zeros(1), torch.zeros(1))


def test_gradient_penalties():
    real = torch.rand(2, 3, 8, 8)
    linear = lambda x: (3.0 * x).sum(dim=(1, 2, 3))  # noqa: E731  gradient 3 everywhere
    assert torch.isclose(r1_penalty(linear, real), torch.tensor(9.0 * 3 * 64))
    expected = (3.0 * (3 * 64) ** 0.5 - 1) ** 2
    assert torch.isclose(gradient_penalty(linear, real, torch.rand(2, 3, 8, 8)), torch.tensor(expected))


def test_feature_matching():
    feats = [torch.rand(1, 4, 8, 8), torch.rand(1, 8, 4, 4)]
    assert feature_matching_loss(feats, feats) == 0
    assert feature_matching_loss(feats, [f + 1 for f in feats]) == pytest.approx(1.0)


def test_mask_losses_prefer_correct_predictions():
    target = (torch.rand(2, 1, 16, 16) > 0.8).float()
    good, bad = (target * 2 - 1) * 8, -(target * 2 - 1) * 8
    assert dice_loss(good, target) < 0.05 < dice_loss(bad, target)
    assert mask_loss(good, target) < mask_loss(bad, target)


def test_gram_matrix_shape_and_symmetry():
    gram = gram_matrix(torch.rand(2, 5, 4, 4))
    assert gram.shape == (2, 5, 5) and torch.allclose(gram, gram.transpose(1, 2))


@pytest.mark.skipif(not TEACHER.exists(), reason="../shared VGG teacher not present")
def test_perceptual_loss_on_the_vgg_teacher(pair):
    x, y = pair
    loss = PerceptualLoss(VGGTeacher.from_file(TEACHER), style_weight=1.0)
    assert loss(x, x) == 0
    blurred = torch.nn.functional.avg_pool2d(x, 3, 1, 1)
    assert 0 < loss(x, blurred) < loss(x, y)
