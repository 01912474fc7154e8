"""What every `patina` command shares: --version, -h, --quiet and --no-progress, flags shown as flags, output
naming (--format, --suffix, --quality), one line per file off a terminal, clear messages for missing files and
models, and the photo's XMP / IPTC carried into the outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyexiv2
import pytest
import typer
from PIL import Image as PILImage
from typer.testing import CliRunner

from patina.cli.app import app
from patina.cli.terminal import patina_version
from patina.imageio import Image, read_image, write_image

runner = CliRunner()


def _commands(group=None, path=()):  # noqa: ANN001, ANN202 - Typer's vendored click types
    """(path of names) for every command and group of the tree."""
    group = group or typer.main.get_command(app)
    yield path
    for name, command in getattr(group, "commands", {}).items():
        yield from _commands(command, (*path, name))


ALL_COMMANDS = list(_commands())


def test_the_tree_is_found():
    names = {" ".join(path) for path in ALL_COMMANDS}
    assert {"", "restore", "archive import", "train restore", "eval upscale", "serve"} <= names


SAMPLE_COMMANDS = [(), ("restore",), ("archive", "import"), ("train", "restore"), ("eval", "restore"), ("serve",)]
"""A few of the tree, for the fast lane; the full suite walks every command (rendering each help takes time)."""


@pytest.mark.parametrize("path", [
    pytest.param(path, marks=() if path in SAMPLE_COMMANDS else pytest.mark.slow) for path in ALL_COMMANDS
], ids=lambda path: " ".join(path) or "patina")
def test_every_command_takes_version_help_and_quiet(path):
    version = runner.invoke(app, [*path, "--version"])
    assert version.exit_code == 0, version.output
    assert version.output.strip() == f"patina {patina_version()}"
    for help_flag in ("-h", "--help"):
        shown = runner.invoke(app, [*path, "-q", "--no-progress", help_flag], env={"COLUMNS": "200"})
        assert shown.exit_code == 0, shown.output
        assert "Usage:" in shown.output and "--quiet" in shown.output and "--version" in shown.output
        assert "<bool>" not in shown.output  # flags take no value, and do not look as if they did


@pytest.fixture
def photo(tmp_path) -> Path:
    """A gray-ish 8-bit JPEG with an XMP title, rights and keywords and an IPTC credit, and an EXIF artist."""
    rng = np.random.default_rng(1)
    pixels = (rng.integers(90, 160, (40, 1, 1)) + rng.integers(0, 20, (40, 56, 3))).astype(np.uint8)
    path = tmp_path / "in" / "Portrait_1923.jpg"
    path.parent.mkdir()
    exif = PILImage.Exif()
    exif[0x013B] = "A. Photographer"  # Artist
    PILImage.fromarray(pixels).save(path, quality=95, exif=exif.tobytes())
    with pyexiv2.Image(str(path)) as image:
        image.modify_xmp({"Xmp.dc.title": {'lang="x-default"': "Grandmother at the mill"},
                          "Xmp.dc.rights": {'lang="x-default"': "CC BY 4.0, the Peeters family"},
                          "Xmp.dc.subject": ["mill", "portrait", "1923"],
                          "Xmp.tiff.Orientation": "6"})
        image.modify_iptc({"Iptc.Application2.Credit": "Peeters family archive",
                           "Iptc.Application2.Keywords": ["mill", "portrait"]})
    return path


@pytest.mark.slow
@pytest.mark.parametrize("command", [["restore"], ["upscale", "--scale", "2"], ["colorize", "--force"]])
def test_xmp_iptc_and_exif_are_carried_into_the_outputs(photo, tmp_path, command):
    out = tmp_path / "out"
    result = runner.invoke(app, [*command, str(photo), "-o", str(out), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    with pyexiv2.Image(str(out / photo.name)) as image:
        xmp, iptc, exif = image.read_xmp(), image.read_iptc(), image.read_exif()
    assert xmp["Xmp.dc.title"] == {'lang="x-default"': "Grandmother at the mill"}
    assert xmp["Xmp.dc.rights"] == {'lang="x-default"': "CC BY 4.0, the Peeters family"}
    assert xmp["Xmp.dc.subject"] == ["mill", "portrait", "1923"]
    assert "Xmp.tiff.Orientation" not in xmp  # about the source's pixels, not the new file's
    assert iptc["Iptc.Application2.Credit"] == "Peeters family archive"
    assert iptc["Iptc.Application2.Keywords"] == ["mill", "portrait"]
    assert exif["Exif.Image.Artist"] == "A. Photographer"


@pytest.mark.slow
def test_format_suffix_and_quality_name_and_encode_the_outputs(photo, tmp_path):
    out = tmp_path / "out"
    for quality, folder in ((30, "low"), (95, "high")):
        result = runner.invoke(app, ["restore", str(photo), "-o", str(out / folder), "--format", "webp",
                                     "--suffix", "_restored", "--quality", str(quality), "--device", "cpu"])
        assert result.exit_code == 0, result.output
    low, high = out / "low" / "Portrait_1923_restored.webp", out / "high" / "Portrait_1923_restored.webp"
    assert read_image(low).source_format == "WEBP"
    assert low.stat().st_size < high.stat().st_size
    with pyexiv2.Image(str(low)) as image:  # WebP has no IPTC block; the XMP goes along
        assert image.read_xmp()["Xmp.dc.title"] == {'lang="x-default"': "Grandmother at the mill"}


def test_bad_format_and_quality_are_refused_before_any_work(photo, tmp_path):
    for args, message in ((["--format", "bmp"], "--format must be one of"),
                          (["--quality", "0"], "--quality"), (["--suffix", "a/b"], "--suffix")):
        result = runner.invoke(app, ["restore", str(photo), "-o", str(tmp_path / "out"), *args])
        assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_off_a_terminal_each_file_is_one_line_and_quiet_prints_nothing(photo, tmp_path):
    second = photo.with_name("second.png")
    write_image(second, Image(pixels=np.full((40, 40, 3), 120, np.uint8)))
    result = runner.invoke(app, ["restore", str(photo.parent), "-o", str(tmp_path / "out"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0] == f"restored {photo} -> {tmp_path / 'out' / photo.name}"
    assert lines[1] == f"restored {second} -> {tmp_path / 'out' / second.name}"
    assert lines[2].startswith("restored 2 of 2 images into")
    quiet = runner.invoke(app, ["restore", str(photo.parent), "-o", str(tmp_path / "quiet"), "-q"])
    assert quiet.exit_code == 0 and quiet.output == ""
    assert (tmp_path / "quiet" / photo.name).is_file() and (tmp_path / "quiet" / second.name).is_file()
    # --quiet is for one run only: the next one reports again
    again = runner.invoke(app, ["restore", str(second), "-o", str(tmp_path / "again")])
    assert "restored 1 of 1 image" in again.output


def test_errors_are_printed_even_with_quiet(tmp_path):
    result = runner.invoke(app, ["restore", str(tmp_path / "missing.jpg"), "-o", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 1
    assert result.output.strip() == f"error: {tmp_path / 'missing.jpg'}: no such file or folder"


@pytest.mark.slow
def test_a_missing_model_file_is_not_an_unknown_model(photo, tmp_path):
    missing = tmp_path / "nothere.safetensors"
    result = runner.invoke(app, ["upscale", str(photo), "-o", str(tmp_path / "out"), "--model", str(missing)])
    assert result.exit_code == 2
    assert f"model file {missing} not found" in result.output and "unknown model" not in result.output
    unknown = runner.invoke(app, ["upscale", str(photo), "-o", str(tmp_path / "out"), "--model", "nothere"])
    assert "unknown model 'nothere'; known:" in unknown.output


def test_serve_without_the_service_extras_says_what_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if `pip install -e .` without [service]
    from patina.cli.app import main

    monkeypatch.setattr(sys, "argv", ["patina", "serve"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2


def test_a_bare_weights_name_is_found_in_the_models_folder(tmp_path, monkeypatch):
    from patina.core.errors import ModelNotFoundError
    from patina.weights.registry import MODELS_DIR_ENV, resolve

    (tmp_path / "mine.safetensors").write_bytes(b"weights")
    monkeypatch.chdir(tmp_path.parent)
    monkeypatch.delenv(MODELS_DIR_ENV, raising=False)
    with pytest.raises(ModelNotFoundError, match="not found"):
        resolve("mine.safetensors")
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    assert resolve("mine.safetensors") == tmp_path / "mine.safetensors"
    with pytest.raises(ModelNotFoundError):
        resolve("other.safetensors")
