"""Paired GAN training of the face restoration network (:class:`~patina.networks.face_restore.FaceRestorer`)
on aligned face crops aged by the old-photo chain.

The faces are the teacher's (YuNet, as for the detector; labels cached), the crops aligned by their landmarks
(jittered, as a detector's are off by a little). Identity-keeping terms dominate: Charbonnier and SSIM to the
clean crop, L1 of the low frequencies (8x average-pooled: tone, face shape), and optionally the consistency of a
frozen face detector's boxes and landmarks; then a VGG perceptual term and a conditional PatchGAN.

With ``condition`` (a restore model), the face model is conditioned: it learns to correct the general
restoration's crop of each face, trained on crops cut from whole photos aged by the chain and restored by that
model (:func:`~patina.training.face_data.restored_face_crops`), as the face stage will meet them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from kornia.filters import gaussian_blur2d
from torch.nn import functional as F

from patina.core.errors import ConfigError
from patina.evaluation.face_teacher import PhotoFaces, teacher_faces
from patina.losses import charbonnier_loss, ssim_loss
from patina.networks import PatchDiscriminator
from patina.networks.face_restore import FaceRestorer
from patina.networks.faces import FaceDetector, luminance
from patina.ops.face_align import TONE_SIGMA
from patina.ops.metrics import psnr
from patina.training.config import FaceRestoreTrainConfig
from patina.training.datasets import DEGRADATION_PRESETS, degradation_preset
from patina.training.face_data import AlignedFacePairs, RestoredFaceCrops, restored_face_crops
from patina.training.loss_terms import LossTerm
from patina.training.trainer import Generated, Trainer, init_source, kwargs_of, load_init_state
from patina.weights import ModelCard

VALIDATION_SEED = 12345


def tone_matched(crop: torch.Tensor, reference: torch.Tensor, sigma: float = TONE_SIGMA) -> torch.Tensor:
    """``crop`` with its tone and colour replaced by ``reference``'s, as the face stage pastes it
    (:func:`~patina.ops.face_align.match_tone` for (N, 3, S, S) tensors; the clipping to [0, 1] left out, so the
    gradient passes everywhere)."""
    blur = max(1.0, sigma * crop.shape[-1])
    size = 2 * round(4 * blur) + 1
    low = lambda image: gaussian_blur2d(image, (size, size), (blur, blur), border_type="reflect")  # noqa: E731
    return crop + low(reference) - low(crop)


class FaceRestoreTrainer(Trainer):
    """The face restorer against a conditional PatchGAN, with an EMA."""

    task = "face-restore"

    def __init__(self, config: FaceRestoreTrainConfig, *, progress: bool = True) -> None:
        if bool(config.generator.get("conditioned")) != (config.condition is not None):
            raise ConfigError("generator.conditioned and condition go together: a conditioned face model needs the "
                              "restore model it corrects, and only it can use one")
        if config.tone_matched and config.condition is None:
            raise ConfigError("tone_matched needs a conditioned face model: the tone is the restoration's")
        super().__init__(config, progress=progress)
        self.labels: dict[Path, PhotoFaces] = teacher_faces(self.train_files + self.val_files,
                                                            teacher=config.teacher, cache=config.teacher_cache)
        self.restorer = FaceRestorer(**config.generator).to(self.device)
        (self.ema_restorer,) = self.train_generator({"restorer": self.restorer})
        self.adversary = self.make_adversary(PatchDiscriminator(**config.discriminator))
        self.perceptual = self.perceptual_loss()
        self.detector = self._detector(config.landmark_model)
        self._validation_crops: RestoredFaceCrops | None = None

    def _detector(self, path: str | None) -> FaceDetector | None:
        if path is None:
            return None
        network = init_source(Path(path), "FaceDetector").to(self.device).eval().requires_grad_(False)
        assert isinstance(network, FaceDetector)
        return network

    def initialise_from(self, path: Path) -> None:
        load_init_state(self.restorer, init_source(path, "FaceRestorer").state_dict(), path, "restorer")

    def pairs(self, files: list[Path], seed: int) -> AlignedFacePairs:
        cfg = self.config
        preset = DEGRADATION_PRESETS["eval"] if seed == VALIDATION_SEED else degradation_preset(
            cfg.data.degradation, cfg.data.degradation_overrides)
        return AlignedFacePairs(files, self.labels, crop=cfg.data.crop, min_face=cfg.min_face, jitter=cfg.jitter,
                                degradation=preset, seed=seed)

    def restored_crops(self, files: list[Path], seed: int) -> RestoredFaceCrops:
        """A conditioned model's samples of ``files`` (the validation seed: the eval chain, one aging, no jitter)."""
        from patina.pipelines.restore import RestorePipeline

        cfg = self.config
        assert cfg.condition is not None
        validation = seed == VALIDATION_SEED
        restore = RestorePipeline(model=cfg.condition, device=self.device)
        crops = restored_face_crops(
            files, self.labels, restore=restore, restore_key=json.dumps(restore.models()), crop=cfg.data.crop,
            min_face=cfg.min_face, jitter=0.0 if validation else cfg.jitter, variants=1 if validation else cfg.variants,
            degradation=DEGRADATION_PRESETS["eval"] if validation else degradation_preset(
                cfg.data.degradation, cfg.data.degradation_overrides), seed=seed, cache=cfg.crops_cache)
        return RestoredFaceCrops(crops, seed=seed)

    def training_set(self) -> AlignedFacePairs | RestoredFaceCrops:
        if self.config.condition is not None:
            return self.restored_crops(self.train_files, self.config.seed)
        return self.pairs(self.train_files, self.config.seed)

    def _landmark_consistency(self, restored: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """L1 between the frozen detector's outputs (all levels) on the restored and on the clean crop."""
        assert self.detector is not None
        with torch.no_grad():
            wanted = self.detector(luminance(target))
        given = self.detector(luminance(restored))
        return torch.stack([F.l1_loss(g.float(), w.float()) for g, w in zip(given, wanted, strict=True)]).mean()

    def generate(self, batch: dict[str, torch.Tensor], rng: np.random.Generator) -> Generated:
        degraded, target = (batch[k].to(self.device, non_blocking=True) for k in ("degraded", "target"))
        condition = batch["restored"].to(self.device) if "restored" in batch else None
        with self.autocast():
            restored = self.restorer(degraded, condition)
        restored_f = restored.float()
        if self.config.tone_matched:
            assert condition is not None
            restored_f = tone_matched(restored_f, condition)

        def paired(image: torch.Tensor) -> torch.Tensor:  # D judges a crop next to its aged input
            return torch.cat([degraded, image], dim=1)

        terms: dict[str, LossTerm] = {
            "pixel": lambda: charbonnier_loss(restored_f, target),
            "ssim": lambda: ssim_loss(restored_f.clamp(0, 1), target),
            "low_frequency": lambda: F.l1_loss(F.avg_pool2d(restored_f, 8), F.avg_pool2d(target, 8)),
        }
        if self.detector is not None:
            terms["landmarks"] = lambda: self._landmark_consistency(restored_f, target)
        perceptual = self.perceptual
        if perceptual is not None:
            terms["perceptual"] = lambda: perceptual(restored_f, target)
        shown = [degraded, *([] if condition is None else [condition]), restored_f.detach().clamp(0, 1), target]
        label = "train/aged|restored|target" if condition is None else "train/aged|restore|faces|target"
        return Generated(terms=terms, images=shown, label=label, real=target, fake=restored,
                         discriminate=lambda image: self.gan.discriminator(paired(image)))

    @torch.no_grad()
    def validate(self, limit: int = 32) -> dict[str, float]:
        """PSNR of held-out aged face crops (the eval preset) before and after the EMA restorer (conditioned:
        and after the general restoration alone, and the restorer's crop as the face stage pastes it, with the
        restoration's tone)."""
        if not self.val_files:
            return {}
        if self.config.condition is not None:
            if self._validation_crops is None:
                self._validation_crops = self.restored_crops(self.val_files, VALIDATION_SEED)
            crops = self._validation_crops
            items = [crops.item(index) for index in range(min(limit, crops.count))]
        else:
            pairs = self.pairs(self.val_files, VALIDATION_SEED)
            items = [pairs.pair(index, jitter=0.0) for index in range(limit)]
        scores: dict[str, list[float]] = {"val/psnr_input": [], "val/psnr_restore": [], "val/psnr_restored": [],
                                          "val/psnr_face_stage": []}
        for item in items:
            degraded, target = item["degraded"][None].to(self.device), item["target"][None].to(self.device)
            condition = item["restored"][None].to(self.device) if "restored" in item else None
            restored = self.ema_restorer.shadow(degraded, condition).clamp(0, 1)
            scores["val/psnr_input"].append(psnr(degraded, target).item())
            scores["val/psnr_restored"].append(psnr(restored, target).item())
            if condition is not None:
                scores["val/psnr_restore"].append(psnr(condition, target).item())
                scores["val/psnr_face_stage"].append(psnr(tone_matched(restored, condition).clamp(0, 1), target).item())
        return {name: float(np.mean(values)) for name, values in scores.items() if values}

    def teacher_files(self) -> list[Path]:
        return [Path(self.config.teacher), *super().teacher_files()]

    def export(self, folder: str | Path) -> list[ModelCard]:
        cfg = self.config
        return [self.save_network(self.ema_restorer.shadow, folder, name=cfg.name, arch="FaceRestorer",
                                  kwargs=kwargs_of(self.restorer, cfg.generator), min_face=cfg.min_face,
                                  train_images=len(self.train_files), val_images=len(self.val_files))]
