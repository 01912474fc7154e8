"""How big is the tone correction the shipped `restore-tone` model proposes for photos that need none, and
for photos with tone damage? Sets the gate (patina.networks.tone.GATE), on held-out TRAINING photos only.

    python benchmarks/tone_gate.py [--data ../shared/data/train] [--draws 4]

For every held-out photo of the training corpus (every 40th file, as the trainers hold out), the mean absolute
change the correction makes to the photo's 64 x 64 thumbnail is measured on the photo as it is and on
``--draws`` tone-damaged copies (patina.degradations.tone, seeds apart from training's); printed as
percentiles, with how much of the damage each candidate gate would leave uncorrected.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/train")
    parser.add_argument("--draws", type=int, default=4)
    parser.add_argument("--model", default="restore-tone")
    args = parser.parse_args()

    from patina.data import list_images, read_rgb_uint8, split_holdout
    from patina.degradations.tone import sample_tone_plan, tone_shift
    from patina.networks.restore import thumbnail
    from patina.weights import load

    net = load(args.model).network
    _, held_out = split_holdout(list_images([args.data]), 40)
    clean_change, damaged_change, damaged_error = [], [], []

    def change(picture: np.ndarray) -> float:
        thumb = thumbnail(torch.from_numpy(picture.transpose(2, 0, 1))[None])
        with torch.no_grad():
            return float((net(thumb, thumb).clamp(0, 1) - thumb).abs().mean())

    for index, path in enumerate(held_out):
        photo = read_rgb_uint8(path).astype(np.float32) / 255
        clean_change.append(change(photo))
        for draw in range(args.draws):
            plan = sample_tone_plan(np.random.default_rng([424242, index, draw]), gray=False)
            if plan["untouched"]:
                continue
            damaged = tone_shift(photo, plan)
            damaged_change.append(change(damaged))
            damaged_error.append(float(np.abs(damaged - photo).mean()))
    clean, damaged = np.array(clean_change), np.array(damaged_change)
    print(f"{len(held_out)} held-out photos, {len(damaged)} damaged copies")
    for q in (50, 75, 90, 95, 99):
        print(f"  p{q}: clean {np.percentile(clean, q):.4f}   damaged {np.percentile(damaged, q):.4f}")
    for gate in (0.005, 0.01, 0.015, 0.02, 0.03):
        print(f"  a gate at {gate}: {np.mean(clean < gate):.0%} of clean photos left alone, "
              f"{np.mean(damaged < gate):.0%} of damaged ones (their mean error {np.mean(damaged_error):.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
