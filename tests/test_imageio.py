"""Tests of patina.imageio: formats, bit depths, alpha, metadata, limits, errors, tensors, discovery."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image as PILImage
from PIL import ImageCms, ImageOps

import patina.imageio.write as write_module
from patina.core.errors import ImageReadError, ImageWriteError, ParameterError
from patina.imageio import (
    DEFAULT_MAX_PIXELS,
    Image,
    find_images,
    image_to_tensor,
    is_image_file,
    make_thumbnail,
    read_image,
    resize_alpha,
    tensor_to_image,
    write_image,
)

SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
MAKE = 0x010F
ORIENTATION = 0x0112


# ----------------------------------------------------------------------------- helpers


def _random(shape: tuple[int, ...], dtype: type, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, np.iinfo(dtype).max + 1, size=shape, dtype=dtype)


def _smooth(height: int, width: int, channels: int, dtype: type = np.uint8) -> np.ndarray:
    """A smooth colour ramp, which lossy codecs reproduce closely."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    planes = [x / width, y / height, (x + y) / (width + height)][:channels]
    return np.rint(np.stack(planes, axis=2) * np.iinfo(dtype).max).astype(dtype)


def _exif(**tags: object) -> bytes:
    exif = PILImage.Exif()
    for tag, value in tags.items():
        exif[{"make": MAKE, "orientation": ORIENTATION}[tag]] = value
    return exif.tobytes()


def _parse_exif(raw: bytes) -> PILImage.Exif:
    exif = PILImage.Exif()
    exif.load(raw)
    return exif


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels but that holds almost no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 10)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _layout(channels: int, alpha: bool, dtype: type, height: int = 23, width: int = 31) -> Image:
    return Image(
        pixels=_random((height, width, channels), dtype, seed=1),
        alpha=_random((height, width), dtype, seed=2) if alpha else None,
    )


# ----------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("suffix", [".png", ".tif", ".tiff"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels,alpha", [(1, False), (1, True), (3, False), (3, True)])
def test_lossless_round_trip_is_exact(
    tmp_path: Path, suffix: str, dtype: type, channels: int, alpha: bool
) -> None:
    image = _layout(channels, alpha, dtype)
    path = tmp_path / f"image{suffix}"
    write_image(path, image)
    back = read_image(path)

    assert back.pixels.dtype == dtype and back.bit_depth == image.bit_depth
    assert back.source_format == ("PNG" if suffix == ".png" else "TIFF")
    if suffix != ".png" and dtype == np.uint16 and channels == 1 and alpha:
        # 16-bit gray+alpha TIFF is stored as RGBA: same values, three channels
        np.testing.assert_array_equal(back.pixels, np.repeat(image.pixels, 3, axis=2))
    else:
        np.testing.assert_array_equal(back.pixels, image.pixels)
    if alpha:
        np.testing.assert_array_equal(back.alpha, image.alpha)
    else:
        assert back.alpha is None


@pytest.mark.parametrize("suffix,tolerance", [(".jpg", 2.0), (".jpeg", 2.0), (".webp", 3.0)])
def test_lossy_round_trip_is_close(tmp_path: Path, suffix: str, tolerance: float) -> None:
    image = Image(_smooth(64, 96, 3))
    write_image(tmp_path / f"a{suffix}", image, quality=95)
    back = read_image(tmp_path / f"a{suffix}")
    assert back.pixels.shape == (64, 96, 3) and back.pixels.dtype == np.uint8
    assert np.abs(back.pixels.astype(float) - image.pixels).mean() < tolerance


@pytest.mark.parametrize("suffix", [".jpg", ".webp"])
def test_16bit_is_rounded_to_8bit_for_jpeg_and_webp(tmp_path: Path, suffix: str) -> None:
    image = Image(_smooth(48, 64, 3, np.uint16))
    write_image(tmp_path / f"a{suffix}", image)
    back = read_image(tmp_path / f"a{suffix}")
    assert back.bit_depth == 8
    assert np.abs(back.pixels.astype(float) - image.pixels / 257.0).mean() < 3.0


def test_lower_quality_gives_smaller_jpeg(tmp_path: Path) -> None:
    image = Image(_random((64, 64, 3), np.uint8))
    write_image(tmp_path / "high.jpg", image, quality=95)
    write_image(tmp_path / "low.jpg", image, quality=20)
    assert (tmp_path / "low.jpg").stat().st_size < (tmp_path / "high.jpg").stat().st_size


def test_webp_keeps_alpha_and_jpeg_drops_it(tmp_path: Path) -> None:
    alpha = np.zeros((32, 32), np.uint8)
    alpha[8:24, 8:24] = 255
    image = Image(_smooth(32, 32, 3), alpha=alpha)
    write_image(tmp_path / "a.webp", image)
    write_image(tmp_path / "a.jpg", image)
    webp = read_image(tmp_path / "a.webp")
    assert webp.alpha is not None
    assert np.abs(webp.alpha.astype(int) - alpha).max() <= 2
    assert read_image(tmp_path / "a.jpg").alpha is None


def test_gray_webp_is_written_as_rgb(tmp_path: Path) -> None:
    image = Image(_smooth(32, 32, 1))
    write_image(tmp_path / "g.webp", image)
    back = read_image(tmp_path / "g.webp")
    assert back.pixels.shape == (32, 32, 3)
    assert np.abs(back.pixels.astype(float) - image.pixels).mean() < 3.0


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_rgb_written_by_opencv_is_read_as_uint16_rgb(tmp_path: Path, suffix: str) -> None:
    rgb = _random((20, 30, 3), np.uint16)
    rgb[0, 0] = (65535, 300, 0)  # red, with a value that 8 bit cannot hold
    path = tmp_path / f"cv{suffix}"
    assert cv2.imwrite(str(path), rgb[:, :, ::-1])  # OpenCV writes BGR
    back = read_image(path)
    assert back.pixels.dtype == np.uint16
    np.testing.assert_array_equal(back.pixels, rgb)


def test_16bit_rgba_png_written_by_opencv_keeps_alpha(tmp_path: Path) -> None:
    bgra = _random((12, 10, 4), np.uint16)
    cv2.imwrite(str(tmp_path / "a.png"), bgra)
    back = read_image(tmp_path / "a.png")
    np.testing.assert_array_equal(back.pixels, bgra[:, :, 2::-1])
    np.testing.assert_array_equal(back.alpha, bgra[:, :, 3])


def test_16bit_files_we_write_are_read_by_other_decoders(tmp_path: Path) -> None:
    rgb = Image(_random((9, 7, 3), np.uint16))
    gray = Image(_random((9, 7, 1), np.uint16))
    for suffix in (".png", ".tif"):
        write_image(tmp_path / f"rgb{suffix}", rgb)
        write_image(tmp_path / f"gray{suffix}", gray)
        decoded = cv2.imread(str(tmp_path / f"rgb{suffix}"), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(decoded[:, :, ::-1], rgb.pixels)
        with PILImage.open(tmp_path / f"gray{suffix}") as im:
            np.testing.assert_array_equal(np.asarray(im), gray.pixels[:, :, 0])


# ----------------------------------------------------------------------------- modes


def test_gray_8_and_16_bit_png_from_pillow(tmp_path: Path) -> None:
    gray8 = _random((10, 12), np.uint8)
    gray16 = _random((10, 12), np.uint16)
    PILImage.fromarray(gray8).save(tmp_path / "g8.png")
    PILImage.fromarray(gray16).save(tmp_path / "g16.png")
    back8, back16 = read_image(tmp_path / "g8.png"), read_image(tmp_path / "g16.png")
    assert back8.is_gray and back8.bit_depth == 8 and back8.pixels.shape == (10, 12, 1)
    assert back16.is_gray and back16.bit_depth == 16
    np.testing.assert_array_equal(back8.pixels[:, :, 0], gray8)
    np.testing.assert_array_equal(back16.pixels[:, :, 0], gray16)


def test_gray_alpha_png_becomes_gray_plus_alpha(tmp_path: Path) -> None:
    la = _random((8, 9, 2), np.uint8)
    PILImage.fromarray(la, mode="LA").save(tmp_path / "la.png")
    back = read_image(tmp_path / "la.png")
    assert back.is_gray
    np.testing.assert_array_equal(back.pixels[:, :, 0], la[:, :, 0])
    np.testing.assert_array_equal(back.alpha, la[:, :, 1])


def test_palette_becomes_rgb(tmp_path: Path) -> None:
    palette_image = PILImage.new("P", (4, 2))
    palette_image.putpalette([255, 0, 0, 0, 0, 255])
    palette_image.putpixel((3, 1), 1)
    palette_image.save(tmp_path / "p.png")
    back = read_image(tmp_path / "p.png")
    assert back.pixels.shape == (2, 4, 3) and back.alpha is None
    assert tuple(back.pixels[0, 0]) == (255, 0, 0)
    assert tuple(back.pixels[1, 3]) == (0, 0, 255)


def test_palette_with_transparency_becomes_rgba(tmp_path: Path) -> None:
    palette_image = PILImage.new("P", (4, 2))
    palette_image.putpalette([255, 0, 0, 0, 255, 0])
    palette_image.putpixel((1, 0), 1)
    palette_image.save(tmp_path / "t.png", transparency=1)
    back = read_image(tmp_path / "t.png")
    assert back.alpha is not None
    assert back.alpha[0, 1] == 0 and back.alpha[0, 0] == 255
    assert tuple(back.pixels[0, 0]) == (255, 0, 0)


@pytest.mark.parametrize("suffix,tolerance", [(".tif", 0), (".jpg", 6)])
def test_cmyk_becomes_rgb(tmp_path: Path, suffix: str, tolerance: int) -> None:
    cmyk = PILImage.new("CMYK", (16, 16), (0, 255, 255, 0))  # red ink-free cyan, full magenta+yellow
    cmyk.paste((0, 0, 0, 128), (0, 8, 16, 16))  # 50 % black
    cmyk.save(tmp_path / f"c{suffix}")
    back = read_image(tmp_path / f"c{suffix}")
    assert back.pixels.shape == (16, 16, 3) and back.icc_profile is None
    assert np.abs(back.pixels[2, 2].astype(int) - (255, 0, 0)).max() <= tolerance
    assert np.abs(back.pixels[12, 12].astype(int) - (127, 127, 127)).max() <= tolerance


def test_bmp_is_readable(tmp_path: Path) -> None:
    rgb = _random((6, 5, 3), np.uint8)
    PILImage.fromarray(rgb).save(tmp_path / "a.bmp")
    np.testing.assert_array_equal(read_image(tmp_path / "a.bmp").pixels, rgb)


# ----------------------------------------------------------------------------- orientation and metadata


def test_jpeg_orientation_6_is_applied_and_reset(tmp_path: Path) -> None:
    pixels = np.zeros((10, 20, 3), np.uint8)  # 10 rows, 20 columns
    pixels[:, :10] = (255, 255, 255)  # left half white
    PILImage.fromarray(pixels).save(tmp_path / "o.jpg", exif=_exif(orientation=6, make="Zeiss"), quality=95)
    back = read_image(tmp_path / "o.jpg")
    assert back.pixels.shape == (20, 10, 3)  # rotated 90 degrees clockwise
    assert back.pixels[2, 5].mean() > 200 and back.pixels[17, 5].mean() < 50  # the white half is now on top
    exif = _parse_exif(back.exif)
    assert exif[ORIENTATION] == 1 and exif[MAKE] == "Zeiss"


def test_a_preview_of_a_large_jpeg_is_decoded_reduced_and_upright(tmp_path: Path) -> None:
    """``at_least``: a JPEG is decoded reduced in the DCT (never at full size) as long as both sides stay at
    least that long; the orientation is still applied; a PNG is decoded whole."""
    pixels = np.zeros((400, 800, 3), np.uint8)
    pixels[:, :400] = (255, 255, 255)  # left half white
    PILImage.fromarray(pixels).save(tmp_path / "o.jpg", exif=_exif(orientation=6), quality=95)
    PILImage.fromarray(pixels).save(tmp_path / "o.png")
    reduced = read_image(tmp_path / "o.jpg", at_least=90)
    assert reduced.pixels.shape == (200, 100, 3)  # 1/4 of 800 x 400, then turned upright
    assert reduced.pixels[20, 50].mean() > 200 and reduced.pixels[180, 50].mean() < 50
    assert read_image(tmp_path / "o.jpg", at_least=300).pixels.shape == (800, 400, 3)  # 1/2 would be too small
    assert read_image(tmp_path / "o.png", at_least=90).pixels.shape == (400, 800, 3)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_matches_pillow(tmp_path: Path, orientation: int) -> None:
    pixels = _random((5, 7, 3), np.uint8)
    PILImage.fromarray(pixels).save(tmp_path / "o.png", exif=_exif(orientation=orientation))
    with PILImage.open(tmp_path / "o.png") as im:
        expected = np.asarray(ImageOps.exif_transpose(im))
    back = read_image(tmp_path / "o.png")
    np.testing.assert_array_equal(back.pixels, expected)
    assert _parse_exif(back.exif)[ORIENTATION] == 1


@pytest.mark.parametrize("suffix", [".tif", ".png"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_orientation_is_applied_once_by_every_decoder(tmp_path: Path, suffix: str, dtype: type) -> None:
    """Pillow turns TIFFs upright itself, OpenCV (16-bit colour) does so for TIFF but not PNG."""
    pixels = _random((4, 6, 3), dtype)
    alpha = _random((4, 6), dtype, seed=5)
    write_image(tmp_path / f"o{suffix}", Image(pixels, alpha=alpha, exif=_exif(orientation=6)))
    back = read_image(tmp_path / f"o{suffix}")
    np.testing.assert_array_equal(back.pixels, np.rot90(pixels, k=-1))
    np.testing.assert_array_equal(back.alpha, np.rot90(alpha, k=-1))
    assert _parse_exif(back.exif)[ORIENTATION] == 1


def test_tiff_exif_keeps_description_not_layout(tmp_path: Path) -> None:
    PILImage.fromarray(_random((5, 5, 3), np.uint8)).save(tmp_path / "p.tif", exif=_exif(make="Hasselblad"))
    exif = _parse_exif(read_image(tmp_path / "p.tif").exif)
    assert exif[MAKE] == "Hasselblad"
    assert not {256, 257, 273, 279} & set(exif)  # sizes and strip offsets of the source file


@pytest.mark.parametrize(
    "name,dtype", [("a.png", np.uint8), ("b.png", np.uint16), ("c.jpg", np.uint8), ("d.webp", np.uint8),
                   ("e.tif", np.uint8), ("f.tiff", np.uint16)]
)
def test_exif_and_icc_are_written(tmp_path: Path, name: str, dtype: type) -> None:
    image = Image(_smooth(16, 16, 3, dtype), exif=_exif(make="Leica", orientation=1), icc_profile=SRGB_ICC)
    write_image(tmp_path / name, image)
    back = read_image(tmp_path / name)
    assert back.icc_profile == SRGB_ICC
    assert _parse_exif(back.exif)[MAKE] == "Leica"
    assert back.exif.startswith(b"Exif\x00\x00")


def test_metadata_survives_read_then_write(tmp_path: Path) -> None:
    rgb = _random((8, 8, 3), np.uint8)
    PILImage.fromarray(rgb).save(tmp_path / "in.jpg", exif=_exif(make="Nikon"), icc_profile=SRGB_ICC)
    write_image(tmp_path / "out.png", read_image(tmp_path / "in.jpg"))
    with PILImage.open(tmp_path / "out.png") as im:
        assert im.info["icc_profile"] == SRGB_ICC
        assert im.getexif()[MAKE] == "Nikon"


def test_rgb_icc_profile_is_not_attached_to_gray_output(tmp_path: Path) -> None:
    write_image(tmp_path / "g.png", Image(_smooth(8, 8, 1), icc_profile=SRGB_ICC))
    assert read_image(tmp_path / "g.png").icc_profile is None


# ----------------------------------------------------------------------------- errors and limits


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="no such file") as info:
        read_image(tmp_path / "nope.png")
    assert info.value.path == str(tmp_path / "nope.png")


@pytest.mark.parametrize("name,save", [("cut.png", {"format": "PNG"}), ("cut.jpg", {"format": "JPEG"}),
                                       ("cut.webp", {"format": "WEBP"})])
def test_truncated_file(tmp_path: Path, name: str, save: dict) -> None:
    buffer = io.BytesIO()
    PILImage.fromarray(_random((64, 64, 3), np.uint8)).save(buffer, **save)
    data = buffer.getvalue()
    (tmp_path / name).write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match="truncated file") as info:
        read_image(tmp_path / name)
    assert name in str(info.value)


def test_truncated_16bit_png(tmp_path: Path) -> None:
    write_image(tmp_path / "full.png", Image(_random((64, 64, 3), np.uint16)))
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match="truncated file"):
        read_image(tmp_path / "cut.png")


@pytest.mark.parametrize("content", [np.random.default_rng(3).bytes(5000), b"hello, world\n" * 10])
def test_not_an_image(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "noise.png").write_bytes(content)
    with pytest.raises(ImageReadError, match="not an image / unsupported format") as info:
        read_image(tmp_path / "noise.png")
    assert "noise.png" in str(info.value)


def test_corrupt_pixel_data(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png", Image(_random((64, 64, 3), np.uint8)))
    data = bytearray((tmp_path / "a.png").read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = bytes(64)
    (tmp_path / "a.png").write_bytes(bytes(data))
    with pytest.raises(ImageReadError, match="a.png: "):
        read_image(tmp_path / "a.png")


def test_empty_file_and_folder(tmp_path: Path) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty file"):
        read_image(tmp_path / "empty.jpg")
    with pytest.raises(ImageReadError, match="folder"):
        read_image(tmp_path)


def test_pixel_limit_is_checked_before_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_image(tmp_path / "a.png", Image(_random((100, 100, 3), np.uint8)))

    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", no_decoding)
    monkeypatch.setattr(cv2, "imdecode", no_decoding)
    with pytest.raises(ImageReadError, match="image has 10000 pixels, more than the limit of 1000"):
        read_image(tmp_path / "a.png", max_pixels=1000)


def test_default_pixel_limit_rejects_a_bomb_header(tmp_path: Path) -> None:
    (tmp_path / "bomb.png").write_bytes(_png_header_only(20000, 20000))
    with pytest.raises(ImageReadError, match="image has 400000000 pixels, more than the limit of 300000000"):
        read_image(tmp_path / "bomb.png")
    assert DEFAULT_MAX_PIXELS == 300_000_000


def test_pillow_limit_does_not_override_ours(tmp_path: Path) -> None:
    """A 200 MP header is over Pillow's own bomb limit but within ours: it gets to the decoder."""
    saved = PILImage.MAX_IMAGE_PIXELS
    (tmp_path / "big.png").write_bytes(_png_header_only(20000, 10000))
    with pytest.raises(ImageReadError) as info:
        read_image(tmp_path / "big.png")
    assert "limit" not in info.value.reason and "bomb" not in info.value.reason
    assert PILImage.MAX_IMAGE_PIXELS == saved


@pytest.mark.slow
def test_50_megapixel_image_is_read(tmp_path: Path) -> None:
    pixels = np.zeros((6250, 8000), np.uint8)
    pixels[::50] = 255
    PILImage.fromarray(pixels).save(tmp_path / "big.png", compress_level=1)
    assert read_image(tmp_path / "big.png").pixels.shape == (6250, 8000, 1)


def test_bad_max_pixels(tmp_path: Path) -> None:
    with pytest.raises(ParameterError):
        read_image(tmp_path / "a.png", max_pixels=0)


def test_write_errors(tmp_path: Path) -> None:
    image = Image(_random((4, 4, 3), np.uint8))
    with pytest.raises(ImageWriteError, match="unsupported extension '.gif'"):
        write_image(tmp_path / "a.gif", image)
    with pytest.raises(ImageWriteError, match="no such folder"):
        write_image(tmp_path / "missing" / "a.png", image)
    with pytest.raises(ImageWriteError):
        write_image(tmp_path, image)  # no extension
    with pytest.raises(ParameterError):
        write_image(tmp_path / "a.jpg", image, quality=0)
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(ImageWriteError, match="folder.png"):
        write_image(tmp_path / "folder.png", image)  # cannot replace a folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.png"]  # no temporary file left


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_unwritable_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ImageWriteError, match="ro/a.png"):
            write_image(folder / "a.png", Image(_random((4, 4, 3), np.uint8)))
    finally:
        folder.chmod(0o700)


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "a.png"
    write_image(target, Image(_random((4, 4, 3), np.uint16)))
    before = target.read_bytes()

    def crash(fp: io.BufferedWriter, *args: object, **kwargs: object) -> None:
        fp.write(b"\x89PNG half a file")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(write_module, "write_png16", crash)
    with pytest.raises(ImageWriteError, match="disk on fire"):
        write_image(target, Image(_random((4, 4, 3), np.uint16, seed=9)))
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


def test_written_file_has_ordinary_permissions(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png", Image(_random((4, 4, 3), np.uint8)))
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "a.png").stat().st_mode & 0o777 == 0o666 & ~umask


def test_malformed_image_is_rejected() -> None:
    with pytest.raises(ParameterError):
        Image(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ParameterError):
        Image(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(ParameterError):
        Image(np.zeros((4, 4, 3), np.uint8), alpha=np.zeros((4, 5), np.uint8))
    assert Image(np.zeros((4, 5), np.uint8)).pixels.shape == (4, 5, 1)


# ----------------------------------------------------------------------------- tensors and resizing


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_tensor_round_trip(dtype: type) -> None:
    image = Image(
        _random((6, 9, 3), dtype), alpha=_random((6, 9), dtype), exif=_exif(make="X"), icc_profile=SRGB_ICC
    )
    tensor = image_to_tensor(image)
    assert tensor.shape == (1, 3, 6, 9) and tensor.dtype == torch.float32
    assert 0.0 <= tensor.min() and tensor.max() <= 1.0
    back = tensor_to_image(tensor, image)
    np.testing.assert_array_equal(back.pixels, image.pixels)
    np.testing.assert_array_equal(back.alpha, image.alpha)
    assert back.exif == image.exif and back.icc_profile == image.icc_profile


def test_gray_tensor_round_trip_uses_bt601_luma() -> None:
    gray = Image(_random((5, 4, 1), np.uint8))
    tensor = image_to_tensor(gray)
    assert tensor.shape == (1, 3, 5, 4)
    np.testing.assert_array_equal(tensor_to_image(tensor, gray).pixels, gray.pixels)

    pure = torch.zeros(1, 3, 2, 2)
    pure[:, 0] = 1.0  # red
    result = tensor_to_image(pure, gray)
    assert result.pixels.shape == (2, 2, 1)
    assert int(result.pixels[0, 0, 0]) == round(0.299 * 255)


def test_tensor_to_image_resizes_alpha() -> None:
    alpha = np.full((8, 8), 200, np.uint16)
    alpha[:, 4:] = 1000
    like = Image(_random((8, 8, 3), np.uint16), alpha=alpha)
    result = tensor_to_image(torch.rand(1, 3, 16, 32), like)
    assert result.pixels.shape == (16, 32, 3) and result.pixels.dtype == np.uint16
    assert result.alpha.shape == (16, 32) and result.alpha.dtype == np.uint16
    assert result.alpha[0, 0] == 200 and result.alpha[-1, -1] == 1000


def test_resize_alpha_takes_width_then_height() -> None:
    out = resize_alpha(np.full((10, 20), 77, np.uint8), (5, 3))
    assert out.shape == (3, 5) and (out == 77).all()


def test_make_thumbnail() -> None:
    alpha = np.full((50, 100), 9, np.uint16)
    image = Image(_random((50, 100, 3), np.uint16), alpha=alpha, exif=_exif(make="Y"))
    thumb = make_thumbnail(image, 20)
    assert (thumb.width, thumb.height) == (20, 10) and thumb.alpha.shape == (10, 20)
    assert thumb.pixels.dtype == np.uint16 and thumb.exif == image.exif
    gray = make_thumbnail(Image(_random((30, 10, 1), np.uint8)), 12)
    assert gray.pixels.shape == (12, 4, 1)
    same = make_thumbnail(image, 500)  # never upsampled
    assert (same.width, same.height) == (100, 50)
    np.testing.assert_array_equal(same.pixels, image.pixels)


# ----------------------------------------------------------------------------- discovery


def test_is_image_file() -> None:
    names = ["a.png", "B.JPG", "c.jpeg", "d.TIF", "e.tiff", "f.WebP", "g.bmp", Path("x/y.Png")]
    assert all(is_image_file(name) for name in names)
    assert not any(is_image_file(name) for name in ["a.txt", "png", "b.gif", "c.png.bak"])


def test_find_images_on_nested_folders(tmp_path: Path) -> None:
    root = tmp_path / "scans"
    for relative in ["b.png", "a/z.JPG", "a/c/d.tif", "a/notes.txt", ".hidden/x.png", "a/._y.jpg"]:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(b"")
    single = tmp_path / "single.webp"
    single.write_bytes(b"")

    pairs = find_images([root, str(single), root / "b.png"])
    assert [(str(file.relative_to(tmp_path)), str(rel)) for file, rel in pairs] == [
        ("scans/a/c/d.tif", "a/c/d.tif"),
        ("scans/a/z.JPG", "a/z.JPG"),
        ("scans/b.png", "b.png"),
        ("single.webp", "single.webp"),
    ]
    with pytest.raises(ImageReadError, match="no such file or folder"):
        find_images([tmp_path / "missing"])


def test_large_decodes_take_turns_within_the_budget() -> None:
    import threading
    import time

    from patina.imageio.budget import SMALL, DecodeBudget

    budget = DecodeBudget(3 * SMALL)
    lock = threading.Lock()
    state = {"large": 0, "most_large": 0, "small": 0, "most_small": 0}

    def decode(pixels: int) -> None:
        kind = "large" if pixels >= SMALL else "small"
        with budget.decoding(pixels):
            with lock:
                state[kind] += 1
                state[f"most_{kind}"] = max(state[f"most_{kind}"], state[kind])
            time.sleep(0.05)
            with lock:
                state[kind] -= 1

    threads = [threading.Thread(target=decode, args=(2 * SMALL,)) for _ in range(4)]  # two would be over budget
    threads += [threading.Thread(target=decode, args=(10 * SMALL,))]  # larger than the budget: runs alone
    threads += [threading.Thread(target=decode, args=(SMALL // 2,)) for _ in range(3)]  # small: never waits
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not any(thread.is_alive() for thread in threads) and budget.in_flight == 0
    assert state["most_large"] == 1  # the large decodes took turns
    assert state["most_small"] == 3  # the small ones did not wait


def test_a_large_decode_that_waits_too_long_is_refused_as_busy(tmp_path, monkeypatch) -> None:
    """Past the budget's wait a decode is refused (BusyError: the service's 503), not queued for ever; an
    import reports that file, keeps no uncatalogued copy of it, and goes on."""
    from patina.archive import Archive
    from patina.core.errors import BusyError
    import patina.imageio.read as read_module
    from patina.imageio.budget import SMALL, DecodeBudget

    budget = DecodeBudget(2 * SMALL, wait=0.05)
    with budget.decoding(2 * SMALL):
        with pytest.raises(BusyError, match="try again"):
            with budget.decoding(SMALL):
                pass
        with budget.decoding(SMALL // 2):  # a small image never waits
            pass
    with budget.decoding(SMALL):  # free again
        assert budget.in_flight == SMALL

    big = tmp_path / "in" / "big.png"
    big.parent.mkdir()
    PILImage.new("L", (5000, 4000)).save(big)  # 20 MP: asks the budget
    PILImage.fromarray(_random((8, 8, 3), np.uint8)).save(tmp_path / "in" / "small.png")
    archive = Archive.create(tmp_path / "archive")
    busy = DecodeBudget(SMALL, wait=0.05)
    monkeypatch.setattr(read_module, "DECODES", busy)
    with busy.decoding(SMALL):  # someone else is decoding a large image all along
        report = archive.import_paths([tmp_path / "in"])
    assert len(report.imported) == 1 and [Path(path).name for path, _ in report.failed] == ["big.png"]
    assert "try again" in report.failed[0][1]
    stored = [path for path in (tmp_path / "archive" / "objects").rglob("*") if path.is_file()]
    assert len(stored) == 1  # only the small photo is stored
    archive.close()


def test_a_file_name_of_254_bytes_can_be_written(tmp_path) -> None:
    name = "é" * 125 + ".png"  # 254 bytes in UTF-8: the atomic write's temporary name must not be longer than 255
    assert len(name.encode()) == 254
    write_image(tmp_path / name, Image(pixels=np.full((8, 8, 3), 90, np.uint8)))
    assert read_image(tmp_path / name).pixels.shape == (8, 8, 3)
    assert [path.name for path in tmp_path.iterdir()] == [name]  # no temporary left
