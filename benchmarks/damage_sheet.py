"""A contact sheet of the wear-and-tear degradation ops, to check by eye that they look like real damage.

    python benchmarks/damage_sheet.py /tmp/damage_sheet.png [--seed 0] [--tile 384]

Rows: a few clean photos (the bundled sample and Kodak24 images when present), each followed by a row of
the ops' masks. Columns: clean, then each op of ``degradations.wear`` and ``fine_detail`` (no mask: content).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from patina.degradations import blotches, cracks, fine_detail, flaking, folds, long_scratches, torn_corners

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = [ROOT / "src/patina/assets/sample-old-photo.jpg",
          *(ROOT.parent / "shared/data/denoise/Kodak24" / f"kodim0{i}.png" for i in (1, 3, 5)),
          *(Path("/work/shared/data/denoise/Kodak24") / f"kodim0{i}.png" for i in (1, 3, 5))]

Op = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray | None]]
OPS: dict[str, Op] = {
    "cracks": lambda im, sd: cracks(im, count=3, craquelure=1, seed=sd),
    "folds": lambda im, sd: folds(im, count=2, seed=sd),
    "torn_corners": lambda im, sd: torn_corners(im, count=2, seed=sd),
    "flaking": lambda im, sd: flaking(im, count=3, seed=sd),
    "long_scratches": lambda im, sd: long_scratches(im, count=2, seed=sd),
    "blotches": lambda im, sd: blotches(im, count=4, seed=sd),
    "fine_detail": lambda im, sd: (fine_detail(im, count=4, seed=sd), None),
}


def load(path: Path, tile: int) -> np.ndarray:
    """An RGB float32 (tile, tile, 3) centre crop of ``path`` with its short side resized to ``tile``."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    h, w = bgr.shape[:2]
    f = tile / min(h, w)
    bgr = cv2.resize(bgr, (max(tile, round(w * f)), max(tile, round(h * f))), interpolation=cv2.INTER_AREA)
    y, x = (bgr.shape[0] - tile) // 2, (bgr.shape[1] - tile) // 2
    return cv2.cvtColor(bgr[y : y + tile, x : x + tile], cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0


def label(tile: np.ndarray, text: str) -> np.ndarray:
    """The float tile as uint8 RGB with ``text`` written in its top-left corner."""
    out = (np.clip(tile, 0, 1) * 255 + 0.5).astype(np.uint8)
    cv2.putText(out, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 0), 1, cv2.LINE_AA)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tile", type=int, default=384)
    args = parser.parse_args()
    seen: set[str] = set()
    photos = [p for p in PHOTOS if p.is_file() and not (p.name in seen or seen.add(p.name))]
    rows = []
    for r, path in enumerate(photos):
        clean = load(path, args.tile)
        top = [label(clean, path.stem)]
        bottom = [label(np.zeros_like(clean), "")]
        for name, op in OPS.items():
            out, mask = op(clean, args.seed + r)
            top.append(label(out, name))
            m = np.zeros(clean.shape[:2], np.float32) if mask is None else mask
            bottom.append(label(np.repeat(m[..., None], 3, axis=2), f"mask {name}" if mask is not None else "no mask"))
        rows += [np.concatenate(top, axis=1), np.concatenate(bottom, axis=1)]
    sheet = np.concatenate(rows, axis=0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out} ({sheet.shape[1]}x{sheet.shape[0]}, {len(photos)} photos)")


if __name__ == "__main__":
    main()
