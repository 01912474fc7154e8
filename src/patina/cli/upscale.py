"""`patina upscale IN... -o OUTDIR --scale 2|4`: super-resolution of photographs, tiled for any size."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from patina.cli.batch import (CompareOption, DeviceOption, InputsArgument, OutputOption, SkipExistingOption,
                              report_error, run_batch, sample_photo)


def upscale(
    output: OutputOption,
    inputs: InputsArgument = None,
    scale: Annotated[Optional[int], typer.Option(
        "--scale", "-s", show_default=False,
        help="2 or 4 (default 4): picks the registered upscale-x2 / upscale-x4; with --model of another "
             "scale, its result is resized to this one.")] = None,
    outscale: Annotated[Optional[float], typer.Option(
        help="Final size factor, any number (e.g. 3 or 1.5): the model's result is resized to it.")] = None,
    model: Annotated[Optional[str], typer.Option(
        help="Registry name (upscale-x4, upscale-x4-fidelity, ...) or a weights file: a Patina .safetensors, "
             "or a Real-ESRGAN/ESRGAN RRDBNet or SRVGGNetCompact .pth/.safetensors.")] = None,
    fidelity: Annotated[bool, typer.Option(
        "--fidelity", help="Use the fidelity model (L1: most faithful, softer) instead of the GAN one.")] = False,
    device: DeviceOption = "auto",
    tile: Annotated[str, typer.Option(
        help="Tile side in input pixels, 'auto' (sized to free memory) or 0 (whole image at once).")] = "auto",
    overlap: Annotated[int, typer.Option(help="Input pixels by which neighbouring tiles overlap.")] = 16,
    compare: CompareOption = False,
    skip_existing: SkipExistingOption = False,
    sample: Annotated[bool, typer.Option("--sample", help="Also upscale the bundled sample old photo.")] = False,
) -> None:
    """Upscale photographs x2 or x4 with a super-resolution GAN (or the fidelity model, or your own).

    Scans of any size are processed in overlapping tiles and written as they finish, row band by row
    band. Outputs keep the input's name, format, bit depth (16 bit stays 16 bit), gray or colour, EXIF and
    ICC profile; alpha is resized on its own. On a GPU the model runs in bf16/fp16. Inputs are never
    modified; a file that fails is reported and the batch goes on (exit status 1).

    Examples: patina upscale scans/ -o big/ --scale 2
              patina upscale photo.png -o big/ --fidelity --outscale 3
              patina upscale photo.png -o big/ --model RealESRGAN_x4plus.pth
    """
    from patina.core.errors import ParameterError, PatinaError
    from patina.pipelines.upscale import UpscalePipeline, default_model

    inputs = [*(inputs or []), *([sample_photo()] if sample else [])]
    if not inputs:
        report_error("upscale", "give image files or folders to upscale (or --sample)")
        raise typer.Exit(2)
    try:
        if model is None:
            model = default_model(scale or 4) + ("-fidelity" if fidelity else "")
        elif fidelity:
            raise ParameterError("give either --model or --fidelity, not both")
        pipeline = UpscalePipeline(model=model, scale=scale, outscale=outscale, device=device, tile=tile,
                                   overlap=overlap)
    except PatinaError as exc:
        report_error("upscale", str(exc))
        raise typer.Exit(2) from None
    run_batch(inputs, output, lambda image, on_progress: pipeline.upscale_image(image, on_progress),
              command="upscale", verb="upscaled", compare=compare, skip_existing=skip_existing)
