"""`patina restore IN... -o OUTDIR`: restore photographs (files and folders) with the restoration GAN."""

from __future__ import annotations

import glob
import inspect
import json
from collections.abc import Collection
from pathlib import Path
from typing import Annotated, Any

import typer

from patina.cli.batch import BatchFile, sample_photo
from patina.cli.pipeline_command import CommandExtension, pipeline_command
from patina.core.errors import ParameterError
from patina.imageio import IMAGE_EXTENSIONS, Image, read_image, write_image
from patina.pipelines.base import PhotoPipeline, ProgressFn
from patina.pipelines.restore import RestorePipeline

__all__ = ["faces_file", "mask_file", "restore", "sample_photo"]

MASK_SUFFIX = ".mask"
"""A mask's name is the photo's stem + this (+ .png): ``photo.jpg`` -> ``photo.mask.png``."""
FACES_SUFFIX = ".faces"
"""The face boxes' file: ``photo.jpg`` -> ``photo.faces.json``."""


def mask_file(target: Path) -> Path:
    """Where ``--save-mask`` writes the mask of the output ``target``: beside it, ``<stem>.mask.png``."""
    return target.with_name(f"{target.stem}{MASK_SUFFIX}.png")


def faces_file(target: Path) -> Path:
    """Where ``--save-mask`` with ``--faces`` writes the faces restored in ``target``: ``<stem>.faces.json``."""
    return target.with_name(f"{target.stem}{FACES_SUFFIX}.json")


def find_mask(folder: Path, file: BatchFile) -> Path:
    """The mask of ``file`` in ``folder``: ``<stem>.mask.<ext>``, else ``<stem>.<ext>`` (any image format), at the
    file's relative place in the folder, else at its top; a ParameterError naming the file when there is none."""
    stem = file.source.stem
    for place in dict.fromkeys([folder / file.relative.parent, folder]):
        for name in (stem + MASK_SUFFIX, stem):
            for candidate in sorted(place.glob(glob.escape(name) + ".*")):
                if (candidate.stem == name and candidate.suffix.lower() in IMAGE_EXTENSIONS
                        and candidate.resolve() != file.source.resolve()):
                    return candidate
    raise ParameterError(f"no mask for {file.source.name} in {folder} (looked for {stem}{MASK_SUFFIX}.png or "
                         f"{stem}.png)")


class MaskFlags(CommandExtension):
    """``--mask`` as a folder of masks named like the photos, and ``--save-mask``."""

    flags = (inspect.Parameter("save_mask", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Annotated[
        bool, typer.Option("--save-mask", help="Also write the damage mask used (8-bit gray, white = damage) beside "
                                               "each output as <name>.mask.png; correct it and give it to --mask. "
                                               "With --faces, also the faces restored (boxes, landmarks, scores in "
                                               "the output's pixels) as <name>.faces.json.")]),)

    def __init__(self, values: dict[str, Any], options: dict[str, Any]) -> None:
        self.save = bool(values["save_mask"])
        given = options.get("mask")
        self.folder = given if given is not None and given.is_dir() else None

    def unread_references(self) -> Collection[str]:
        return ("mask",) if self.folder is not None else ()

    def process(self, runner: PhotoPipeline, image: Image, on_progress: ProgressFn, file: BatchFile) -> Image:
        assert isinstance(runner, RestorePipeline)
        mask = None if self.folder is None else read_image(find_mask(self.folder, file))
        if self.save:  # the mask it will use, written, then used as given: the output is what the mask gives
            mask = runner.damage_mask(image, mask)
            file.target.parent.mkdir(parents=True, exist_ok=True)
            write_image(mask_file(file.target), mask)
        restored = runner.process(image, on_progress, mask=mask if runner.scratches else None)
        if self.save and runner.face_refiner is not None:
            text = json.dumps({"source": file.source.name, **runner.findings}, indent=1)
            faces_file(file.target).write_text(text + "\n")
        return restored


restore = pipeline_command(RestorePipeline, verb="restored", extension=MaskFlags, doc="""
    Restore old photographs: fading, colour casts, noise, blur, scratches, dust and creases.

    Outputs keep the input's name, format, bit depth, alpha, EXIF and ICC profile, and are written
    atomically; inputs are never modified. A file that cannot be read or written is reported and the
    batch goes on; the exit status is 1 if any file failed.

    Damage masks: --save-mask writes the mask each photo was restored with beside its output
    (<name>.mask.png, at the photo's size); paint it (white = damage, black = none) and restore again
    with --mask FILE, or --mask FOLDER for masks named like the photos (photo.mask.png or photo.png).
    Restoring with a saved mask gives the same bytes as the run that saved it.

    Examples: patina restore scans/ old.jpg -o restored/ --compare
              patina restore scans/ -o restored/ --upscale 2
              patina restore --sample -o restored/ --compare --colorize
              patina restore scans/ -o restored/ --save-mask
              patina restore scans/ -o restored2/ --mask restored/
    """)
