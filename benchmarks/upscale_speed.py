"""Throughput of a shipped upscaler (default upscale-x4), in output megapixels per second, next to
realesr-general-x4v3's shape (an SRVGGNetCompact of 64 channels and 32 convs, random weights) in the same
run; for an x2 model the reference's x4 result is resized to x2, as the x2 students' teacher is.
Target: >= 2.0x.

    python benchmarks/upscale_speed.py                      # CPU, float32, the pipeline's tiles
    python benchmarks/upscale_speed.py --model upscale-x2   # the x2 student against the teacher halved
    python benchmarks/upscale_speed.py --device cuda        # bf16 autocast + torch.compile

Both models run through the same `UpscalePipeline.upscale_image` on the same synthetic photograph, so
tiling, conversion and blending are counted; speed does not depend on the weights' values. They take
turns run after run: on a shared CPU the load from neighbours drifts, and separate runs of each can
disagree by 50%.
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


def timed_run(pipeline, image, device: str) -> float:
    """Seconds for one ``upscale_image`` (synchronised on CUDA)."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    started = time.perf_counter()
    pipeline.upscale_image(image)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - started


def throughputs(models: list[tuple[str, int | None]], *, device: str, size: int, repeats: int,
                compile_model: bool) -> list[list[float]]:
    """Output MP/s of each (model, scale) in each of ``repeats`` turns, upscaling a ``size`` x ``size`` photo,
    the result resized to ``scale`` where given. The models take turns, run after run, so a change in the
    machine's load (a shared CPU's neighbours) falls on all of them alike."""
    from patina.imageio import Image
    from patina.pipelines.upscale import UpscalePipeline

    image = Image(pixels=synthetic_photo(size, size))
    pipelines, output_pixels = [], []
    for model, scale in models:
        pipeline = UpscalePipeline(model=model, scale=scale, device=device)
        if compile_model:
            pipeline.network = torch.compile(pipeline.network)
        result = pipeline.upscale_image(image)  # warm-up (and compilation)
        pipelines.append(pipeline)
        output_pixels.append(result.width * result.height)
    times: list[list[float]] = [[] for _ in models]
    for _ in range(repeats):
        for index, pipeline in enumerate(pipelines):
            times[index].append(timed_run(pipeline, image, device))
    return [[pixels / 1e6 / seconds for seconds in runs] for pixels, runs in zip(output_pixels, times, strict=True)]


def load_scale(model: str) -> int:
    """The scale of a shipped model or checkpoint, from its card."""
    from patina.weights.registry import load

    return int(load(model, task="upscale").scale)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="upscale-x4")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--size", type=int, default=None, help="input side (default 256 on CPU, 1024 on CUDA)")
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    on_gpu = args.device.startswith("cuda")
    size = args.size or (1024 if on_gpu else 256)
    with tempfile.TemporaryDirectory() as scratch:
        reference = reference_model(Path(scratch))
        scale = load_scale(args.model)
        rates, reference_rates = throughputs([(args.model, None), (reference, scale)], device=args.device,
                                           size=size, repeats=args.repeats, compile_model=on_gpu)
    medians = {args.model: statistics.median(rates),
               f"general-x4v3 shape x{scale}": statistics.median(reference_rates)}
    precision = "bf16 autocast, compiled" if on_gpu else f"float32, {args.threads} threads"
    print(f"device {args.device} ({precision}), input {size}x{size}, median of {args.repeats} turns")
    for name, value in medians.items():
        print(f"{name:>24}: {value:7.2f} output MP/s")
    ratio = statistics.median(rate / reference for rate, reference in zip(rates, reference_rates, strict=True))
    print(f"{'ratio':>24}: {ratio:7.2f}x (median of the turns' ratios; target >= 2.0x)")
    return 0 if ratio >= 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
