"""Rebuild src/patina/assets/sample-old-photo.jpg, the photo `patina restore --sample` restores.

The source is NASA's public-domain portrait of astronaut Eileen Collins as shipped in scikit-image
(skimage/data/astronaut.png); Patina's own degradation chain (fixed seed) turns it into a faded, toned,
scratched black-and-white print. Usage:

    python docs/make_sample_photo.py path/to/astronaut.png
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np

from patina.degradations.chain import EVAL_CONFIG, degrade
from patina.imageio import Image, image_to_tensor, read_image, write_image

SEED = 7
AGED_PRINT = dataclasses.replace(
    EVAL_CONFIG, p_grayscale=1.0, p_sepia=1.0, p_fade=1.0, fade=(0.3, 0.35), p_scratches=1.0, max_scratches=4,
    p_dust=1.0, max_dust=40, p_creases=1.0, p_grain=1.0, p_noise=0.0, p_halftone=0.0, p_downscale=0.0,
    p_jpeg=0.0, p_blur=1.0, blur_sigma=(0.8, 1.0), p_vignette=1.0,
)


def main(source: Path) -> None:
    clean = image_to_tensor(read_image(source))[0].permute(1, 2, 0).numpy()
    sample = degrade(np.ascontiguousarray(clean), AGED_PRINT, seed=SEED)
    pixels = (np.clip(sample.degraded, 0, 1) * 255).round().astype(np.uint8)
    output = Path(__file__).resolve().parents[1] / "src/patina/assets/sample-old-photo.jpg"
    write_image(output, Image(pixels=pixels), quality=92)
    print(f"wrote {output}: {pixels.shape[1]}x{pixels.shape[0]}, ops {sample.params['ops']}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
