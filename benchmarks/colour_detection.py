"""How often does colorize's already-colour test (patina.looks.colour_test) get it right? Targets (issue 27):
>= 98% of colour photos detected as colour, >= 98% of monochrome old photos (gray, sepia, toned) as monochrome.

    python benchmarks/colour_detection.py --training ../shared/data/train --count 600   # how it was set

    python benchmarks/colour_detection.py --colour ../shared/data/denoise/Kodak24 \
        --colour ../shared/data/denoise/McMaster --colour ../shared/data/sr/Set14 --monochrome ../shared/data/old_photos

``--training``: ``count`` photos drawn (seed 0) from a training folder, each scored as it is (colour, unless
its chroma is nearly zero) and as a monochrome print made from it (:func:`monochrome_print`: gray, sepia,
toned at one of the usual hues or any, stained, or faded with a cast; contrast lowered half the time; grain;
JPEG 70% of the time): the data the thresholds were chosen on.

Images whose three channels are identical (gray files, or gray saved as RGB) are left out of the colour sets:
they are not colour photos. In the monochrome sets, the colour prints named by ``--known-colour`` (default:
the four of ../shared/data/old_photos, found by eye: two autochromes in bopbtl_pr256 and DeOldify's two
"Faded" colour photos) are left out: they are colour photos. Every verdict is printed with its numbers.
"""

from __future__ import annotations

import argparse
import io
import math
import random
import sys
from pathlib import Path

import numpy as np
import torch
from kornia.color import lab_to_rgb, rgb_to_lab
from PIL import Image as PILImage

KNOWN_COLOUR = ("bopbtl_pr256/9.png", "bopbtl_pr256/11.png", "deoldify/FadedDutchBabies.PNG",
                "deoldify/FadedRacket.PNG")
SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


def photos(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.suffix.lower() in SUFFIXES)


def verdicts(folders: list[Path], *, want_colour: bool, known_colour: tuple[str, ...]) -> tuple[int, int]:
    """(right, counted) over the photos of ``folders``, printing each verdict."""
    from patina.imageio import image_to_tensor, read_image
    from patina.looks.colour_test import chroma_statistics

    right = counted = 0
    for folder in folders:
        for path in photos(folder):
            name = path.relative_to(folder.parent).as_posix()
            image = read_image(path)
            pixels = image.pixels
            no_colour = image.is_gray or (np.array_equal(pixels[..., 0], pixels[..., 1])
                                          and np.array_equal(pixels[..., 1], pixels[..., 2]))
            if (want_colour and no_colour) or (not want_colour and name.endswith(known_colour)):
                print(f"  left out  {name}")
                continue
            measured = chroma_statistics(image_to_tensor(image))
            counted += 1
            right += measured.is_colour == want_colour
            mark = "ok  " if measured.is_colour == want_colour else "MISS"
            print(f"  {mark}      {name}: {measured.describe()}")
    return right, counted


def smooth_field(height: int, width: int, amplitude: float, rng: random.Random) -> np.ndarray:
    """1 + a smooth random field of about +-``amplitude`` / 2 (a 4 x 4 grid of normals, cubic-interpolated)."""
    import cv2

    grid = np.random.default_rng(rng.randrange(1 << 30)).normal(size=(4, 4)).astype(np.float32)
    return 1 + amplitude * cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC) / 2


def monochrome_print(rgb: np.ndarray, rng: random.Random) -> np.ndarray:
    """A colour photo ((H, W, 3) float in [0, 1]) as a monochrome print of a random kind (module docstring)."""
    lab = rgb_to_lab(torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None].float())[0].numpy()
    light = lab[0]
    height, width = light.shape
    kind = rng.choice(["gray", "sepia", "toned", "toned", "stained", "faded"])
    if rng.random() < 0.5:
        light = 100 * (rng.uniform(0.05, 0.25) + rng.uniform(0.55, 0.9) * light / 100)
    a, b = np.zeros_like(light), np.zeros_like(light)
    if kind != "gray":
        usual = rng.choice([rng.uniform(0, 50), rng.uniform(40, 100), rng.uniform(230, 290), rng.uniform(0, 360)])
        hue = math.radians(rng.uniform(40, 90) if kind in ("sepia", "stained") else usual)
        curve = rng.uniform(3, 30) * np.clip(np.sin(np.pi * np.clip(light, 0, 100) / 100), 0, 1) ** rng.uniform(0.5, 2)
        if rng.random() < 0.5:
            curve = curve * smooth_field(height, width, rng.uniform(0.2, 0.8), rng)
        hues = hue + math.radians(rng.uniform(0, 20)) * (smooth_field(height, width, 1, rng) - 1)
        a, b = curve * np.cos(hues), curve * np.sin(hues)
    if kind == "faded":
        a, b = a + rng.uniform(-10, 10), b + rng.uniform(0, 20)
    if kind == "stained":
        yy, xx = np.mgrid[0:height, 0:width]
        for _ in range(rng.randint(1, 4)):
            cy, cx, radius = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(0.03, 0.2) * max(height, width)
            blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius**2))
            a, b, light = a + rng.uniform(0, 8) * blob, b + rng.uniform(5, 25) * blob, light - rng.uniform(0, 10) * blob
    lab_print = torch.from_numpy(np.stack([light, a, b]))[None].float()
    out = lab_to_rgb(lab_print, clip=True)[0].numpy().transpose(1, 2, 0)
    grain = np.random.default_rng(rng.randrange(1 << 30)).normal(0, rng.uniform(0, 0.03), size=(height, width, 1))
    out = np.clip(out + grain, 0, 1)
    if rng.random() < 0.7:
        buffer = io.BytesIO()
        PILImage.fromarray((out * 255).astype(np.uint8)).save(buffer, "JPEG", quality=rng.randint(25, 90))
        out = np.asarray(PILImage.open(buffer).convert("RGB")).astype(np.float32) / 255
    return out


def training_verdicts(folder: Path, count: int) -> None:
    """Print how many of ``count`` training photos, and of the prints made from them, the test gets right."""
    import cv2

    from patina.looks.colour_test import chroma_statistics

    rng = random.Random(0)
    files = photos(folder)
    rng.shuffle(files)
    right = {"colour": [0, 0], "monochrome": [0, 0]}
    for path in files[:count]:
        picture = PILImage.open(path)
        picture.draft("RGB", (512, 512))
        rgb = np.asarray(picture.convert("RGB")).astype(np.float32) / 255
        scale = min(1.0, 384 / max(rgb.shape[:2]))
        if scale < 1:
            rgb = cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)),
                             interpolation=cv2.INTER_AREA)
        for pixels, is_print in ((rgb, False), (monochrome_print(rgb, rng), True)):
            measured = chroma_statistics(torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))[None])
            truth = "monochrome" if is_print or measured.chroma < 2 else "colour"
            right[truth][1] += 1
            right[truth][0] += measured.is_colour == (truth == "colour")
    for truth, (good, total) in right.items():
        print(f"training {truth}: {good} of {total} right ({good / max(total, 1):.1%})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--colour", type=Path, action="append", default=[], help="a folder of colour photos")
    parser.add_argument("--monochrome", type=Path, action="append", default=[],
                        help="a folder of monochrome photos (sub-folders included)")
    parser.add_argument("--known-colour", action="append", default=None,
                        help="a colour print inside a monochrome folder (path ending), left out; repeat")
    parser.add_argument("--training", type=Path, help="a folder of training photos: score them and prints of them")
    parser.add_argument("--count", type=int, default=600, help="how many training photos (with --training)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    if args.training:
        training_verdicts(args.training, args.count)
    known = tuple(args.known_colour) if args.known_colour else KNOWN_COLOUR
    passed = True
    for label, folders, want in (("colour", args.colour, True), ("monochrome", args.monochrome, False)):
        if not folders:
            continue
        print(f"{label} photos:")
        right, counted = verdicts(folders, want_colour=want, known_colour=known)
        share = right / max(counted, 1)
        passed &= share >= 0.98
        print(f"{label}: {right} of {counted} detected as {label} ({share:.1%}; target >= 98%)")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
