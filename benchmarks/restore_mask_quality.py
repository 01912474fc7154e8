"""How well does the damage-mask net find damage, and how often does it flag what is not damage?

    python benchmarks/restore_mask_quality.py [--clean ../shared/data/denoise/Kodak24] [--mask-model NAME]

* Recall on the README's sample photo (src/patina/assets/sample-old-photo.jpg): its damage is known, since
  docs/make_sample_photo.py made it with a fixed plan; the damage ops' masks do not depend on the picture,
  so replaying that plan on a blank image gives the true masks. Reported per kind of damage (target: >= 0.9
  on its scratch pixels).
* False positives on clean photographs: the share of pixels with a damage probability above 0.5 (target:
  <= 0.5 % on Kodak24).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def sample_damage(shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """The true mask of each damage op of the sample photo (same plan as docs/make_sample_photo.py)."""
    sys.path.insert(0, str(ROOT / "docs"))
    from make_sample_photo import AGED_PRINT, SEED

    from patina.degradations.chain import DAMAGE_OPS, apply_op, sample_plan

    plan = sample_plan(AGED_PRINT, (*shape, 3), SEED)
    blank = np.full((*shape, 3), 0.5, np.float32)
    masks = {}
    for record in plan["ops"]:
        if record["op"] in DAMAGE_OPS:
            _, mask = apply_op(blank, record)
            masks[record["op"]] = mask
    return masks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clean", type=Path, default=ROOT.parent / "shared/data/denoise/Kodak24")
    parser.add_argument("--mask-model", default="damage-mask")
    args = parser.parse_args()

    from patina.data import list_images, read_rgb_uint8
    from patina.pipelines import RestorePipeline

    torch.set_num_threads(2)
    pipeline = RestorePipeline(mask_model=args.mask_model, device="cpu")
    sample = read_rgb_uint8(ROOT / "src/patina/assets/sample-old-photo.jpg")
    detected = pipeline.detect_damage(torch.from_numpy(sample.transpose(2, 0, 1)).float()[None] / 255)[0, 0] > 0.5
    print(f"sample photo ({sample.shape[1]}x{sample.shape[0]}), damage probability > 0.5:")
    for name, mask in sample_damage(sample.shape[:2]).items():
        truth = torch.from_numpy(mask > 0.5)
        recall = float((detected & truth).sum() / truth.sum().clamp_min(1))
        print(f"  {name:10s} recall {recall:.3f} of {int(truth.sum())} pixels")
    flagged, total = 0, 0
    for path in list_images([args.clean]):
        photo = torch.from_numpy(read_rgb_uint8(path).transpose(2, 0, 1)).float()[None] / 255
        probability = pipeline.detect_damage(photo)[0, 0]
        flagged += int((probability > 0.5).sum())
        total += probability.numel()
    print(f"clean photos in {args.clean}: {100 * flagged / max(total, 1):.3f} % of pixels flagged as damage")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
