"""How fast does `ColorizePipeline` colorize a 1 MP photograph on this CPU?

    python benchmarks/colorize_speed.py                       # registered model, 1000x1000 sepia RGB, 2 threads
    python benchmarks/colorize_speed.py --size 4000x3000 --render-size 512
    python benchmarks/colorize_speed.py --gray                # a one-channel scan (no colour test)

Times `ColorizePipeline.colorize_image` on an 8-bit sepia print scanned as RGB, as most scanners deliver it
(shrink to the working size, the already-colour test, generator, chroma upsampling and Lab composition at
full size, result as pixels): everything the CLI does except decoding and encoding the files. Prints the
median of the repeats and the generator's share.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="colorize")
    parser.add_argument("--size", default="1000x1000", help="WIDTHxHEIGHT (default 1000x1000)")
    parser.add_argument("--render-size", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--gray", action="store_true", help="a one-channel gray image instead of sepia RGB")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from patina.imageio import Image
    from patina.pipelines.colorize import DEFAULT_RENDER_SIZE, ColorizePipeline

    width, height = (int(v) for v in args.size.lower().split("x"))
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    gray = np.clip(0.5 + 0.3 * np.sin(xx * 30) * np.cos(yy * 20) + rng.normal(0, 0.04, (height, width)), 0, 1)
    sepia = np.array([1.0, 0.86, 0.68])  # a warm tone, stronger in the shadows than in the highlights
    pixels = gray[:, :, None] if args.gray else gray[:, :, None] ** (1 / sepia) * sepia ** 0.3
    image = Image(pixels=(pixels * 255).round().astype(np.uint8))
    render = args.render_size or DEFAULT_RENDER_SIZE
    pipeline = ColorizePipeline(model=args.model, device="cpu", render_size=render)
    pipeline.colorize_image(image)  # warm-up
    totals, generator = [], []
    small = torch.rand(1, 3, *pipeline.working_size(height, width))
    for _ in range(args.repeats):
        start = time.perf_counter()
        pipeline.colorize_image(image)
        totals.append(time.perf_counter() - start)
        start = time.perf_counter()
        pipeline.chroma(small)
        generator.append(time.perf_counter() - start)
    megapixels = width * height / 1e6
    median = statistics.median(totals)
    print(f"colorize {width}x{height} ({megapixels:.2f} MP), render size {render}, {args.threads} threads, CPU: "
          f"median {median:.3f} s over {args.repeats} runs ({median / megapixels:.3f} s/MP); "
          f"generator alone {statistics.median(generator):.3f} s")


if __name__ == "__main__":
    main()
