"""Rebuild docs/stylize-grid.jpg: 5 content photos x 5 held-out style images of ../shared/data/style/adain,
painted by the shipped style model (AdaIN, alpha 1); the first row shows the styles, the first column the photos.
``--refine N`` adds N refinement steps (docs/stylize-grid-refined.jpg is made with 5).

    python docs/make_stylize_grid.py [--refine N] [ADAIN_DIR] [OUTPUT.jpg]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from patina.imageio import Image, read_image, write_image
from patina.pipelines.compare import labelled_grid
from patina.pipelines.stylize import StylizePipeline

CONTENTS = ("avril.jpg", "chicago.jpg", "cornell.jpg", "sailboat.jpg", "golden_gate.jpg")
STYLES = ("la_muse.jpg", "asheville.jpg", "picasso_self_portrait.jpg", "goeritz.jpg", "trial.jpg")
PHOTO_SIDE = 512
PANEL_HEIGHT = 200


def main(source: Path, output: Path, refine: int) -> None:
    styles = [read_image(source / "style" / name) for name in STYLES]
    blank = np.full((PANEL_HEIGHT, PANEL_HEIGHT, 3), 255, np.uint8)
    rows = [[("content \\ style", blank)] + [(name, style.pixels) for name, style in zip(STYLES, styles)]]
    pipelines = [StylizePipeline([style], device="cpu", refine=refine) for style in styles]
    for name in CONTENTS:
        photo = read_image(source / "content" / name)
        size = min(PHOTO_SIDE, max(photo.width, photo.height))
        row = [(name, photo.pixels)]
        row += [(style_name, pipeline.stylize_image(photo, size=size).pixels)
                for style_name, pipeline in zip(STYLES, pipelines)]
        rows.append(row)
    write_image(output, Image(pixels=labelled_grid(rows, max_height=PANEL_HEIGHT)), quality=88)
    print(f"wrote {output} ({len(CONTENTS)} photos x {len(STYLES)} styles, refine {refine})")


if __name__ == "__main__":
    root = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", nargs="?", type=Path, default=root.parents[1] / "shared/data/style/adain")
    parser.add_argument("output", nargs="?", type=Path)
    parser.add_argument("--refine", type=int, default=0, help="refinement steps (default 0: one pass)")
    args = parser.parse_args()
    default_name = "stylize-grid-refined.jpg" if args.refine else "stylize-grid.jpg"
    main(args.source, args.output or root / default_name, args.refine)
