"""RestorePipeline: tiling equivalence, strength, scratches, parameter checks, Image round trips, sheets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from patina.core.errors import ModelNotFoundError, ParameterError
from patina.imageio import Image, image_to_tensor, tensor_to_image
from patina.networks import DamageMaskNet, RestoreGenerator, ToneCorrector
from patina.pipelines import RestorePipeline, before_after_sheet, comparison_grid
from patina.pipelines.restore import RestoreOptions, mask_pixels
from patina.pipelines import base as base_module
from patina.weights import ModelCard, save_model


def make_models(folder: Path, *, seed: int = 0, default_arch: bool = False) -> Path:
    """A random restore generator (non-zero tail, so it changes images), mask net and identity tone corrector
    saved in ``folder``; returns the generator's path (the others are its siblings)."""
    torch.manual_seed(seed)
    gen_kwargs = {"global_context": True} if default_arch else {"widths": (8, 16, 16), "blocks": (1, 1, 1)}
    mask_kwargs = {} if default_arch else {"widths": (8, 16), "blocks": (1, 1)}
    generator = RestoreGenerator(**gen_kwargs)
    torch.nn.init.normal_(generator.tail.weight, std=0.02 if default_arch else 0.05)
    if generator.context_net is not None:  # switch the whole-photo branch on
        torch.nn.init.normal_(generator.context_net.mlp[-1].weight, std=0.02)
    mask_net = DamageMaskNet(**mask_kwargs)
    path = folder / "restore.safetensors"
    save_model(generator, path, ModelCard(name="restore", arch="RestoreGenerator", kwargs=gen_kwargs,
                                          version="0.0.0-test", dtype="float32"))
    save_model(mask_net, folder / "damage-mask.safetensors",
               ModelCard(name="damage-mask", arch="DamageMaskNet", kwargs=mask_kwargs, version="0.0.0-test",
                         dtype="float32"))
    save_model(ToneCorrector(knots=4, width=8), folder / "restore-tone.safetensors",  # the identity
               ModelCard(name="restore-tone", arch="ToneCorrector", kwargs={"knots": 4, "width": 8},
                         version="0.0.0-test", dtype="float32"))
    return path


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> str:
    return str(make_models(tmp_path_factory.mktemp("models")))


def textured_image(height: int = 300, width: int = 420, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, height), torch.linspace(0, 1, width), indexing="ij")
    image = torch.stack([yy, xx, 0.5 + 0.3 * torch.sin(xx * 50) * torch.cos(yy * 37)])[None]
    return (image + 0.15 * torch.rand(1, 3, height, width, generator=generator)).clamp(0, 1)


def quantise(tensor: torch.Tensor) -> torch.Tensor:
    return (tensor * 255).round() / 255


@pytest.mark.slow
def test_tiled_equals_untiled(model_path):
    image = textured_image()
    whole = RestorePipeline(model=model_path, device="cpu", tile=None)(image)
    tiled = RestorePipeline(model=model_path, device="cpu", tile=128)(image)
    assert whole.shape == image.shape and whole.dtype == torch.float32
    assert (whole - image).abs().mean() > 0.01
    assert (tiled - whole).abs().max() < 1 / 255
    assert (quantise(tiled) - quantise(whole)).abs().max() <= 1 / 255 + 1e-6


@pytest.mark.slow
def test_default_architecture_and_defaults_tile_without_seams(tmp_path):
    """The shipped architecture with the pipeline's default overlap and context: tiled == untiled."""
    path = str(make_models(tmp_path, default_arch=True))
    image = textured_image(280, 336)  # tiled along both axes
    whole = RestorePipeline(model=path, device="cpu", tile=0)(image)
    tiled = RestorePipeline(model=path, device="cpu", tile=128)(image)
    assert (whole - image).abs().mean() > 0.01
    assert (tiled - whole).abs().max() < 1 / 255


@pytest.mark.slow
def test_shipped_model_tiles_without_seams():
    """The registered weights, default settings and with the mirror ensemble (whole-photo context): tiled ==
    untiled."""
    image = textured_image(280, 336)
    for ensemble in (False, True):
        whole = RestorePipeline(device="cpu", tile=0, ensemble=ensemble)(image)
        tiled = RestorePipeline(device="cpu", tile=128, ensemble=ensemble)(image)
        assert (whole - image).abs().mean() > 0.005
        assert (tiled - whole).abs().max() < 1 / 255


def test_ensemble_averages_the_restored_mirror_image(tmp_path):
    """With the whole-photo context: the ensemble pass = mean of the direct and the mirrored restoration,
    each with the context of its own orientation, computed once for the whole image; the default is the
    direct one alone."""
    from patina.networks.restore import thumbnail

    pipe = RestorePipeline(model=str(make_models(tmp_path, default_arch=True)), device="cpu", tile=0, ensemble=True)
    image = textured_image(64, 96)
    with torch.inference_mode():
        mask = torch.sigmoid(pipe.mask_net(image))
        direct = pipe.generator(image, mask)  # context from the image itself
        context = pipe.generator.describe(thumbnail(image.flip(-1)))
        mirrored = pipe.generator(image.flip(-1), mask.flip(-1), context).flip(-1)
    assert (direct - mirrored).abs().max() > 1e-3  # the two passes differ, so averaging is visible
    assert torch.allclose(pipe(image), ((direct + mirrored) / 2).clamp(0, 1), atol=1e-5)
    single = RestorePipeline(model=pipe.model_name, device="cpu", tile=0)
    assert torch.allclose(single(image), direct.clamp(0, 1), atol=1e-5)


def test_strength(model_path):
    image = quantise(textured_image(64, 96))
    zero = RestorePipeline(model=model_path, device="cpu", strength=0.0)(image)
    assert (quantise(zero) - image).abs().max() < 1e-6
    full = RestorePipeline(model=model_path, device="cpu", strength=1.0)(image)
    assert (full - image).abs().max() > 0.05
    half = RestorePipeline(model=model_path, device="cpu", strength=0.5)(image)
    unclamped = image + 0.5 * (full - image)  # where the full result was not clamped, half is midway
    inside = (full > 0) & (full < 1)
    assert torch.allclose(half[inside], unclamped[inside], atol=1e-5)


def test_scratches_off_does_not_consult_the_mask_net(model_path):
    image = textured_image(64, 96)
    pipe = RestorePipeline(model=model_path, device="cpu", scratches=False, ensemble=False)
    assert pipe.mask_net is None

    class Forbidden(torch.nn.Module):
        def forward(self, x):
            raise AssertionError("mask net consulted")

    pipe.mask_net = Forbidden()
    out = pipe(image)
    with torch.inference_mode():
        expected = pipe.generator(image, torch.zeros(1, 1, 64, 96)).clamp(0, 1)
    assert torch.allclose(out, expected, atol=1e-5)


def test_scratches_on_feeds_the_mask(model_path):
    image = textured_image(64, 96)
    pipe = RestorePipeline(model=model_path, device="cpu", ensemble=False)
    with torch.inference_mode():
        mask = torch.sigmoid(pipe.mask_net(image))
        expected = pipe.generator(image, mask).clamp(0, 1)
    assert torch.allclose(pipe(image), expected, atol=1e-5)
    damage = pipe.detect_damage(image)
    assert damage.shape == (1, 1, 64, 96) and torch.allclose(damage, mask, atol=1e-5)
    off = RestorePipeline(model=model_path, device="cpu", scratches=False, ensemble=False)
    assert not torch.allclose(off(image), expected, atol=1e-4)
    assert off.detect_damage(image).shape == (1, 1, 64, 96)  # loaded on demand


def test_given_mask_replaces_the_mask_net_and_is_tiled_like_the_photo(model_path):
    image = textured_image(96, 128)
    painted = np.zeros((96, 128), dtype=np.uint8)
    painted[30:60, 20:110] = 200
    pipe = RestorePipeline(model=model_path, device="cpu", ensemble=False, tile=0, mask=Image(pixels=painted))
    assert pipe.mask_net is None and [role for role, _ in pipe.used_models] == ["generator", "tone"]
    with torch.inference_mode():
        expected = pipe.generator(image, torch.from_numpy(painted / 255).float()[None, None]).clamp(0, 1)
    assert torch.allclose(pipe(image), expected, atol=1e-5)
    tiled = RestorePipeline(model=model_path, device="cpu", ensemble=False, tile=32, overlap=8, context=32,
                            mask=Image(pixels=painted))
    assert (tiled(image) - expected).abs().max() < 1 / 255


def test_damage_mask_is_the_detected_probability_at_8_bits(model_path):
    image = textured_image(64, 96)
    photo = tensor_to_image(image, Image(pixels=np.zeros((1, 1, 3), dtype=np.uint8)))
    pipe = RestorePipeline(model=model_path, device="cpu", ensemble=False)
    mask = pipe.damage_mask(photo)
    assert mask.is_gray and mask.bit_depth == 8 and mask.pixels.shape == (64, 96, 1)
    detected = pipe.detect_damage(image_to_tensor(photo))[0, 0].numpy()
    assert np.abs(mask.pixels[..., 0] / 255 - detected).max() <= 0.5 / 255 + 1e-6
    with_mask = pipe.restore_image(photo, mask=mask)
    given = RestorePipeline(model=model_path, device="cpu", ensemble=False, mask=mask)
    assert np.array_equal(given.restore_image(photo).pixels, with_mask.pixels)
    assert np.array_equal(given.damage_mask(photo).pixels, mask.pixels)
    off = RestorePipeline(model=model_path, device="cpu", scratches=False)
    assert not off.damage_mask(photo).pixels.any()


def test_mask_images_of_any_mode():
    rgb = np.zeros((4, 5, 3), dtype=np.uint16)
    rgb[1] = 65535
    alpha = np.full((4, 5), 65535, dtype=np.uint16)
    alpha[1, :2] = 0
    pixels = mask_pixels(Image(pixels=rgb, alpha=alpha))
    assert pixels.dtype == np.uint8 and pixels.shape == (4, 5)
    assert pixels[1].tolist() == [0, 0, 255, 255, 255] and not pixels[0].any()
    assert mask_pixels(Image(pixels=rgb[..., :1].astype(np.uint8) * 0 + 7)).tolist() == [[7] * 5] * 4


def test_mask_errors(model_path):
    photo = Image(pixels=np.zeros((48, 64, 3), dtype=np.uint8))
    pipe = RestorePipeline(model=model_path, device="cpu", mask=Image(pixels=np.zeros((40, 60, 1), np.uint8)))
    with pytest.raises(ParameterError, match="mask 60x40 does not match the photo 64x48"):
        pipe.restore_image(photo)
    with pytest.raises(ParameterError, match="no-scratches"):
        RestorePipeline(model=model_path, device="cpu", scratches=False, mask=photo)
    with pytest.raises(ParameterError, match="no-scratches"):
        RestoreOptions(scratches=False, mask=(3,))
    with pytest.raises(ParameterError, match="give its image"):
        RestorePipeline(RestoreOptions(model=model_path, mask=(3,)), device="cpu").restore_image(photo)
    with pytest.raises(ParameterError, match="an Image"):
        RestorePipeline(model=model_path, device="cpu", mask=(3,))


@pytest.mark.slow
def test_shipped_mask_marks_a_scratch_and_painting_it_changes_its_treatment():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:128, 0:192]
    gray = (90 + 60 * np.sin(xx / 15) * np.cos(yy / 11) + rng.normal(0, 4, (128, 192))).clip(0, 255)
    gray[:, 60:62] = 250  # a vertical scratch
    photo = Image(pixels=gray.astype(np.uint8)[..., None])
    pipe = RestorePipeline(device="cpu", ensemble=False, tile=0)
    mask = pipe.damage_mask(photo).pixels[..., 0]
    # the scratch (weaker at its ends, on the photo's edge), and nothing of the picture
    assert (mask[:, 60:62] > 128).mean() >= 0.8 and mask[:, 80:].mean() < 5
    painted = pipe.restore_image(photo, mask=Image(pixels=mask)).pixels.astype(int)
    unpainted = pipe.restore_image(photo, mask=Image(pixels=np.zeros_like(mask))).pixels.astype(int)
    change = np.abs(painted - unpainted)[..., 0]
    assert change[:, 58:64].mean() > 10 * change[:, 120:].mean()
    assert painted[:, 60:62].mean() < unpainted[:, 60:62].mean()  # the scratch is inpainted darker, like its surround


@pytest.mark.parametrize("kwargs", [{"strength": -0.1}, {"strength": 1.5}, {"strength": float("nan")},
                                    {"strength": "high"}, {"tile": "big"}, {"tile": -5}, {"tile": 32},
                                    {"tile": 1.5}, {"overlap": -1}, {"device": "quantum"}])
def test_bad_parameters(model_path, kwargs):
    with pytest.raises(ParameterError):
        RestorePipeline(model=model_path, **kwargs)


def test_tile_spellings(model_path):
    assert RestorePipeline(model=model_path, device="cpu", tile="0").tile is None
    assert RestorePipeline(model=model_path, device="cpu", tile="256").tile == 256
    assert RestorePipeline(model=model_path, device="cpu", tile="auto").tile_size() >= 128


def test_unknown_model():
    with pytest.raises(ModelNotFoundError):
        RestorePipeline(model="no-such-model", device="cpu")


def test_sibling_mask_model_is_found(model_path, tmp_path):
    pipe = RestorePipeline(model=model_path, device="cpu")
    assert pipe.mask_model_name == str(Path(model_path).parent / "damage-mask.safetensors")
    lonely = tmp_path / "restore.safetensors"
    lonely.write_bytes(Path(model_path).read_bytes())
    lonely.with_suffix(".json").write_text(Path(model_path).with_suffix(".json").read_text())
    assert RestorePipeline(model=str(lonely), device="cpu", scratches=False).mask_model_name == "damage-mask"


def test_odd_sizes(model_path):
    pipe = RestorePipeline(model=model_path, device="cpu", tile=64, overlap=16)
    for height, width in [(97, 131), (1, 1), (5, 300), (17, 17)]:
        out = pipe(torch.rand(1, 3, height, width))
        assert out.shape == (1, 3, height, width) and torch.isfinite(out).all()


def test_bad_tensor_shape(model_path):
    with pytest.raises(ParameterError):
        RestorePipeline(model=model_path, device="cpu")(torch.rand(1, 1, 32, 32))


# -- Image round trips ---------------------------------------------------------------------------------

def test_restore_image_matches_tensor_path(model_path):
    rng = np.random.default_rng(0)
    image = Image(pixels=rng.integers(0, 256, (70, 90, 3), dtype=np.uint8), exif=b"Exif\x00\x00MM\x00*",
                  icc_profile=b"fake", source_format="PNG")
    pipe = RestorePipeline(model=model_path, device="cpu", tile=32, overlap=8)
    restored = pipe.restore_image(image)
    expected = tensor_to_image(pipe(image_to_tensor(image)), like=image)
    assert restored.pixels.dtype == np.uint8 and restored.pixels.shape == (70, 90, 3)
    assert np.abs(restored.pixels.astype(int) - expected.pixels.astype(int)).max() <= 1
    assert (restored.exif, restored.icc_profile, restored.source_format) == (image.exif, image.icc_profile, "PNG")
    assert not np.array_equal(restored.pixels, image.pixels)


def test_gray_stays_gray(model_path):
    pixels = (np.linspace(0, 255, 50 * 60).reshape(50, 60, 1)).astype(np.uint8)
    restored = RestorePipeline(model=model_path, device="cpu").restore_image(Image(pixels=pixels))
    assert restored.is_gray and restored.pixels.shape == (50, 60, 1)


def test_alpha_is_kept_exactly(model_path):
    rng = np.random.default_rng(1)
    alpha = rng.integers(0, 256, (40, 52), dtype=np.uint8)
    image = Image(pixels=rng.integers(0, 256, (40, 52, 3), dtype=np.uint8), alpha=alpha)
    restored = RestorePipeline(model=model_path, device="cpu").restore_image(image)
    assert np.array_equal(restored.alpha, alpha) and restored.alpha is not alpha


def test_sixteen_bit_stays_sixteen_bit(model_path):
    rng = np.random.default_rng(2)
    image = Image(pixels=rng.integers(0, 65536, (40, 52, 3), dtype=np.uint16))
    restored = RestorePipeline(model=model_path, device="cpu").restore_image(image)
    assert restored.bit_depth == 16 and restored.pixels.dtype == np.uint16
    untouched = RestorePipeline(model=model_path, device="cpu", strength=0.0).restore_image(image)
    assert np.array_equal(untouched.pixels, image.pixels)  # 16-bit precision survives the float path


def test_pixel_sink_equals_tensor_to_image(monkeypatch):
    monkeypatch.setattr(base_module, "CONVERT_ROWS", 7)
    rng = np.random.default_rng(3)
    for pixels in (rng.integers(0, 256, (30, 20, 1), dtype=np.uint8),
                   rng.integers(0, 65536, (30, 20, 3), dtype=np.uint16)):
        like = Image(pixels=pixels, alpha=np.full((30, 20), 9, pixels.dtype))
        result = torch.rand(1, 3, 60, 40)
        sink = base_module.PixelSink(like, 60, 40)
        sink(0, result[..., :25, :])  # bands of any height, in order
        sink(25, result[..., 25:, :])
        ours, reference = sink.image(), tensor_to_image(result, like=like)
        assert np.array_equal(ours.pixels, reference.pixels) and np.array_equal(ours.alpha, reference.alpha)
        assert ours.alpha.shape == (60, 40)
    with pytest.raises(RuntimeError, match="rows"):
        base_module.PixelSink(like, 60, 40).image()


# -- sheets ----------------------------------------------------------------------------------------------

def test_before_after_sheet():
    before = np.zeros((1000, 600, 3), np.uint8)
    after = np.full((1000, 600, 1), 65535, np.uint16)
    sheet = before_after_sheet(before, after, max_height=300)
    assert sheet.dtype == np.uint8 and sheet.ndim == 3 and sheet.shape[2] == 3
    assert 300 < sheet.shape[0] < 340 and sheet.shape[1] >= 2 * 180
    assert sheet[-1, 0].tolist() == [0, 0, 0] and sheet[-1, -1].tolist() == [255, 255, 255]
    label_band = sheet[:20, :180]
    assert len(np.unique(label_band)) > 1  # the label is drawn
    rng = np.random.default_rng(0)
    small = before_after_sheet(rng.random((40, 30)), rng.random((80, 60, 3)).astype(np.float32))
    assert small.shape[0] > 80  # never upsampled beyond the larger input; both at the same height


def test_comparison_grid():
    pairs = [("one", np.zeros((50, 80, 3), np.uint8), np.ones((50, 80, 3), np.uint8) * 200),
             ("two", np.zeros((90, 40), np.uint8), np.zeros((90, 40), np.uint8))]
    grid = comparison_grid(pairs, max_height=64)
    assert grid.dtype == np.uint8 and grid.shape[2] == 3 and grid.shape[0] > 2 * 64
    with pytest.raises(ParameterError):
        comparison_grid([])


@pytest.mark.slow
def test_import_stays_light():
    code = ("import sys, patina.pipelines; "
            "bad = [m for m in sys.modules "
            "if m.split('.')[0] in ('fastapi', 'ray') or m.startswith('patina.training')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
