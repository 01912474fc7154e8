"""`patina restore`: folders, names, formats, --compare, --skip-existing and bad files in a batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from patina.cli.app import app
from patina.imageio import Image, read_image, write_image
from patina.networks import DamageMaskNet, RestoreGenerator
from patina.weights import ModelCard, save_model

runner = CliRunner()


def make_models(folder: Path) -> Path:
    """Small random restore generator (non-zero tail) + sibling damage-mask net; returns the generator's path."""
    torch.manual_seed(0)
    generator = RestoreGenerator(widths=(8, 16), blocks=(1, 1))
    torch.nn.init.normal_(generator.tail.weight, std=0.05)
    path = folder / "restore.safetensors"
    save_model(generator, path, ModelCard(name="restore", arch="RestoreGenerator",
                                          kwargs={"widths": [8, 16], "blocks": [1, 1]}, version="0.0.0-test"))
    save_model(DamageMaskNet(widths=(8, 16), blocks=(1, 1)), folder / "damage-mask.safetensors",
               ModelCard(name="damage-mask", arch="DamageMaskNet", kwargs={"widths": [8, 16], "blocks": [1, 1]},
                         version="0.0.0-test"))
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> str:
    return str(make_models(tmp_path_factory.mktemp("models")))


@pytest.fixture
def photos(tmp_path) -> Path:
    """photos/a.jpg (RGB 8-bit), photos/old/b.png (gray 16-bit), photos/old/deep/c.tif (RGBA 8-bit)."""
    rng = np.random.default_rng(0)
    root = tmp_path / "photos"
    (root / "old" / "deep").mkdir(parents=True)
    write_image(root / "a.jpg", Image(pixels=rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)))
    write_image(root / "old" / "b.png", Image(pixels=rng.integers(0, 65536, (40, 30, 1), dtype=np.uint16)))
    write_image(root / "old" / "deep" / "c.tif", Image(pixels=rng.integers(0, 256, (33, 45, 3), dtype=np.uint8),
                                                       alpha=rng.integers(0, 256, (33, 45), dtype=np.uint8)))
    return root


def invoke(*args: str):
    return runner.invoke(app, ["restore", *args])


def test_folder_recursion_keeps_names_formats_and_depth(model, photos, tmp_path):
    out = tmp_path / "out"
    result = invoke(str(photos), "-o", str(out), "--model", model, "--tile", "32", "--overlap", "8")
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "a.jpg", "old/b.png", "old/deep/c.tif"]
    gray = read_image(out / "old" / "b.png")
    assert gray.is_gray and gray.bit_depth == 16 and gray.pixels.shape == (40, 30, 1)
    rgba = read_image(out / "old" / "deep" / "c.tif")
    assert np.array_equal(rgba.alpha, read_image(photos / "old" / "deep" / "c.tif").alpha)
    assert "restored 3 of 3" in result.output


def test_compare_writes_sheets(model, photos, tmp_path):
    out = tmp_path / "out"
    result = invoke(str(photos), str(photos / "a.jpg"), "-o", str(out), "--model", model, "--compare",
                    "--no-scratches", "--strength", "0.5")
    assert result.exit_code == 0, result.output
    for name in ("a.jpg", "old/b.jpg", "old/deep/c.jpg"):
        sheet = read_image(out / "compare" / name)
        assert sheet.pixels.shape[2] == 3 and sheet.width > sheet.height
    assert "restored 3 of 3" in result.output  # the file given twice is restored once


def test_corrupt_file_is_reported_and_the_batch_goes_on(model, photos, tmp_path):
    (photos / "old" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    out = tmp_path / "out"
    result = invoke(str(photos), "-o", str(out), "--model", model)
    assert result.exit_code == 1
    assert "broken.jpg" in result.output and "error:" in result.output
    assert (out / "a.jpg").is_file() and (out / "old" / "b.png").is_file()
    assert (out / "old" / "deep" / "c.tif").is_file()
    assert not (out / "old" / "broken.jpg").exists()
    assert "1 failed" in result.output


def test_missing_input_is_reported(model, photos, tmp_path):
    result = invoke(str(tmp_path / "nope.jpg"), str(photos / "a.jpg"), "-o", str(tmp_path / "out"), "--model", model)
    assert result.exit_code == 1 and "nope.jpg" in result.output
    assert (tmp_path / "out" / "a.jpg").is_file()


def test_skip_existing_and_outputs_inside_the_input(model, photos):
    out = photos / "restored"  # inside the input folder: its files must not be restored again
    assert invoke(str(photos), "-o", str(out), "--model", model).exit_code == 0
    stamp = (out / "a.jpg").stat().st_mtime_ns
    result = invoke(str(photos), "-o", str(out), "--model", model, "--skip-existing")
    assert result.exit_code == 0, result.output
    assert "3 skipped" in result.output and (out / "a.jpg").stat().st_mtime_ns == stamp
    assert not (out / "restored").exists()


def test_never_overwrites_the_input(model, photos):
    before = (photos / "a.jpg").read_bytes()
    result = invoke(str(photos / "a.jpg"), "-o", str(photos), "--model", model)
    assert result.exit_code == 1 and "overwrite" in result.output
    assert (photos / "a.jpg").read_bytes() == before


@pytest.mark.parametrize("option", [["--strength", "2"], ["--tile", "huge"], ["--model", "nope"]])
def test_bad_options_fail_before_any_work(model, photos, tmp_path, option):
    args = ["--model", model, *option] if option[0] != "--model" else option
    result = invoke(str(photos), "-o", str(tmp_path / "out"), *args)
    assert result.exit_code == 2 and "error:" in result.output
    assert not (tmp_path / "out").exists()


def test_help_mentions_the_options():
    result = invoke("--help")
    assert result.exit_code == 0
    for option in ("--output", "--tile", "--overlap", "--no-scratches", "--strength", "--compare", "--device",
                   "--mask", "--save-mask"):
        assert option in result.output


# -- damage masks --------------------------------------------------------------------------------------------
def outputs(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_saved_masks_restore_to_the_same_bytes(model, photos, tmp_path):
    tiles = ["--model", model, "--tile", "32", "--overlap", "8"]
    saved = tmp_path / "saved"
    result = invoke(str(photos), "-o", str(saved), "--save-mask", *tiles)
    assert result.exit_code == 0, result.output
    for name, size in (("a", (48, 64)), ("old/b", (40, 30)), ("old/deep/c", (33, 45))):
        mask = read_image(saved / f"{name}.mask.png")
        assert mask.is_gray and mask.bit_depth == 8 and mask.alpha is None and mask.pixels.shape[:2] == size
    by_folder = tmp_path / "by-folder"  # the masks found by name beside the outputs they came with
    assert invoke(str(photos), "-o", str(by_folder), "--mask", str(saved), *tiles).exit_code == 0
    restored = {name: data for name, data in outputs(saved).items() if ".mask." not in name}
    assert outputs(by_folder) == restored
    by_file = tmp_path / "by-file"
    result = invoke(str(photos / "a.jpg"), "-o", str(by_file), "--mask", str(saved / "a.mask.png"), *tiles)
    assert result.exit_code == 0, result.output
    assert outputs(by_file) == {"a.jpg": restored["a.jpg"]}


def test_a_painted_mask_is_used_and_saved_as_given(model, photos, tmp_path):
    painted = np.zeros((48, 64, 4), dtype=np.uint8)  # RGBA: white paint on a transparent canvas
    painted[10:20, 5:40] = 255
    write_image(tmp_path / "paint.png", Image(pixels=painted[..., :3], alpha=painted[..., 3]))
    out = tmp_path / "out"
    result = invoke(str(photos / "a.jpg"), "-o", str(out), "--model", model, "--mask", str(tmp_path / "paint.png"),
                    "--save-mask")
    assert result.exit_code == 0, result.output
    assert np.array_equal(read_image(out / "a.mask.png").pixels[..., 0], painted[..., 0])
    detected = invoke(str(photos / "a.jpg"), "-o", str(tmp_path / "detected"), "--model", model)
    assert detected.exit_code == 0 and (tmp_path / "detected" / "a.jpg").read_bytes() != (out / "a.jpg").read_bytes()


def test_mask_errors(model, photos, tmp_path):
    write_image(tmp_path / "small.png", Image(pixels=np.zeros((40, 60, 1), dtype=np.uint8)))
    mismatch = invoke(str(photos / "a.jpg"), "-o", str(tmp_path / "o1"), "--model", model,
                      "--mask", str(tmp_path / "small.png"))
    assert mismatch.exit_code == 1 and "mask 60x40 does not match the photo 64x48" in mismatch.output
    assert not (tmp_path / "o1" / "a.jpg").exists()
    contradiction = invoke(str(photos), "-o", str(tmp_path / "o2"), "--model", model, "--no-scratches",
                           "--mask", str(tmp_path / "small.png"))
    assert contradiction.exit_code == 2 and "no-scratches" in contradiction.output
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    unreadable = invoke(str(photos), "-o", str(tmp_path / "o3"), "--model", model,
                        "--mask", str(tmp_path / "broken.png"))
    assert unreadable.exit_code == 2 and "broken.png" in unreadable.output
    assert not (tmp_path / "o2").exists() and not (tmp_path / "o3").exists()
    masks = tmp_path / "masks"  # a folder with the mask of a.jpg only
    masks.mkdir()
    write_image(masks / "a.png", Image(pixels=np.zeros((48, 64, 1), dtype=np.uint8)))
    partial = invoke(str(photos), "-o", str(tmp_path / "o4"), "--model", model, "--mask", str(masks))
    assert partial.exit_code == 1 and "no mask for b.png" in partial.output and "no mask for c.tif" in partial.output
    assert outputs(tmp_path / "o4").keys() == {"a.jpg"}


@pytest.mark.slow
def test_sample_photo_restores_with_the_shipped_weights(tmp_path):
    """The README's first command: the bundled sample through the registered models, with a sheet."""
    result = runner.invoke(app, ["restore", "--sample", "-o", str(tmp_path), "--compare"])
    assert result.exit_code == 0, result.output
    source = read_image(Path(__file__).resolve().parents[1] / "src/patina/assets/sample-old-photo.jpg")
    restored = read_image(tmp_path / "sample-old-photo.jpg")
    assert restored.pixels.shape == source.pixels.shape
    before, after = source.pixels.astype(float), restored.pixels.astype(float)
    assert np.abs(after - before).mean() > 3  # visibly changed
    assert after.std() > before.std()  # fading lifted: more contrast than the faded print
    assert (tmp_path / "compare/sample-old-photo.jpg").is_file()


def test_no_inputs_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["restore", "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "give image files" in result.output


@pytest.mark.slow
def test_exit_status_reaches_the_shell(tmp_path):
    """Through the installed entry point (not CliRunner): a failed file gives exit status 1, usage errors 2."""
    import subprocess
    import sys

    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    failed = subprocess.run([sys.executable, "-m", "patina", "restore", str(broken), "-o", str(tmp_path / "out")],
                            capture_output=True, text=True)
    assert failed.returncode == 1, failed.stderr
    assert "broken.jpg" in failed.stderr and "Traceback" not in failed.stderr
    usage = subprocess.run([sys.executable, "-m", "patina", "restore", "--strength"], capture_output=True, text=True)
    assert usage.returncode == 2
