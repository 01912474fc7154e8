"""Rebuild docs/restore-bopbtl.jpg: real old photos (../shared/data/old_photos/bopbtl_pr256) before/after
`patina restore` with the shipped weights and default settings.

    python docs/make_restore_sheet.py [SOURCE_DIR] [OUTPUT.jpg]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from patina.imageio import Image, find_images, image_to_tensor, read_image, write_image
from patina.pipelines import RestorePipeline, comparison_grid


def to_rgb8(tensor) -> np.ndarray:
    return (tensor[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8)


def main(source: Path, output: Path) -> None:
    pipeline = RestorePipeline(device="cpu")
    pairs = []
    for path, relative in sorted(find_images([source]), key=lambda item: int(item[1].stem)):
        image = image_to_tensor(read_image(path))
        pairs.append((relative.name, to_rgb8(image), to_rgb8(pipeline(image))))
    sheet = comparison_grid(pairs, labels=("scan", "patina restore"), max_height=320)
    write_image(output, Image(pixels=sheet), quality=90)
    print(f"wrote {output} ({len(pairs)} photos)")


if __name__ == "__main__":
    root = Path(__file__).resolve().parent
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else root.parents[1] / "shared/data/old_photos/bopbtl_pr256",
         Path(sys.argv[2]) if len(sys.argv) > 2 else root / "restore-bopbtl.jpg")
