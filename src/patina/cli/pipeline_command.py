"""Image commands derived from the pipelines' options: `patina restore`, `upscale`, `colorize`, `retro`, `stylize`.

Each option of a pipeline's options dataclass becomes a flag with its default and help (booleans as
``--x/--no-x``, reference options as image files, list options as repeatable flags); the command builds the
options (a bad value is one clear error line and exit status 2), the pipeline, and runs it over the inputs.
A command with flags and per-file work of its own (restore's ``--mask FOLDER`` and ``--save-mask``) adds them
with a :class:`CommandExtension`.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Annotated, Any, ClassVar

import typer

from patina.cli.batch import (BatchFile, CompareOption, DeviceOption, FormatOption, InputsArgument, OutputNaming,
                              OutputOption, QualityOption, SkipExistingOption, SuffixOption, report_error, report_note,
                              run_batch, sample_photo)
from patina.core.options import OptionInfo, Options, option_specs
from patina.imageio import Image
from patina.pipelines.base import PhotoPipeline, ProgressFn
from patina.pipelines.calls import reference_images

_KEYWORD = inspect.Parameter.KEYWORD_ONLY


def flag_name(info: OptionInfo) -> str:
    """The command-line flag of an option: ``--render-size`` for ``render_size`` unless the spec names one."""
    return "--" + (info.spec.cli_name or info.name).replace("_", "-")


def _help(info: OptionInfo) -> str:
    spec = info.spec
    extra = f" One of: {', '.join(map(str, spec.choices))}." if spec.choices and info.kind != "boolean" else ""
    return spec.help + extra


def cli_parameter(info: OptionInfo) -> inspect.Parameter:
    """The Typer parameter of one option."""
    kind, flag, spec = info.kind, flag_name(info), info.spec
    names = [flag, *([spec.cli_short] if spec.cli_short else [])]
    if kind == "boolean":
        option = typer.Option(f"{flag}/--no-{flag[2:]}", help=_help(info))
        return inspect.Parameter(info.name, _KEYWORD, annotation=Annotated[bool, option], default=info.default)
    if kind == "references":
        many = spec.max_items != 1
        annotation: Any = list[Path] | None if many else Path | None
        help_text = spec.help + (" Repeat for several." if many and "Repeat" not in spec.help else "")
        option = typer.Option(*names, help=help_text, show_default=False)
        return inspect.Parameter(info.name, _KEYWORD, annotation=Annotated[annotation, option], default=None)
    if kind in ("integers", "numbers", "texts"):
        item = {"integers": int, "numbers": float}.get(kind, str)
        option = typer.Option(*names, help=_help(info), show_default=False)
        return inspect.Parameter(info.name, _KEYWORD, annotation=Annotated[list[item] | None, option],  # type: ignore[valid-type]
                                 default=None)
    base: Any = {"integer": int, "number": float}.get(kind, str)
    if spec.auto or (kind != "text" and str in getattr(info.hint, "__args__", ())):
        base = str  # 'auto', or a number or a name
    show_default = info.default is not None
    option = typer.Option(*names, help=_help(info), show_default=show_default)
    annotation = base | None if info.default is None else base
    return inspect.Parameter(info.name, _KEYWORD, annotation=Annotated[annotation, option], default=info.default)


def option_flag(options: type[Options], name: str) -> Any:
    """The ``typer.Option`` (flag names, help) of one option, for commands that take a few of a pipeline's
    options (the evals): ``model: Annotated[str, option_flag(RestoreOptions, "model")] = ...``."""
    return typing.get_args(cli_parameter(_info(options, name)).annotation)[1]


def _info(options: type[Options], name: str) -> OptionInfo:
    return next(info for info in option_specs(options) if info.name == name)


class CommandExtension:
    """What one command adds to the flags derived from its pipeline's options: flags of its own (``flags``, after
    the derived ones) and its own work per file. Subclass it and override what is needed."""

    flags: ClassVar[tuple[inspect.Parameter, ...]] = ()

    def __init__(self, values: dict[str, Any], options: dict[str, Any]) -> None:
        """``values``: the values of ``flags``; ``options``: the derived flags' values (reference options as paths).
        Called before the options are checked and the pipeline built; may raise a PatinaError (exit status 2)."""

    def unread_references(self) -> Collection[str]:
        """Reference options whose paths are not read as images (the command reads them per file)."""
        return ()

    def process(self, runner: PhotoPipeline, image: Image, on_progress: ProgressFn, file: BatchFile) -> Image:
        """The result for one file of the batch."""
        return runner.process(image, on_progress)


def pipeline_command(pipeline: type[PhotoPipeline], *, verb: str, doc: str,
                     extension: type[CommandExtension] = CommandExtension) -> Callable[..., None]:
    """The Typer command running ``pipeline`` over files and folders, its flags derived from its options (and
    ``extension``'s)."""

    def command(**given: Any) -> None:
        from patina.core.errors import PatinaError

        output, inputs, device = given.pop("output"), given.pop("inputs"), given.pop("device")
        compare, skip_existing, sample = given.pop("compare"), given.pop("skip_existing"), given.pop("sample")
        file_format, suffix, quality = given.pop("file_format"), given.pop("suffix"), given.pop("quality")
        own = {flag.name: given.pop(flag.name) for flag in extension.flags}
        inputs = [*(inputs or []), *([sample_photo()] if sample else [])]
        if not inputs:
            report_error(pipeline.name, f"give image files or folders to {pipeline.name} (or --sample)")
            raise typer.Exit(2)
        try:  # every value checked before a model is loaded
            naming = OutputNaming(format=file_format, suffix=suffix, quality=quality)
            extra = extension(own, given)
            references = reference_images(pipeline, given, unread=extra.unread_references(), label=flag_name)
            runner = pipeline.create(pipeline.Options.from_mapping(given), device=device, references=references)
        except PatinaError as exc:
            report_error(pipeline.name, str(exc))
            raise typer.Exit(2) from None

        def process(image: Any, on_progress: Callable[[int, int], None], file: BatchFile) -> Any:
            if image.source_frames > 1:
                report_note(file.relative, f"the file has {image.source_frames} frames (pages); only the first is "
                                           f"{verb}")
            result = extra.process(runner, image, lambda fraction: on_progress(round(fraction * 100), 100), file)
            for note in runner.notes:
                report_note(file.relative, note)
            return result

        run_batch(inputs, output, process, command=pipeline.name, verb=verb, compare=compare,
                  skip_existing=skip_existing, naming=naming)

    sample_help = f"Also {pipeline.name} the bundled sample old photo (try Patina without your own photos)."
    command.__signature__ = inspect.Signature([  # type: ignore[attr-defined]  # what Typer reads
        inspect.Parameter("inputs", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=InputsArgument, default=None),
        inspect.Parameter("output", _KEYWORD, annotation=OutputOption),
        *(cli_parameter(info) for info in option_specs(pipeline.Options)),
        inspect.Parameter("file_format", _KEYWORD, annotation=FormatOption, default=None),
        inspect.Parameter("suffix", _KEYWORD, annotation=SuffixOption, default=""),
        inspect.Parameter("quality", _KEYWORD, annotation=QualityOption, default=95),
        inspect.Parameter("device", _KEYWORD, annotation=DeviceOption, default="auto"),
        inspect.Parameter("compare", _KEYWORD, annotation=CompareOption, default=False),
        inspect.Parameter("skip_existing", _KEYWORD, annotation=SkipExistingOption, default=False),
        inspect.Parameter("sample", _KEYWORD, annotation=Annotated[bool, typer.Option("--sample", help=sample_help)],
                          default=False),
        *extension.flags,
    ])
    command.__doc__ = inspect.cleandoc(doc)
    command.__name__ = pipeline.name
    return command


__all__ = ["CommandExtension", "cli_parameter", "flag_name", "option_flag", "pipeline_command"]
