"""How long does the training degradation chain take per sample? Printed, not asserted (run by hand).

    python benchmarks/degradation_speed.py            # 192x192 crops, TRAIN_CONFIG, mean of 20 seeds

Every training step of `patina train restore` degrades its crops on the fly, so this bounds the loader.
"""

from __future__ import annotations

import argparse

import numpy as np

from timing import median_seconds
from patina.degradations.chain import TRAIN_CONFIG, degrade


def photo_crop(side: int, seed: int = 0) -> np.ndarray:
    """A float32 (side, side, 3) crop with gradients and fine texture, like a photo."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:side, 0:side].astype(np.float32) / side
    crop = np.stack([0.25 + 0.5 * x, 0.3 + 0.4 * y, 0.6 - 0.35 * x * y], axis=-1)
    crop += 0.05 * np.sin(40 * x + 25 * y)[..., None] + 0.03 * rng.standard_normal((side, side, 1))
    return np.clip(crop, 0, 1).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=192)
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()
    crop = photo_crop(args.side)
    seeds = iter(range(10**9))
    median, _ = median_seconds(lambda: degrade(crop, TRAIN_CONFIG, next(seeds)), args.samples)
    print(f"degrade(): {median * 1000:.2f} ms per {args.side}x{args.side} crop (TRAIN_CONFIG, median of "
          f"{args.samples} seeds)")


if __name__ == "__main__":
    main()
