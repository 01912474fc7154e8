"""`patina colorize IN... -o OUTDIR`: colorize black-and-white photographs with the colorization GAN."""

from __future__ import annotations

from patina.cli.pipeline_command import pipeline_command
from patina.pipelines.colorize import ColorizePipeline

colorize = pipeline_command(ColorizePipeline, verb="colorized", doc="""
    Colorize black-and-white photographs (sepia, toned and faded colour prints are desaturated first).

    Only colour comes from the model, worked out at --render-size; the luminance of the result is the
    original's at full resolution, so detail, grain and tone are untouched. Outputs are RGB at the
    input's size and bit depth with its alpha and EXIF, written atomically; inputs are never modified.

    Examples: patina colorize scans/ -o coloured/ --compare
              patina colorize portrait.tif -o coloured/ --strength 0.8 --render-size 512
    """)
