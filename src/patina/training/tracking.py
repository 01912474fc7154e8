"""TensorBoard scalars and image grids, and the Rich progress bar."""

from __future__ import annotations

from pathlib import Path

import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from torch.utils.tensorboard import SummaryWriter


def image_grid(rows: list[torch.Tensor], max_items: int = 4) -> torch.Tensor:
    """Stack batches side by side: each tensor (N, C, H, W) is a column, each item a row -> (3, H*n, W*len)."""
    columns = []
    for batch in rows:
        batch = batch[:max_items].detach().float().clamp(0, 1).cpu()
        if batch.shape[1] == 1:
            batch = batch.expand(-1, 3, -1, -1)
        columns.append(torch.cat(list(batch), dim=1))
    return torch.cat(columns, dim=2)


class TrainingLog:
    """Writes scalars and images to TensorBoard under ``out_dir/tensorboard``."""

    def __init__(self, out_dir: str | Path) -> None:
        self.writer = SummaryWriter(str(Path(out_dir) / "tensorboard"))

    def scalars(self, values: dict[str, float], step: int) -> None:
        for name, value in values.items():
            self.writer.add_scalar(name, value, step)

    def images(self, name: str, rows: list[torch.Tensor], step: int) -> None:
        self.writer.add_image(name, image_grid(rows), step)

    def close(self) -> None:
        self.writer.close()


def progress_bar(enabled: bool = True) -> Progress:
    """A Rich progress bar with step count, elapsed and remaining time, and a free-text status field."""
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TimeRemainingColumn(), TextColumn("{task.fields[status]}"), disable=not enabled,
    )
