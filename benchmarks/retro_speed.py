"""How fast does `patina retro` give a 1 MP photograph an era look on this CPU?

    python benchmarks/retro_speed.py                     # 1000x1000, every era, both engines, 2 threads
    python benchmarks/retro_speed.py --size 4000x3000 --era 1970s

Times `RetroPipeline.retro_image` on an 8-bit RGB image (the look, the generator where used, the result
as pixels): everything the CLI does except decoding and encoding the files. Prints the median per engine/era.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from timing import median_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="retro")
    parser.add_argument("--size", default="1000x1000", help="WIDTHxHEIGHT (default 1000x1000)")
    parser.add_argument("--era", action="append", help="era(s) to time (default: all)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from patina.imageio import Image
    from patina.looks import ERA_NAMES
    from patina.pipelines.retro import RetroPipeline

    width, height = (int(v) for v in args.size.lower().split("x"))
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    rgb = np.stack([0.5 + 0.3 * np.sin(xx * 30), 0.5 + 0.3 * np.cos(yy * 20), 0.4 + 0.2 * xx], axis=-1)
    image = Image(pixels=(np.clip(rgb + rng.normal(0, 0.03, rgb.shape), 0, 1) * 255).round().astype(np.uint8))
    megapixels = width * height / 1e6
    for engine in ("preset", "gan"):
        for era in args.era or ERA_NAMES:
            pipeline = RetroPipeline(era=era, engine=engine, model=args.model, device="cpu")
            median, _ = median_seconds(lambda: pipeline.retro_image(image), args.repeats)
            print(f"retro {engine:6s} {era} {width}x{height} ({megapixels:.2f} MP), {args.threads} threads, CPU: "
                  f"median {median:.3f} s over {args.repeats} runs ({median / megapixels:.3f} s/MP)", flush=True)


if __name__ == "__main__":
    main()
