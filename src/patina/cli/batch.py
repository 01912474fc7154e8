"""The file loop the image commands share: inputs -> outputs under one folder, a progress bar, errors per file."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from patina.cli.terminal import VERBOSITY, console, error_console, show_progress
from patina.core.errors import failure_reason
from patina.imageio import Image

WRITABLE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp"})
"""Extensions written as they are; any other input format (e.g. .bmp) is written as .png."""

OutputOption = Annotated[Path, typer.Option(
    "-o", "--output", help="Folder for the results; folder inputs keep their relative paths inside it.",
    show_default=False)]
InputsArgument = Annotated[list[Path] | None, typer.Argument(
    help="Image files and/or folders; folders are searched recursively.", show_default=False)]
DeviceOption = Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:1 or mps.")]
CompareOption = Annotated[bool, typer.Option(
    "--compare", help="Also write a before/after sheet to OUTDIR/compare/<name>.jpg.")]
SkipExistingOption = Annotated[bool, typer.Option(
    "--skip-existing", help="Leave images whose output already exists alone (resume a batch).")]
FormatOption = Annotated[str | None, typer.Option(
    "--format", "--ext", help="Write every output in this format: png, jpg, tif or webp (default: the input's; "
    "formats Patina does not write, e.g. .bmp, become .png).", show_default=False)]
QualityOption = Annotated[int, typer.Option(
    "--quality", min=1, max=100, help="JPEG and WebP quality, 1..100.")]
SuffixOption = Annotated[str, typer.Option(
    "--suffix", help="Added to each output's name before the extension, e.g. _restored: photo_restored.jpg.")]



@dataclass(frozen=True)
class BatchFile:
    """One image of a batch: the file read, its path relative to the input that named it, and its output."""

    source: Path
    relative: Path
    target: Path


@dataclass(frozen=True)
class OutputNaming:
    """How the outputs of a batch are named and encoded: ``format`` (an extension without the dot; None keeps
    the input's), ``suffix`` added to the name, ``quality`` for JPEG and WebP."""

    format: str | None = None
    suffix: str = ""
    quality: int = 95

    def __post_init__(self) -> None:
        from patina.core.errors import ParameterError

        if self.format is not None and self.extension not in WRITABLE_EXTENSIONS:
            raise ParameterError(f"--format must be one of png, jpg, tif, webp; got {self.format!r}")
        if any(separator in self.suffix for separator in ("/", "\\", "\0")):
            raise ParameterError(f"--suffix must be part of a file name, got {self.suffix!r}")
        if not 1 <= self.quality <= 100:
            raise ParameterError(f"--quality must be between 1 and 100, got {self.quality}")

    @property
    def extension(self) -> str | None:
        """The extension of ``format`` ('.jpg' for 'JPG' or '.jpg'), or None to keep the input's."""
        return f".{self.format.lower().lstrip('.')}" if self.format else None

    def target(self, output: Path, relative: Path) -> Path:
        """The output path of the input at ``relative`` (inside ``output``)."""
        extension = self.extension or relative.suffix
        if extension.lower() not in WRITABLE_EXTENSIONS:
            extension = ".png"
        return output / relative.with_name(f"{relative.stem}{self.suffix}{extension}")


Process = Callable[[Image, Callable[[int, int], None], BatchFile], Image]
"""An image command's work on one image: (image, on_progress(done, total), file) -> result."""


def sample_photo() -> Path:
    """The bundled sample old photograph (a public-domain portrait, aged with Patina's degradation chain)."""
    from importlib.resources import files

    return Path(str(files("patina.assets") / "sample-old-photo.jpg"))


def is_within(path: Path, folder: Path) -> bool:
    """True when ``path`` lies inside ``folder``."""
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def report_error(file: object, reason: str) -> None:
    """Print 'error: FILE: REASON' on stderr."""
    _report("[red]error:[/red]", file, reason)


def report_note(file: object, note: str) -> None:
    """Print 'note: FILE: NOTE' on stderr (what a pipeline noted about a photo it processed; not with --quiet)."""
    if not VERBOSITY.quiet:
        _report("[cyan]note:[/cyan]", file, note)


def _report(label: str, file: object, text: str) -> None:
    from rich.markup import escape

    error_console().print(f"{label} {escape(str(file))}: {escape(text)}")


def _collect(inputs: list[Path], output: Path, failed: list[Path]) -> list[tuple[Path, Path]]:
    """(file, path relative to its input) for every image in ``inputs``, each file once, none inside ``output``;
    what cannot be used (missing, a loop, a pipe, a name that is not UTF-8) is reported and counted as failed."""
    from rich.markup import escape

    from patina.imageio import scan_images

    jobs: list[tuple[Path, Path]] = []
    seen: set[Path] = set()
    for item in inputs:
        scan = scan_images([item])
        for name, reason in scan.problems:
            report_error(name, reason)
            failed.append(Path(name))
        if item.is_dir() and not scan.found and not scan.problems:
            error_console().print(f"[yellow]warning:[/yellow] {escape(str(item))}: no images found")
        for file, relative in scan.found:
            key = file.resolve()
            if key not in seen and not is_within(file, output):  # a file given twice is done once
                seen.add(key)
                jobs.append((file, relative))
    return jobs


def run_batch(inputs: list[Path], output: Path, process: Process, *, command: str, verb: str, compare: bool,
              skip_existing: bool, naming: OutputNaming | None = None) -> None:
    """Apply ``process`` to every image of ``inputs``, writing ``output/<relative path>`` atomically (named and
    encoded as ``naming`` says; a before/after sheet in ``output/compare`` with ``compare``). A file that fails is
    reported and the batch goes on; exits with status 1 if any failed or none was found. ``command`` names the
    command in messages ('restore'), ``verb`` is its past tense ('restored'). On a terminal a progress bar shows
    the work; elsewhere (a log, a pipe) each file done is one line; --quiet prints neither, nor the summary."""
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from patina.pipelines.files import process_file

    naming = naming or OutputNaming()
    failed: list[Path] = []
    jobs = _collect(inputs, output, failed)
    done = skipped = 0
    claimed: dict[Path, Path] = {}
    claimed_sheets: set[Path] = set()
    started = time.perf_counter()
    bar = show_progress()
    out = console()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=error_console(), transient=True, disable=not bar) as progress:
        files_task = progress.add_task(command, total=len(jobs))
        parts_task = progress.add_task("tiles", total=1, visible=False)
        on_progress = lambda n, total: progress.update(parts_task, completed=n, total=total)  # noqa: E731
        for file, relative in jobs:
            progress.update(files_task, description=escape(str(relative)))
            target = naming.target(output, relative)
            key = target.resolve()
            if key == file.resolve():
                report_error(file, "the output would overwrite the input; choose another --output folder")
                failed.append(file)
            elif key in claimed:
                report_error(file, f"same output name as {claimed[key]}: {target}")
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
                progress.update(parts_task, completed=0, total=1, visible=True)
                try:
                    batch_file = BatchFile(file, relative, target)
                    process_file(lambda image: process(image, on_progress, batch_file),  # noqa: B023 - called now
                                 file, target, compare=sheet, quality=naming.quality)
                    done += 1
                    if not bar:
                        out.print(f"{verb} {escape(str(file))} -> {escape(str(target))}")
                except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
                    report_error(file, failure_reason(exc))
                    failed.append(file)
                progress.update(parts_task, visible=False)
            progress.advance(files_task)

    seconds = time.perf_counter() - started
    plural = "s" if len(jobs) != 1 else ""
    summary = f"{verb} {done} of {len(jobs)} image{plural} into {escape(str(output))} in {seconds:.1f} s"
    if skipped:
        summary += f", {skipped} skipped (output exists)"
    if failed:
        summary += f", [red]{len(failed)} failed[/red]"
    out.print(summary)
    if failed or not jobs:
        if not jobs and not failed:
            report_error(command, "no images found in the inputs")
        raise typer.Exit(1)
