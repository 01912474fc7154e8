"""Decompression bombs against `patina serve`: concurrent uploads of a small PNG that decodes to ~196 MP.

    python benchmarks/service_bombs.py                    # 4 concurrent uploads of a 14000x14000 RGB PNG
    python benchmarks/service_bombs.py --uploads 8 --side 12000

Starts the real server (127.0.0.1, a temporary archive), sends the uploads at once, samples the server's
resident memory (psutil, every 50 ms) and prints the peak, the status codes and the time. Each file differs by
one pixel so that each is really decoded. Traffic goes only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import psutil
from PIL import Image

from service_load import TOKEN, start_server


def bomb(side: int, seed: int) -> bytes:
    pixels = np.zeros((side, side, 3), np.uint8)
    pixels[0, 0] = seed
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG", compress_level=9)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=4)
    parser.add_argument("--side", type=int, default=14000)
    args = parser.parse_args()
    files = [bomb(args.side, seed + 1) for seed in range(args.uploads)]
    with tempfile.TemporaryDirectory() as temp:
        server, base = start_server(Path(temp) / "archive", 1)
        process = psutil.Process(server.pid)
        baseline = process.memory_info().rss
        peak, done = [baseline], threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], process.memory_info().rss)
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=600) as http:
                def send(index: int) -> int:
                    return http.post("/api/items", files=[("files", (f"bomb{index}.png", files[index]))]).status_code

                began = time.perf_counter()
                with ThreadPoolExecutor(args.uploads) as pool:
                    statuses = list(pool.map(send, range(args.uploads)))
                seconds = time.perf_counter() - began
        finally:
            done.set()
            sampler.join()
            server.terminate()
            server.wait(30)
    print(f"{args.uploads} concurrent uploads of a {len(files[0]) / 1e3:.0f} KB PNG of {args.side}x{args.side} "
          f"({args.side * args.side / 1e6:.0f} MP): status {statuses}, {seconds:.1f} s")
    print(f"server memory: {baseline / 2**30:.2f} GiB at rest, peak {peak[0] / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
