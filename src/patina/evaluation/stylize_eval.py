"""``patina eval stylize``: how well does the fast model transfer style, next to optimisation and plain AdaIN?

Protocol ``stylize_eval`` (what a model card's ``stylize_eval/<set>`` metrics mean): the evaluation folder
holds ``content/`` photos and ``style/`` images. Styles are the artworks the decoder's training held out
(:func:`patina.data.split_styles`) unless ``all_styles``. Content photo i (sorted by name) is
paired with held-out styles i, i+1, .. (``pairs_per_content`` of them, cycling). Photos are resized to
``size`` px on the long side and style images to ``style_size``; every method paints the same pair:

* ``content``: the photo itself (no style: the reference point),
* ``gatys``: Gatys et al.'s optimisation, ``gatys_steps`` Adam steps (lr 0.02) on the pixels from the photo,
  minimising the same objective the decoder trained on (content + 2 x mean/std + 2 x Gram, teacher features),
* ``adain_teacher``: AdaIN with the teacher's own VGG19 encoder and its feature inverter (alpha 1),
* ``model`` / ``model_wct``: the shipped StyleTransferNet with AdaIN / WCT fusion (alpha 1), one pass,
* ``model_refined``: the model (AdaIN) and then ``refine`` L-BFGS steps on the pixels against the same objective,
  measured with the distilled encoder (:class:`patina.pipelines.stylize.StylizePipeline`'s ``refine``).

Scores (teacher features, relative, lower is better; :mod:`patina.losses.style`): ``content_loss`` (relu3_1
vs the photo), ``style_loss`` (channel mean / std vs the style image, relu1_1..relu3_1) and ``gram_loss``
(Gram matrices). ``seconds`` is the whole transfer of one pair (style features included) on the device.
PSNR / SSIM are against the photo (how much of it survives), for information only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from patina.core.device import autocast_dtype, precision_name, select_device
from patina.core.errors import ParameterError
from patina.evaluation.common import dataset_files, quantise, read_clean, score, to_tensor
from patina.evaluation.protocol import EvalProtocol, EvalSet, model_settings
from patina.evaluation.report import EvalReport, EvaluationDataError, ImageScore
from patina.looks.match import at_side
from patina.losses import StyleObjective, VGGTeacher, content_distance, gram_distance, statistics_distance
from patina.losses.perceptual import TeacherInverter
from patina.losses.style import OBJECTIVE_WEIGHTS
from patina.pipelines.stylize import REFINE_STEPS, StylizePipeline
from patina.weights.descriptor import ARCHITECTURES
from patina.ops.fusion import adain

PROTOCOL = "stylize_eval"
METHODS = {"content": "content photo (no style)", "gatys": "Gatys optimisation",
           "adain_teacher": "AdaIN, teacher VGG19", "model": "model (AdaIN)", "model_wct": "model (WCT)",
           "model_refined": "model (AdaIN) + refinement"}
WEIGHTS = OBJECTIVE_WEIGHTS
"""The objective Gatys minimises; the same weights as the decoder's training (configs/stylize.yaml)."""

Method = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _multiple_of_4(image: torch.Tensor, side: int) -> torch.Tensor:
    """``image`` at ``side`` px on its long side, cropped to multiples of 4, in 8-bit levels."""
    image = at_side(image, side).clamp(0, 1)
    height, width = image.shape[-2] // 4 * 4, image.shape[-1] // 4 * 4
    return quantise(image[..., :height, :width])


def gatys(teacher: VGGTeacher, content: torch.Tensor, style: torch.Tensor, *, steps: int) -> torch.Tensor:
    """Optimise the photo's pixels for ``steps`` Adam steps on the weighted content + style objective."""
    with torch.no_grad():
        objective = StyleObjective(teacher(content), [teacher(style)], weights=WEIGHTS)
    pixels = content.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([pixels], lr=0.02)
    for _ in range(steps):
        optimiser.zero_grad(set_to_none=True)
        loss = objective(teacher(pixels)).sum()
        loss.backward()
        optimiser.step()
        with torch.no_grad():
            pixels.clamp_(0, 1)
    return pixels.detach()


def _teacher_adain(teacher: VGGTeacher, inverter: TeacherInverter) -> Method:
    def run(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return inverter(adain(teacher(content)[-1], [teacher(style)[-1]])).clamp(0, 1)
    return run


def _model(model: str, fusion: str, device: str, size: int, refine: int = 0) -> Method:
    pipeline = StylizePipeline([torch.full((1, 3, 64, 64), 0.5)], fusion=fusion, model=model, device=device,
                               tile=None, style_size=size, refine=refine)

    def run(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        pipeline.set_styles([style])
        return pipeline(content)
    return run


def style_pairs(data_dir: Path, *, all_styles: bool, pairs_per_content: int) -> list[tuple[str, Path, Path]]:
    """(name, content path, style path) of every evaluated pair (module docstring)."""
    from patina.data import split_styles

    contents = [path for _, path in dataset_files(data_dir / "content")]
    styles = [path for _, path in dataset_files(data_dir / "style")]
    if not all_styles:
        _, styles = split_styles(styles)
        if not styles:
            raise EvaluationDataError(f"{data_dir / 'style'} holds no held-out style (use all_styles)")
    pairs = []
    for index, content in enumerate(contents):
        for offset in range(min(pairs_per_content, len(styles))):
            style = styles[(index + offset) % len(styles)]
            pairs.append((f"{content.stem}+{style.stem}", content, style))
    return pairs


class StylizeEval(EvalProtocol):
    """The ``stylize_eval`` protocol (module docstring) on one folder with content/ and style/.

    ``inverter`` None (or missing) leaves out the teacher-AdaIN row; ``gatys_steps`` 0 the Gatys row;
    ``model`` None the model rows; ``refine`` 0 the refined model's row; ``limit``: only the first N pairs.
    """

    task = "stylize"
    protocol = PROTOCOL
    card_settings = ("device", "model_precision")

    def __init__(self, *, teacher: str | Path, inverter: str | Path | None = None, model: str | None = "stylize",
                 size: int = 256, style_size: int = 512, gatys_steps: int = 200, refine: int = REFINE_STEPS,
                 pairs_per_content: int = 2, all_styles: bool = False, limit: int | None = None,
                 device: str = "auto") -> None:
        checks = (("size", size, 64), ("style_size", style_size, 64), ("pairs_per_content", pairs_per_content, 1))
        for name, value, low in checks:
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ParameterError(f"{name} must be a whole number >= {low}, got {value!r}")
        if gatys_steps < 0 or (limit is not None and limit < 1):
            raise ParameterError("gatys_steps must be >= 0 and limit >= 1")
        super().__init__(limit=limit)
        self.teacher, self.inverter, self.model, self.device = teacher, inverter, model, device
        self.size, self.style_size, self.gatys_steps, self.refine = size, style_size, gatys_steps, refine
        self.pairs_per_content, self.all_styles = pairs_per_content, all_styles
        self.styles: list[str] = []
        self.model_run: dict[str, str] = {}  # where and in what precision the model rows ran (scores depend on it)
        self.runs: dict[str, Method] = {}

    @classmethod
    def load(cls, model: str, **options: Any) -> StylizeEval:
        """The protocol for a style model given by name (``options``: those of the class), recording its card."""
        evaluation = cls(model=model, **options)
        evaluation.model_settings = model_settings(model)
        evaluation.card_models = [model]
        return evaluation

    def eval_sets(self, data_dirs: Sequence[str | Path]) -> list[EvalSet]:
        """The single folder's content x style pairs (:func:`style_pairs`), the first ``limit`` of them."""
        (data_dir,) = (Path(d) for d in data_dirs)
        pairs = style_pairs(data_dir, all_styles=self.all_styles, pairs_per_content=self.pairs_per_content)
        pairs = pairs[:self.limit]
        self.styles = sorted({style.name for _, _, style in pairs})
        images = [(name, (content, style)) for name, content, style in pairs]
        return [EvalSet(data_dir.resolve().name, data_dir, images)]

    def prepare(self) -> None:
        """Load the judge (the teacher) and every method that paints a pair."""
        self.judge = VGGTeacher.from_file(self.teacher)
        self.runs = {"content": lambda content, style: content}
        if self.gatys_steps:
            self.runs["gatys"] = lambda content, style: gatys(self.judge, content, style, steps=self.gatys_steps)
        if self.inverter is not None and Path(self.inverter).is_file():
            self.runs["adain_teacher"] = _teacher_adain(self.judge, TeacherInverter.from_file(self.inverter))
        if self.model is not None:
            target = select_device(self.device)
            reduced = autocast_dtype(target, cpu_bf16=ARCHITECTURES["StyleTransferNet"].bf16_safe)
            self.model_run = {"device": str(target), "model_precision": precision_name(reduced)}
            self.runs["model"] = _model(self.model, "adain", self.device, self.style_size)
            self.runs["model_wct"] = _model(self.model, "wct", self.device, self.style_size)
            if self.refine:
                self.runs["model_refined"] = _model(self.model, "adain", self.device, self.style_size, self.refine)
        self.methods = {key: METHODS[key] for key in self.runs}
        self.compare = ("model", "gatys") if "gatys" in self.runs else ("model", "content")

    def settings(self) -> dict[str, Any]:
        return {"size": self.size, "style_size": self.style_size, "gatys_steps": self.gatys_steps,
                "refine_steps": self.refine, "objective_weights": WEIGHTS, "pairs_per_content": self.pairs_per_content,
                "held_out_styles_only": not self.all_styles, "styles": self.styles, **self.model_run}

    def read(self, source: tuple[Path, Path]) -> tuple[torch.Tensor, torch.Tensor]:
        content, style = source
        return (_multiple_of_4(to_tensor(read_clean(content)), self.size),
                _multiple_of_4(to_tensor(read_clean(style)), self.style_size))

    def score_image(self, eval_set: EvalSet, name: str, image: tuple[torch.Tensor, torch.Tensor],
                    seed: int | None) -> dict[str, ImageScore]:
        content, style = image
        with torch.no_grad():
            content_features, style_features = self.judge(content), self.judge(style)
        scores = {}
        for key, method in self.runs.items():
            start = time.perf_counter()
            output = method(content, style)
            seconds = time.perf_counter() - start
            output = quantise(output)
            with torch.no_grad():
                features = self.judge(output)
            extra = {"content_loss": float(content_distance(features, content_features)),
                     "style_loss": float(statistics_distance(features, style_features)),
                     "gram_loss": float(gram_distance(features, style_features))}
            scores[key] = ImageScore(name, *score(output, content), None if key == "content" else seconds, extra)
        return scores

    def notes(self, report: EvalReport) -> list[str]:
        """The model rows' losses and speed next to Gatys' (when it ran)."""
        lines = []
        for result in report.datasets:
            if "gatys" not in result.methods:
                continue
            gatys = result.methods["gatys"]
            gatys_means, gatys_seconds = gatys.extra_means(), gatys.seconds_per_image
            for key in ("model", "model_refined"):
                if key not in result.methods:
                    continue
                means = result.methods[key].extra_means()
                lines += [f"{result.name}: {key} {name} {means[name]:.4f} = {means[name] / gatys_means[name]:.2f}x "
                          f"Gatys ({gatys_means[name]:.4f})" for name in ("content_loss", "style_loss", "gram_loss")]
                seconds = result.methods[key].seconds_per_image
                if seconds is None or gatys_seconds is None:  # untimed (no image was scored)
                    continue
                lines.append(f"{result.name}: {key} {gatys_seconds / seconds:.0f}x faster than Gatys "
                             f"({seconds:.3f} s vs {gatys_seconds:.1f} s a pair)")
        return lines


def evaluate_stylize(
    data_dir: str | Path,
    *,
    teacher: str | Path,
    inverter: str | Path | None = None,
    model: str | None = "stylize",
    size: int = 256,
    style_size: int = 512,
    gatys_steps: int = 200,
    refine: int = REFINE_STEPS,
    pairs_per_content: int = 2,
    all_styles: bool = False,
    limit: int | None = None,
    device: str = "auto",
    progress: bool = True,
    settings: dict[str, Any] | None = None,
    command: str = "",
) -> EvalReport:
    """Run the ``stylize_eval`` protocol (module docstring, :class:`StylizeEval`) on ``data_dir`` (with content/
    and style/); ``settings`` are recorded in the report beside the protocol's."""
    evaluation = StylizeEval(teacher=teacher, inverter=inverter, model=model, size=size, style_size=style_size,
                             gatys_steps=gatys_steps, refine=refine, pairs_per_content=pairs_per_content,
                             all_styles=all_styles, limit=limit, device=device)
    evaluation.model_settings = dict(settings or {})
    return evaluation.run([data_dir], progress=progress, command=command)


__all__ = ["METHODS", "PROTOCOL", "WEIGHTS", "StylizeEval", "evaluate_stylize", "gatys", "style_pairs"]
