"""`patina train restore|restore-tone|colorize|upscale|retro|face-detector|face-verifier|face-restore|stylize-encoder|
stylize|semantic-encoder --config configs/<task>.yaml`; under `torchrun --nproc_per_node N -m patina train ...` the
run is data-parallel over N processes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from patina.cli.terminal import show_progress
from patina.core.config import load_yaml
from patina.training.hard_negatives import MIN_FLAGGED

app = typer.Typer(help="Train GANs on your own images.", no_args_is_help=True)

ConfigOption = Annotated[Path, typer.Option(help="YAML file of the task's training config (see configs/).")]
OutDirOption = Annotated[Path | None, typer.Option(help="Override the config's out_dir.")]
StepsOption = Annotated[int | None, typer.Option(help="Override optim.steps.")]
DeviceOption = Annotated[str | None, typer.Option(help="Override the device (auto, cpu, cuda, cuda:1).")]
MinutesOption = Annotated[float | None, typer.Option(help="Stop (and save) after this much wall time.")]
ResumeOption = Annotated[bool, typer.Option(help="Continue from out_dir/checkpoint.pt when it exists.")]


def _train(config_type: type, trainer_type: type, config: Path, *, out_dir: Path | None, steps: int | None,
           device: str | None, max_minutes: float | None, resume: bool) -> None:
    """Load the YAML config, apply the overrides, train (resuming when asked) and say where the weights are."""
    cfg: Any = load_yaml(config_type, config)
    if out_dir is not None:
        cfg.out_dir = str(out_dir)
    if steps is not None:
        cfg.optim.steps = steps
    if device is not None:
        cfg.device = device
    trainer = trainer_type(cfg, progress=show_progress())  # else a line per log step
    if resume and trainer.resume_if_possible() and trainer.is_main:
        typer.echo(f"resumed from {trainer.checkpoint_path} at step {trainer.step}")
    trainer.fit(max_minutes=max_minutes)
    if trainer.is_main:
        typer.echo(f"done at step {trainer.step}; weights in {Path(cfg.out_dir) / 'export'}")


def _task_command(name: str, classes: Callable[[], tuple[type, type]], summary: str) -> None:
    """Register `patina train NAME`; ``classes()`` imports (config class, trainer class) only when it runs."""

    def command(config: ConfigOption, out_dir: OutDirOption = None, steps: StepsOption = None,
                device: DeviceOption = None, max_minutes: MinutesOption = None, resume: ResumeOption = True) -> None:
        config_type, trainer_type = classes()
        _train(config_type, trainer_type, config, out_dir=out_dir, steps=steps, device=device,
               max_minutes=max_minutes, resume=resume)

    command.__doc__ = summary
    app.command(name)(command)


def _restore_classes() -> tuple[type, type]:
    from patina.training.config import RestoreTrainConfig
    from patina.training.restore_trainer import RestoreTrainer

    return RestoreTrainConfig, RestoreTrainer


def _tone_classes() -> tuple[type, type]:
    from patina.training.config import ToneTrainConfig
    from patina.training.tone_trainer import ToneTrainer

    return ToneTrainConfig, ToneTrainer


def _colorize_classes() -> tuple[type, type]:
    from patina.training.colorize_trainer import ColorizeTrainer
    from patina.training.config import ColorizeTrainConfig

    return ColorizeTrainConfig, ColorizeTrainer


def _upscale_classes() -> tuple[type, type]:
    from patina.training.config import UpscaleTrainConfig
    from patina.training.upscale_trainer import UpscaleTrainer

    return UpscaleTrainConfig, UpscaleTrainer


def _retro_classes() -> tuple[type, type]:
    from patina.training.config import RetroTrainConfig
    from patina.training.retro_trainer import RetroTrainer

    return RetroTrainConfig, RetroTrainer


def _encoder_classes() -> tuple[type, type]:
    from patina.training.config import EncoderDistillConfig
    from patina.training.stylize_encoder_trainer import EncoderDistiller

    return EncoderDistillConfig, EncoderDistiller


def _semantic_encoder_classes() -> tuple[type, type]:
    from patina.training.config import SemanticEncoderTrainConfig
    from patina.training.semantic_encoder_trainer import SemanticEncoderTrainer

    return SemanticEncoderTrainConfig, SemanticEncoderTrainer


def _stylize_classes() -> tuple[type, type]:
    from patina.training.config import StylizeTrainConfig
    from patina.training.stylize_trainer import StylizeTrainer

    return StylizeTrainConfig, StylizeTrainer


def _face_detector_classes() -> tuple[type, type]:
    from patina.training.config import FaceDetectorTrainConfig
    from patina.training.face_detector_trainer import FaceDetectorTrainer

    return FaceDetectorTrainConfig, FaceDetectorTrainer


def _face_verifier_classes() -> tuple[type, type]:
    from patina.training.config import FaceVerifierTrainConfig
    from patina.training.face_verifier_trainer import FaceVerifierTrainer

    return FaceVerifierTrainConfig, FaceVerifierTrainer


def _face_restore_classes() -> tuple[type, type]:
    from patina.training.config import FaceRestoreTrainConfig
    from patina.training.face_restore_trainer import FaceRestoreTrainer

    return FaceRestoreTrainConfig, FaceRestoreTrainer


_task_command("restore", _restore_classes,
              "Train the old-photo restoration GAN (generator + damage-mask net) on clean images.")
_task_command("restore-tone", _tone_classes,
              "Train restore's whole-photo tone and colour correction on thumbnails with wide fades and casts.")
_task_command("colorize", _colorize_classes,
              "Train the colorization GAN (luminance -> chroma) on colour photographs; gray ones are left out.")
_task_command("upscale", _upscale_classes,
              "Train a super-resolution model: a fidelity upscaler (L1, bicubic pairs), a GAN upscaler "
              "(Real-ESRGAN degradations, perceptual + U-Net discriminator), or a student distilled from "
              "teacher upscalers (a `teachers:` section; their outputs cached outside the repository).")
_task_command("retro", _retro_classes,
              "Train the retro GAN: era looks on modern photos, judged against real old photographs.")
_task_command("face-detector", _face_detector_classes,
              "Train the face detector on photos labelled by a teacher detector (boxes + 5 landmarks), the crops "
              "aged by the old-photo chain; the teacher's labels are cached outside the repository.")
_task_command("face-verifier", _face_verifier_classes,
              "Train the face detector's verifier: patches around the candidates a trained detector (init_from) "
              "proposes, labelled by the teacher's faces; exports the detector with it (a cascade).")
_task_command("face-restore", _face_restore_classes,
              "Train the face restoration GAN on aligned face crops (teacher landmarks) aged by the old-photo chain.")
_task_command("stylize-encoder", _encoder_classes,
              "Distil the compact style encoder from the VGG19 relu3_1 teacher (feature and mean/std matching).")
_task_command("semantic-encoder", _semantic_encoder_classes,
              "Distil colorize's semantic encoder from EfficientNet-Lite0: from a photo's luminance, the teacher's "
              "features and classes of the colour photo.")
_task_command("stylize", _stylize_classes,
              "Train the style decoder on AdaIN / WCT-fused features of the distilled encoder (teacher content "
              "and style losses, a discriminator on style images); exports encoder + decoder as one model.")


@app.command("calibrate-colorize")
def calibrate_colorize(
    config: ConfigOption,
    model: Annotated[Path, typer.Option(help="The trained colorize .safetensors (its card is updated).")],
) -> None:
    """Choose the colorize model's output settings on the run's held-out images and write them into its card:
    the chroma gain of a regression model, the rebalancing and annealed-mean temperature of a classification
    model.

    The settings make held-out colorizations as colourful as possible while their Lab chroma error stays
    at or below the mean-chroma baseline's; only the card's kwargs change, never the weights.
    """
    from rich.console import Console
    from rich.table import Table

    from patina.evaluation.colorize_calibration import calibrate_colorize as calibrate
    from patina.training.colorize_trainer import colour_split
    from patina.training.config import ColorizeTrainConfig
    from patina.weights import ModelCard
    from patina.weights.files import card_path

    cfg = load_yaml(ColorizeTrainConfig, config)
    card = ModelCard.read(card_path(model))
    _, held_out, _, _ = colour_split(cfg)
    chosen, rows = calibrate(model, held_out, mean_ab=card.training["mean_ab"])
    table = Table(title=f"{len(held_out)} held-out images")
    for column in (*chosen, "chroma error", "baseline", "colourfulness / truth"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(*(f"{row[name]:.2f}" for name in chosen), f"{row['chroma_error']:.2f}",
                      f"{row['baseline_chroma_error']:.2f}", f"{row['colourfulness_ratio']:.2f}",
                      style="bold" if all(row[name] == value for name, value in chosen.items()) else None)
    Console().print(table)
    card.kwargs = {**card.kwargs, "chroma_gain": 1.0, **chosen}
    card.training["calibration"] = {"held_out_images": len(held_out), "chosen": chosen, "rows": rows}
    card.training.pop("chroma_gain_calibration", None)
    card.write(card_path(model))
    typer.echo(f"{chosen} written to {card_path(model)}")


@app.command("calibrate-face-detector")
def calibrate_face_detector(
    config: ConfigOption,
    model: Annotated[Path, typer.Option(help="The trained face-detector .safetensors (its card is updated); "
                                             "for a cascade, --config is its face-verifier run's.")],
) -> None:
    """Choose the face detector's score threshold on training photos (every 8th, as they are and aged by the
    independent chain) and write it into its card: the threshold whose worst of precision and recall, clean and
    aged, against the teacher is highest. For a cascade (a detector with a verifier) the threshold chosen is the
    verifier's (``verify_threshold``); its candidates' stays. Only the card's kwargs change, never the weights."""
    from rich.console import Console
    from rich.table import Table

    from patina.data import FACE_CALIBRATION_EVERY, list_images, split_holdout
    from patina.evaluation.face_teacher import teacher_faces
    from patina.evaluation.faces_eval import threshold_sweep
    from patina.pipelines.faces import FaceFinder
    from patina.training.config import FaceDetectorTrainConfig, FaceVerifierTrainConfig
    from patina.weights import ModelCard
    from patina.weights.files import card_path

    card = ModelCard.read(card_path(model))
    cascade = bool(card.kwargs.get("verifier"))
    cfg = load_yaml(FaceVerifierTrainConfig if cascade else FaceDetectorTrainConfig, config)
    train_files, _ = split_holdout(list_images(cfg.data.roots), cfg.data.holdout_every)
    photos = train_files[::FACE_CALIBRATION_EVERY]
    labels = teacher_faces(photos, teacher=cfg.teacher, cache=cfg.teacher_cache)
    chosen = "verify_threshold" if cascade else "threshold"
    thresholds = [round(0.1 + 0.025 * step, 3) for step in range(35)]  # 0.1 to 0.95
    finder = FaceFinder.load(str(model), verify_threshold=thresholds[0]) if cascade else (
        FaceFinder.load(str(model), threshold=thresholds[0]))
    rows = threshold_sweep(finder, photos, labels, thresholds)
    best = max(rows, key=lambda row: row["worst"])
    table = Table(title=f"{len(photos)} training photos (faces >= 48 px)")
    for column in rows[0]:
        table.add_column(column.replace("_", " "), justify="right")
    for row in rows:
        table.add_row(*(f"{value:.3f}" for value in row.values()), style="bold" if row is best else None)
    Console().print(table)
    card.kwargs = {**card.kwargs, chosen: best["threshold"]}
    card.training["calibration"] = {"photos": len(photos), "every": FACE_CALIBRATION_EVERY, "threshold": chosen,
                                    "rows": rows}
    card.write(card_path(model))
    typer.echo(f"{chosen} {best['threshold']} written to {card_path(model)}")


@app.command("mine-negatives")
def mine_negatives(
    config: ConfigOption,
    out: Annotated[Path, typer.Option(help="The list file to write (give it to data.hard_negatives).")],
    mask_model: Annotated[str, typer.Option(help="Damage-mask model to mine with (registry name or file).")] = (
        "damage-mask"),
    min_flagged: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="Share of its pixels the net must flag for a photo to be listed.")] = MIN_FLAGGED,
) -> None:
    """List the run's TRAINING photos (never its held-out ones) on which the damage-mask net flags damage
    that is not there: each clean photo, as it is, through the net; those with more than ``--min-flagged`` of
    their pixels above 0.5 are written, most flagged first. A restore run given the list (``data.hard_negatives``,
    ``data.p_hard_negative``) shows them more often."""
    import torch
    from rich.progress import track

    from patina.data import list_images, read_rgb_uint8, split_holdout
    from patina.pipelines import RestorePipeline
    from patina.training.config import RestoreTrainConfig
    from patina.training.hard_negatives import mine, write_list

    cfg = load_yaml(RestoreTrainConfig, config)
    train_files, _ = split_holdout(list_images(cfg.data.roots), cfg.data.holdout_every)
    pipeline = RestorePipeline(mask_model=mask_model, device="cpu")

    def flagged_share(path: Path) -> float:
        photo = torch.from_numpy(read_rgb_uint8(path).transpose(2, 0, 1))[None].float() / 255
        with torch.inference_mode():
            return float((pipeline.detect_damage(photo) > 0.5).float().mean())

    shown = track(train_files, description="mining", disable=not show_progress(), transient=True)
    negatives = mine(shown, flagged_share, min_flagged=min_flagged)
    write_list(out, negatives, cfg.data.roots,
               header=f"patina train mine-negatives --config {config} --mask-model {mask_model} "
                      f"--min-flagged {min_flagged}\n{len(negatives)} of {len(train_files)} training photos")
    typer.echo(f"{len(negatives)} of {len(train_files)} training photos flagged above {min_flagged:.1%}: {out}")
