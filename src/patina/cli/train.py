"""`patina train restore|colorize --config configs/<task>.yaml`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from patina.core.config import load_yaml

app = typer.Typer(help="Train GANs on your own images.", no_args_is_help=True)

ConfigOption = Annotated[Path, typer.Option(help="YAML file of the task's training config (see configs/).")]
OutDirOption = Annotated[Optional[Path], typer.Option(help="Override the config's out_dir.")]
StepsOption = Annotated[Optional[int], typer.Option(help="Override optim.steps.")]
DeviceOption = Annotated[Optional[str], typer.Option(help="Override the device (auto, cpu, cuda, cuda:1).")]
MinutesOption = Annotated[Optional[float], typer.Option(help="Stop (and save) after this much wall time.")]
ResumeOption = Annotated[bool, typer.Option(help="Continue from out_dir/checkpoint.pt when it exists.")]
ProgressOption = Annotated[bool, typer.Option(help="Show a progress bar (else print a line per log step).")]


def _train(config_type: type, trainer_type: type, config: Path, *, out_dir: Path | None, steps: int | None,
           device: str | None, max_minutes: float | None, resume: bool, progress: bool) -> None:
    """Load the YAML config, apply the overrides, train (resuming when asked) and say where the weights are."""
    cfg: Any = load_yaml(config_type, config)
    if out_dir is not None:
        cfg.out_dir = str(out_dir)
    if steps is not None:
        cfg.optim.steps = steps
    if device is not None:
        cfg.device = device
    trainer = trainer_type(cfg, progress=progress)
    if resume and trainer.resume_if_possible():
        typer.echo(f"resumed from {trainer.checkpoint_path} at step {trainer.step}")
    trainer.fit(max_minutes=max_minutes)
    typer.echo(f"done at step {trainer.step}; weights in {Path(cfg.out_dir) / 'export'}")


@app.command("restore")
def train_restore(config: ConfigOption, out_dir: OutDirOption = None, steps: StepsOption = None,
                  device: DeviceOption = None, max_minutes: MinutesOption = None, resume: ResumeOption = True,
                  progress: ProgressOption = True) -> None:
    """Train the old-photo restoration GAN (generator + damage-mask net) on clean images."""
    from patina.training.config import RestoreTrainConfig
    from patina.training.restore_trainer import RestoreTrainer

    _train(RestoreTrainConfig, RestoreTrainer, config, out_dir=out_dir, steps=steps, device=device,
           max_minutes=max_minutes, resume=resume, progress=progress)


@app.command("colorize")
def train_colorize(config: ConfigOption, out_dir: OutDirOption = None, steps: StepsOption = None,
                   device: DeviceOption = None, max_minutes: MinutesOption = None, resume: ResumeOption = True,
                   progress: ProgressOption = True) -> None:
    """Train the colorization GAN (luminance -> chroma) on colour photographs; gray ones are left out."""
    from patina.training.colorize_trainer import ColorizeTrainer
    from patina.training.config import ColorizeTrainConfig

    _train(ColorizeTrainConfig, ColorizeTrainer, config, out_dir=out_dir, steps=steps, device=device,
           max_minutes=max_minutes, resume=resume, progress=progress)
