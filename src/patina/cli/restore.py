"""`patina restore IN... -o OUTDIR`: restore photographs (files and folders) with the restoration GAN."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from patina.cli.batch import (CompareOption, DeviceOption, InputsArgument, OutputOption, SkipExistingOption,
                              report_error, run_batch, sample_photo)

__all__ = ["restore", "sample_photo"]


def restore(
    output: OutputOption,
    inputs: InputsArgument = None,
    device: DeviceOption = "auto",
    tile: Annotated[str, typer.Option(
        help="Tile side in pixels, 'auto' (sized to free memory) or 0 (whole image at once).")] = "auto",
    overlap: Annotated[int, typer.Option(help="Pixels by which neighbouring tiles overlap and are blended.")] = 64,
    scratches: Annotated[bool, typer.Option(
        "--scratches/--no-scratches", help="Detect and inpaint scratches, dust and creases.")] = True,
    strength: Annotated[float, typer.Option(
        help="0 keeps the original, 1 applies the full restoration, in between mixes the two.")] = 1.0,
    ensemble: Annotated[bool, typer.Option(
        "--ensemble/--no-ensemble",
        help="Average with the restored mirror image (a little better; --no-ensemble is ~1.6x faster).")] = True,
    upscale: Annotated[Optional[int], typer.Option(
        help="Also upscale x2 or x4 (the registered GAN upscaler), in the same pass over each tile.")] = None,
    colorize: Annotated[bool, typer.Option(
        "--colorize", help="Then colorize the restored photo (see `patina colorize`; its defaults).")] = False,
    compare: CompareOption = False,
    model: Annotated[str, typer.Option(help="Restore model: registry name or .safetensors path.")] = "restore",
    mask_model: Annotated[Optional[str], typer.Option(
        help="Damage-mask model; default: damage-mask.safetensors beside --model, else the registered one.")] = None,
    skip_existing: SkipExistingOption = False,
    sample: Annotated[bool, typer.Option(
        "--sample", help="Also restore the bundled sample old photo (try Patina without your own scans).")] = False,
) -> None:
    """Restore old photographs: fading, colour casts, noise, blur, scratches, dust and creases.

    Outputs keep the input's name, format, bit depth, alpha, EXIF and ICC profile, and are written
    atomically; inputs are never modified. A file that cannot be read or written is reported and the
    batch goes on; the exit status is 1 if any file failed.

    Examples: patina restore scans/ old.jpg -o restored/ --compare
              patina restore scans/ -o restored/ --upscale 2
              patina restore --sample -o restored/ --compare --colorize
    """
    from patina.core.errors import PatinaError
    from patina.pipelines.restore import RestorePipeline

    inputs = [*(inputs or []), *([sample_photo()] if sample else [])]
    if not inputs:
        report_error("restore", "give image files or folders to restore (or --sample)")
        raise typer.Exit(2)
    try:
        pipeline = RestorePipeline(model=model, mask_model=mask_model, device=device, tile=tile, overlap=overlap,
                                   scratches=scratches, strength=strength, ensemble=ensemble, upscale=upscale)
        colorizer = None
        if colorize:
            from patina.pipelines.colorize import ColorizePipeline

            colorizer = ColorizePipeline(device=device)
    except PatinaError as exc:
        report_error("restore", str(exc))
        raise typer.Exit(2) from None

    def process(image, on_progress):
        restored = pipeline.restore_image(image, on_tile=on_progress)
        return restored if colorizer is None else colorizer.colorize_image(restored)

    run_batch(inputs, output, process, command="restore", verb="restored", compare=compare,
              skip_existing=skip_existing)
