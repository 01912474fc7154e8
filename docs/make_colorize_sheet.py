"""Rebuild docs/colorize-old-photos.jpg: real black-and-white and sepia photographs from
../shared/data/old_photos, before/after `patina colorize` with the shipped weights and default settings.

    python docs/make_colorize_sheet.py [OLD_PHOTOS_DIR] [OUTPUT.jpg] [--count N] [--model NAME_OR_FILE]

Photos are taken in name order from every subfolder, keeping those the already-colour test of
`patina colorize` finds monochrome (gray, toned, faded or stained prints: the photos it colorizes), up to N
(default 16) spread over the subfolders.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from patina.imageio import Image, find_images, image_to_tensor, read_image, write_image
from patina.looks.colour_test import is_colour_photo
from patina.pipelines import comparison_grid
from patina.pipelines.colorize import ColorizePipeline


def black_and_white(source: Path, count: int) -> list[Path]:
    """Up to ``count`` monochrome photos, taken round-robin from the subfolders of ``source``."""
    folders = sorted(p for p in source.iterdir() if p.is_dir()) or [source]
    pools = []
    for folder in folders:
        pool = []
        for path, _ in sorted(find_images([folder])):
            if not is_colour_photo(image_to_tensor(read_image(path))):
                pool.append(path)
        pools.append(pool)
    chosen: list[Path] = []
    while len(chosen) < count and any(pools):
        for pool in pools:
            if pool and len(chosen) < count:
                chosen.append(pool.pop(0))
    return chosen


def main() -> None:
    root = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", nargs="?", type=Path, default=root.parents[1] / "shared/data/old_photos")
    parser.add_argument("output", nargs="?", type=Path, default=root / "colorize-old-photos.jpg")
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--model", default="colorize", help="a registered model or a .safetensors file")
    args = parser.parse_args()
    pipeline = ColorizePipeline(model=args.model, device="cpu")
    pairs = []
    for path in black_and_white(args.source, args.count):
        image = read_image(path)
        coloured = pipeline.colorize_image(image)
        before = image.pixels if image.pixels.dtype == np.uint8 else (image.pixels >> 8).astype(np.uint8)
        after = coloured.pixels if coloured.pixels.dtype == np.uint8 else (coloured.pixels >> 8).astype(np.uint8)
        pairs.append((f"{path.parent.name}/{path.name}", before, after))
    sheet = comparison_grid(pairs, labels=("scan", "patina colorize"), max_height=300)
    write_image(args.output, Image(pixels=sheet), quality=88)
    print(f"wrote {args.output} ({len(pairs)} photos)")


if __name__ == "__main__":
    main()
