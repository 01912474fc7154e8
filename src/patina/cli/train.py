"""`patina train restore --config configs/restore.yaml`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from patina.core.config import load_yaml

app = typer.Typer(help="Train GANs on your own images.", no_args_is_help=True)


@app.command("restore")
def train_restore(
    config: Annotated[Path, typer.Option(help="YAML file of a RestoreTrainConfig (see configs/).")],
    out_dir: Annotated[Optional[Path], typer.Option(help="Override the config's out_dir.")] = None,
    steps: Annotated[Optional[int], typer.Option(help="Override optim.steps.")] = None,
    device: Annotated[Optional[str], typer.Option(help="Override the device (auto, cpu, cuda, cuda:1).")] = None,
    max_minutes: Annotated[Optional[float], typer.Option(help="Stop (and save) after this much wall time.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue from out_dir/checkpoint.pt when it exists.")] = True,
    progress: Annotated[bool, typer.Option(help="Show a progress bar (else print a line per log step).")] = True,
) -> None:
    """Train the old-photo restoration GAN (generator + damage-mask net) on clean images."""
    from patina.training.config import RestoreTrainConfig
    from patina.training.restore_trainer import RestoreTrainer

    cfg = load_yaml(RestoreTrainConfig, config)
    if out_dir is not None:
        cfg.out_dir = str(out_dir)
    if steps is not None:
        cfg.optim.steps = steps
    if device is not None:
        cfg.device = device
    trainer = RestoreTrainer(cfg, progress=progress)
    if resume and trainer.resume_if_possible():
        typer.echo(f"resumed from {trainer.checkpoint_path} at step {trainer.step}")
    trainer.fit(max_minutes=max_minutes)
    typer.echo(f"done at step {trainer.step}; weights in {Path(cfg.out_dir) / 'export'}")
