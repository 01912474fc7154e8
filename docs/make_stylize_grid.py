"""Rebuild docs/stylize-grid.jpg: 5 content photos x 5 held-out style images of ../shared/data/style/adain,
painted by the shipped style model (AdaIN, alpha 1); the first row shows the styles, the first column the photos.

    python docs/make_stylize_grid.py [ADAIN_DIR] [OUTPUT.jpg]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from patina.imageio import Image, read_image, write_image
from patina.pipelines.compare import labelled_grid
from patina.pipelines.stylize import StylizePipeline

CONTENTS = ("avril.jpg", "chicago.jpg", "cornell.jpg", "sailboat.jpg", "golden_gate.jpg")
STYLES = ("la_muse.jpg", "asheville.jpg", "picasso_self_portrait.jpg", "goeritz.jpg", "trial.jpg")
PHOTO_SIDE = 512
PANEL_HEIGHT = 200


def main(source: Path, output: Path) -> None:
    styles = [read_image(source / "style" / name) for name in STYLES]
    blank = np.full((PANEL_HEIGHT, PANEL_HEIGHT, 3), 255, np.uint8)
    rows = [[("content \\ style", blank)] + [(name, style.pixels) for name, style in zip(STYLES, styles)]]
    pipelines = [StylizePipeline([style], device="cpu") for style in styles]
    for name in CONTENTS:
        photo = read_image(source / "content" / name)
        size = min(PHOTO_SIDE, max(photo.width, photo.height))
        row = [(name, photo.pixels)]
        row += [(style_name, pipeline.stylize_image(photo, size=size).pixels)
                for style_name, pipeline in zip(STYLES, pipelines)]
        rows.append(row)
    write_image(output, Image(pixels=labelled_grid(rows, max_height=PANEL_HEIGHT)), quality=88)
    print(f"wrote {output} ({len(CONTENTS)} photos x {len(STYLES)} styles)")


if __name__ == "__main__":
    root = Path(__file__).resolve().parent
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else root.parents[1] / "shared/data/style/adain",
         Path(sys.argv[2]) if len(sys.argv) > 2 else root / "stylize-grid.jpg")
