"""Rebuild docs/upscale-old-photos.jpg: the four old photographs of ../shared/data/sr/RealSRSet+5images upscaled
x4, one row each, 1:1 crops (of the output) around the largest face: bicubic | the old GAN model | the default
`patina upscale` | the teacher it was distilled from | `--fidelity`.

    python docs/make_upscale_sheet.py [--old OLD.safetensors] [--teacher TEACHER.safetensors] [--source DIR]

``--old`` is the upscale-x4 that shipped before the distilled one (its weights are in git history:
``git show <commit>:src/patina/weights/files/upscale-x4.safetensors``); without it that column is left out.
Faces are found with the YuNet teacher (../shared/weights/teachers/yunet) when it is there, else the crop is
the middle of the photo.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from patina.imageio import Image, read_image, write_image
from patina.pipelines import UpscalePipeline
from patina.pipelines.compare import labelled_grid

ROOT = Path(__file__).resolve().parent
SHARED = ROOT.parents[1] / "shared"
PHOTOS = ("Lincoln.png", "oldphoto2.png", "oldphoto3.png", "oldphoto6.png")
CROP = 256
"""Side of the output crop shown at 1:1."""


def face_centre(rgb: np.ndarray, detector_file: Path) -> tuple[int, int]:
    """The centre (x, y) of the largest face YuNet finds in ``rgb``, else of the picture."""
    height, width = rgb.shape[:2]
    if detector_file.is_file():
        detector = cv2.FaceDetectorYN.create(str(detector_file), "", (width, height), score_threshold=0.6)
        _, faces = detector.detect(np.ascontiguousarray(rgb[..., ::-1]))
        if faces is not None and len(faces):
            x, y, w, h = max(faces, key=lambda face: face[2] * face[3])[:4]
            return int(x + w / 2), int(y + h / 2)
    return width // 2, height // 2


def crop_around(pixels: np.ndarray, centre: tuple[int, int], side: int) -> np.ndarray:
    height, width = pixels.shape[:2]
    left = min(max(0, centre[0] - side // 2), max(0, width - side))
    top = min(max(0, centre[1] - side // 2), max(0, height - side))
    return np.ascontiguousarray(pixels[top : top + side, left : left + side])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", type=Path, help="the previous upscale-x4 weights (.safetensors with its card)")
    parser.add_argument("--teacher", type=Path,
                        default=SHARED / "weights/teachers/realesr_general_x4v3/realesr-general-x4v3.safetensors")
    parser.add_argument("--source", type=Path, default=SHARED / "data/sr/RealSRSet+5images")
    parser.add_argument("--output", type=Path, default=ROOT / "upscale-old-photos.jpg")
    args = parser.parse_args()
    columns = {"old GAN upscale-x4": str(args.old) if args.old else None, "patina upscale (default)": "upscale-x4",
               "teacher realesr-general-x4v3": str(args.teacher) if args.teacher.is_file() else None,
               "--fidelity": "upscale-x4-fidelity"}
    pipelines = {label: UpscalePipeline(model=model, device="cpu") for label, model in columns.items() if model}
    rows = []
    for name in PHOTOS:
        image = read_image(args.source / name)
        rgb = image.pixels[..., :3] if not image.is_gray else np.repeat(image.pixels, 3, axis=2)
        bicubic = cv2.resize(rgb, (image.width * 4, image.height * 4), interpolation=cv2.INTER_CUBIC)
        centre = face_centre(bicubic, SHARED / "weights/teachers/yunet/yunet_n_dynamic.onnx")
        row = [(f"{name}: bicubic", crop_around(bicubic, centre, CROP))]
        for label, pipeline in pipelines.items():
            row.append((label, crop_around(pipeline.upscale_image(Image(pixels=rgb)).pixels, centre, CROP)))
        rows.append(row)
    write_image(args.output, Image(pixels=labelled_grid(rows, max_height=CROP)), quality=92)
    print(f"wrote {args.output} ({len(rows)} photos, {len(pipelines) + 1} columns)")


if __name__ == "__main__":
    main()
