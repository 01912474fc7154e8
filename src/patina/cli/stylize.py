"""`patina stylize IN... --style STYLE.jpg -o OUTDIR`: paint photographs in the manner of style images."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from patina.cli.batch import (CompareOption, DeviceOption, InputsArgument, OutputOption, SkipExistingOption,
                              report_error, run_batch, sample_photo)


def stylize(
    output: OutputOption,
    inputs: InputsArgument = None,
    style: Annotated[Optional[list[Path]], typer.Option(
        help="A style image (painting, drawing, print). Repeat to mix several styles.", show_default=False)] = None,
    weight: Annotated[Optional[list[float]], typer.Option(
        help="How much of each --style, in the same order (default: equal).", show_default=False)] = None,
    alpha: Annotated[float, typer.Option(help="0 (the photo unchanged) to 1 (full style).")] = 1.0,
    fusion: Annotated[str, typer.Option(
        help="'adain' (channel mean / std: faithful) or 'wct' (whitening-colouring: bolder).")] = "adain",
    preserve_color: Annotated[bool, typer.Option(
        "--preserve-color", help="Keep the photo's colours; take only lightness from the painting.")] = False,
    mask: Annotated[Optional[Path], typer.Option(
        help="An image whose white parts are stylized and black parts kept (gray: a blend); resized to the "
             "photo, for every input.", show_default=False)] = None,
    size: Annotated[Optional[int], typer.Option(
        help="Long side of the result in pixels (the photo is resized first); default: the photo's size.",
        show_default=False)] = None,
    style_size: Annotated[int, typer.Option(
        help="Long side the style images are resized to: smaller gives larger brush strokes.")] = 512,
    refine: Annotated[int, typer.Option(
        min=0, max=100, help="L-BFGS steps polishing each painting against the style (5: much closer to it, "
                             "about 4x slower; pictures up to 1024 px). 0: one fast pass.")] = 0,
    tile: Annotated[str, typer.Option(
        help="Tile size in pixels, 'auto' (fits memory) or 0 (whole image): large photos are painted in "
             "tiles, seamlessly.")] = "auto",
    device: DeviceOption = "auto",
    model: Annotated[str, typer.Option(help="Style model: registry name or .safetensors path.")] = "stylize",
    compare: CompareOption = False,
    skip_existing: SkipExistingOption = False,
    sample: Annotated[bool, typer.Option("--sample", help="Also process the bundled sample photo.")] = False,
) -> None:
    """Paint photographs in the manner of one or more style images (fast feed-forward style transfer).

    Outputs are RGB at the input's bit depth (at --size when given), with its alpha and EXIF, written
    atomically; inputs are never modified.

    Examples: patina stylize photo.jpg --style la_muse.jpg -o painted/
              patina stylize photos/ --style a.jpg --style b.jpg --weight 2 --weight 1 --alpha 0.7 -o painted/
              patina stylize portrait.jpg --style sketch.png --preserve-color --mask face.png -o painted/
              patina stylize photo.jpg --style la_muse.jpg --refine 5 --size 768 -o painted/
    """
    from patina.core.errors import PatinaError
    from patina.imageio import read_image
    from patina.pipelines.stylize import StylizePipeline

    inputs = [*(inputs or []), *([sample_photo()] if sample else [])]
    if not inputs:
        report_error("stylize", "give image files or folders to process (or --sample)")
        raise typer.Exit(2)
    if not style:
        report_error("stylize", "give at least one --style image")
        raise typer.Exit(2)
    try:
        styles = [read_image(path) for path in style]
        mask_image = read_image(mask) if mask is not None else None
        pipeline = StylizePipeline(styles, weights=weight or None, alpha=alpha, fusion=fusion,
                                   preserve_color=preserve_color, style_size=style_size, refine=refine, model=model,
                                   device=device, tile=tile)
    except PatinaError as exc:
        report_error("stylize", str(exc))
        raise typer.Exit(2) from None
    run_batch(inputs, output,
              lambda image, on_progress: pipeline.stylize_image(image, mask=mask_image, size=size,
                                                                on_progress=on_progress),
              command="stylize", verb="painted", compare=compare, skip_existing=skip_existing)
