"""`patina stylize IN... --style STYLE.jpg -o OUTDIR`: paint photographs in the manner of style images."""

from __future__ import annotations

from patina.cli.pipeline_command import pipeline_command
from patina.pipelines.stylize import StylizePipeline

stylize = pipeline_command(StylizePipeline, verb="painted", doc="""
    Paint photographs in the manner of one or more style images (fast feed-forward style transfer).

    Outputs are RGB at the input's bit depth (at --size when given), with its alpha and EXIF, written
    atomically; inputs are never modified.

    Examples: patina stylize photo.jpg --style la_muse.jpg -o painted/
              patina stylize photos/ --style a.jpg --style b.jpg --weight 2 --weight 1 --alpha 0.7 -o painted/
              patina stylize portrait.jpg --style sketch.png --preserve-color --mask face.png -o painted/
              patina stylize photo.jpg --style la_muse.jpg --refine 5 --size 768 -o painted/
    """)
