"""How fast does `RestorePipeline` restore a 1 MP photograph? Target: median of 5 <= 2.5 s on a 2-core CPU.

    python benchmarks/restore_speed.py                      # registered models ('restore', 'damage-mask')
    python benchmarks/restore_speed.py --model path/to/restore.safetensors
    python benchmarks/restore_speed.py --random             # random weights, default architecture

Times `RestorePipeline.restore_image` on an 8-bit RGB image (tiles read from the pixels, result turned
back into pixels), i.e. everything the CLI does except decoding and encoding the files. Speed does not
depend on the weights' values, so `--random` measures the shipped architecture before it is trained.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def synthetic_photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """An 8-bit RGB (H, W, 3) image with gradients, texture and grain, like a scanned print."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    yy /= max(height - 1, 1)
    xx /= max(width - 1, 1)
    base = np.stack([0.6 * yy + 0.2, 0.5 * xx + 0.25, 0.45 + 0.25 * np.sin(xx * 40) * np.cos(yy * 27)], axis=2)
    base += rng.normal(0.0, 0.04, base.shape).astype(np.float32)
    return np.clip(base * 255.0 + 0.5, 0, 255).astype(np.uint8)


def random_models(folder: Path) -> str:
    """Default-architecture RestoreGenerator (small random tail) and DamageMaskNet saved in ``folder``."""
    from patina.networks import DamageMaskNet, RestoreGenerator
    from patina.weights import ModelCard, save_model

    torch.manual_seed(0)
    generator = RestoreGenerator(global_context=True)
    torch.nn.init.normal_(generator.tail.weight, std=0.02)
    save_model(generator, folder / "restore.safetensors",
               ModelCard(name="restore", arch="RestoreGenerator", kwargs={"global_context": True},
                         version="0.0.0-random"))
    save_model(DamageMaskNet(), folder / "damage-mask.safetensors",
               ModelCard(name="damage-mask", arch="DamageMaskNet", kwargs={}, version="0.0.0-random"))
    return str(folder / "restore.safetensors")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="restore", help="registry name or .safetensors path (default: restore)")
    parser.add_argument("--random", action="store_true", help="use random weights of the default architecture")
    parser.add_argument("--size", default="1000x1000", help="WIDTHxHEIGHT of the test image (default 1000x1000)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tile", default="auto")
    parser.add_argument("--ensemble", action="store_true", help="also restore the mirror image and average")
    args = parser.parse_args()

    from patina.core.errors import PatinaError
    from patina.imageio import Image
    from patina.pipelines import RestorePipeline

    torch.set_num_threads(args.threads)
    width, height = (int(v) for v in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory() as scratch:
        model = random_models(Path(scratch)) if args.random else args.model
        try:
            pipe = RestorePipeline(model=model, device=args.device, tile=args.tile, ensemble=args.ensemble)
        except PatinaError as exc:
            print(f"error: {exc}\n(no trained weights yet? pass --model PATH or --random)", file=sys.stderr)
            return 2
        image = Image(pixels=synthetic_photo(height, width))
        tiles = []
        pipe.restore_image(Image(pixels=synthetic_photo(256, 256)))  # warm-up (allocator, kernels)
        times = []
        for _ in range(args.repeats):
            tiles.clear()
            start = time.perf_counter()
            restored = pipe.restore_image(image, on_tile=lambda done, total: tiles.append(total))
            times.append(time.perf_counter() - start)
            assert restored.pixels.shape == image.pixels.shape

    megapixels = width * height / 1e6
    median = statistics.median(times)
    print(f"restore speed: {width}x{height} ({megapixels:.2f} MP), device {pipe.device}, "
          f"{torch.get_num_threads()} threads, tile {pipe.tile_size()} (+{pipe.context} context), "
          f"{tiles[-1] if tiles else 1} tile(s), ensemble {'on' if args.ensemble else 'off'}, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"model: {model if not args.random else 'random weights, default architecture'} "
          f"({pipe.card.arch} {pipe.card.parameters / 1e6:.2f}M + mask net)")
    print(f"{'run':>5} {'seconds':>9}")
    for index, seconds in enumerate(times, 1):
        print(f"{index:>5} {seconds:>9.3f}")
    print(f"{'median':>5} {median:>9.3f}   ({median / megapixels:.3f} s/MP; target <= 2.5 s)")
    return 0 if median <= 2.5 else 1


if __name__ == "__main__":
    sys.exit(main())
