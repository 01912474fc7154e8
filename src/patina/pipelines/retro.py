"""Retro looks: give a modern photograph the look of an era, with the preset chain or the retro GAN.

    pipe = RetroPipeline(era="1920s")                       # engine 'auto' here 'gan': base look + GAN texture
    pipe = RetroPipeline(era="1920s", engine="preset", strength=0.7, seed=3)
    pipe = RetroPipeline(like=read_image("grandma-1962.jpg"))  # tone, colour, grain of a reference photo
    old = pipe.retro_image(read_image("photo.jpg"))
    tensor_out = pipe(tensor_in)                            # (1, 3, H, W) float in [0, 1] -> same

``preset``: the era's op chain (tone, colour, softness, halation, vignette, paper, grain, dust, scratches)
at ``strength``. ``gan``: the era's base look (the chain without its random texture) refined by the retro
generator, which adds the grain and print texture it learned from real old photographs, then the era's
dust and scratches; ``strength`` blends that result with the photograph. ``like``: the base look is the
photo matched to the reference's tone, colour and grain statistics instead of an era preset (with the GAN,
the era of the reference's kind: toned -> 1880s, neutral -> 1920s, colour -> 1970s). Every random part is
seeded by ``seed``: the same call gives the same picture.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch.nn import functional as F

from patina.core.errors import ParameterError
from patina.core.options import OptionError, Options, option
from patina.core.tensor import from_float01
from patina.imageio import Image, image_to_tensor
from patina.looks import ERA_NAMES, get_era, match_look, photo_group, render
from patina.looks import ops
from patina.looks.match import at_side
from patina.networks.retro import RetroGenerator
from patina.pipelines.base import (PhotoPipeline, ProgressFn, TileProgressFn, check_tile, model_option,
                                   tile_option, tile_progress)

ENGINES = ("auto", "gan", "preset")
AUTO_ENGINE = {"toned": "gan", "neutral": "gan", "colour": "preset"}
"""The engine 'auto' picks for each kind of era: the GAN pulls colour eras toward one magenta fade (it does not
keep an era's own palette yet: ``patina eval retro``'s hue_shift), so colour eras get the preset chain."""
DEFAULT_ERA = "1970s"
GROUP_ERA = {"toned": "1880s", "neutral": "1920s", "colour": "1970s"}
"""The era whose GAN texture suits a reference photo of each kind (``like`` with the GAN engine)."""
GAN_SIDE = 1024
"""Long side above which the generator's texture is computed at this size and enlarged (see ``_gan``)."""
OVERLAP = 32
"""Pixels by which the generator's tiles overlap."""
MAX_PIXELS = 50_000_000
"""The looks work on the whole image in memory (vignette, halation and paper span the picture)."""


@dataclass(frozen=True)
class RetroOptions(Options):
    """Which look and how much of it: every default, type and range of the retro looks, written once."""

    pipeline: ClassVar[str] = "retro"

    era: str | None = option(
        None, "1880s (albumen), 1920s (silver gelatin), 1950s (Kodachrome), 1970s (faded print), 1980s (instant "
              "film) or 1990s (disposable camera). Default 1970s, or the kind of the --like photo.",
        choices=ERA_NAMES)
    engine: str = option("auto", "'gan': the era's base look with aging texture learned from real old photos; "
                                 "'preset': the parameterised op chain alone; 'auto': gan for the black-and-white "
                                 "eras (1880s, 1920s), preset for the colour eras.", choices=ENGINES)
    like: tuple[int | str, ...] = option(
        (), "A reference old photo: match its tone, colour and grain instead of an era preset.", reference=True,
        max_items=1)
    strength: float = option(1.0, "0 (the photo unchanged) to 1 (the full look).", minimum=0, maximum=1)
    seed: int = option(0, "Seeds grain, dust and scratches: same seed, same picture.", minimum=0)
    model: str = model_option("retro", "Retro GAN")
    tile: int | str | None = tile_option()

    def __post_init__(self) -> None:
        if isinstance(self.era, str):  # '20s', '1920S' ... -> '1920s'; an unknown era is a clear error
            try:
                object.__setattr__(self, "era", get_era(self.era).name)
            except ParameterError as exc:
                raise OptionError("era", str(exc)) from None
        super().__post_init__()

    def check(self) -> None:
        check_tile(self.tile, OVERLAP)


class RetroPipeline(PhotoPipeline):
    """Era looks on photographs.

    Built from :class:`RetroOptions` (or the same names as keyword arguments): ``era``, ``engine`` ('gan':
    preset base + learned aging texture; 'preset': the op chain alone; 'auto': by the era's kind, see
    :data:`AUTO_ENGINE`), ``strength`` (0 the photograph .. 1
    the full look), ``seed`` (grain, noise, dust and scratches), ``model`` (the RetroGenerator, engine 'gan'
    only) and ``tile``. ``like``: a reference old photo ((1, 3, h, w) tensor or :class:`Image`) whose look
    to match (the ``like`` option names it, for the record).
    """

    name = "retro"
    description = "Era look (1880s .. 1990s): preset op chain, or GAN texture learned from real old photos"
    Options = RetroOptions
    options: RetroOptions
    makes_colour = True

    def __init__(self, options: RetroOptions | None = None, *, like: torch.Tensor | Image | None = None,
                 device: str | torch.device = "auto", **values: Any) -> None:
        self.options = opts = self.options_from(options, values)
        self.strength, self.seed = opts.strength, opts.seed
        self.reference = None if like is None else (image_to_tensor(like) if isinstance(like, Image) else like.float())
        if self.reference is not None and (self.reference.ndim != 4 or self.reference.shape[:2] != (1, 3)):
            raise ParameterError("like must be a (1, 3, H, W) image tensor or an Image")
        if opts.like and self.reference is None:
            raise ParameterError("like names a reference photo: give its image too")
        era = opts.era
        if era is None:
            era = GROUP_ERA[photo_group(self.reference)] if self.reference is not None else DEFAULT_ERA
        self.look = get_era(era)
        self.engine = AUTO_ENGINE[self.look.group] if opts.engine == "auto" else opts.engine
        super().__init__(device=device, tile=opts.tile, overlap=OVERLAP, context=32)
        self.model_name = str(opts.model)
        self.generator: RetroGenerator | None = None
        if self.engine == "gan":
            self.generator = self.load_model("generator", self.model_name, "retro", RetroGenerator)
        else:
            self.tile = None  # the op chain works on the whole picture: recorded as tile 0

    def resolved_options(self) -> RetroOptions:
        resolved: RetroOptions = super().resolved_options()
        return dataclasses.replace(resolved, era=self.era, engine=self.engine)

    @property
    def era(self) -> str:
        return self.look.name

    def _check_size(self, height: int, width: int) -> None:
        if height * width > MAX_PIXELS:
            raise ParameterError(f"image is {width}x{height} ({height * width / 1e6:.0f} MP); retro looks work on "
                                 f"images up to {MAX_PIXELS / 1e6:.0f} MP: reduce it first")

    def _base(self, image: torch.Tensor, *, texture: bool) -> torch.Tensor:
        """The era preset (or the reference match) on ``image``; without texture for the GAN."""
        if self.reference is not None:
            return match_look(image, self.reference, strength=1.0 if not texture else self.strength, seed=self.seed,
                              grain=texture)
        return render(image, self.look, strength=1.0 if not texture else self.strength, seed=self.seed, texture=texture)

    def _gan(self, base: torch.Tensor, on_tile: Callable[[int, int], None] | None) -> torch.Tensor:
        """The retro generator's texture on ``base``. Above ``GAN_SIDE`` pixels the generator works on the base
        shrunk to that long side and its change is enlarged (bilinear), so grain and print texture keep the
        size, relative to the picture, they have in the real old photos it learned from."""
        if max(base.shape[-2:]) <= GAN_SIDE:
            return self._refine(base, on_tile)
        small = at_side(base, GAN_SIDE).clamp(0, 1)
        change = F.interpolate(self._refine(small, on_tile) - small, size=base.shape[-2:], mode="bilinear",
                               align_corners=False)
        return (base + change).clamp(0, 1)

    def _refine(self, base: torch.Tensor, on_tile: Callable[[int, int], None] | None) -> torch.Tensor:
        """The generator over ``base`` tile by tile (the noise is drawn for the whole image, so tiles agree)."""
        generator = self.generator
        assert generator is not None
        noise = torch.randn(1, 1, *base.shape[-2:], generator=torch.Generator().manual_seed(self.seed))
        era = torch.tensor([ERA_NAMES.index(self.era)], device=self.device)

        def refine(window: torch.Tensor) -> torch.Tensor:
            window = self.to_model_input(window)
            result: torch.Tensor = generator(window[:, :3], window[:, 3:], era.expand(window.shape[0]))
            return result.float()

        return self.run_tiled(refine, torch.cat([base, noise], dim=1), on_tile=on_tile).clamp(0, 1)

    def apply(self, image: torch.Tensor, on_tile: Callable[[int, int], None] | None = None) -> torch.Tensor:
        """The look on (1, 3, H, W) float RGB in [0, 1] -> float32 (1, 3, H, W) on the CPU."""
        if not isinstance(image, torch.Tensor) or image.ndim != 4 or image.shape[:2] != (1, 3):
            shape = tuple(getattr(image, "shape", ()))
            raise ParameterError(f"expected a (1, 3, H, W) image tensor, got shape {shape}")
        self._check_size(*image.shape[-2:])
        image = image.detach().float().cpu().clamp(0, 1)
        with torch.inference_mode():
            if self.engine == "preset":
                return self._base(image, texture=True)
            aged = self._gan(self._base(image, texture=False), on_tile)
            if self.reference is None:  # the era's dust and scratches, as the preset would add them
                aged = ops.damage(aged, torch.Generator().manual_seed(self.seed + 1), dust=self.look.dust,
                                  scratches=self.look.scratches)
            result: torch.Tensor = (image + self.strength * (aged - image)).clamp(0, 1)
            return result

    __call__ = apply

    def retro_image(self, image: Image, on_progress: TileProgressFn | None = None) -> Image:
        """The look on an :class:`Image`: RGB (toning and casts are colour) at the input's size and bit depth,
        with its alpha and EXIF, and its ICC profile when the input was RGB."""
        self._check_size(image.height, image.width)
        result = self.apply(image_to_tensor(image), on_tile=on_progress)
        pixels = from_float01(result[0].permute(1, 2, 0).numpy(), image.pixels.dtype)
        if on_progress is not None and self.engine == "preset":
            on_progress(1, 1)
        return Image(pixels=pixels, alpha=None if image.alpha is None else image.alpha.copy(), exif=image.exif,
                     icc_profile=None if image.is_gray else image.icc_profile, source_format=image.source_format)

    def process(self, image: Image, on_progress: ProgressFn | None = None) -> Image:
        return self.retro_image(image, on_progress=tile_progress(on_progress))


__all__ = ["DEFAULT_ERA", "ENGINES", "GROUP_ERA", "MAX_PIXELS", "RetroOptions", "RetroPipeline"]
