"""Training of restore's whole-photo tone and colour correction (:class:`~patina.networks.tone.ToneCorrector`).

The correction is global (a few dozen numbers per photo), so it is learnt on thumbnails of whole photos
with wide synthetic tone damage (:mod:`patina.degradations.tone`): thousands of steps a minute on a CPU.
A regression, not a GAN: the error (L1, or squared with ``loss.norm: l2``) of the corrected thumbnail to the
clean one, of its chroma alone and (``passthrough``) of the clean thumbnail put through the correction to itself.
A black-and-white print is scored on its brightness (the mean of its channels) alone: the pipeline turns its
restoration gray (and re-tones it) anyway, so the correction is never taught to drain colour, which would also
drain the colour of colour photos it cannot tell from toned prints.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from patina.networks.restore import THUMBNAIL_SIZE
from patina.networks.tone import ToneCorrector
from patina.training.config import ToneTrainConfig
from patina.training.datasets import ToneThumbnails
from patina.training.loss_terms import LossTerm
from patina.training.trainer import Generated, Trainer, init_source, kwargs_of, load_init_state
from patina.weights import ModelCard


def chroma(image: torch.Tensor) -> torch.Tensor:
    """Each channel minus the pixel's mean (what is left when brightness is taken away)."""
    return image - image.mean(dim=1, keepdim=True)


NORMS = {"l1": torch.abs, "l2": torch.square}
"""How a tone loss measures each error (:attr:`~patina.training.config.ToneLossConfig.norm`)."""


def tone_losses(corrected: torch.Tensor, target: torch.Tensor, gray: torch.Tensor,
                norm: str = "l1") -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel and chroma errors (:data:`NORMS`) of corrected thumbnails (N, 3, H, W) to their targets; ``gray`` (N,)
    marks black-and-white prints, scored on their mean over channels only (and not at all on chroma)."""
    error = NORMS[norm]
    colour = (1 - gray.float()).view(-1, 1, 1, 1)
    full = error(corrected - target).mean(dim=1, keepdim=True)
    brightness = error(corrected.mean(dim=1, keepdim=True) - target.mean(dim=1, keepdim=True))
    pixel = (colour * full + (1 - colour) * brightness).mean()
    pixels = 3 * corrected[0, 0].numel()
    chroma_error = (colour * error(chroma(corrected) - chroma(target))).sum() / (pixels * colour.sum()).clamp_min(1)
    return pixel, chroma_error


class ToneTrainer(Trainer):
    """The tone corrector, with an EMA; no adversary."""

    task = "restore-tone"

    def __init__(self, config: ToneTrainConfig, *, progress: bool = True) -> None:
        super().__init__(config, progress=progress)
        self.corrector = ToneCorrector(**config.generator).to(self.device)
        (self.ema_corrector,) = self.train_generator({"corrector": self.corrector})

    def initialise_from(self, path: Path) -> None:
        """Start from ``path``'s corrector; one without a ``grid`` gives a gridded one its whole-photo part (the
        cells' head starts where a new one does: no change per cell)."""
        state = init_source(path, "ToneCorrector").state_dict()
        fresh_cells = {key: value for key, value in self.corrector.state_dict().items() if key.startswith("cells.")}
        load_init_state(self.corrector, {**fresh_cells, **state}, path, "corrector")

    def training_set(self) -> ToneThumbnails:
        cfg = self.config
        return ToneThumbnails(self.train_files, size=cfg.data.crop, p_grayscale=cfg.p_grayscale,
                              p_untouched=cfg.p_untouched, seed=cfg.seed, p_close_untouched=cfg.p_close_untouched)

    def generate(self, batch: dict[str, torch.Tensor], rng: np.random.Generator) -> Generated:
        degraded, target, gray = (batch[k].to(self.device) for k in ("degraded", "target", "gray"))
        corrected = self.corrector(degraded, F.adaptive_avg_pool2d(degraded, THUMBNAIL_SIZE))
        norm = self.config.loss.norm
        pixel, chroma_error = tone_losses(corrected, target, gray, norm)
        terms: dict[str, LossTerm] = {
            "pixel": lambda: pixel,
            "chroma": lambda: chroma_error,
            "passthrough": lambda: NORMS[norm](
                self.corrector(target, F.adaptive_avg_pool2d(target, THUMBNAIL_SIZE)) - target).mean(),
        }
        return Generated(terms=terms, images=[degraded, corrected.detach().clamp(0, 1), target],
                         label="train/degraded|corrected|target")

    @torch.no_grad()
    def validate(self, limit: int = 256) -> dict[str, float]:
        """Mean absolute error of held-out thumbnails before and after the EMA correction (fixed damage
        draws; black-and-white prints on brightness, as trained), and PSNR of clean thumbnails through it (over
        the whole set: some damage draws are none)."""
        if not self.val_files:
            return {}
        cfg = self.config
        dataset = ToneThumbnails(self.val_files, size=cfg.data.crop, p_grayscale=cfg.p_grayscale,
                                 p_untouched=cfg.p_untouched, seed=12345)
        items = [dataset[index] for index in range(limit)]
        degraded = torch.stack([item["degraded"] for item in items]).to(self.device)
        target = torch.stack([item["target"] for item in items]).to(self.device)
        gray = torch.stack([item["gray"] for item in items]).to(self.device)
        net = self.ema_corrector.shadow
        corrected = net(degraded, F.adaptive_avg_pool2d(degraded, THUMBNAIL_SIZE)).clamp(0, 1)
        untouched = net(target, F.adaptive_avg_pool2d(target, THUMBNAIL_SIZE)).clamp(0, 1)
        passthrough = 10 * torch.log10(1 / F.mse_loss(untouched, target).clamp_min(1e-10))
        return {"val/l1_input": tone_losses(degraded, target, gray)[0].item(),
                "val/l1_corrected": tone_losses(corrected, target, gray)[0].item(),
                "val/psnr_clean_passthrough": passthrough.item()}

    def export(self, folder: str | Path) -> list[ModelCard]:
        cfg = self.config
        return [self.save_network(self.ema_corrector.shadow, folder, name=cfg.name, arch="ToneCorrector",
                                  kwargs=kwargs_of(self.corrector, cfg.generator),
                                  train_images=len(self.train_files), val_images=len(self.val_files))]
