"""Import 10,000 small images into a fresh archive: time, rate, catalogue size, store size, audit time.

    python benchmarks/archive_import.py                 # 10,000 images of 96x64 px
    python benchmarks/archive_import.py --count 1000 --keep /tmp/bench-archive

Writes distinct small PNG photos (a gradient plus seeded noise, spread over 100 folders) to a
temporary folder, imports them with the real `patina archive import` command in a subprocess
(so start-up is counted once, as a user would see it), then runs `patina archive verify`.
Sizes are of the SQLite catalogue (with its WAL, after a checkpoint) and of the object store.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

CLI = "import sys; from patina.cli.app import main; sys.argv[0] = 'patina'; main()"


def write_images(folder: Path, count: int, size: tuple[int, int]) -> int:
    rng = np.random.default_rng(0)
    width, height = size
    ramp = np.linspace(0, 200, width, dtype=np.float32)[None, :, None]
    total = 0
    for index in range(count):
        pixels = np.clip(ramp + rng.normal(0, 20, (height, width, 3)), 0, 255).astype(np.uint8)
        path = folder / f"box{index % 100:03d}" / f"scan{index:05d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path)
        total += path.stat().st_size
    return total


def run(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", CLI, "archive", *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--width", type=int, default=96)
    parser.add_argument("--height", type=int, default=64)
    parser.add_argument("--keep", type=Path, help="Build the archive here and keep it.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as temp:
        sources = Path(temp) / "scans"
        source_bytes = write_images(sources, args.count, (args.width, args.height))
        root = args.keep or Path(temp) / "archive"
        run("init", str(root))
        import_seconds = run("import", str(sources), "-A", str(root), "--collection", "Benchmark")
        again_seconds = run("import", str(sources), "-A", str(root))
        verify_seconds = run("verify", "-A", str(root))
        database = root / "catalogue.sqlite"
        connection = sqlite3.connect(database)
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        items = connection.execute("SELECT count(*) FROM items").fetchone()[0]
        connection.close()
        db_bytes = database.stat().st_size + sum(p.stat().st_size for p in root.glob("catalogue.sqlite-*"))

        print(f"images:              {args.count} PNG of {args.width}x{args.height} ({source_bytes / 1e6:.1f} MB)")
        print(f"catalogued items:    {items}")
        print(f"import:              {import_seconds:.1f} s ({args.count / import_seconds:.0f} images/s)")
        print(f"re-import (no-op):   {again_seconds:.1f} s")
        print(f"verify (fixity):     {verify_seconds:.1f} s")
        print(f"catalogue size:      {db_bytes / 1e6:.1f} MB ({db_bytes / max(items, 1) / 1024:.1f} KiB per item)")
        print(f"store size:          {folder_size(root / 'objects') / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
