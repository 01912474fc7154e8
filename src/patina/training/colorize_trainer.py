"""Paired GAN training of the colorization generator: luminance in, chroma out, on colour photographs.

pix2pix in CIE Lab: G sees L* (randomly faded, as old prints are) and predicts (a*, b*); a conditional
PatchGAN judges (L*, a*, b*); G minimises L1 on chroma + a perceptual loss on the recombined colour image
(VGG teacher, training only) + the adversarial loss. A classification generator (``bin_step`` > 0) also
minimises the cross-entropy of its chroma bins against the true chroma, soft-encoded over the nearest
bins (:func:`soft_bins`); its L1, perceptual and adversarial losses see the plain mean of the bins.
With ``loss.semantic_features`` / ``loss.semantic_classes``, its encoder also learns EfficientNet-Lite0's
view of the colour photo (:mod:`patina.training.semantic_distill`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from patina.core.errors import ConfigError
from patina.data import list_images, read_rgb, split_holdout
from patina.networks import ColorizeGenerator, PatchDiscriminator, SemanticEncoder, StyleTransferNet
from patina.ops.color import AB_SCALE, chroma_error, colourfulness, join_lab, split_lab
from patina.training.config import ColorizeTrainConfig, SemanticEncoderTrainConfig
from patina.training.datasets import CleanCrops
from patina.training.loss_terms import LossTerm
from patina.training.semantic_distill import SemanticDistillation
from patina.training.trainer import Generated, Trainer, init_source, kwargs_of, load_init_state
from patina.weights import ModelCard, load
from patina.weights.files import card_path

CONTEXT_KEYS = ("context.", "context_inputs.")
"""State-dict keys of a generator's context (absent from a model trained without it)."""
SEMANTIC_KEYS = ("semantic.", "semantic_inputs.")
"""State-dict keys of a generator's semantic encoder and its inputs (absent from a model trained without it)."""
STATS_SIDE = 96
"""Images are shrunk to this long side to measure their colourfulness and mean chroma."""


def _small_rgb(path: Path) -> torch.Tensor:
    image = read_rgb(path)
    scale = STATS_SIDE / max(image.shape[:2])
    if scale < 1:
        import cv2

        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]


def colour_split(
        config: ColorizeTrainConfig | SemanticEncoderTrainConfig) -> tuple[list[Path], list[Path], int, list[float]]:
    """The run's training and held-out images (colour ones only), how many gray ones were left out, and the
    mean (a*, b*) of the training images (Lab units). Each image is read once, shrunk to ``STATS_SIDE``."""
    files = list_images(list(config.data.roots))
    scores, chroma_sums, pixels = [], [], []
    for path in files:
        small = _small_rgb(path)
        scores.append(float(colourfulness(small)[0]))
        chroma = split_lab(small)[1][0] * AB_SCALE
        chroma_sums.append(chroma.flatten(1).sum(dim=1).double())
        pixels.append(chroma.shape[-1] * chroma.shape[-2])
    colourful = [index for index, score in enumerate(scores) if score >= config.min_colourfulness]
    if not colourful:
        raise ConfigError(f"no colour images among the {len(files)} training images "
                          f"(none has colourfulness >= {config.min_colourfulness})")
    train, held_out = split_holdout(colourful, config.data.holdout_every)
    mean_chroma = (torch.stack([chroma_sums[i] for i in train]).sum(dim=0) / sum(pixels[i] for i in train)).tolist()
    return [files[i] for i in train], [files[i] for i in held_out], len(files) - len(colourful), mean_chroma


def chroma_prior(files: list[Path], centres: torch.Tensor) -> list[float]:
    """How often each chroma bin (``centres``, (Q, 2) ab / 100) holds the nearest colour of a pixel of
    ``files`` (each shrunk to ``STATS_SIDE``): Q frequencies summing to 1."""
    counts = torch.zeros(len(centres), dtype=torch.float64)
    for path in files:
        chroma = split_lab(_small_rgb(path))[1][0].flatten(1).T  # (pixels, 2)
        nearest = torch.cdist(chroma, centres).argmin(dim=1)
        counts += torch.bincount(nearest, minlength=len(centres)).double()
    return (counts / counts.sum().clamp_min(1)).tolist()


def jitter_light(light: torch.Tensor, strength: float) -> torch.Tensor:
    """A random fade per sample: gamma in [0.75, 1.33], black point up to 0.15, white point down to 0.85
    (scaled by ``strength``), as faded prints and flat scans have."""
    if strength <= 0:
        return light
    n = light.shape[0]
    rand = lambda: torch.rand(n, 1, 1, 1, device=light.device)  # noqa: E731
    gamma = torch.exp((rand() * 2 - 1) * 0.29 * strength)
    black, white = rand() * 0.15 * strength, 1 - rand() * 0.15 * strength
    return black + (white - black) * light.clamp(0, 1) ** gamma


SOFT_NEIGHBOURS = 5
SOFT_SIGMA = 0.05
"""A true chroma is spread over its ``SOFT_NEIGHBOURS`` nearest bins with a Gaussian of ``SOFT_SIGMA``
(ab / 100 units: 5 Lab units), as Zhang et al. do."""


def soft_bins(chroma: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Soft one-hot targets (N, Q, h, w) for chroma (N, 2, h, w) over bin ``centres`` (Q, 2), both ab / 100."""
    n, _, height, width = chroma.shape
    points = chroma.permute(0, 2, 3, 1).reshape(-1, 2)
    distances, nearest = torch.cdist(points, centres).topk(SOFT_NEIGHBOURS, dim=1, largest=False)
    weights = torch.softmax(-distances.pow(2) / (2 * SOFT_SIGMA**2), dim=1)
    target = torch.zeros(points.shape[0], centres.shape[0], device=chroma.device).scatter_(1, nearest, weights)
    return target.view(n, height, width, -1).permute(0, 3, 1, 2)


def copy_source(frozen: torch.nn.Module | None, given: str | None, from_init: bool, *, option: str, size: str,
                source: str) -> str | None:
    """The ``option`` (``given`` by the config) to copy the generator's frozen encoder ``frozen`` from, or None
    when there is nothing to copy (no encoder, or ``init_from`` brought it: ``from_init``). A ConfigError when
    one is given without the other: an option without the generator's ``size``, or a ``size`` without either."""
    if frozen is None:
        if given:
            raise ConfigError(f"{option} is set but the generator has no {size}")
        return None
    if not given and not from_init:
        raise ConfigError(f"generator.{size} needs {option}: {source}")
    return given or None


class ColorizeTrainer(Trainer):
    """Colorization G against a conditional PatchGAN on (L*, a*, b*), with an EMA of G."""

    task = "colorize"

    def __init__(self, config: ColorizeTrainConfig, *, progress: bool = True) -> None:
        super().__init__(config, progress=progress)
        self.generator = ColorizeGenerator(**config.generator).to(self.device)
        self.adversary = self.make_adversary(PatchDiscriminator(**config.discriminator))
        self.semantic = None
        networks: dict[str, torch.nn.Module] = {"generator": self.generator}
        if config.loss.semantic_features or config.loss.semantic_classes:
            self.semantic = SemanticDistillation(config.semantic_teacher, self.generator, self.device)
            networks["semantic_heads"] = self.semantic.heads  # trained and checkpointed, never exported
        self.ema_generator = self.train_generator(networks)[0]
        if config.train_semantic_encoder:
            if self.generator.semantic is None:
                raise ConfigError("train_semantic_encoder needs a generator with a semantic encoder "
                                  "(generator.semantic_width)")
            self.generator.semantic.requires_grad_(True)  # the optimiser holds its parameters already
        self.perceptual = self.perceptual_loss()

    def list_training_files(self) -> tuple[list[Path], list[Path]]:
        """The colour images among the training files (see :func:`colour_split`)."""
        train, held_out, self.skipped_gray, self.mean_chroma = colour_split(self.config)
        return train, held_out

    def initialise(self) -> None:
        """``init_from`` weights, then the context encoder (``context_encoder``, or the one ``init_from`` had)
        and the semantic encoder (``semantic_encoder``, or the one ``init_from`` had)."""
        path = self.config.init_from
        context_from_init, semantic_from_init = self._load_init(Path(path)) if path else (False, False)
        self._load_context(self.config.context_encoder, context_from_init)
        self._load_semantic(self.config.semantic_encoder, semantic_from_init)

    def initialise_from(self, path: Path) -> None:
        """Load the ``init_from`` weights (see :meth:`_load_init`)."""
        self._load_init(path)

    def _load_init(self, path: Path) -> tuple[bool, bool]:
        """Load the ``init_from`` weights; whether they include a context encoder, and a semantic encoder."""
        source = init_source(path, "ColorizeGenerator")
        state, own = source.state_dict(), self.generator.state_dict()
        if source.bin_step != self.generator.bin_step:  # another head: start from the body, a fresh tail
            state = {key: value for key, value in state.items() if not key.startswith("tail.")}
            state.update({key: value for key, value in own.items() if key.startswith("tail.")})
        if source.context is None:  # context (frozen encoder, zero-started inputs) comes from context_encoder
            state.update({key: value for key, value in own.items() if key.startswith(CONTEXT_KEYS)})
        if source.semantic is None:  # the semantic encoder comes from semantic_encoder, its inputs start at zero
            state.update({key: value for key, value in own.items() if key.startswith(SEMANTIC_KEYS)})
        load_init_state(self.generator, state, path, "generator")
        return source.context is not None, source.semantic is not None

    def _load_context(self, name: str | None, from_init: bool) -> None:
        """Copy the distilled encoder of the stylize model ``name`` into the generator's frozen context
        (``from_init``: ``init_from`` already gave it one, kept when no ``name`` is set)."""
        context = self.generator.context
        name = copy_source(context, name, from_init, option="context_encoder", size="context_widths",
                           source="the stylize model whose distilled encoder gives the context features (e.g. stylize)")
        if context is None or name is None:
            return
        loaded = load(name, device=self.device)
        source, card = loaded.network, loaded.card
        if card.arch != "StyleTransferNet" or not isinstance(source, StyleTransferNet):
            raise ConfigError(f"context_encoder {name}: a {card.arch}, not a StyleTransferNet (stylize) model")
        if source.encoder.widths != context.widths:
            raise ConfigError(f"context_encoder {name}: encoder widths {list(source.encoder.widths)}, "
                              f"generator.context_widths {list(context.widths)}")
        context.load_state_dict(source.encoder.state_dict())

    def _load_semantic(self, path: str | None, from_init: bool) -> None:
        """Copy the semantic encoder at ``path`` (`patina train semantic-encoder`) into the generator's frozen
        ``semantic`` (``from_init``: ``init_from`` already gave it one, kept when no ``path`` is set)."""
        semantic = self.generator.semantic
        path = copy_source(semantic, path, from_init, option="semantic_encoder", size="semantic_width",
                           source="the .safetensors that `patina train semantic-encoder` exported")
        if semantic is None or path is None:
            return
        loaded = load(path, device=self.device)
        if loaded.card.arch != "SemanticEncoder" or not isinstance(loaded.network, SemanticEncoder):
            raise ConfigError(f"semantic_encoder {path}: a {loaded.card.arch}, not a SemanticEncoder")
        if loaded.network.width != semantic.width:
            raise ConfigError(f"semantic_encoder {path}: width {loaded.network.width}, "
                              f"generator.semantic_width {semantic.width}")
        semantic.load_state_dict(loaded.network.state_dict())

    def generate(self, batch: dict[str, torch.Tensor], rng: np.random.Generator) -> Generated:
        """Chroma predicted from the (randomly faded) luminance; a classification generator's bins also
        get their cross-entropy against the true chroma."""
        target = batch["target"].to(self.device, non_blocking=True)
        light, chroma = split_lab(target)
        light_in = jitter_light(light, self.config.light_jitter)
        terms: dict[str, LossTerm] = {}
        with self.autocast():
            if self.generator.bin_step:
                logits = self.generator.logits(light_in).float()
                predicted = self.generator.decode(logits, temperature=1.0)
                truth = soft_bins(F.avg_pool2d(chroma, self.generator.unshuffle), self.generator.centres)
                terms["classification"] = -(truth * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
            else:
                predicted = self.generator(light_in)
        predicted_f = predicted.float()
        colour = join_lab(light, predicted_f)
        terms = {"pixel": lambda: F.l1_loss(predicted_f, chroma), **terms}
        if self.semantic is not None:
            terms.update(self.semantic.terms(target))
        perceptual = self.perceptual
        if perceptual is not None:
            factor = max(1, self.config.loss.perceptual_downsample)
            terms["perceptual"] = lambda: perceptual(F.avg_pool2d(colour, factor), F.avg_pool2d(target, factor))
        return Generated(terms=terms, images=[light_in, colour.detach(), target],
                         label="train/input|colorized|target", real=chroma, fake=predicted,
                         discriminate=lambda ab: self.gan.discriminator(torch.cat([light_in, ab], dim=1)))

    @torch.no_grad()
    def validate(self, limit: int = 8) -> dict[str, float]:
        """Chroma error and colourfulness of the EMA generator on held-out crops, next to the mean-chroma baseline."""
        if not self.val_files:
            return {}
        multiple = self.generator.size_multiple
        crop = max(multiple, min(256, self.config.data.crop * 2) // multiple * multiple)
        dataset = CleanCrops(self.val_files, crop=crop, scale_range=(1.0, 1.0), seed=12345)
        mean = torch.tensor(self.mean_chroma, device=self.device).view(1, 2, 1, 1) / AB_SCALE
        model_err, base_err, ratios = [], [], []
        for index in range(limit):
            target = dataset[index]["target"][None].to(self.device)
            light, _ = split_lab(target)
            shadow = self.ema_generator.shadow
            colour = join_lab(light, shadow(light, shadow.calibrated).float())  # decoded as configured
            baseline = join_lab(light, mean.expand(1, 2, *light.shape[-2:]))
            model_err.append(chroma_error(colour, target).item())
            base_err.append(chroma_error(baseline, target).item())
            ratios.append((colourfulness(colour) / colourfulness(target).clamp_min(1e-6)).item())
        return {"val/chroma_error_model": float(np.mean(model_err)),
                "val/chroma_error_mean_ab": float(np.mean(base_err)),
                "val/colourfulness_ratio": float(np.mean(ratios))}

    def teacher_files(self) -> list[Path]:
        """The perceptual loss's VGG teacher and, with semantic distillation, EfficientNet-Lite0."""
        return super().teacher_files() + ([self.semantic.teacher_file] if self.semantic is not None else [])

    def inherited_cards(self) -> list[Path]:
        """``init_from``'s card and the semantic encoder's (its teacher is this model's too)."""
        semantic = self.config.semantic_encoder
        return super().inherited_cards() + ([card_path(semantic)] if semantic else [])

    def export(self, folder: str | Path) -> list[ModelCard]:
        """Write the EMA generator as safetensors + model card (with the training set's mean chroma)."""
        cfg = self.config
        kwargs = kwargs_of(self.generator, cfg.generator)
        if self.generator.bin_step:
            prior = chroma_prior(self.train_files, self.generator.centres.cpu())
            kwargs["prior"] = [float(f"{value:.4g}") for value in prior]
        return [self.save_network(self.ema_generator.shadow, folder, name=cfg.name, arch="ColorizeGenerator",
                                  kwargs=kwargs, train_images=len(self.train_files), val_images=len(self.val_files),
                                  skipped_gray_images=self.skipped_gray,
                                  mean_ab=[round(v, 4) for v in self.mean_chroma])]
