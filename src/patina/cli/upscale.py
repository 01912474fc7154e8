"""`patina upscale IN... -o OUTDIR --scale 2|4`: super-resolution of photographs, tiled for any size."""

from __future__ import annotations

from patina.cli.pipeline_command import pipeline_command
from patina.pipelines.upscale import UpscalePipeline

upscale = pipeline_command(UpscalePipeline, verb="upscaled", doc="""
    Upscale photographs x2 or x4 with a super-resolution network (or the fidelity model, or your own);
    --denoise 0..1 sets how much noise and JPEG damage the x4 model removes (1: all it can, 0: less, more
    grain and detail kept).

    Scans of any size are processed in overlapping tiles and written as they finish, row band by row
    band. Outputs keep the input's name, format, bit depth (16 bit stays 16 bit), gray or colour, EXIF and
    ICC profile; alpha is resized on its own. On a GPU the model runs in bf16/fp16. Inputs are never
    modified; a file that fails is reported and the batch goes on (exit status 1).

    Examples: patina upscale scans/ -o big/ --scale 2
              patina upscale photo.png -o big/ --denoise 0.5
              patina upscale photo.png -o big/ --fidelity --outscale 3
              patina upscale photo.png -o big/ --model RealESRGAN_x4plus.pth
    """)
