"""Memory and time of decoding a large JPEG for a preview, whole and reduced in the DCT (`read_image(...,
at_least=side)`, what the service's thumbnails and previews use). Each way runs in a fresh process started by
a small parent (Linux keeps a process's peak RSS across exec, so the parent must never hold the picture).

    python benchmarks/preview_decode.py [--megapixels 108] [--side 320]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

MAKE = """
import sys
import numpy as np
from PIL import Image
texture = (np.random.default_rng(0).random((750, 1000, 3)) * 255).astype(np.uint8)
Image.fromarray(texture).resize((int(sys.argv[2]), int(sys.argv[3]))).save(sys.argv[1], quality=85)
"""
PROBE = """
import json, resource, sys, time
from patina.imageio import read_image
start = time.perf_counter()
image = read_image(sys.argv[1], max_pixels=10**9, at_least=None if sys.argv[2] == "0" else int(sys.argv[2]))
print(json.dumps({"size": [image.width, image.height], "seconds": round(time.perf_counter() - start, 3),
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megapixels", type=float, default=108)
    parser.add_argument("--side", type=int, default=320)
    args = parser.parse_args()

    width = int((args.megapixels * 1e6 * 4 / 3) ** 0.5)
    height = int(width * 3 / 4)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "large.jpg"
        subprocess.run([sys.executable, "-c", MAKE, str(path), str(width), str(height)], check=True)
        for label, side in (("whole", 0), ("reduced", args.side)):
            result = subprocess.run([sys.executable, "-c", PROBE, str(path), str(side)], check=True,
                                    capture_output=True, text=True)
            print(label, f"{width}x{height}", json.loads(result.stdout))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
