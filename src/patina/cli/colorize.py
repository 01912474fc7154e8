"""`patina colorize IN... -o OUTDIR`: colorize black-and-white photographs with the colorization GAN."""

from __future__ import annotations

from typing import Annotated

import typer

from patina.cli.batch import (CompareOption, DeviceOption, InputsArgument, OutputOption, SkipExistingOption,
                              report_error, run_batch, sample_photo)


def colorize(
    output: OutputOption,
    inputs: InputsArgument = None,
    render_size: Annotated[int, typer.Option(
        help="Long side (px) of the working image the model colours; the result keeps the full size.")] = 384,
    strength: Annotated[float, typer.Option(
        help="Chroma scale: 0 black-and-white, 1 the model's colours, up to 2 more saturated.")] = 1.0,
    device: DeviceOption = "auto",
    model: Annotated[str, typer.Option(help="Colorize model: registry name or .safetensors path.")] = "colorize",
    compare: CompareOption = False,
    skip_existing: SkipExistingOption = False,
    sample: Annotated[bool, typer.Option("--sample", help="Also colorize the bundled sample old photo.")] = False,
) -> None:
    """Colorize black-and-white photographs (sepia, toned and faded colour prints are desaturated first).

    Only colour comes from the model, worked out at --render-size; the luminance of the result is the
    original's at full resolution, so detail, grain and tone are untouched. Outputs are RGB at the
    input's size and bit depth with its alpha and EXIF, written atomically; inputs are never modified.

    Examples: patina colorize scans/ -o coloured/ --compare
              patina colorize portrait.tif -o coloured/ --strength 0.8 --render-size 512
    """
    from patina.core.errors import PatinaError
    from patina.pipelines.colorize import ColorizePipeline

    inputs = [*(inputs or []), *([sample_photo()] if sample else [])]
    if not inputs:
        report_error("colorize", "give image files or folders to colorize (or --sample)")
        raise typer.Exit(2)
    try:
        pipeline = ColorizePipeline(model=model, device=device, render_size=render_size, strength=strength)
    except PatinaError as exc:
        report_error("colorize", str(exc))
        raise typer.Exit(2) from None
    run_batch(inputs, output, lambda image, on_progress: pipeline.colorize_image(image, on_progress),
              command="colorize", verb="colorized", compare=compare, skip_existing=skip_existing)
