"""Artistic style transfer: a photograph painted in the manner of one or more style images.

    pipe = StylizePipeline([read_image("la_muse.jpg")])
    pipe = StylizePipeline([read_image("a.jpg"), read_image("b.jpg")], weights=[2, 1], alpha=0.7,
                           fusion="wct", preserve_color=True)
    painted = pipe.stylize_image(read_image("photo.jpg"), mask=read_image("sky-mask.png"))

The distilled encoder turns the photo and each style image into relu3_1 features; the photo's features
are given the styles' statistics (AdaIN: channel mean / std; WCT: whitening-colouring with the covariance;
several styles mix their statistics by weight; ``alpha`` blends with the photo's own features) and the
GAN-trained decoder paints the result. The fusion is an affine map computed from the statistics of the
whole picture, so a large photo is painted tile by tile without seams. ``preserve_color`` keeps the photo's
colours (CIE a*, b*) and takes only lightness from the painting; ``mask`` (white = stylize) confines the
style to a region, with soft edges where the mask is gray. ``refine`` polishes the painting with a few
L-BFGS steps on its pixels against the content + style objective the decoder trained on, measured with the
distilled encoder: closer to the style (and to the photo's content) than one pass, at about a second for
512x512 on a 2-core CPU. On CPUs with native bfloat16 (AVX512-BF16 / AMX) the networks run in bf16, about
twice as fast as float32, with the same measured scores.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch.nn import functional as F

from patina.core.errors import ParameterError
from patina.core.options import Options, option
from patina.core.tensor import from_float01
from patina.imageio import Image, image_to_tensor
from patina.imageio.convert import alpha_for_size
from patina.looks.match import at_side
from patina.networks.stylize import StyleTransferNet
from patina.losses.style import OBJECTIVE_WEIGHTS, StyleObjective, StyleSummary
from patina.ops.color import join_lab_in_gamut, split_lab
from patina.ops.fusion import FUSIONS, FeatureStatistics, FusionMap, fusion_map
from patina.ops.lbfgs import lbfgs
from patina.pipelines.base import (AnyOptions, PhotoPipeline, ProgressFn, TileProgressFn, check_tile, model_option,
                                   tile_option, tile_progress)

STYLE_SIDE = 512
"""Style images are resized to this long side before their statistics are taken (brush strokes at the
scale the decoder learned them)."""
STATISTICS_SIDE = 1024
"""The photo's feature statistics are taken at most at this long side (exact below it)."""
MAX_SIDE = 8192
"""Largest long side of a result; above it the picture must be reduced first."""
OVERLAP = 32
"""Pixels by which tiles overlap."""
REFINE_MAX_SIDE = 1024
"""Largest long side ``refine`` works on: it optimises the whole picture at once (time and memory grow with
its area)."""
REFINE_STEPS = 5
"""The refinement ``patina eval stylize`` measures (its ``model_refined`` row) and the docs recommend."""
REFINE_FIRST_STEP = 0.02
"""How far refinement's first step moves the pixels (root mean square, on a 0..1 scale)."""

ImageLike = Image | torch.Tensor


def as_tensor(image: ImageLike, what: str) -> torch.Tensor:
    """An :class:`Image` or (1, 3, H, W) tensor as a float (1, 3, H, W) CPU tensor in [0, 1]."""
    tensor = image_to_tensor(image) if isinstance(image, Image) else image
    if not isinstance(tensor, torch.Tensor) or tensor.ndim != 4 or tuple(tensor.shape[:2]) != (1, 3):
        shape = tuple(getattr(tensor, "shape", ()))
        raise ParameterError(f"{what} must be an Image or a (1, 3, H, W) tensor, got {shape}")
    if min(tensor.shape[-2:]) < 16:
        raise ParameterError(f"{what} is {tensor.shape[-1]}x{tensor.shape[-2]} pixels; at least 16x16 is needed")
    return tensor.detach().float().cpu().clamp(0, 1)


@dataclass(frozen=True)
class StylizeOptions(Options):
    """How to paint: every default, type and range of style transfer, written once."""

    pipeline: ClassVar[str] = "stylize"

    style: tuple[int | str, ...] = option(
        (), "A style image (painting, drawing, print). Repeat to mix several styles.", reference=True, required=True)
    weights: tuple[float, ...] | None = option(
        None, "How much of each style, in the same order (default: equal).", minimum=0, cli_name="weight")
    alpha: float = option(1.0, "0 (the photo unchanged) to 1 (full style).", minimum=0, maximum=1)
    fusion: str = option("adain", "'adain' (channel mean / std: faithful) or 'wct' (whitening-colouring: bolder).",
                         choices=FUSIONS)
    preserve_color: bool = option(False, "Keep the photo's colours; take only lightness from the painting.")
    mask: tuple[int | str, ...] = option(
        (), "An image whose white parts are stylized and black parts kept (gray: a blend); resized to the photo.",
        reference=True, max_items=1)
    size: int | None = option(
        None, "Long side of the result in pixels (the photo is resized first); default: the photo's size.",
        minimum=32, maximum=MAX_SIDE)
    style_size: int = option(STYLE_SIDE, "Long side the style images are resized to: smaller gives larger brush "
                                         "strokes.", minimum=32, maximum=MAX_SIDE)
    refine: int = option(0, "L-BFGS steps polishing each painting against the style (5: much closer to it, about "
                            "4x slower; pictures up to 1024 px). 0: one fast pass.", minimum=0, maximum=100)
    model: str = model_option("stylize", "Style model")
    tile: int | str | None = tile_option("Tile size in pixels, 'auto' (fits memory) or 0 (whole image): large "
                                         "photos are painted in tiles, seamlessly.")

    def check(self) -> None:
        check_tile(self.tile, OVERLAP)


class StylizePipeline(PhotoPipeline):
    """Style transfer with the shipped (or a given) StyleTransferNet.

    ``styles``: one or more style images (:class:`Image` or (1, 3, H, W) tensors in [0, 1]); ``mask``: an
    optional image whose lightness selects the region to paint. The rest comes from
    :class:`StylizeOptions` (or the same names as keyword arguments): ``weights`` (how much of each style,
    normalised; default equal), ``alpha`` (0 the photo .. 1 full style), ``fusion`` ('adain' mean / std or
    'wct' whitening-colouring: bolder, less faithful), ``preserve_color`` (keep the photo's colours, take
    only lightness from the painting), ``size`` (long side of the result), ``style_size`` (long side the
    style images are resized to: smaller gives larger brush strokes), ``refine`` (L-BFGS steps polishing the
    painting; :data:`REFINE_STEPS` advised; pictures up to :data:`REFINE_MAX_SIDE` px), ``model`` and ``tile``.
    """

    name = "stylize"
    description = "Style transfer: paint the photo like style images (archive items: style=12 or [12, 15])"
    Options = StylizeOptions
    options: StylizeOptions
    makes_colour = True
    min_side = 16

    def __init__(self, styles: Sequence[ImageLike], options: StylizeOptions | None = None, *,
                 mask: Image | None = None, device: str | torch.device = "auto", **values: Any) -> None:
        self.options = opts = self.options_from(options, values)
        self.style_size, self.refine = opts.style_size, opts.refine
        self.mask = mask
        super().__init__(device=device, tile=opts.tile, overlap=OVERLAP, context=48)
        self.model_name = str(opts.model)
        self.net = self.load_model("style transfer", self.model_name, "stylize", StyleTransferNet)
        self.fusion, self.alpha = opts.fusion, opts.alpha
        self.preserve_color = opts.preserve_color
        self.set_styles(styles, None if opts.weights is None else list(opts.weights))

    @classmethod
    def create(cls, options: AnyOptions, *, device: str | torch.device,
               references: Mapping[str, Sequence[Image]]) -> StylizePipeline:
        masks = references.get("mask", [])
        assert isinstance(options, StylizeOptions)
        return cls(list(references.get("style", [])), options, mask=masks[0] if masks else None, device=device)

    def set_styles(self, styles: Sequence[ImageLike], weights: Sequence[float] | None = None) -> None:
        """Use these style images (and weights) from now on; checks them, the weights, fusion and alpha at once
        (:func:`fusion_map`)."""
        if isinstance(styles, (Image, torch.Tensor)) or not styles:
            raise ParameterError("give a list of one or more style images")
        tensors = [as_tensor(style, "style image") for style in styles]
        with self.inference():
            features = [self._features(at_side(style, self.style_size)) for style in tensors]
        statistics = [FeatureStatistics.of(layers[-1].float().cpu()) for layers in features]
        fusion_map(statistics[0], statistics, method=self.fusion, weights=weights, alpha=self.alpha)
        self.style_statistics, self.weights = statistics, weights
        # outside inference mode, so that refinement's autograd may use them
        self.style_summaries = ([StyleSummary.of([layer.float() for layer in layers]) for layers in features]
                                if self.refine else [])

    def _features(self, image: torch.Tensor) -> list[torch.Tensor]:
        """The encoder's relu1_1 .. relu3_1 features (in the pipeline's precision, on the device) of a whole
        (1, 3, H, W) image."""
        padded = _pad_to(image, self.multiple)
        features: list[torch.Tensor] = self.net.encoder(self.to_model_input(padded.to(self.device)))
        return features

    def _statistics(self, image: torch.Tensor) -> FeatureStatistics:
        """Statistics of the encoder's relu3_1 features of a whole (1, 3, H, W) image."""
        return FeatureStatistics.of(self._features(image)[-1].float().cpu())

    def fusion_for(self, photo: torch.Tensor) -> FusionMap:
        """The fusion map for ``photo`` (its statistics at up to ``STATISTICS_SIDE``)."""
        small = photo if max(photo.shape[-2:]) <= STATISTICS_SIDE else at_side(photo, STATISTICS_SIDE)
        with self.inference():
            content = self._statistics(small)
        return fusion_map(content, self.style_statistics, method=self.fusion, weights=self.weights, alpha=self.alpha)

    def apply(self, photo: torch.Tensor, *, mask: torch.Tensor | None = None, size: int | None = None,
              on_tile: Callable[[int, int], None] | None = None) -> torch.Tensor:
        """Paint (1, 3, H, W) float RGB in [0, 1] -> float32 (1, 3, h, w) on the CPU, where (h, w) is (H, W)
        or, with ``size``, the picture resized to that long side. ``mask``: (1, 1, H, W) in [0, 1]."""
        photo = as_tensor(photo, "photo")
        size = StylizeOptions.check_one("size", size)
        if size is not None and size != max(photo.shape[-2:]):
            photo = at_side(photo, size).clamp(0, 1)
        if max(photo.shape[-2:]) > MAX_SIDE:
            raise ParameterError(f"the picture's long side is {max(photo.shape[-2:])} px; stylize works up to "
                                 f"{MAX_SIDE} px: give size= (--size) to paint it smaller")
        if self.refine and max(photo.shape[-2:]) > REFINE_MAX_SIDE:
            raise ParameterError(f"refine works on pictures up to {REFINE_MAX_SIDE} px on the long side, this one "
                                 f"is {max(photo.shape[-2:])} px: give size= (--size) or refine 0")
        fuse = self.fusion_for(photo)

        def paint(window: torch.Tensor) -> torch.Tensor:
            painted: torch.Tensor = self.net.decoder(fuse(self.net.encode(self.to_model_input(window))))
            return painted.float()

        painted = self.run_tiled(paint, photo, on_tile=on_tile)
        painted = painted.clamp(0, 1)
        if self.refine:
            painted = self._refined(painted, photo)
        if self.preserve_color:
            (light, _), (_, chroma) = split_lab(painted), split_lab(photo)
            painted = join_lab_in_gamut(light, chroma)
        if mask is not None:
            mask = _mask_like(mask, photo)
            painted = photo + mask * (painted - photo)
        return painted

    __call__ = apply

    def _refined(self, painted: torch.Tensor, photo: torch.Tensor) -> torch.Tensor:
        """``painted`` after ``self.refine`` L-BFGS steps on its pixels (:func:`patina.ops.lbfgs.lbfgs`)
        minimising the decoder's training objective (:data:`OBJECTIVE_WEIGHTS`): content distance to ``photo``
        plus the styles' statistics and Gram distances (by the styles' weights, times alpha), on the distilled
        encoder's features (zero-padded, in the pipeline's precision; the objective itself in float32)."""
        height, width = painted.shape[-2:]

        def encode(pixels: torch.Tensor) -> list[torch.Tensor]:
            with self.precision():
                features: list[torch.Tensor] = self.net.encoder(self.to_model_input(pixels), zero_padding=True)
            return features

        with torch.no_grad():
            content = encode(_pad_to(photo, self.multiple).to(self.device))
        weights = {name: weight * (1.0 if name == "content" else self.alpha)
                   for name, weight in OBJECTIVE_WEIGHTS.items()}
        objective = StyleObjective(content, self.style_summaries, weights=weights,
                                   style_weights=None if self.weights is None else list(self.weights))

        def loss_and_gradient(pixels: torch.Tensor) -> tuple[float, torch.Tensor]:
            pixels = pixels.detach().requires_grad_(True)
            with torch.enable_grad():
                loss = objective(encode(pixels)).sum()
                loss.backward()  # type: ignore[no-untyped-call]  # torch's stub leaves it untyped
            assert pixels.grad is not None
            return float(loss.detach()), pixels.grad

        start = _pad_to(painted, self.multiple).to(self.device)
        pixels = lbfgs(start, loss_and_gradient, steps=self.refine, first_step=REFINE_FIRST_STEP)
        return pixels[..., :height, :width].float().cpu().clamp(0, 1)

    def process(self, image: Image, on_progress: ProgressFn | None = None) -> Image:
        return self.stylize_image(image, mask=self.mask, size=self.options.size, on_progress=tile_progress(on_progress))

    def stylize_image(self, image: Image, *, mask: Image | None = None, size: int | None = None,
                      on_progress: TileProgressFn | None = None) -> Image:
        """Paint an :class:`Image`: RGB at its bit depth (at ``size`` long side when given), alpha resized,
        EXIF kept. ``mask``: an image of any mode; its lightness (resized to the picture) selects the region."""
        self.check_size(image)
        mask_tensor = None if mask is None else image_to_tensor(mask).mean(dim=1, keepdim=True)
        result = self.apply(image_to_tensor(image), mask=mask_tensor, size=size, on_tile=on_progress)
        height, width = result.shape[-2:]
        pixels = from_float01(result[0].permute(1, 2, 0).numpy(), image.pixels.dtype)
        return Image(pixels=pixels, alpha=alpha_for_size(image.alpha, height, width), exif=image.exif,
                     icc_profile=None if image.is_gray else image.icc_profile, source_format=image.source_format)


def _pad_to(image: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad the bottom / right edges of ``image`` (edge pixels repeated) up to a multiple of ``multiple``."""
    height, width = image.shape[-2:]
    pad_y, pad_x = -height % multiple, -width % multiple
    return F.pad(image, (0, pad_x, 0, pad_y), mode="replicate") if pad_y or pad_x else image


def _mask_like(mask: torch.Tensor, photo: torch.Tensor) -> torch.Tensor:
    """``mask`` as float (1, 1, H, W) in [0, 1] at the photo's size (bilinear)."""
    if not isinstance(mask, torch.Tensor) or mask.ndim != 4 or mask.shape[:2] != (1, 1):
        raise ParameterError(f"mask must be a (1, 1, H, W) tensor, got {tuple(getattr(mask, 'shape', ()))}")
    mask = mask.float().clamp(0, 1)
    if mask.shape[-2:] != photo.shape[-2:]:
        photo_ratio, mask_ratio = photo.shape[-1] / photo.shape[-2], mask.shape[-1] / mask.shape[-2]
        if abs(photo_ratio - mask_ratio) > 0.02 * photo_ratio:
            raise ParameterError(f"the mask is {mask.shape[-1]}x{mask.shape[-2]}, the picture "
                                 f"{photo.shape[-1]}x{photo.shape[-2]}: their shapes differ")
        mask = F.interpolate(mask, size=photo.shape[-2:], mode="bilinear", align_corners=False)
    return mask


__all__ = ["MAX_SIDE", "REFINE_MAX_SIDE", "REFINE_STEPS", "STATISTICS_SIDE", "STYLE_SIDE", "StylizeOptions",
           "StylizePipeline"]
