"""How well, and how fast, does Patina's face detector find faces? Targets (issue 28): recall >= 0.9 and
precision >= 0.9 against the teacher (YuNet) on held-out photos, faces >= 48 px, clean and aged; <= 50 ms for a
1 MP photo on this CPU.

    PYTHONPATH=src python benchmarks/face_detection.py --model runs/face-detector/export/face-detector.safetensors

Held-out photos: one in 10 of ../shared/data/train (the split the detector's training keeps out), as they are and
aged by the independent chain of patina.evaluation.aging (seed = the photo's index); the teacher's labels of the
clean photos are the reference (patina.evaluation.faces_eval). Speed: median of 5 calls (after a warm-up) on a
1 MP photo (a held-out photo with faces, enlarged to 1155 x 866), detection only, 2 threads.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from timing import median_seconds  # noqa: E402

from patina.data import FACE_HOLDOUT_EVERY, list_images, read_rgb, split_holdout  # noqa: E402
from patina.evaluation.face_teacher import DEFAULT_TEACHER, teacher_faces  # noqa: E402
from patina.evaluation.faces_eval import MIN_FACE, detector_matching  # noqa: E402
from patina.pipelines.faces import FaceFinder  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="face-detector")
    parser.add_argument("--data", default="../shared/data/train")
    parser.add_argument("--teacher", default=DEFAULT_TEACHER)
    parser.add_argument("--limit", type=int, default=None, help="score only the first N held-out photos")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(2)
    _, held_out = split_holdout(list_images([args.data]), FACE_HOLDOUT_EVERY)
    held_out = held_out[:args.limit] if args.limit else held_out
    labels = teacher_faces(held_out, teacher=args.teacher)
    finder = FaceFinder.load(args.model)
    counted = sum(1 for path in held_out for face in labels[path].faces if face.size >= MIN_FACE)
    report: dict[str, object] = {"model": args.model, "photos": len(held_out), "faces": counted, "min_face": MIN_FACE}
    for condition, aged in (("clean", False), ("aged", True)):
        matching = detector_matching(finder, held_out, labels, aged=aged)
        report[condition] = {"precision": round(matching.precision, 4), "recall": round(matching.recall, 4),
                             "true_positives": matching.true_positives, "false_positives": matching.false_positives,
                             "missed": matching.missed}
        print(f"{condition}: precision {matching.precision:.3f}, recall {matching.recall:.3f} "
              f"({matching.true_positives} found, {matching.false_positives} false, {matching.missed} missed "
              f"of {counted} faces >= {MIN_FACE:.0f} px in {len(held_out)} photos)")
    portrait = next(path for path in held_out if labels[path].faces)
    photo = cv2.resize(read_rgb(portrait), (1155, 866), interpolation=cv2.INTER_CUBIC)
    image = torch.from_numpy(np.ascontiguousarray(photo.transpose(2, 0, 1)))
    seconds, times = median_seconds(lambda: finder(image), 5)
    report["seconds_1mp"] = round(seconds, 4)
    print(f"1 MP photo: {seconds * 1000:.1f} ms (median of 5: {', '.join(f'{t * 1000:.1f}' for t in times)})")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
