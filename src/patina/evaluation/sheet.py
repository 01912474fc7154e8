"""Pictures of an evaluation, for people: a comparison sheet (one row per image, one column per method, the truth
last) with a bar chart of the report's mean PSNR and SSIM per set and method below it (``patina eval ... --sheet``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from patina.evaluation.report import EvalReport
from patina.imageio import Image, write_image

CELL = 224          # the long side of each picture in the sheet
LABEL_HEIGHT = 22
CHART_HEIGHT = 180
PAPER, INK, MUTED = (246, 241, 231), (43, 38, 34), (107, 98, 90)
BAR_COLOURS = ((138, 90, 43), (74, 110, 140), (110, 140, 74), (160, 70, 70), (120, 100, 150), (90, 90, 90))


@dataclass
class SheetRows:
    """The pictures kept for the sheet: the first ``per_set`` images of each set, each as (set, name, method ->
    8-bit RGB thumbnail), methods in the order they were given."""

    per_set: int = 0
    rows: list[tuple[str, str, dict[str, np.ndarray]]] = field(default_factory=list)

    def wants(self, set_name: str) -> bool:
        """True while the set ``set_name`` has fewer than ``per_set`` rows."""
        return sum(1 for row in self.rows if row[0] == set_name) < self.per_set

    def keep(self, set_name: str, name: str, pictures: dict[str, torch.Tensor | np.ndarray]) -> None:
        """Keep one image's pictures ((1, 3, H, W) tensors or (H, W, 3) arrays in 0..1), sized to the cell."""
        if self.wants(set_name):
            self.rows.append((set_name, name, {label: _thumbnail(picture) for label, picture in pictures.items()}))


def _thumbnail(picture: torch.Tensor | np.ndarray) -> np.ndarray:
    array = picture.detach().float().cpu()[0].permute(1, 2, 0).numpy() if isinstance(picture, torch.Tensor) \
        else np.asarray(picture, dtype=np.float32)
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    image = PILImage.fromarray(np.rint(array.clip(0, 1) * 255).astype(np.uint8))
    factor = CELL / max(image.size)  # to the cell: small crops enlarged pixel for pixel, large photos shrunk
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    resample = PILImage.Resampling.NEAREST if factor > 1 else PILImage.Resampling.LANCZOS
    return np.asarray(image.resize(size, resample))


def write_sheet(path: str | Path, report: EvalReport, rows: SheetRows, labels: dict[str, str]) -> Path:
    """Write the comparison sheet and the bar chart of ``report`` to ``path`` (PNG or JPEG by extension);
    ``labels`` names the methods (key -> label)."""
    columns = list(dict.fromkeys(key for _, _, pictures in rows.rows for key in pictures))
    width = max(CELL * max(1, len(columns)), 640)
    grid_height = len(rows.rows) * (CELL + LABEL_HEIGHT) + (LABEL_HEIGHT if rows.rows else 0)
    sheet = PILImage.new("RGB", (width, grid_height + CHART_HEIGHT + 2 * LABEL_HEIGHT), PAPER)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for index, key in enumerate(columns):
        draw.text((index * CELL + 4, 4), labels.get(key, key), fill=INK, font=font)
    for row, (set_name, name, pictures) in enumerate(rows.rows):
        top = LABEL_HEIGHT + row * (CELL + LABEL_HEIGHT)
        draw.text((4, top + 3), f"{set_name} / {name}", fill=MUTED, font=font)
        for index, key in enumerate(columns):
            if key in pictures:
                thumbnail = PILImage.fromarray(pictures[key])
                sheet.paste(thumbnail, (index * CELL + (CELL - thumbnail.width) // 2, top + LABEL_HEIGHT))
    _bar_chart(draw, font, report, labels, top=grid_height + LABEL_HEIGHT, width=width)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_image(target, Image(pixels=np.asarray(sheet)), quality=90)
    return target


def _bar_chart(draw: ImageDraw.ImageDraw, font: ImageFont.ImageFont | ImageFont.FreeTypeFont, report: EvalReport,
               labels: dict[str, str], *, top: int, width: int) -> None:
    """Mean PSNR (left half) and SSIM (right half) per set, one bar per method, scaled to the smallest and
    largest value shown (the numbers are written on the bars)."""
    for half, metric in enumerate(("psnr", "ssim")):
        values = [(result.name, key, getattr(scores, metric)) for result in report.datasets
                  for key, scores in result.methods.items() if scores.images]
        left, chart_width = half * width // 2 + 8, width // 2 - 16
        draw.text((left, top), f"mean {metric.upper()}", fill=INK, font=font)
        if not values:
            continue
        low, high = min(v for *_, v in values), max(v for *_, v in values)
        floor = low - (high - low) * 0.25 - 1e-6
        bar = max(4, chart_width // max(1, len(values)) - 4)
        keys = list(dict.fromkeys(key for _, key, _ in values))
        for index, (set_name, key, value) in enumerate(values):
            x = left + index * (bar + 4)
            height = int((CHART_HEIGHT - 3 * LABEL_HEIGHT) * (value - floor) / (high - floor))
            bottom = top + CHART_HEIGHT - LABEL_HEIGHT
            draw.rectangle((x, bottom - height, x + bar, bottom), fill=BAR_COLOURS[keys.index(key) % len(BAR_COLOURS)])
            draw.text((x, bottom - height - 12), f"{value:.2f}" if metric == "psnr" else f"{value:.3f}", fill=INK,
                      font=font)
            if index == 0 or values[index - 1][0] != set_name:
                draw.text((x, bottom + 4), set_name, fill=MUTED, font=font)
        for index, key in enumerate(keys):  # the legend
            x = left + index * (chart_width // max(1, len(keys)))
            draw.rectangle((x, top + 14, x + 10, top + 24), fill=BAR_COLOURS[index % len(BAR_COLOURS)])
            draw.text((x + 14, top + 13), labels.get(key, key), fill=INK, font=font)


__all__ = ["SheetRows", "write_sheet"]
