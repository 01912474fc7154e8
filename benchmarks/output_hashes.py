"""Byte-identity check of the shipped models' outputs: every pipeline, run as the archive runs it (its recipe,
on the CPU), on the bundled sample photo and three Kodak24 photos; sha256 of each result's pixels.

    python benchmarks/output_hashes.py --record benchmarks/output_hashes.json   # before a change
    python benchmarks/output_hashes.py --check benchmarks/output_hashes.json    # after it: exit 1 on a difference

``--pixels DIR`` also keeps each result's pixels there (.npy, outside the repository) when recording, and
when checking reports the largest difference of a result that is not byte-identical (in 1/255 steps).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from patina.imageio import Image, read_image
from patina.pipelines.recipes import get_recipe

KODAK = Path(__file__).resolve().parents[2] / "shared/data/denoise/Kodak24"
STYLE = Path(__file__).resolve().parents[2] / "shared/data/style/adain/style"
PHOTOS = ("kodim03.png", "kodim13.png", "kodim19.png")

RUNS: list[tuple[str, dict[str, Any]]] = [
    ("restore", {}),
    ("restore", {"strength": 0.7, "ensemble": False, "tile": 256}),
    ("restore", {"colorize": True}),
    ("restore", {"upscale": 2}),
    ("colorize", {}),
    ("colorize", {"strength": 0.6, "render_size": 256}),
    ("upscale", {}),
    ("upscale", {"model": "upscale-x2-fidelity", "outscale": 3.0}),
    ("retro", {}),
    ("retro", {"era": "1920s", "engine": "preset", "strength": 0.7, "seed": 3}),
    ("stylize", {}),
    ("stylize", {"alpha": 0.6, "fusion": "wct", "preserve_color": True, "refine": 2, "size": 256}),
]


def photos() -> dict[str, Image]:
    from patina.cli.batch import sample_photo

    found = {"sample": read_image(sample_photo())}
    for name in PHOTOS:
        if (KODAK / name).is_file():
            found[name] = read_image(KODAK / name)
    return found


def digest(image: Image) -> str:
    return hashlib.sha256(image.pixels.tobytes() + str(image.pixels.shape).encode()).hexdigest()


def key_file(pixels_dir: Path, key: str) -> Path:
    return pixels_dir / (hashlib.sha256(key.encode()).hexdigest()[:20] + ".npy")


def run_all(pixels_dir: Path | None, record: bool) -> dict[str, str]:
    torch.manual_seed(0)
    style_files = sorted(STYLE.iterdir())[:1] if STYLE.is_dir() else []
    styles = [read_image(path) for path in style_files]
    hashes: dict[str, str] = {}
    for photo_name, image in photos().items():
        for index, (pipeline, given) in enumerate(RUNS):
            recipe = get_recipe(pipeline)
            if pipeline == "stylize" and not styles:
                continue
            named = {"style": [path.name for path in style_files]} if pipeline == "stylize" else {}
            parameters = recipe.parameters({**given, **named})
            references = {"style": styles, "mask": []} if pipeline == "stylize" else None
            result = recipe.execute(image, parameters, "cpu", references=references)
            key = f"{photo_name}/{index}:{pipeline}:{json.dumps(given, sort_keys=True)}"
            hashes[key] = digest(result.image)
            if pixels_dir is not None and record:
                np.save(key_file(pixels_dir, key), result.image.pixels)
            elif pixels_dir is not None and key_file(pixels_dir, key).is_file():
                before = np.load(key_file(pixels_dir, key))
                if before.shape == result.image.pixels.shape:
                    steps = 255.0 / np.iinfo(before.dtype).max
                    largest = np.abs(before.astype(np.int64) - result.image.pixels.astype(np.int64)).max() * steps
                    print(f"  largest difference from the recorded pixels: {largest:.3f}/255")
            print(f"{key}: {hashes[key][:16]}", flush=True)
    return hashes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--record", type=Path)
    mode.add_argument("--check", type=Path)
    parser.add_argument("--pixels", type=Path, help="folder for the results' pixels (record) or to compare with")
    args = parser.parse_args()
    torch.set_num_threads(2)
    if args.pixels is not None:
        args.pixels.mkdir(parents=True, exist_ok=True)
    hashes = run_all(args.pixels, record=args.record is not None)
    if args.record:
        args.record.write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n")
        print(f"recorded {len(hashes)} results in {args.record}")
        return 0
    recorded = json.loads(args.check.read_text())
    differ = sorted(key for key in recorded if hashes.get(key) != recorded[key])
    for key in differ:
        print(f"DIFFERS: {key}")
    print(f"{len(recorded) - len(differ)} of {len(recorded)} results byte-identical")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
