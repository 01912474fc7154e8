"""`patina retro IN... -o OUTDIR --era 1970s`: give modern photographs the look of an era."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from patina.cli.batch import (CompareOption, DeviceOption, InputsArgument, OutputOption, SkipExistingOption,
                              report_error, run_batch, sample_photo)


def retro(
    output: OutputOption,
    inputs: InputsArgument = None,
    era: Annotated[Optional[str], typer.Option(
        help="1880s (albumen), 1920s (silver gelatin), 1950s (Kodachrome), 1970s (faded print), 1980s (instant "
             "film) or 1990s (disposable camera). Default 1970s.", show_default=False)] = None,
    engine: Annotated[str, typer.Option(
        help="'gan': the era's base look with aging texture learned from real old photos; 'preset': the "
             "parameterised op chain alone.")] = "gan",
    like: Annotated[Optional[Path], typer.Option(
        help="A reference old photo: match its tone, colour and grain instead of an era preset.",
        show_default=False)] = None,
    strength: Annotated[float, typer.Option(help="0 (the photo unchanged) to 1 (the full look).")] = 1.0,
    seed: Annotated[int, typer.Option(help="Seeds grain, dust and scratches: same seed, same picture.")] = 0,
    device: DeviceOption = "auto",
    model: Annotated[str, typer.Option(help="Retro GAN: registry name or .safetensors path.")] = "retro",
    compare: CompareOption = False,
    skip_existing: SkipExistingOption = False,
    sample: Annotated[bool, typer.Option("--sample", help="Also process the bundled sample photo.")] = False,
) -> None:
    """Give modern photographs the look of an era: tone, colour, softness, grain, paper, dust and scratches.

    Outputs are RGB (toning is colour) at the input's size and bit depth, with its alpha and EXIF, written
    atomically; inputs are never modified.

    Examples: patina retro holiday/ -o old/ --era 1970s
              patina retro portrait.jpg -o old/ --era 1880s --engine preset --strength 0.7
              patina retro portrait.jpg -o old/ --like grandma-1962.jpg
    """
    from patina.core.errors import PatinaError
    from patina.imageio import read_image
    from patina.pipelines.retro import RetroPipeline

    inputs = [*(inputs or []), *([sample_photo()] if sample else [])]
    if not inputs:
        report_error("retro", "give image files or folders to process (or --sample)")
        raise typer.Exit(2)
    try:
        reference = read_image(like) if like is not None else None
        pipeline = RetroPipeline(era=era, engine=engine, strength=strength, like=reference, seed=seed,
                                 model=model, device=device)
    except PatinaError as exc:
        report_error("retro", str(exc))
        raise typer.Exit(2) from None
    run_batch(inputs, output, lambda image, on_progress: pipeline.retro_image(image, on_progress),
              command="retro", verb="aged", compare=compare, skip_existing=skip_existing)
