"""How much time does the face stage add to `patina restore`? Target (issue 28): <= 1.5 s extra for a 1 MP photo
with 3 faces on this CPU.

    PYTHONPATH=src python benchmarks/face_stage.py [--face-model F] [--face-detector F]

Times, on an 8-bit 1155 x 866 photo (synthetic: speed does not depend on the content), the detector on the
restored photo plus restoring and pasting back 3 faces (given, ~150 px each, so the count does not depend on
what the detector finds): median of 5 after a warm-up, 2 threads. For comparison, the restoration itself
(RestorePipeline.restore_image) is timed the same way.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from restore_speed import synthetic_photo  # noqa: E402
from timing import median_seconds  # noqa: E402

from patina.imageio import Image  # noqa: E402
from patina.ops.face_align import TEMPLATE  # noqa: E402
from patina.ops.faces import Face  # noqa: E402
from patina.pipelines.faces import FaceRefiner  # noqa: E402
from patina.pipelines.restore import RestorePipeline  # noqa: E402


def frontal_face(side: float, left: float, top: float) -> Face:
    points = TEMPLATE * side + np.array([left, top])
    return Face(box=(left + 0.2 * side, top + 0.3 * side, left + 0.8 * side, top + 0.9 * side),
                landmarks=tuple(map(tuple, points.tolist())), score=1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--face-model", default="face-restore")
    parser.add_argument("--face-detector", default="face-detector")
    args = parser.parse_args()
    torch.set_num_threads(2)
    photo = Image(pixels=synthetic_photo(866, 1155))
    restore = RestorePipeline(device="cpu")
    refiner, _ = FaceRefiner.load(args.face_model, args.face_detector, device="cpu")
    restored = restore.restore_image(photo).pixels
    faces = [frontal_face(250, 100 + 350 * index, 200 + 100 * index) for index in range(3)]

    def face_stage() -> None:
        refiner.finder.find(restored)
        refiner.refine(restored.copy(), photo.pixels, faces=faces)

    seconds, times = median_seconds(face_stage, 5)
    restore_seconds, _ = median_seconds(lambda: restore.restore_image(photo), 3)
    print(f"face stage, 1 MP photo, 3 faces: {seconds:.3f} s extra (median of 5: "
          f"{', '.join(f'{t:.3f}' for t in times)}); restoration alone {restore_seconds:.2f} s")


if __name__ == "__main__":
    main()
