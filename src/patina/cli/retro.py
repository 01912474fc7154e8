"""`patina retro IN... -o OUTDIR --era 1970s`: give modern photographs the look of an era."""

from __future__ import annotations

from patina.cli.pipeline_command import pipeline_command
from patina.pipelines.retro import RetroPipeline

retro = pipeline_command(RetroPipeline, verb="aged", doc="""
    Give modern photographs the look of an era: tone, colour, softness, grain, paper, dust and scratches.

    Outputs are RGB (toning is colour) at the input's size and bit depth, with its alpha and EXIF, written
    atomically; inputs are never modified.

    Examples: patina retro holiday/ -o old/ --era 1970s
              patina retro portrait.jpg -o old/ --era 1880s --engine preset --strength 0.7
              patina retro portrait.jpg -o old/ --like grandma-1962.jpg
    """)
