"""`patina.restore(...)` and the other one-call functions: Pillow images, NumPy arrays, Images and paths in, the
same kind out, references as pictures, and clear errors for what is not a picture."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image as PILImage

import patina
from patina.core.errors import ParameterError
from patina.imageio import Image, read_image, write_image
from patina.pipelines import RestorePipeline


@pytest.fixture(scope="module")
def pixels() -> np.ndarray:
    rng = np.random.default_rng(3)
    base = np.linspace(60, 190, 64, dtype=np.float32)[None, :, None] + rng.normal(0, 12, (48, 64, 3))
    return base.clip(0, 255).astype(np.uint8)


def test_pillow_in_pillow_out_matches_the_pipeline_on_the_same_pixels(pixels, tmp_path):
    path = tmp_path / "photo.png"
    write_image(path, Image(pixels=pixels))
    expected = RestorePipeline(strength=0.7, device="cpu").process(read_image(path)).pixels
    result = patina.restore(PILImage.fromarray(pixels), strength=0.7, device="cpu")
    assert isinstance(result, PILImage.Image) and result.mode == "RGB" and result.size == (64, 48)
    np.testing.assert_array_equal(np.asarray(result), expected)
    from_path = patina.restore(path, strength=0.7, device="cpu")
    assert isinstance(from_path, Image)
    np.testing.assert_array_equal(from_path.pixels, expected)


def test_arrays_keep_their_shape_and_type(pixels):
    gray = pixels[:, :, 0]
    eight = patina.restore(gray, device="cpu")
    assert eight.shape == (48, 64) and eight.dtype == np.uint8
    sixteen = patina.restore(gray.astype(np.uint16) * 257, device="cpu")
    assert sixteen.shape == (48, 64) and sixteen.dtype == np.uint16
    floats = patina.upscale(pixels.astype(np.float32) / 255, scale=2, device="cpu")
    assert floats.shape == (96, 128, 3) and floats.dtype == np.float32
    assert 0.0 <= floats.min() and floats.max() <= 1.0
    rgba = np.dstack([pixels, np.full((48, 64), 200, np.uint8)])
    with_alpha = patina.restore(rgba, device="cpu")
    assert with_alpha.shape == (48, 64, 4) and (with_alpha[:, :, 3] == 200).all()


def test_the_callers_array_is_not_written_to(pixels):
    given = pixels.copy()
    given.setflags(write=False)
    patina.restore(given, device="cpu")
    np.testing.assert_array_equal(given, pixels)


def test_references_are_pictures_too(pixels):
    gray = PILImage.fromarray(pixels).convert("L")
    no_damage = np.zeros((48, 64), np.uint8)
    masked = patina.restore(gray, mask=no_damage, device="cpu")
    assert isinstance(masked, PILImage.Image) and masked.mode == "L"
    coloured = patina.colorize(gray, like=PILImage.fromarray(pixels), device="cpu")
    assert coloured.mode == "RGB" and coloured.size == gray.size


@pytest.mark.parametrize("bad, message", [
    (b"not a picture", "expected an image"),
    (np.zeros((4, 4, 5), np.uint8), "(H, W, 1..4)"),
    (np.zeros((4, 4), np.int32), "uint8, uint16 or float"),
    (np.full((4, 4), np.nan, np.float32), "finite values"),
])
def test_what_is_not_a_picture_is_a_clear_error(bad, message):
    with pytest.raises(ParameterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        patina.restore(bad, device="cpu")


def test_bad_options_are_the_pipelines_errors(pixels):
    with pytest.raises(ParameterError, match="strength"):
        patina.restore(pixels, strength=5)
    with pytest.raises(AttributeError):
        patina.not_a_function  # noqa: B018
