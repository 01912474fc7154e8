"""`patina colorize IN... -o OUTDIR`: colorize black-and-white photographs with the colorization GAN."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from patina.cli.batch import report_error, run_batch, sample_photo


def colorize(
    output: Annotated[Path, typer.Option(
        "-o", "--output", help="Folder for the results; folder inputs keep their relative paths inside it.",
        show_default=False)],
    inputs: Annotated[Optional[list[Path]], typer.Argument(
        help="Image files and/or folders; folders are searched recursively.", show_default=False)] = None,
    render_size: Annotated[int, typer.Option(
        help="Long side (px) of the working image the model colours; the result keeps the full size.")] = 384,
    strength: Annotated[float, typer.Option(
        help="Chroma scale: 0 black-and-white, 1 the model's colours, up to 2 more saturated.")] = 1.0,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:1 or mps.")] = "auto",
    model: Annotated[str, typer.Option(help="Colorize model: registry name or .safetensors path.")] = "colorize",
    compare: Annotated[bool, typer.Option(
        "--compare", help="Also write a before/after sheet to OUTDIR/compare/<name>.jpg.")] = False,
    skip_existing: Annotated[bool, typer.Option(
        "--skip-existing", help="Leave images whose output already exists alone (resume a batch).")] = False,
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
