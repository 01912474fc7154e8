"""Peak memory of `patina upscale --scale 2` on a 10000x8000 scan (a 20000x16000 result). Target: peak RSS
<= 4 GiB on the CPU.

    python benchmarks/upscale_memory.py                         # registered upscale-x2
    python benchmarks/upscale_memory.py --model upscale-x2-fidelity --size 6000x4000

Writes a synthetic 8-bit RGB photograph (PNG) to a temporary folder, runs the real command line in a fresh
subprocess and reads that process's own peak resident set size (ru_maxrss from wait4); then checks the
written result's size. Seams are tested in tests/test_upscale.py (tiled vs untiled within 1/255).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from restore_memory import CLI, GIB, run_measured, write_test_photo  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="upscale-x2", help="registry name or weights file (default upscale-x2)")
    parser.add_argument("--size", default="10000x8000", help="input WIDTHxHEIGHT (default 10000x8000)")
    parser.add_argument("--threads", type=int, default=2, help="OMP_NUM_THREADS for the subprocess (default 2)")
    parser.add_argument("--tile", default="auto")
    parser.add_argument("--limit-gib", type=float, default=4.0)
    args = parser.parse_args()

    width, height = (int(v) for v in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="patina-memory-") as scratch:
        source, output = Path(scratch) / "scan.png", Path(scratch) / "out"
        started = time.perf_counter()
        write_test_photo(source, width, height)
        print(f"wrote {source.name}: {width}x{height} ({width * height / 1e6:.0f} MP) in "
              f"{time.perf_counter() - started:.0f} s")
        command = [sys.executable, "-c", CLI, "upscale", str(source), "-o", str(output), "--model", args.model,
                   "--device", "cpu", "--tile", args.tile]
        returncode, seconds, peak = run_measured(command, args.threads)
        result, scale, ok = output / source.name, None, returncode == 0
        if ok:
            from PIL import Image as PILImage

            PILImage.MAX_IMAGE_PIXELS = None
            with PILImage.open(result) as written:
                scale = written.size[0] / width
                ok = written.size[1] == round(height * scale)

    verdict = "ok" if ok and peak <= args.limit_gib * GIB else ("FAILED" if not ok else "OVER LIMIT")
    print(f"{'input':>12} {'scale':>6} {'wall s':>8} {'peak RSS':>10} {'limit':>8}  result")
    print(f"{args.size:>12} {scale or 0:>6.1f} {seconds:>8.1f} {peak / GIB:>6.2f} GiB {args.limit_gib:>4.1f} GiB  {verdict}")
    return 0 if verdict == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
