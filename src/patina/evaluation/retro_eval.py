"""``patina eval retro``: how close do era looks come to real old photographs of that kind?

Protocol ``retro_eval`` (what a model card's ``retro_eval/<set>-<era>`` metrics mean): the real old photos
under ``real_roots`` are sorted into groups (toned / neutral / colour, :func:`patina.looks.photo_group`)
and, within each group, every 3rd photo (the ones training never saw) is kept as the reference set. Each
modern photo i of an evaluation set (sorted by relative path) is given the era's look with seed i by

* ``input``: nothing (the modern photo itself),
* ``preset``: the era's op chain at strength 1,
* ``gan``: the retro GAN engine at strength 1.

Every result and every reference photo is shrunk to 512 px on its long side and described by its feature
statistics: the channel means and standard deviations of the VGG19 teacher's relu1_1, relu2_1 and relu3_1
features when the teacher is available, else :func:`patina.looks.look_statistics` (tone, colour, grain,
sharpness). ``style_distance`` of a result is its mean distance to the k = 5 nearest reference photos of
the era's group, each block of statistics divided by the reference set's own spread in it (so 1 is about
as far as a typical real photo lies from the others). ``ssim`` is the SSIM of the Y channel (luminance
structure) between the result and the modern input; ``psnr`` is likewise against the input.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch

from patina.evaluation.report import DatasetResult, EvalProgress, EvalReport, ImageScore
from patina.evaluation.restore_eval import check_data_dirs, dataset_files, quantise, read_clean, to_tensor
from patina.looks import ERA_NAMES, get_era, look_statistics
from patina.looks.match import at_side
from patina.looks.references import HOLDOUT_EVERY, group_photos, split_references
from patina.ops.metrics import psnr, ssim_y

PROTOCOL = "retro_eval"
METHODS = {"input": "modern input", "preset": "preset engine", "gan": "GAN engine"}
EVAL_SIDE = 512
NEAREST = 5


class StyleStatistics:
    """Feature statistics of an image as a list of blocks (each compared on its own scale)."""

    def __init__(self, teacher: str | Path | None) -> None:
        self.teacher = None
        if teacher is not None and Path(teacher).is_file():
            from patina.losses import VGGTeacher

            self.teacher = VGGTeacher.from_file(teacher)
        self.kind = "vgg19_relu1_1-3_1_mean_std" if self.teacher is not None else "look_statistics"

    @torch.no_grad()
    def __call__(self, image: torch.Tensor) -> list[torch.Tensor]:
        small = at_side(image.float(), EVAL_SIDE).clamp(0, 1)
        if self.teacher is None:
            return list(look_statistics(small).view(-1, 1))
        blocks = []
        for features in self.teacher(small):
            flat = features[0].flatten(1)
            blocks += [flat.mean(dim=1), flat.std(dim=1)]
        return blocks


class ReferenceSet:
    """The statistics of a group's reference photos, their spread per block, and distances to them."""

    def __init__(self, statistics: list[list[torch.Tensor]]) -> None:
        if not statistics:
            raise ValueError("a reference set needs at least one photo")
        self.stacked = [torch.stack(blocks) for blocks in zip(*statistics)]  # per block: (photos, dims)
        self.spread = [self._spread(block) for block in self.stacked]

    @staticmethod
    def _spread(block: torch.Tensor) -> float:
        if block.shape[0] < 2:
            return float(block.norm(dim=1).mean().clamp_min(1e-6))
        return float((block - block.mean(dim=0)).norm(dim=1).mean().clamp_min(1e-6))

    def distance(self, blocks: Sequence[torch.Tensor], nearest: int = NEAREST) -> float:
        """Mean over the ``nearest`` closest reference photos of the spread-normalised block distances."""
        per_photo = sum((reference - block).norm(dim=1) / spread
                        for reference, block, spread in zip(self.stacked, blocks, self.spread)) / len(blocks)
        k = min(nearest, per_photo.numel())
        return float(per_photo.topk(k, largest=False).values.mean())


def reference_sets(real_roots: Iterable[str | Path], statistics: StyleStatistics) -> tuple[dict[str, ReferenceSet], dict[str, int]]:
    """The held-out reference photos of each group as :class:`ReferenceSet` s, and how many each has."""
    from patina.data import list_images, read_rgb_tensor

    _, held_out = split_references(group_photos(list_images(list(real_roots))), HOLDOUT_EVERY)
    sets = {group: ReferenceSet([statistics(read_rgb_tensor(path)) for path in files])
            for group, files in held_out.items() if files}
    return sets, {group: len(files) for group, files in held_out.items()}


def evaluate_retro(
    data_dirs: Iterable[str | Path],
    *,
    real_roots: Iterable[str | Path],
    model: str | None = "retro",
    eras: Sequence[str] = ERA_NAMES,
    teacher: str | Path | None = None,
    device: str = "auto",
    limit: int | None = None,
    progress: bool = True,
    settings: dict[str, Any] | None = None,
    command: str = "",
) -> EvalReport:
    """Run the ``retro_eval`` protocol (module docstring) on each set, for each era.

    Args:
        data_dirs: folders of modern photos; each folder's name names the set.
        real_roots: folders of real old photos (the reference sets are their held-out thirds).
        model: the retro GAN (registry name or .safetensors); None scores only the input and the presets.
        teacher: the VGG19 relu3_1 teacher weights; None or missing falls back to look statistics.
        limit: only the first ``limit`` photos of each set.
    """
    from patina.core.errors import ParameterError
    from patina.pipelines.retro import RetroPipeline

    if limit is not None and limit < 1:
        raise ParameterError(f"limit must be at least 1, got {limit}")
    looks = [get_era(era) for era in eras]
    dirs = check_data_dirs(list(data_dirs))
    statistics = StyleStatistics(teacher)
    references, counts = reference_sets(real_roots, statistics)
    missing = sorted({look.group for look in looks} - set(references))
    if missing:
        raise ParameterError(f"no held-out real old photos of group(s) {', '.join(missing)} under the real roots")
    report = EvalReport(task="retro", command=command, compare=("gan", "preset"),
                        settings={"protocol": PROTOCOL, "statistics": statistics.kind, "eval_side": EVAL_SIDE,
                                  "nearest": NEAREST, "reference_photos": counts, **(settings or {})})
    jobs = [(d, dataset_files(d)[:limit]) for d in dirs]
    input_statistics: dict[Path, list[torch.Tensor]] = {}  # the untouched photo is the same for every era
    with EvalProgress("eval retro", sum(len(files) for _, files in jobs) * len(looks), enabled=progress) as bar:
        for data_dir, files in jobs:
            for look in looks:
                engines = {"preset": RetroPipeline(era=look.name, engine="preset", device=device)}
                if model is not None:
                    engines["gan"] = RetroPipeline(era=look.name, engine="gan", model=model, device=device)
                result = DatasetResult(name=f"{data_dir.resolve().name}-{look.name}", path=str(data_dir),
                                       protocol=PROTOCOL, seeds=list(range(len(files))))
                for key in ("input", *engines):
                    result.method(key, METHODS[key])
                for seed, (name, path) in enumerate(files):
                    bar.describe(f"{result.name} {name}")
                    modern = to_tensor(read_clean(path))
                    if path not in input_statistics:
                        input_statistics[path] = statistics(quantise(modern))
                    _score(result, "input", name, modern, modern, None, input_statistics[path], references[look.group])
                    for key, pipeline in engines.items():
                        pipeline.seed = seed
                        start = time.perf_counter()
                        out = pipeline(modern)
                        seconds = time.perf_counter() - start
                        out = quantise(out)
                        _score(result, key, name, out, modern, seconds, statistics(out), references[look.group])
                    bar.advance()
                report.datasets.append(result)
    return report


def _score(result: DatasetResult, key: str, name: str, output: torch.Tensor, modern: torch.Tensor,
           seconds: float | None, blocks: list[torch.Tensor], reference: ReferenceSet) -> None:
    distance = reference.distance(blocks)
    result.methods[key].images.append(ImageScore(name, float(psnr(output, modern)), ssim_y(output, modern), seconds,
                                                 {"style_distance": distance}))


__all__ = ["METHODS", "PROTOCOL", "ReferenceSet", "StyleStatistics", "evaluate_retro"]
