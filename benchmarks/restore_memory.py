"""Peak memory of `patina restore` on a 50 MP photograph. Target: peak RSS <= 4 GiB.

    python benchmarks/restore_memory.py                      # registered models
    python benchmarks/restore_memory.py --model path/to/restore.safetensors
    python benchmarks/restore_memory.py --random             # random weights, default architecture

Writes an 8660x5773 8-bit RGB PNG (a synthetic photograph) to a temporary folder, then runs the real
command line, `patina restore IN -o OUT ...`, in a fresh subprocess and reads that process's own peak
resident set size (ru_maxrss from wait4), so this script's memory does not count.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from restore_speed import random_models  # noqa: E402

GIB = 1 << 30
CLI = "import sys; from patina.cli.app import main; sys.argv[0] = 'patina'; main()"


def write_test_photo(path: Path, width: int, height: int) -> None:
    """A synthetic 8-bit RGB photograph, built in row bands so this process stays small."""
    from patina.imageio import Image, write_image

    rng = np.random.default_rng(0)
    pixels = np.empty((height, width, 3), np.uint8)
    xx = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    for top in range(0, height, 512):
        rows = min(512, height - top)
        yy = np.linspace(top / height, (top + rows) / height, rows, dtype=np.float32)[:, None]
        band = np.stack([0.6 * yy + 0.2 + 0 * xx, 0.5 * xx + 0.25 + 0 * yy,
                         0.45 + 0.25 * np.sin(xx * 400) * np.cos(yy * 270)], axis=2)
        band += rng.normal(0.0, 0.04, band.shape).astype(np.float32)
        pixels[top:top + rows] = np.clip(band * 255.0 + 0.5, 0, 255).astype(np.uint8)
    write_image(path, Image(pixels=pixels))


def run_measured(command: list[str], threads: int) -> tuple[int, float, int]:
    """Run ``command`` with ``threads`` OpenMP threads: (exit status, wall seconds, its own peak RSS in bytes)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env)
    _pid, status, usage = os.wait4(process.pid, 0)
    return os.waitstatus_to_exitcode(status), time.perf_counter() - started, usage.ru_maxrss * 1024  # KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="restore", help="registry name or .safetensors path (default: restore)")
    parser.add_argument("--random", action="store_true", help="use random weights of the default architecture")
    parser.add_argument("--size", default="8660x5773", help="WIDTHxHEIGHT (default 8660x5773, 50 MP)")
    parser.add_argument("--input", type=Path, help="restore this file instead of a synthetic photograph")
    parser.add_argument("--threads", type=int, default=2, help="OMP_NUM_THREADS for the subprocess (default 2)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tile", default="auto")
    args = parser.parse_args()

    width, height = (int(v) for v in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="patina-memory-") as scratch:
        scratch_dir = Path(scratch)
        model = random_models(scratch_dir) if args.random else args.model
        source = args.input
        if source is not None:
            from PIL import Image as PILImage

            PILImage.MAX_IMAGE_PIXELS = None
            with PILImage.open(source) as header:
                width, height = header.size
        else:
            source = scratch_dir / "photo.png"
            started = time.perf_counter()
            write_test_photo(source, width, height)
            print(f"wrote {source.name}: {width}x{height} ({width * height / 1e6:.1f} MP), "
                  f"{source.stat().st_size / 1e6:.0f} MB, in {time.perf_counter() - started:.0f} s")
        output = scratch_dir / "out"
        command = [sys.executable, "-c", CLI, "restore", str(source), "-o", str(output), "--model", model,
                   "--device", args.device, "--tile", args.tile]
        returncode, seconds, peak = run_measured(command, args.threads)
        result = output / source.name
        ok = returncode == 0 and result.is_file()
        if ok:
            from PIL import Image as PILImage

            PILImage.MAX_IMAGE_PIXELS = None
            with PILImage.open(result) as written:
                ok = written.size == (width, height)

    print(f"{'image':>12} {'MP':>6} {'wall s':>8} {'peak RSS':>10} {'limit':>7}  result")
    verdict = "ok" if ok and peak <= 4 * GIB else ("FAILED" if not ok else "OVER LIMIT")
    print(f"{source.name:>12} {width * height / 1e6:>6.1f} {seconds:>8.1f} {peak / GIB:>8.2f} GiB {'4 GiB':>7}  {verdict}")
    return 0 if verdict == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
