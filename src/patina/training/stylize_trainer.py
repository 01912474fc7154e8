"""GAN training of the style decoder on fused features of the frozen, distilled encoder.

Each step fuses the relu3_1 features of content photos with those of style-image crops (AdaIN, or WCT on a
share of the steps, so one decoder serves both) and decodes them. The objective is measured with the
teacher: content (relu3_1 of the output vs the photo), style as channel mean / std and as Gram matrices
(output vs the style crop), and a hinge adversarial loss from a PatchGAN that sees the output next to
another crop of the same style image, so it judges "painted like this artwork", for unseen artworks too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from patina.core.errors import ConfigError
from patina.data import list_images, split_styles
from patina.losses import VGGTeacher, content_distance, gram_distance, statistics_distance
from patina.networks.discriminators import PatchDiscriminator
from patina.networks.stylize import StyleDecoder, StyleEncoder, StyleTransferNet
from patina.ops.fusion import adain, wct
from patina.training.config import StylizeTrainConfig
from patina.training.datasets import CleanCrops, PhotoCrops
from patina.training.loss_terms import LossTerm
from patina.training.trainer import Generated, Trainer, init_source, kwargs_of, load_init_state
from patina.weights import ModelCard, load_model


def fuse_batch(content: torch.Tensor, style: torch.Tensor, *, method: str) -> torch.Tensor:
    """Fuse each content sample with the style sample at its index (AdaIN batched, WCT one by one)."""
    if method == "adain":
        return adain(content, [style])
    return torch.cat([wct(content[i:i + 1], [style[i:i + 1]]) for i in range(content.shape[0])])


def objective_terms(teacher: VGGTeacher, output: torch.Tensor, content: torch.Tensor,
                    style: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-sample content, statistics and Gram distances of ``output`` (teacher features; no gradient to
    ``content`` and ``style``)."""
    with torch.no_grad():
        content_features, style_features = teacher(content), teacher(style)
    output_features = teacher(output)
    return {"content": content_distance(output_features, content_features),
            "statistics": statistics_distance(output_features, style_features),
            "gram": gram_distance(output_features, style_features)}


class StylizeTrainer(Trainer):
    """Decoder (with an EMA) against a style-conditioned PatchGAN; the encoder stays frozen."""

    task = "stylize"

    def __init__(self, config: StylizeTrainConfig, *, progress: bool = True) -> None:
        super().__init__(config, progress=progress)
        encoder, self.encoder_card = load_model(config.encoder, device=self.device)
        if not isinstance(encoder, StyleEncoder):
            raise ConfigError(f"{config.encoder} holds a {self.encoder_card.arch}, not a StyleEncoder")
        self.encoder = encoder.requires_grad_(False)
        self.decoder_kwargs = {"widths": self.encoder.widths, **config.generator}
        self.decoder = StyleDecoder(**self.decoder_kwargs).to(self.device)
        (self.ema_decoder,) = self.train_generator({"decoder": self.decoder})
        self.adversary = self.make_adversary(PatchDiscriminator(**config.discriminator))
        self.teacher = VGGTeacher.from_file(config.teacher).to(self.device)
        self.style_train, self.style_held_out = split_styles(list_images(list(config.style_roots)),
                                                             config.style_holdout_every)
        if not self.style_train:
            raise ConfigError(f"no training style images under {', '.join(config.style_roots)}")
        self.styles = PhotoCrops(self.style_train, crop=config.data.crop, side=config.style_side)

    def initialise_from(self, path: Path) -> None:
        """Start the decoder from a StyleTransferNet's (e.g. the shipped one, when the encoder was refined)."""
        source = init_source(path, "StyleTransferNet")
        if not isinstance(source, StyleTransferNet):  # the card says StyleTransferNet, so never (narrows the type)
            raise ConfigError(f"init_from {path}: a {type(source).__name__}, not a StyleTransferNet")
        load_init_state(self.decoder, source.decoder.state_dict(), path, "decoder")

    def _style_pairs(self, n: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Two crops of the same random style image per sample: one to fuse, one to show D as the condition."""
        indices = rng.integers(len(self.styles), size=n).tolist()
        fused = torch.stack([self.styles.crop_of(i, rng) for i in indices])
        shown = torch.stack([self.styles.crop_of(i, rng) for i in indices])
        return fused.to(self.device), shown.to(self.device)

    def generate(self, batch: dict[str, torch.Tensor], rng: np.random.Generator) -> Generated:
        """Content features fused with a style crop's (AdaIN, or WCT on ``wct_fraction`` of the steps), decoded;
        D sees the output next to another crop of the same style image."""
        content = batch["target"].to(self.device, non_blocking=True)
        style, shown = self._style_pairs(content.shape[0], rng)
        method = "wct" if rng.random() < self.config.wct_fraction else "adain"
        with torch.no_grad():
            fused = fuse_batch(self.encoder(content)[2], self.encoder(style)[2], method=method)
        output = self.decoder(fused)

        def discriminate(images: torch.Tensor) -> torch.Tensor:
            paired = torch.cat([images, shown], dim=1)
            return self.gan.discriminator(self.gan.augment(paired, channels_per_image=3))

        objective = objective_terms(self.teacher, output, content, style)
        terms: dict[str, LossTerm] = {name: value.mean() for name, value in objective.items()}
        return Generated(terms=terms,
                         images=[content, style, output.detach().clamp(0, 1)], label="train/content|style|output",
                         real=style, fake=output.clamp(0, 1), discriminate=discriminate)

    @torch.no_grad()
    def validate(self, limit: int = 8) -> dict[str, float]:
        """The objective's terms for the EMA decoder (AdaIN, alpha 1) on held-out photos x held-out styles."""
        if not self.val_files or not self.style_held_out:
            return {}
        crop = self.config.data.crop
        photos = CleanCrops(self.val_files, crop=crop, scale_range=(1.0, 1.0), seed=12345)
        styles = PhotoCrops(self.style_held_out, crop=crop, side=self.config.style_side)
        rng = np.random.default_rng(12345)
        rows = []
        for index in range(limit):
            content = photos[index]["target"][None].to(self.device)
            style = styles.crop_of(index % len(styles), rng)[None].to(self.device)
            fused = fuse_batch(self.encoder(content)[2], self.encoder(style)[2], method="adain")
            output = self.ema_decoder.shadow(fused).clamp(0, 1)
            rows.append({k: v.item() for k, v in objective_terms(self.teacher, output, content, style).items()})
        return {f"val/{name}": float(np.mean([row[name] for row in rows])) for name in rows[0]}

    def export(self, folder: str | Path) -> list[ModelCard]:
        """The encoder and the EMA decoder as one StyleTransferNet (safetensors + card)."""
        cfg = self.config
        kwargs = {"encoder": kwargs_of(self.encoder, self.encoder_card.kwargs),
                  "decoder": kwargs_of(self.decoder, self.decoder_kwargs)}
        net = StyleTransferNet(**kwargs)
        net.encoder.load_state_dict(self.encoder.state_dict())
        net.decoder.load_state_dict(self.ema_decoder.shadow.state_dict())
        return [self.save_network(
            net, folder, name=cfg.name, arch="StyleTransferNet", kwargs=kwargs,
            data=[*cfg.data.roots, *cfg.style_roots],
            train_images=len(self.train_files), teacher=Path(cfg.teacher).name,
            encoder={"steps": self.encoder_card.steps, "held_out": self.encoder_card.training.get("held_out")},
            styles_train=[p.name for p in self.style_train], styles_held_out=[p.name for p in self.style_held_out],
            held_out=self.validate())]
