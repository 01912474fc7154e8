"""How fast does `patina stylize` paint a photograph on this CPU (issue bar: 512x512 in <= 1.5 s)?

    python benchmarks/stylize_speed.py                          # 512x512 photo, 512 px style, 2 threads
    python benchmarks/stylize_speed.py --size 2000x1500 --fusion wct
    python benchmarks/stylize_speed.py --refine 5                   # with 5 L-BFGS refinement steps

Times the whole transfer of one pair: the style image's features (``set_styles``) and
`StylizePipeline.stylize_image` on an 8-bit RGB photo (features, fusion, decoder, pixels): everything the
CLI does except decoding and encoding files. Prints the median over the repeats, and the precision: bf16 on
CPUs that compute it natively (AVX512-BF16 / AMX, as this one), float32 elsewhere (about 2x slower).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from timing import median_seconds


def synthetic(width: int, height: int, seed: int) -> np.ndarray:
    """An 8-bit RGB test picture: smooth colour waves and noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    rgb = np.stack([0.5 + 0.3 * np.sin(xx * 30 + seed), 0.5 + 0.3 * np.cos(yy * 20), 0.4 + 0.2 * xx], axis=-1)
    return (np.clip(rgb + rng.normal(0, 0.03, rgb.shape), 0, 1) * 255).round().astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="stylize")
    parser.add_argument("--size", default="512x512", help="photo WIDTHxHEIGHT (default 512x512)")
    parser.add_argument("--style-size", type=int, default=512, help="long side of the style image")
    parser.add_argument("--fusion", default="adain", choices=["adain", "wct"])
    parser.add_argument("--refine", type=int, default=0, help="refinement steps (default 0: one pass)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from patina.imageio import Image
    from patina.pipelines.stylize import StylizePipeline

    width, height = (int(v) for v in args.size.lower().split("x"))
    photo = Image(pixels=synthetic(width, height, 0))
    style = Image(pixels=synthetic(args.style_size, args.style_size, 1))
    pipeline = StylizePipeline([style], fusion=args.fusion, refine=args.refine, model=args.model,
                                device="cpu")

    def run() -> None:
        pipeline.set_styles([style])
        pipeline.stylize_image(photo)

    median, times = median_seconds(run, args.repeats)
    precision = "bf16" if pipeline.autocast == torch.bfloat16 else "float32"
    print(f"stylize {args.fusion} refine {args.refine} {width}x{height} photo, {args.style_size} px style, {args.threads} threads, "
          f"CPU, {precision}: "
          f"median {median:.3f} s over {args.repeats} runs (min {min(times):.3f} s)", flush=True)


if __name__ == "__main__":
    main()
