"""Throughput of a shipped upscaler (default upscale-x4), in output megapixels per second, next to
realesr-general-x4v3's shape (an SRVGGNetCompact of 64 channels and 32 convs, random weights) in the same
run; for an x2 model the reference's x4 result is resized to x2, as the x2 students' teacher is.
Target: >= 2.0x.

    python benchmarks/upscale_speed.py                      # CPU, float32, the pipeline's tiles
    python benchmarks/upscale_speed.py --model upscale-x2   # the x2 student against the teacher halved
    python benchmarks/upscale_speed.py --device cuda        # bf16 autocast + torch.compile

Both models run through the same `UpscalePipeline.upscale_image` on the same synthetic photograph, so
tiling, conversion and blending are counted; speed does not depend on the weights' values.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from restore_speed import synthetic_photo  # noqa: E402


def reference_model(folder: Path) -> str:
    """realesr-general-x4v3's architecture (64 channels, 32 convs, PReLU, x4) with random weights."""
    from patina.networks.upscale import CompactUpscaler
    from patina.weights import ModelCard, save_model

    kwargs = {"channels": 64, "convs": 32, "scale": 4, "activation": "prelu"}
    path = folder / "general-x4v3-shape.safetensors"
    save_model(CompactUpscaler(**kwargs), path, ModelCard(name="general-x4v3-shape", arch="CompactUpscaler",
                                                          kwargs=kwargs, version="random", task="upscale"))
    return str(path)


def throughput(model: str, *, scale: int | None = None, device: str, size: int, repeats: int,
               compile_model: bool) -> tuple[float, int]:
    """(median output MP/s, output scale) of ``model`` upscaling a ``size`` x ``size`` photo, its result
    resized to ``scale`` if given."""
    from patina.imageio import Image
    from patina.pipelines.upscale import UpscalePipeline

    pipeline = UpscalePipeline(model=model, scale=scale, device=device)
    if compile_model:
        pipeline.network = torch.compile(pipeline.network)
    image = Image(pixels=synthetic_photo(size, size))
    pipeline.upscale_image(image)  # warm-up (and compilation)
    times = []
    for _ in range(repeats):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        started = time.perf_counter()
        result = pipeline.upscale_image(image)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    return result.width * result.height / 1e6 / statistics.median(times), result.width // size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="upscale-x4")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--size", type=int, default=None, help="input side (default 256 on CPU, 1024 on CUDA)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    on_gpu = args.device.startswith("cuda")
    size = args.size or (1024 if on_gpu else 256)
    with tempfile.TemporaryDirectory() as scratch:
        reference = reference_model(Path(scratch))
        rate, scale = throughput(args.model, device=args.device, size=size, repeats=args.repeats,
                                 compile_model=on_gpu)
        reference_rate, _ = throughput(reference, scale=scale, device=args.device, size=size,
                                       repeats=args.repeats, compile_model=on_gpu)
    rates = {args.model: rate, f"general-x4v3 shape x{scale}": reference_rate}
    precision = "bf16 autocast, compiled" if on_gpu else f"float32, {args.threads} threads"
    print(f"device {args.device} ({precision}), input {size}x{size}, median of {args.repeats}")
    for name, value in rates.items():
        print(f"{name:>24}: {value:7.2f} output MP/s")
    ratio = rate / reference_rate
    print(f"{'ratio':>24}: {ratio:7.2f}x (target >= 2.0x)")
    return 0 if ratio >= 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
