"""`patina restore IN... -o OUTDIR`: restore photographs (files and folders) with the restoration GAN."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from patina.core.errors import failure_reason

WRITABLE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp"})
"""Extensions written as they are; any other input format (e.g. .bmp) is written as .png."""


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def sample_photo() -> Path:
    """The bundled sample old photograph (a public-domain portrait, aged with Patina's degradation chain)."""
    from importlib.resources import files

    return Path(str(files("patina.assets") / "sample-old-photo.jpg"))


def restore(
    output: Annotated[Path, typer.Option(
        "-o", "--output", help="Folder for the results; folder inputs keep their relative paths inside it.",
        show_default=False)],
    inputs: Annotated[Optional[list[Path]], typer.Argument(
        help="Image files and/or folders; folders are searched recursively.", show_default=False)] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:1 or mps.")] = "auto",
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
    compare: Annotated[bool, typer.Option(
        "--compare", help="Also write a before/after sheet to OUTDIR/compare/<name>.jpg.")] = False,
    model: Annotated[str, typer.Option(help="Restore model: registry name or .safetensors path.")] = "restore",
    mask_model: Annotated[Optional[str], typer.Option(
        help="Damage-mask model; default: damage-mask.safetensors beside --model, else the registered one.")] = None,
    skip_existing: Annotated[bool, typer.Option(
        "--skip-existing", help="Leave images whose output already exists alone (resume a batch).")] = False,
    sample: Annotated[bool, typer.Option(
        "--sample", help="Also restore the bundled sample old photo (try Patina without your own scans).")] = False,
) -> None:
    """Restore old photographs: fading, colour casts, noise, blur, scratches, dust and creases.

    Outputs keep the input's name, format, bit depth, alpha, EXIF and ICC profile, and are written
    atomically; inputs are never modified. A file that cannot be read or written is reported and the
    batch goes on; the exit status is 1 if any file failed.

    Examples: patina restore scans/ old.jpg -o restored/ --compare
              patina restore --sample -o restored/ --compare
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from patina.core.errors import PatinaError
    from patina.imageio import find_images
    from patina.pipelines.restore import RestorePipeline, restore_file

    out, err = Console(), Console(stderr=True)
    inputs = [*(inputs or []), *([sample_photo()] if sample else [])]
    if not inputs:
        err.print("[red]error:[/red] give image files or folders to restore (or --sample)", highlight=False)
        raise typer.Exit(2)

    def report(file: object, reason: str) -> None:
        err.print(f"[red]error:[/red] {escape(str(file))}: {escape(reason)}", highlight=False, soft_wrap=True)

    try:
        pipeline = RestorePipeline(model=model, mask_model=mask_model, device=device, tile=tile, overlap=overlap,
                                   scratches=scratches, strength=strength, ensemble=ensemble)
    except PatinaError as exc:
        report("restore", str(exc))
        raise typer.Exit(2) from None

    failed: list[Path] = []
    jobs: list[tuple[Path, Path]] = []
    seen: set[Path] = set()
    for item in inputs:
        try:
            found = find_images([item])
        except PatinaError as exc:
            report(item, failure_reason(exc))
            failed.append(item)
            continue
        if item.is_dir() and not found:
            err.print(f"[yellow]warning:[/yellow] {escape(str(item))}: no images found", highlight=False)
        for file, relative in found:
            key = file.resolve()
            if key not in seen and not _is_within(file, output):  # a file given twice is done once
                seen.add(key)
                jobs.append((file, relative))

    done = skipped = 0
    claimed: dict[Path, Path] = {}
    claimed_sheets: set[Path] = set()
    started = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as progress:
        files_task = progress.add_task("restoring", total=len(jobs))
        tiles_task = progress.add_task("tiles", total=1, visible=False)
        for file, relative in jobs:
            progress.update(files_task, description=escape(str(relative)))
            target = output / relative
            if target.suffix.lower() not in WRITABLE_EXTENSIONS:
                target = target.with_suffix(".png")
            key = target.resolve()
            if key == file.resolve():
                report(file, "the output would overwrite the input; choose another --output folder")
                failed.append(file)
            elif key in claimed:
                report(file, f"same output name as {claimed[key]}: {target}")
                failed.append(file)
            elif skip_existing and target.exists():
                claimed[key] = file
                skipped += 1
            else:
                claimed[key] = file
                sheet = None
                if compare:
                    sheet = output / "compare" / relative.with_suffix(".jpg")
                    if sheet in claimed_sheets:
                        sheet = sheet.with_name(relative.name + ".jpg")
                    claimed_sheets.add(sheet)
                progress.update(tiles_task, completed=0, total=1, visible=True)
                try:
                    restore_file(pipeline, file, target, compare=sheet,
                                 on_tile=lambda n, total: progress.update(tiles_task, completed=n, total=total))
                    done += 1
                except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
                    report(file, failure_reason(exc))
                    failed.append(file)
                progress.update(tiles_task, visible=False)
            progress.advance(files_task)

    seconds = time.perf_counter() - started
    plural = "s" if len(jobs) != 1 else ""
    summary = f"restored {done} of {len(jobs)} image{plural} into {escape(str(output))} in {seconds:.1f} s"
    if skipped:
        summary += f", {skipped} skipped (output exists)"
    if failed:
        summary += f", [red]{len(failed)} failed[/red]"
    out.print(summary, highlight=False, soft_wrap=True)
    if failed or not jobs:
        if not jobs and not failed:
            report("restore", "no images found in the inputs")
        raise typer.Exit(1)
