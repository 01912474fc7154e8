"""Rebuild the restore sheets: real old photos before/after `patina restore` (shipped weights, defaults).

    python docs/make_restore_sheet.py [OLD_PHOTOS_DIR]

writes docs/restore-bopbtl.jpg (every photo of OLD_PHOTOS_DIR/bopbtl_pr256) and docs/restore-deoldify.jpg
(the 12 photos of OLD_PHOTOS_DIR/deoldify named in DEOLDIFY: faded colour prints, faces, toned and plain
black-and-white prints). OLD_PHOTOS_DIR defaults to ../shared/data/old_photos.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from patina.imageio import Image, read_image, write_image
from patina.pipelines import RestorePipeline, comparison_grid

DEOLDIFY = ("FadedDutchBabies.PNG", "FadedRacket.PNG", "1870Girl.jpg", "20sWoman.jpg", "Evelyn_Nesbit.jpg",
            "InuitWoman1903.png", "BabyBigBoots.jpg", "CorkKids1910.jpg", "1890Surfer.png", "Chief.jpg",
            "1880Paris.jpg", "JudyGarland.jpeg")


def as_rgb8(image: Image) -> np.ndarray:
    pixels = image.pixels
    if pixels.dtype != np.uint8:
        pixels = (pixels // 257).astype(np.uint8)
    return np.repeat(pixels[..., :1], 3, axis=2) if pixels.shape[2] < 3 else pixels[..., :3]


def sheet(pipeline: RestorePipeline, photos: list[Path], output: Path, max_height: int) -> None:
    pairs = []
    for path in photos:
        image = read_image(path)
        pairs.append((path.name, as_rgb8(image), as_rgb8(pipeline.restore_image(image))))
    write_image(output, Image(pixels=comparison_grid(pairs, labels=("scan", "patina restore"),
                                                      max_height=max_height)), quality=90)
    print(f"wrote {output} ({len(pairs)} photos)")


def main(source: Path) -> None:
    docs = Path(__file__).resolve().parent
    pipeline = RestorePipeline(device="cpu")
    bopbtl = sorted((source / "bopbtl_pr256").glob("*.png"), key=lambda path: int(path.stem))
    sheet(pipeline, bopbtl, docs / "restore-bopbtl.jpg", max_height=320)
    sheet(pipeline, [source / "deoldify" / name for name in DEOLDIFY], docs / "restore-deoldify.jpg", max_height=400)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared/data/old_photos")
