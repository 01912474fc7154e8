"""`patina restore IN... -o OUTDIR`: restore photographs (files and folders) with the restoration GAN."""

from __future__ import annotations

from patina.cli.batch import sample_photo
from patina.cli.pipeline_command import pipeline_command
from patina.pipelines.restore import RestorePipeline

__all__ = ["restore", "sample_photo"]

restore = pipeline_command(RestorePipeline, verb="restored", doc="""
    Restore old photographs: fading, colour casts, noise, blur, scratches, dust and creases.

    Outputs keep the input's name, format, bit depth, alpha, EXIF and ICC profile, and are written
    atomically; inputs are never modified. A file that cannot be read or written is reported and the
    batch goes on; the exit status is 1 if any file failed.

    Examples: patina restore scans/ old.jpg -o restored/ --compare
              patina restore scans/ -o restored/ --upscale 2
              patina restore --sample -o restored/ --compare --colorize
    """)
