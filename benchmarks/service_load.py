"""Load test of `patina serve` on this machine: 50 concurrent uploads, then 20 queued restore jobs.

    python benchmarks/service_load.py                    # 50 uploads, 20 jobs, 1 worker
    python benchmarks/service_load.py --uploads 100 --jobs 40 --workers 2

Starts the real server (subprocess, 127.0.0.1, a free port, a temporary archive), sends every upload at
once from 50 threads, queues the jobs at once, waits for all of them (bounded by --timeout), then
checks that nothing was lost: every uploaded file is in the archive byte for byte, every job succeeded
with its own derivative, and the fixity audit passes. Traffic goes only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

TOKEN = "load-test-token"


def photo(seed: int, size: tuple[int, int]) -> bytes:
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 220, size[0], dtype=np.float32)[None, :, None]
    pixels = np.clip(ramp + rng.normal(0, 20, (size[1], size[0], 3)), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def start_server(data: Path, workers: int) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PATINA_API_TOKEN": TOKEN, "PATINA_DATA_DIR": str(data)}
    process = subprocess.Popen([sys.executable, "-m", "patina", "serve", "--port", str(port), "--workers", str(workers),
                                "--log-level", "warning"],
                               env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the server did not start")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--size", type=int, nargs=2, default=(640, 480), help="Photo width and height.")
    parser.add_argument("--timeout", type=float, default=900.0, help="Give up after this many seconds.")
    args = parser.parse_args()

    files = [photo(seed, tuple(args.size)) for seed in range(args.uploads)]
    expected = {hashlib.sha256(data).hexdigest() for data in files}
    with tempfile.TemporaryDirectory() as temp:
        data_dir = Path(temp) / "archive"
        server, base = start_server(data_dir, args.workers)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        try:
            with httpx.Client(base_url=base, headers=headers, timeout=args.timeout,
                              limits=httpx.Limits(max_connections=args.uploads)) as http:
                def send(index: int) -> tuple[int, float, list[int]]:
                    start = time.perf_counter()
                    response = http.post("/api/items", files=[("files", (f"scan{index:03d}.jpg", files[index]))])
                    ids = [item["id"] for item in response.json().get("items", [])] if response.is_success else []
                    return response.status_code, time.perf_counter() - start, ids

                start = time.perf_counter()
                with ThreadPoolExecutor(args.uploads) as pool:
                    uploads = list(pool.map(send, range(args.uploads)))
                upload_seconds = time.perf_counter() - start
                statuses = [status for status, _, _ in uploads]
                latencies = [seconds for _, seconds, _ in uploads]
                item_ids = [ids[0] for _, _, ids in uploads if ids]

                start = time.perf_counter()
                with ThreadPoolExecutor(args.jobs) as pool:
                    submitted = list(pool.map(lambda item: http.post("/api/jobs", json={"item_id": item}).json(),
                                              item_ids[:args.jobs]))
                job_ids = [job["id"] for job in submitted]
                deadline = time.monotonic() + args.timeout
                while True:
                    jobs = [http.get(f"/api/jobs/{job_id}").json() for job_id in job_ids]
                    if all(job["finished"] for job in jobs) or time.monotonic() > deadline:
                        break
                    time.sleep(0.5)
                job_seconds = time.perf_counter() - start
                listed = http.get("/api/items", params={"limit": 500}).json()
                derivatives = http.get("/api/items", params={"role": "derivative", "limit": 500}).json()
        finally:
            server.terminate()
            server.wait(30)

        from patina.archive import Archive

        with Archive.open(data_dir) as archive:
            stored = {record.sha256 for record in archive.items(role="master")}
            audit = archive.verify(record=False)

    succeeded = [job for job in jobs if job["status"] == "succeeded"]
    print(f"uploads:      {args.uploads} concurrent, {args.size[0]}x{args.size[1]} JPEG, "
          f"{sum(map(len, files)) / 1e6:.1f} MB in all")
    print(f"  status:     {statuses.count(201)} x 201, others {sorted(set(statuses) - {201}) or 'none'}")
    print(f"  wall time:  {upload_seconds:.2f} s; latency p50 {statistics.median(latencies):.2f} s, "
          f"p95 {percentile(latencies, 0.95):.2f} s, max {max(latencies):.2f} s")
    print(f"jobs:         {len(job_ids)} restore jobs queued at once, {args.workers} worker(s)")
    print(f"  finished:   {len(succeeded)} succeeded, {len(jobs) - len(succeeded)} not; "
          f"{job_seconds:.1f} s wall ({job_seconds / max(len(jobs), 1):.2f} s per job)")
    lost = expected - stored
    print(f"nothing lost: {len(stored & expected)}/{len(expected)} uploads stored byte for byte, "
          f"{listed['total']} masters listed, {derivatives['total']} derivatives, "
          f"{len({job['derivative_id'] for job in succeeded})} distinct job results, fixity "
          f"{'ok' if audit.ok else 'FAILED'}")
    if lost or len(succeeded) != len(job_ids) or not audit.ok or statuses.count(201) != args.uploads:
        raise SystemExit("FAILED: something was lost")


if __name__ == "__main__":
    main()
