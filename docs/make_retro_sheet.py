"""Rebuild docs/retro-eras.jpg: every era on 3 Kodak24 photos, with the GAN engine (first row of each
photo) and the preset engine (second row), next to the original.

    python docs/make_retro_sheet.py [KODAK24_DIR] [OUTPUT.jpg]
"""

from __future__ import annotations

import sys
from pathlib import Path

from patina.imageio import Image, read_image, write_image
from patina.looks import ERA_NAMES
from patina.pipelines.compare import labelled_grid
from patina.pipelines.retro import RetroPipeline

PHOTOS = ("kodim05.png", "kodim15.png", "kodim23.png")
PANEL_HEIGHT = 240


def main(source: Path, output: Path) -> None:
    engines = {engine: [RetroPipeline(era=era, engine=engine, device="cpu", seed=1) for era in ERA_NAMES]
               for engine in ("gan", "preset")}
    rows = []
    for name in PHOTOS:
        image = read_image(source / name)
        for engine, pipelines in engines.items():
            rows.append([(name if engine == "gan" else "original", image.pixels)]
                        + [(f"{pipe.look.label} ({engine})", pipe.retro_image(image).pixels) for pipe in pipelines])
    write_image(output, Image(pixels=labelled_grid(rows, max_height=PANEL_HEIGHT)), quality=88)
    print(f"wrote {output} ({len(PHOTOS)} photos x {len(ERA_NAMES)} eras x 2 engines)")


if __name__ == "__main__":
    root = Path(__file__).resolve().parent
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else root.parents[1] / "shared/data/denoise/Kodak24",
         Path(sys.argv[2]) if len(sys.argv) > 2 else root / "retro-eras.jpg")
