"""Rebuild docs/upscale-realsr.jpg: real low-quality photos (../shared/data/sr/RealSRSet+5images) upscaled x4,
bicubic next to `patina upscale` with the shipped GAN model; a crop of each at full output size.

    python docs/make_upscale_sheet.py [SOURCE_DIR] [OUTPUT.jpg]
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from patina.imageio import Image, read_image, write_image
from patina.pipelines import UpscalePipeline, comparison_grid

PHOTOS = ("Lincoln.png", "oldphoto2.png", "oldphoto6.png", "building.png", "0014.jpg")
CROP = 384
"""Side of the output crop shown (the middle of the image), so the detail is seen at 1:1."""


def centre_crop(pixels: np.ndarray, side: int) -> np.ndarray:
    height, width = pixels.shape[:2]
    top, left = max(0, (height - side) // 2), max(0, (width - side) // 2)
    return np.ascontiguousarray(pixels[top:top + side, left:left + side])


def main(source: Path, output: Path) -> None:
    pipeline = UpscalePipeline(model="upscale-x4", device="cpu")
    pairs = []
    for name in PHOTOS:
        image = read_image(source / name)
        rgb = image.pixels if not image.is_gray else np.repeat(image.pixels, 3, axis=2)
        bicubic = cv2.resize(rgb, (image.width * 4, image.height * 4), interpolation=cv2.INTER_CUBIC)
        upscaled = pipeline.upscale_image(Image(pixels=rgb)).pixels
        pairs.append((name, centre_crop(bicubic, CROP), centre_crop(upscaled, CROP)))
    sheet = comparison_grid(pairs, labels=("bicubic x4", "patina upscale-x4"), max_height=CROP)
    write_image(output, Image(pixels=sheet), quality=90)
    print(f"wrote {output} ({len(pairs)} photos)")


if __name__ == "__main__":
    root = Path(__file__).resolve().parent
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else root.parents[1] / "shared/data/sr/RealSRSet+5images",
         Path(sys.argv[2]) if len(sys.argv) > 2 else root / "upscale-realsr.jpg")
