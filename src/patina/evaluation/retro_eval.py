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

Whether an engine keeps the era's own palette is measured against the preset's result for the same photo and
seed (the era as designed): ``hue_shift`` is the angle in degrees between the two results' mean CIELAB (a*, b*)
vectors (their overall colour cast) and ``chroma_shift`` the difference of their mean chroma (C*, negative =
duller than the era).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
from kornia.color import rgb_to_lab

from patina.core.errors import ParameterError
from patina.evaluation.common import quantise, to_tensor
from patina.evaluation.protocol import EvalProtocol, EvalSet, model_settings
from patina.evaluation.report import EvalReport, ImageScore
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
        self.stacked = [torch.stack(blocks) for blocks in zip(*statistics, strict=True)]  # per block: (photos, dims)
        self.spread = [self._spread(block) for block in self.stacked]

    @staticmethod
    def _spread(block: torch.Tensor) -> float:
        if block.shape[0] < 2:
            return float(block.norm(dim=1).mean().clamp_min(1e-6))
        return float((block - block.mean(dim=0)).norm(dim=1).mean().clamp_min(1e-6))

    def distance(self, blocks: Sequence[torch.Tensor], nearest: int = NEAREST) -> float:
        """Mean over the ``nearest`` closest reference photos of the spread-normalised block distances."""
        photos = zip(self.stacked, blocks, self.spread, strict=True)
        per_photo = sum((reference - block).norm(dim=1) / spread for reference, block, spread in photos) / len(blocks)
        k = min(nearest, per_photo.numel())
        return float(per_photo.topk(k, largest=False).values.mean())


def reference_sets(real_roots: Iterable[str | Path],
                   statistics: StyleStatistics) -> tuple[dict[str, ReferenceSet], dict[str, int]]:
    """The held-out reference photos of each group as :class:`ReferenceSet` s, and how many each has."""
    from patina.data import list_images, read_rgb_tensor

    _, held_out = split_references(group_photos(list_images(list(real_roots))), HOLDOUT_EVERY)
    sets = {group: ReferenceSet([statistics(read_rgb_tensor(path)) for path in files])
            for group, files in held_out.items() if files}
    return sets, {group: len(files) for group, files in held_out.items()}


class RetroEval(EvalProtocol):
    """The ``retro_eval`` protocol (module docstring): a result per set and era.

    Args:
        real_roots: folders of real old photos (the reference sets are their held-out thirds).
        model: the retro GAN (registry name or .safetensors); None scores only the input and the presets.
        teacher: the VGG19 relu3_1 teacher weights; None or missing falls back to look statistics.
        limit: only the first ``limit`` photos of each set.
    """

    task = "retro"
    protocol = PROTOCOL
    compare = ("gan", "preset")
    card_settings = ("statistics",)

    def __init__(self, *, real_roots: Iterable[str | Path], model: str | None = "retro",
                 eras: Sequence[str] = ERA_NAMES, teacher: str | Path | None = None, device: str = "auto",
                 limit: int | None = None) -> None:
        super().__init__(limit=limit)
        self.looks = [get_era(era) for era in eras]
        self.real_roots, self.model, self.teacher, self.device = list(real_roots), model, teacher, device
        self.methods = {key: METHODS[key] for key in ("input", "preset") + (("gan",) if model is not None else ())}
        self.engines: dict[str, Any] = {}
        self.input_statistics: dict[tuple[Path, str], list[torch.Tensor]] = {}  # the same photo for every era

    @classmethod
    def load(cls, model: str, *, real_roots: Iterable[str | Path], eras: Sequence[str], teacher: Path, device: str,
             limit: int | None) -> RetroEval:
        """The protocol for a retro GAN given by name, recording its card and the teacher used."""
        evaluation = cls(real_roots=real_roots, model=model, eras=eras, teacher=teacher, device=device, limit=limit)
        evaluation.model_settings = {**model_settings(model), "teacher": str(teacher) if teacher.is_file() else None}
        evaluation.card_models = [model]
        return evaluation

    def eval_sets(self, data_dirs: Sequence[str | Path]) -> list[EvalSet]:
        """Each set once per era, named ``<set>-<era>``."""
        return [EvalSet(f"{s.name}-{look.name}", s.path, s.images, look)
                for s in super().eval_sets(data_dirs) for look in self.looks]

    def prepare(self) -> None:
        """The feature statistics and the held-out reference photos of every group the eras need."""
        self.statistics = StyleStatistics(self.teacher)
        self.references, self.reference_counts = reference_sets(self.real_roots, self.statistics)
        missing = sorted({look.group for look in self.looks} - set(self.references))
        if missing:
            raise ParameterError(f"no held-out real old photos of group(s) {', '.join(missing)} under the real roots")

    def settings(self) -> dict[str, Any]:
        return {"statistics": self.statistics.kind, "eval_side": EVAL_SIDE, "nearest": NEAREST,
                "reference_photos": self.reference_counts}

    def begin(self, eval_set: EvalSet) -> None:
        from patina.pipelines.retro import RetroPipeline

        era = eval_set.variant.name
        self.engines = {"preset": RetroPipeline(era=era, engine="preset", device=self.device)}
        if self.model is not None:
            self.engines["gan"] = RetroPipeline(era=era, engine="gan", model=self.model, device=self.device)

    def read(self, source: Path) -> torch.Tensor:
        return to_tensor(super().read(source))

    def seed(self, index: int) -> int:
        return index

    def score_image(self, eval_set: EvalSet, name: str, modern: torch.Tensor,
                    seed: int | None) -> dict[str, ImageScore]:
        reference = self.references[eval_set.variant.group]
        photo = (eval_set.path, name)
        if photo not in self.input_statistics:
            self.input_statistics[photo] = self.statistics(quantise(modern))
        results: dict[str, tuple[torch.Tensor, float | None]] = {"input": (modern, None)}
        for key, pipeline in self.engines.items():  # the preset first: the palette the others are held to
            pipeline.seed = seed
            start = time.perf_counter()
            out = pipeline(modern)
            results[key] = (quantise(out), time.perf_counter() - start)
        era_palette = palette(results["preset"][0])
        if self.sheet.wants(eval_set.name):
            self.show(eval_set, name, {key: out for key, (out, _) in results.items()})
        return {key: _score(name, out, modern, seconds,
                            self.input_statistics[photo] if key == "input" else self.statistics(out), reference,
                            era_palette) for key, (out, seconds) in results.items()}

    def notes(self, report: EvalReport) -> list[str]:
        """Per set and era: is the GAN closer to the real old photos than the preset?"""
        lines = []
        for result in report.datasets:
            extras = {key: m.extra_means() for key, m in result.methods.items()}
            means = {key: extra["style_distance"] for key, extra in extras.items()}
            if "gan" in means:
                verdict = "closer" if means["gan"] < means["preset"] else "NOT closer"
                lines.append(f"{result.name}: GAN {means['gan']:.3f} vs preset {means['preset']:.3f} vs input "
                             f"{means['input']:.3f} -> GAN is {verdict} to real old photos; its palette against "
                             f"the preset's: hue {extras['gan']['hue_shift']:.1f} deg, chroma "
                             f"{extras['gan']['chroma_shift']:+.1f}")
        return lines


def palette(image: torch.Tensor) -> tuple[float, float, float]:
    """(mean a*, mean b*, mean chroma C*) of a (1, 3, H, W) image in [0, 1]: its overall cast and vividness."""
    lab = rgb_to_lab(image.float().clamp(0, 1))
    a, b = lab[:, 1], lab[:, 2]
    return float(a.mean()), float(b.mean()), float(torch.sqrt(a * a + b * b).mean())


def palette_shift(output: tuple[float, float, float], era: tuple[float, float, float]) -> tuple[float, float]:
    """(hue shift in degrees, chroma shift) of one palette (see :func:`palette`) against the era's."""
    angle = math.degrees(math.atan2(output[1], output[0]) - math.atan2(era[1], era[0]))
    return abs((angle + 180.0) % 360.0 - 180.0), output[2] - era[2]


def _score(name: str, output: torch.Tensor, modern: torch.Tensor, seconds: float | None,
           blocks: list[torch.Tensor], reference: ReferenceSet, era_palette: tuple[float, float, float]
           ) -> ImageScore:
    hue, chroma = palette_shift(palette(output), era_palette)
    return ImageScore(name, float(psnr(output, modern)), ssim_y(output, modern), seconds,
                      {"style_distance": reference.distance(blocks), "hue_shift": hue, "chroma_shift": chroma})


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
    """Run the ``retro_eval`` protocol (module docstring, :class:`RetroEval`) on each set (a folder of modern
    photos, named after the folder), for each era; ``settings`` are recorded beside the protocol's."""
    evaluation = RetroEval(real_roots=real_roots, model=model, eras=eras, teacher=teacher, device=device, limit=limit)
    evaluation.model_settings = dict(settings or {})
    return evaluation.run(list(data_dirs), progress=progress, command=command)


__all__ = ["METHODS", "PROTOCOL", "ReferenceSet", "RetroEval", "StyleStatistics", "evaluate_retro", "palette",
           "palette_shift"]
