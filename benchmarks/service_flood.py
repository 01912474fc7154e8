"""Flood of unauthenticated, expensive requests against `patina serve` on this machine (issue 30's finding 1).

    python benchmarks/service_flood.py                   # 80 concurrent 20 KB gallery searches, no login
    python benchmarks/service_flood.py --requests 160 --query-kb 40

Starts the real server (127.0.0.1, a free port, a temporary archive with 200 small photos), sends every
unauthenticated `GET /?q=<query>` at once while a logged-in client keeps calling `GET /api/items`, then
checks the worker: /api/health and a restore job submitted after the flood. Prints each side's status codes
and latencies (p50, p95, max). Traffic goes only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from service_load import TOKEN, percentile, photo, start_server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=80)
    parser.add_argument("--query-kb", type=float, default=20.0)
    parser.add_argument("--photos", type=int, default=200)
    args = parser.parse_args()
    query = " ".join(["pier"] * int(args.query_kb * 1024 / 5))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with tempfile.TemporaryDirectory() as temp:
        server, base = start_server(Path(temp) / "archive", 1)
        try:
            with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
                for start in range(0, args.photos, 50):
                    http.post("/api/items", files=[("files", (f"pier{i:04d}.jpg", photo(i, (48, 32))))
                                                   for i in range(start, min(args.photos, start + 50))])
            flood: list[tuple[int, float]] = []
            logged_in: list[tuple[int, float]] = []
            done = threading.Event()

            attacker = httpx.Client(base_url=base, timeout=120, limits=httpx.Limits(max_connections=args.requests))

            def anonymous(_: int) -> tuple[int, float]:  # one shared client: no per-request client set-up cost
                began = time.perf_counter()
                response = attacker.get("/", params={"q": query}, follow_redirects=False)
                return response.status_code, time.perf_counter() - began

            def user() -> None:
                with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
                    while not done.is_set():
                        began = time.perf_counter()
                        status = http.get("/api/items", params={"limit": 20}).status_code
                        logged_in.append((status, time.perf_counter() - began))

            watcher = threading.Thread(target=user)
            watcher.start()
            began = time.perf_counter()
            with ThreadPoolExecutor(args.requests) as pool:
                flood = list(pool.map(anonymous, range(args.requests)))
            wall = time.perf_counter() - began
            done.set()
            watcher.join()
            attacker.close()
            with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
                health = http.get("/api/health").json()
                job = http.post("/api/jobs", json={"item_id": 1, "parameters": {"tile": 0}}).json()
                deadline = time.monotonic() + 300
                while not (state := http.get(f"/api/jobs/{job['id']}").json())["finished"]:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.2)
        finally:
            server.terminate()
            server.wait(30)

    def summary(rows: list[tuple[int, float]]) -> str:
        codes = sorted({code for code, _ in rows})
        seconds = [s for _, s in rows]
        return (f"{len(rows)} answers, status {codes}; latency p50 {statistics.median(seconds):.3f} s, "
                f"p95 {percentile(seconds, 0.95):.3f} s, max {max(seconds):.3f} s")

    print(f"flood:      {args.requests} concurrent unauthenticated GET /?q=<{args.query_kb:.0f} KB> in {wall:.2f} s: "
          f"{summary(flood)}")
    print(f"logged in:  GET /api/items during the flood: {summary(logged_in)}")
    print(f"afterwards: health {health['status']}, workers alive {health['workers']['alive']}, "
          f"a job submitted after the flood: {state['status']}")


if __name__ == "__main__":
    main()
