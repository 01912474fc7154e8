"""Rebuild docs/faces-old-photos.jpg: the faces in real old photographs from ../shared/data/old_photos at 1:1,
as scanned, after `patina restore`, and after `patina restore --faces` (the shipped or given face models).

    python docs/make_faces_sheet.py [OLD_PHOTOS_DIR] [OUTPUT.jpg] [--count N] [--face-model F] [--face-detector F]

Photos are taken in name order from every subfolder (round-robin), keeping those where the face stage finds a
face, up to N (default 10); each row shows the largest face found, its box enlarged 1.6 times, at 1:1.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from patina.imageio import Image, find_images, read_image, write_image
from patina.pipelines.compare import labelled_grid
from patina.pipelines.restore import RestorePipeline

MARGIN = 1.6
"""The crop's side, in face boxes."""


def eight_bit(pixels: np.ndarray) -> np.ndarray:
    """(H, W, C) pixels as 8-bit RGB."""
    pixels = pixels if pixels.dtype == np.uint8 else (pixels >> 8).astype(np.uint8)
    return np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels


def face_window(box: list[float], height: int, width: int) -> tuple[slice, slice]:
    """The square around a face box, ``MARGIN`` times its longer side, inside the photo."""
    side = MARGIN * max(box[2] - box[0], box[3] - box[1])
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    top, left = max(0, round(cy - side / 2)), max(0, round(cx - side / 2))
    return slice(top, min(height, round(cy + side / 2))), slice(left, min(width, round(cx + side / 2)))


def round_robin(source: Path) -> list[Path]:
    """The photos of every subfolder of ``source``, interleaved."""
    pools = [[path for path, _ in sorted(find_images([folder]))]
             for folder in (sorted(p for p in source.iterdir() if p.is_dir()) or [source])]
    ordered = []
    while any(pools):
        ordered += [pool.pop(0) for pool in pools if pool]
    return ordered


def main() -> None:
    root = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", nargs="?", type=Path, default=root.parents[1] / "shared/data/old_photos")
    parser.add_argument("output", nargs="?", type=Path, default=root / "faces-old-photos.jpg")
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--face-model", default="face-restore")
    parser.add_argument("--face-detector", default="face-detector")
    args = parser.parse_args()
    plain = RestorePipeline(device="cpu")
    faces = RestorePipeline(faces=True, face_model=args.face_model, face_detector=args.face_detector, device="cpu")
    rows = []
    for path in round_robin(args.source):
        if len(rows) >= args.count:
            break
        image = read_image(path)
        refined = faces.restore_image(image)
        found = faces.findings.get("faces", [])
        if not found:
            continue
        largest = max(found, key=lambda face: face["box"][2] - face["box"][0])
        window = face_window(largest["box"], image.height, image.width)
        restored = plain.restore_image(image)
        rows.append([(f"{path.parent.name}/{path.name}", eight_bit(image.pixels)[window]),
                     ("patina restore", eight_bit(restored.pixels)[window]),
                     ("restore --faces", eight_bit(refined.pixels)[window])])
    if not rows:
        raise SystemExit(f"no faces found in {args.source}")
    write_image(args.output, Image(pixels=labelled_grid(rows, max_height=256)), quality=90)
    print(f"wrote {args.output} ({len(rows)} photos)")


if __name__ == "__main__":
    main()
