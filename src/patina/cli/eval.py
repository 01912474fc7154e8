"""`patina eval <task>`: score models against the degraded input and a classical baseline on evaluation sets."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from patina.cli.pipeline_command import option_flag
from patina.cli.terminal import show_progress
from patina.pipelines.colorize import ColorizeOptions
from patina.pipelines.restore import RestoreOptions

if TYPE_CHECKING:
    from patina.evaluation.protocol import EvalProtocol

RESTORE_DEFAULTS, COLORIZE_DEFAULTS = RestoreOptions(), ColorizeOptions()
"""The pipelines' defaults: the evals run the models as `patina restore` / `patina colorize` do."""

app = typer.Typer(help="Measure models (PSNR / SSIM) against classical baselines on evaluation sets.",
                  no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Measure models against baselines on evaluation sets."""


def _command(task: str, data: list[Path], options: dict[str, object]) -> str:
    """The command line that reproduces a run (only the options that differ from their defaults)."""
    parts = ["patina", "eval", task]
    for folder in data:
        parts += ["--data", str(folder)]
    for name, value in options.items():
        if value is None or value is False:
            continue
        parts += [f"--{name}"] if value is True else [f"--{name}", str(value)]
    return shlex.join(parts)


DeviceOption = Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:1, mps.")]
SHEET_IMAGES = 4
"""Images per set on an evaluation's --sheet."""
JsonOption = Annotated[Path | None, typer.Option(
    "--json", help="Also write all scores (means and per image) to this JSON file.")]
SheetOption = Annotated[Path | None, typer.Option(
    "--sheet", help=f"Also write a picture: the first {SHEET_IMAGES} images of each set, each method side by side "
                    "with the truth, and a bar chart of the mean scores (PNG or JPEG).")]
UpdateCardOption = Annotated[bool, typer.Option(
    "--update-card", help="Write the means into the model card's metrics (the card JSON only).")]


@app.command("restore")
def restore(
    data: Annotated[list[Path], typer.Option("--data", help="Folder of clean images (repeat for several sets).")],
    model: Annotated[str, option_flag(RestoreOptions, "model")] = RESTORE_DEFAULTS.model,
    mask_model: Annotated[str | None, option_flag(RestoreOptions, "mask_model")] = RESTORE_DEFAULTS.mask_model,
    tone_model: Annotated[str | None, option_flag(RestoreOptions, "tone_model")] = RESTORE_DEFAULTS.tone_model,
    tone: Annotated[str, option_flag(RestoreOptions, "tone")] = RESTORE_DEFAULTS.tone,
    device: DeviceOption = "auto",
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N images of each set.")] = None,
    json_path: JsonOption = None,
    sheet: SheetOption = None,
    update_card: UpdateCardOption = False,
    baseline_mask: Annotated[str, typer.Option(
        help="Baseline inpainting mask: detected (the mask network, the protocol), oracle (true mask) or none.")
    ] = "detected",
    ensemble: Annotated[bool, option_flag(RestoreOptions, "ensemble")] = RESTORE_DEFAULTS.ensemble,
    chain: Annotated[str, typer.Option(
        help="Aging chain: training (the chain the model learnt from), independent (written apart from it, for "
             "validation only; metrics restore_eval_independent) or clean (no aging: how much a good photo "
             "changes; metrics restore_eval_clean).")] = "training",
) -> None:
    """Degrade clean images with fixed seeds (image i -> seed i) and compare input, classical baseline and model."""
    from patina.core.errors import ParameterError
    from patina.evaluation.common import check_data_dirs
    from patina.evaluation.restore_eval import BASELINE_MASKS, CHAINS, RestoreEval

    if baseline_mask not in BASELINE_MASKS:
        raise ParameterError(f"--baseline-mask must be one of {', '.join(BASELINE_MASKS)}, got {baseline_mask!r}")
    if chain not in CHAINS:
        raise ParameterError(f"--chain must be one of {', '.join(CHAINS)}, got {chain!r}")
    if update_card and baseline_mask != "detected":
        raise ParameterError("--update-card records the protocol's metrics: use it with --baseline-mask detected")
    check_data_dirs(data)   # a missing set fails before the models are loaded
    command = _command("restore", data, {"model": None if model == RESTORE_DEFAULTS.model else model,
                                         "mask-model": mask_model, "tone-model": tone_model,
                                         "tone": None if tone == RESTORE_DEFAULTS.tone else tone,
                                         "device": None if device == "auto" else device, "limit": limit,
                                         "baseline-mask": None if baseline_mask == "detected" else baseline_mask,
                                         "no-ensemble": not ensemble,
                                         "chain": None if chain == "training" else chain})
    evaluation = RestoreEval.load(model, mask_model=mask_model, device=device, ensemble=ensemble,
                                  baseline_mask=baseline_mask, limit=limit, chain=chain, tone_model=tone_model,
                                  tone=tone)
    _run(evaluation, data, command, json_path=json_path, update_card=update_card, sheet=sheet)


@app.command("colorize")
def colorize(
    data: Annotated[list[Path], typer.Option("--data", help="Folder of colour images (repeat for several sets).")],
    model: Annotated[str, option_flag(ColorizeOptions, "model")] = COLORIZE_DEFAULTS.model,
    render_size: Annotated[int, option_flag(ColorizeOptions, "render_size")] = COLORIZE_DEFAULTS.render_size,
    device: DeviceOption = "auto",
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N colour images of each set.")] = None,
    like_truth: Annotated[bool, typer.Option(
        "--like-truth", help="Also score the model with each image's own colours as its --like reference (an "
        "oracle check of reference-guided colour).")] = False,
    json_path: JsonOption = None,
    sheet: SheetOption = None,
    update_card: UpdateCardOption = False,
) -> None:
    """Turn colour images gray and compare gray output, the mean-chroma baseline and the model (PSNR, SSIM,
    Lab chroma error, colourfulness next to the ground truth's)."""
    from patina.evaluation.colorize_eval import ColorizeEval
    from patina.evaluation.common import check_data_dirs

    check_data_dirs(data)
    command = _command("colorize", data, {"model": None if model == COLORIZE_DEFAULTS.model else model,
                                          "render-size": None if render_size == COLORIZE_DEFAULTS.render_size
                                          else render_size,
                                          "device": None if device == "auto" else device, "limit": limit,
                                          "like-truth": like_truth or None})
    evaluation = ColorizeEval.load(model, render_size=render_size, device=device, limit=limit, like_truth=like_truth)
    _run(evaluation, data, command, json_path=json_path, update_card=update_card, sheet=sheet)


@app.command("upscale")
def upscale(
    data: Annotated[list[Path], typer.Option(
        "--data", help="Folder of high-resolution images, e.g. Set5/HR (repeat for several sets).")],
    scale: Annotated[int, typer.Option("--scale", "-s", help="2 or 4.")] = 4,
    model: Annotated[list[str] | None, typer.Option(
        help="Model(s) to score (repeat); default: upscale-xS-fidelity and upscale-xS.")] = None,
    peers: Annotated[Path, typer.Option(
        help="Folder of outside upscalers (.safetensors/.pth) to score beside ours, if it exists.")]
    = Path("../shared/peers"),
    degraded: Annotated[bool, typer.Option(
        "--degraded", help="Make the low-resolution inputs as real ones are: blur, downscale, noise, JPEG "
        "(fixed seeds), and also score the VGG feature distance and every teacher.")] = False,
    teachers: Annotated[Path, typer.Option(
        help="With --degraded: folder (searched recursively) of the teacher upscalers to score, if it exists.")]
    = Path("../shared/weights/teachers"),
    features: Annotated[Path, typer.Option(
        help="With --degraded: the VGG19 relu3_1 weights of the feature distance (skipped if missing).")]
    = Path("../shared/weights/vgg19_relu3_1/vgg_normalised_conv3_1.pth"),
    device: DeviceOption = "auto",
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N images of each set.")] = None,
    json_path: JsonOption = None,
    sheet: SheetOption = None,
    update_card: UpdateCardOption = False,
) -> None:
    """Downscale high-resolution images (MATLAB bicubic) and score bicubic, the model(s) and any peers
    by PSNR / SSIM on the Y channel, border = scale: the super-resolution papers' protocol. With
    --degraded, real-looking inputs and the teachers too (see patina.evaluation.upscale_eval)."""
    from patina.evaluation.common import check_data_dirs
    from patina.evaluation.upscale_eval import UpscaleEval

    check_data_dirs(data)   # a missing set fails before the models are loaded
    command = _command("upscale", data, {"scale": scale, "device": None if device == "auto" else device,
                                         "limit": limit})
    command += "".join(f" --model {shlex.quote(name)}" for name in model or []) + (" --degraded" if degraded else "")
    evaluation = UpscaleEval.load(model, scale=scale, peers=peers, device=device, limit=limit, degraded=degraded,
                                  teachers=teachers if degraded else None, features=features if degraded else None)
    _run(evaluation, data, command, json_path=json_path, update_card=update_card, sheet=sheet)


@app.command("retro")
def retro(
    data: Annotated[list[Path], typer.Option("--data", help="Folder of modern photos (repeat for several sets).")],
    real: Annotated[list[Path], typer.Option(
        "--real", help="Folder of real old photographs (repeat); their held-out third is the reference.")
    ] = [Path("../shared/data/old_photos")],  # noqa: B006 - Typer needs a list default
    model: Annotated[str, typer.Option(help="Retro GAN: registry name or .safetensors path.")] = "retro",
    era: Annotated[list[str] | None, typer.Option(help="Era(s) to score (repeat); default all six.")] = None,
    teacher: Annotated[Path, typer.Option(
        help="VGG19 relu3_1 teacher for the feature statistics; if missing, tone/colour/grain statistics.")]
    = Path("../shared/weights/vgg19_relu3_1/vgg_normalised_conv3_1.pth"),
    device: DeviceOption = "auto",
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N photos of each set.")] = None,
    json_path: JsonOption = None,
    sheet: SheetOption = None,
    update_card: UpdateCardOption = False,
) -> None:
    """Give modern photos each era's look (preset engine, GAN engine) and measure the feature-statistics
    distance to held-out real old photos of that kind, next to the untouched input; SSIM (Y) to the input."""
    from patina.evaluation.common import check_data_dirs
    from patina.evaluation.retro_eval import RetroEval
    from patina.looks import ERA_NAMES, get_era

    check_data_dirs(data)
    eras = [get_era(name).name for name in era] if era else list(ERA_NAMES)
    check_data_dirs(real)
    command = _command("retro", data, {"model": None if model == "retro" else model,
                                       "device": None if device == "auto" else device, "limit": limit})
    command += "".join(f" --era {name}" for name in era or [])
    evaluation = RetroEval.load(model, real_roots=real, eras=eras, teacher=teacher, device=device, limit=limit)
    _run(evaluation, data, command, json_path=json_path, update_card=update_card, sheet=sheet)


@app.command("stylize")
def stylize(
    data: Annotated[Path, typer.Option("--data", help="Folder with content/ photos and style/ images.")],
    model: Annotated[str, typer.Option(help="Style model: registry name or .safetensors path.")] = "stylize",
    teacher: Annotated[Path, typer.Option(help="VGG19 relu3_1 teacher: the judge, and Gatys' features.")]
    = Path("../shared/weights/vgg19_relu3_1/vgg_normalised_conv3_1.pth"),
    inverter: Annotated[Path, typer.Option(help="The teacher's relu3_1 inverter, for the plain-AdaIN baseline.")]
    = Path("../shared/weights/vgg19_relu3_1/feature_invertor_conv3_1.pth"),
    size: Annotated[int, typer.Option(min=64, help="Long side the content photos are resized to.")] = 256,
    style_size: Annotated[int, typer.Option(min=64, help="Long side the style images are resized to.")] = 512,
    gatys_steps: Annotated[int, typer.Option(min=0, help="Adam steps of the Gatys baseline (0: leave it out).")] = 200,
    refine: Annotated[int, typer.Option(  # default: REFINE_STEPS
        min=0, max=100, help="L-BFGS refinement steps of the model_refined row (0: leave it out).")] = 5,
    pairs_per_content: Annotated[int, typer.Option(min=1, help="Styles each content photo is paired with.")] = 2,
    all_styles: Annotated[bool, typer.Option(
        "--all-styles", help="Also use the styles the decoder trained on (default: held-out artworks only).")] = False,
    device: DeviceOption = "auto",
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N pairs.")] = None,
    json_path: JsonOption = None,
    sheet: SheetOption = None,
    update_card: UpdateCardOption = False,
) -> None:
    """Paint content x style pairs with the model (AdaIN and WCT, and AdaIN refined), Gatys' optimisation and
    plain AdaIN with the teacher, and score content and style losses on the teacher's features (lower is better)."""
    from patina.evaluation.report import EvaluationDataError
    from patina.evaluation.stylize_eval import StylizeEval

    if not teacher.is_file():
        raise EvaluationDataError(f"{teacher}: the VGG19 teacher is needed to score style transfer")
    command = _command("stylize", [data], {
        "model": None if model == "stylize" else model, "size": None if size == 256 else size,
        "style-size": None if style_size == 512 else style_size,
        "gatys-steps": None if gatys_steps == 200 else gatys_steps, "refine": None if refine == 5 else refine,
        "pairs-per-content": None if pairs_per_content == 2 else pairs_per_content, "all-styles": all_styles,
        "device": None if device == "auto" else device, "limit": limit})
    evaluation = StylizeEval.load(model, teacher=teacher, inverter=inverter, size=size, style_size=style_size,
                                  gatys_steps=gatys_steps, refine=refine, pairs_per_content=pairs_per_content,
                                  all_styles=all_styles, limit=limit, device=device)
    _run(evaluation, [data], command, json_path=json_path, update_card=update_card, sheet=sheet)


@app.command("faces")
def faces(
    data: Annotated[list[Path], typer.Option(
        "--data", help="Folder(s) of photos; one in 10 (the face models' held-out split) is scored.")]
    = [Path("../shared/data/train")],  # noqa: B006  # typer needs a list default
    face_model: Annotated[str, option_flag(RestoreOptions, "face_model")] = RESTORE_DEFAULTS.face_model,
    detector: Annotated[str, option_flag(RestoreOptions, "face_detector")] = RESTORE_DEFAULTS.face_detector,
    model: Annotated[str, option_flag(RestoreOptions, "model")] = RESTORE_DEFAULTS.model,
    teacher: Annotated[Path, typer.Option(help="The YuNet teacher whose faces are the reference (labels cached).")]
    = Path("../shared/weights/teachers/yunet/yunet_n_dynamic.onnx"),
    features: Annotated[Path, typer.Option(help="VGG19 relu3_1 teacher for the feature distance.")]
    = Path("../shared/weights/vgg19_relu3_1/vgg_normalised_conv3_1.pth"),
    device: DeviceOption = "auto",
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N photos with faces.")] = None,
    json_path: JsonOption = None,
    sheet: SheetOption = None,
    update_card: UpdateCardOption = False,
) -> None:
    """Score the face detector against the teacher (precision / recall, clean and aged) and restore + the face
    stage against restore alone on the aligned faces of held-out photos aged by the independent chain."""
    from patina.evaluation.common import check_data_dirs
    from patina.evaluation.faces_eval import FacesEval

    check_data_dirs(data)
    command = _command("faces", data, {
        "face-model": None if face_model == RESTORE_DEFAULTS.face_model else face_model,
        "face-detector": None if detector == RESTORE_DEFAULTS.face_detector else detector,
        "model": None if model == RESTORE_DEFAULTS.model else model, "device": None if device == "auto" else device,
        "limit": limit})
    evaluation = FacesEval.load(restore_model=model, face_model=face_model, detector=detector, device=device,
                                limit=limit, teacher=str(teacher), features=features)
    _run(evaluation, data, command, json_path=json_path, update_card=update_card, sheet=sheet)


def _run(evaluation: EvalProtocol, data: list[Path], command: str, *, json_path: Path | None, update_card: bool,
         sheet: Path | None) -> None:
    """Score ``data`` (keeping pictures for the sheet when one is asked for), then print and write as asked."""
    if sheet is not None:
        evaluation.keep_pictures(SHEET_IMAGES)
    report = evaluation.run(data, progress=show_progress(), command=command)
    evaluation.publish(report, json_path=json_path, update_cards=update_card, sheet_path=sheet)
