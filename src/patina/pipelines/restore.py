"""Old-photo restoration: whole-photo tone correction, damage mask (scratches, dust, creases) and the
restoration generator, tiled.

    pipe = RestorePipeline()                       # registered models, device 'auto', tiles sized to memory
    restored = pipe.restore_image(read_image("scan.tif"))
    tensor_out = pipe(tensor_in)                   # (1, 3, H, W) float in [0, 1] -> same
    mask = pipe.damage_mask(photo)                 # 8-bit gray, 255 = damage: review and correct it, then
    pipe.restore_image(photo, mask=corrected)      # restore with it (the mask net is not run)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from patina.core.errors import ParameterError
from patina.core.options import OptionError, Options, option
from patina.core.tensor import from_float01
from patina.imageio import Image
from patina.networks.restore import DamageMaskNet, RestoreGenerator, thumbnail
from patina.networks.tone import LUMA, ToneCorrector
from patina.pipelines.base import (PhotoPipeline, PixelSink, ProgressFn, TileProgressFn, check_tile,
                                   image_view, model_option, part_progress, tile_option, tile_progress)
from patina.pipelines.faces import FaceRefiner
from patina.pipelines.upscale import SCALES, default_model

if TYPE_CHECKING:
    from patina.pipelines.colorize import ColorizePipeline

TONES = ("keep", "neutral")
MONOCHROME_CHROMA = 0.012
"""A photo whose colour, once the mean colour of each brightness is taken away, varies less than this on
average, both as it came and once its tone is corrected, is a (toned, faded or cast) black-and-white print (a
correction that drains a colour photo's colour does not make it one)."""
MASK_WITHOUT_SCRATCHES = "a damage mask and no-scratches contradict each other: give one or the other"


def _companion_model(model: str, registered: str) -> str:
    """The ``registered`` model that goes with the restore ``model``: ``<registered>.safetensors`` beside a
    model file when there is one, else the registered model itself."""
    path = Path(model)
    sibling = path.parent / f"{registered}.safetensors"
    if path.suffix == ".safetensors" and sibling.is_file():
        return str(sibling)
    return registered


@dataclass(frozen=True)
class PhotoContext:
    """What the tiles of one photo share, computed once from its thumbnail: the tone correction, the
    generator's context (for the photo and its mirror image) and, for a toned black-and-white print
    restored with ``tone='keep'``, the tint to give back."""

    tone: tuple[torch.Tensor, torch.Tensor] | None
    """The tone corrector's parameters for each photo and how much of its correction each gets
    (:data:`patina.networks.tone.GATE`), or None to leave their tones as they are."""
    context: torch.Tensor | None
    mirrored_context: torch.Tensor | None
    monochrome: bool = False
    tint: torch.Tensor | None = None
    size: tuple[int, int] = (0, 0)
    """The photo's height and width: a tone correction that varies over the photo places each tile in it."""


_NO_PHOTO = PhotoContext(None, None, None)
"""The context between photos (and of ``strength`` 0): nothing to share."""


@dataclass(frozen=True)
class RestoreOptions(Options):
    """How to restore: every default, type and range of restoration, written once."""

    pipeline: ClassVar[str] = "restore"

    model: str = model_option("restore", "Restore model")
    mask_model: str | None = option(
        None, "Damage-mask model; default: damage-mask.safetensors beside --model, else the registered one.",
        weights=True)
    tone_model: str | None = option(
        None, "Tone-correction model; default: restore-tone.safetensors beside --model, else the registered one.",
        weights=True)
    tone: str = option("keep", "A toned black-and-white print: 'keep' its tone (sepia, selenium...) or make it "
                               "'neutral' gray. Yellowing, stains, fading and casts are corrected either way.",
                       choices=TONES)
    scratches: bool = option(True, "Detect and inpaint scratches, dust and creases.")
    mask: tuple[int | str, ...] = option(
        (), "A damage mask used instead of the detected one (the mask net is not run): white = damage, black = "
            "none, the photo's size; gray, RGB or with alpha (transparent = none); used at 8 bits. On the command "
            "line a file, or a folder of masks named like the photos (photo.mask.png or photo.png).",
        reference=True, max_items=1)
    strength: float = option(1.0, "0 keeps the original, 1 applies the full restoration, in between mixes the two.",
                             minimum=0, maximum=1)
    ensemble: bool = option(
        False, "Also restore the mirror image and average the two (about twice the time for +0.02 dB).")
    tile: int | str | None = tile_option()
    overlap: int = option(64, "Pixels by which neighbouring tiles overlap and are blended.", minimum=0)
    context: int | None = option(64, "Extra pixels each side of a tile, computed and discarded.", minimum=0)
    faces: bool = option(False, "Then restore the faces with the face model: found in the restored photo, aligned by "
                                "their landmarks, restored from the photo as given, pasted back with the "
                                "restoration's tone and colour.")
    face_strength: float = option(1.0, "How much of the face model's result replaces the restored face (0..1).",
                                  minimum=0, maximum=1)
    face_model: str = model_option("face-restore", "Face restoration model")
    face_detector: str = model_option("face-detector", "Face detector")
    colorize: bool = option(False, "Then colorize the restored photo (see colorize; its defaults).")
    upscale: int | str | None = option(
        None, "Also upscale, in the same pass over each tile: 2 or 4 (the registered GAN upscaler of that scale) "
              "or an upscaler's registry name or weights file.", weights=True)

    def check(self) -> None:
        check_tile(self.tile, self.overlap)
        if self.mask and not self.scratches:
            raise OptionError("mask", MASK_WITHOUT_SCRATCHES)
        if isinstance(self.upscale, int) and self.upscale not in SCALES:
            raise OptionError("upscale", f"upscale {self.upscale}: scale must be one of 2, 4 (or give an upscaler's "
                                         "name)")


class RestorePipeline(PhotoPipeline):
    """Restore old photographs: fading, colour casts, noise, blur, and (with ``scratches``) damage.

    Built from :class:`RestoreOptions` (or the same names as keyword arguments): ``model``, ``mask_model`` and
    ``tone_model`` (registry names or .safetensors paths; the other two default to ``damage-mask.safetensors``
    and ``restore-tone.safetensors`` beside a model file, else the registered ones), ``tone`` ('keep' gives a
    toned black-and-white print its toning back, 'neutral' leaves it gray; see :class:`PhotoContext`), ``tile`` /
    ``overlap`` / ``context`` (tiling: context 64 keeps the tiled result within 1/255 of the untiled one),
    ``scratches`` (off feeds the generator an empty mask), ``mask`` (a damage mask :class:`Image` used instead
    of the detected one; the ``mask`` option names it, for the record: see :meth:`damage_mask`), ``strength``
    (0 returns the input, 1 the full restoration), ``ensemble`` (also restore the mirrored photo and average:
    about +0.02 dB for twice the time; off by default), ``faces`` / ``face_strength`` / ``face_model`` /
    ``face_detector`` (the face stage, :class:`~patina.pipelines.faces.FaceRefiner`, run on the restored
    :class:`Image` by :meth:`restore_image` and :meth:`process`, not on tensors; the faces it restored are in
    :attr:`findings`), ``colorize`` (then colorize the result) and ``upscale``
    (2, 4 or an upscaler, in the same pass over each tile; see ``UpscalePipeline``). ``device``: 'auto', 'cpu',
    'cuda', 'cuda:1', 'mps'.
    """

    name = "restore"
    description = "Old-photo restoration GAN: fading, casts, noise, blur, scratches, dust, creases, cracks, tears"
    Options = RestoreOptions
    options: RestoreOptions

    def __init__(self, options: RestoreOptions | None = None, *, mask: Image | None = None,
                 device: str | torch.device = "auto", **values: Any) -> None:
        self.options = opts = self.options_from(options, values)
        self.strength = opts.strength
        super().__init__(device=device, tile=opts.tile, overlap=opts.overlap, context=opts.context)
        self.scratches = opts.scratches
        self.given_mask = None if mask is None else self._mask_pixels(mask)
        self.ensemble = opts.ensemble
        self.model_name = str(opts.model)
        self.mask_model_name = opts.mask_model or _companion_model(self.model_name, "damage-mask")
        self.tone_model_name = opts.tone_model or _companion_model(self.model_name, "restore-tone")
        self.generator = self.load_model("generator", self.model_name, "restore", RestoreGenerator)
        self.tone_corrector = self.load_model("tone", self.tone_model_name, "restore-tone", ToneCorrector)
        self._photo = _NO_PHOTO
        self.mask_net: DamageMaskNet | None = None
        if self.scratches and self.given_mask is None and not opts.mask:
            self._load_mask_net()
        self.upscaler: torch.nn.Module | None = None
        if opts.upscale is not None:
            upscale = opts.upscale
            upscaler = self.use_model("upscaler", default_model(upscale) if isinstance(upscale, int) else upscale,
                                      "upscale")
            self.upscaler, self.scale = upscaler.network, upscaler.scale
        self.face_refiner: FaceRefiner | None = None
        if opts.faces:
            self.face_refiner, descriptors = FaceRefiner.load(opts.face_model, opts.face_detector,
                                                              device=self.device, strength=opts.face_strength)
            self.used_models += list(zip(("face-detector", "face-restore"), descriptors, strict=True))
        self.colorizer: ColorizePipeline | None = None
        if opts.colorize:
            from patina.pipelines.colorize import ColorizePipeline

            self.colorizer = ColorizePipeline(device=self.device)
            self.used_models += [("colorize", descriptor) for _, descriptor in self.colorizer.used_models]

    def _load_mask_net(self) -> DamageMaskNet:
        if self.mask_net is None:
            self.mask_net = self.load_model("damage-mask", self.mask_model_name, "damage-mask", DamageMaskNet)
        return self.mask_net

    def resolved_options(self) -> RestoreOptions:
        resolved: RestoreOptions = super().resolved_options()
        return dataclasses.replace(resolved, mask_model=self.mask_model_name, tone_model=self.tone_model_name)

    # -- per tile ----------------------------------------------------------------------------------
    def _mask(self, tile: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self._load_mask_net()(tile).float())

    def _restore_tile(self, tile: torch.Tensor, origin: tuple[int, int]) -> torch.Tensor:
        restored = self._restore(tile, origin)
        if self.upscaler is None:
            return restored
        upscaled: torch.Tensor = self.upscaler(self.to_model_input(restored))
        return upscaled.float().clamp_(0.0, 1.0)

    def _restore(self, window: torch.Tensor, origin: tuple[int, int]) -> torch.Tensor:
        tile, given_mask = window[:, :3], window[:, 3:]  # the photo, and the given damage mask when there is one
        if self.strength == 0.0:
            return tile.clamp(0.0, 1.0)
        tile = self.to_model_input(tile)
        if given_mask.shape[1]:
            mask = given_mask
        elif self.scratches:
            mask = self._mask(tile)
        else:
            mask = tile.new_zeros((tile.shape[0], 1, *tile.shape[-2:]))
        photo, box = self._photo, (*origin, *self._photo.size)  # box: where the tile lies in the photo
        corrected = tile if photo.tone is None else self.tone_corrector.blend(tile, *photo.tone, box).to(tile.dtype)
        corrected = self.to_model_input(corrected)
        out: torch.Tensor = self.generator(corrected, mask, photo.context).float()
        if self.ensemble:
            mirrored = self.generator(corrected.flip(-1), mask.flip(-1), photo.mirrored_context).float().flip(-1)
            out = (out + mirrored) / 2
        if photo.monochrome:
            out = _monochrome(out, photo.tint)
        if self.strength != 1.0:
            out = tile + self.strength * (out - tile)
        return out.clamp_(0.0, 1.0)

    # -- public ------------------------------------------------------------------------------------
    def __call__(self, image: torch.Tensor, on_tile: Callable[[int, int], None] | None = None) -> torch.Tensor:
        """Restore (N, 3, H, W) in [0, 1] (float, or uint8/uint16 read per tile) -> float32 (N, 3, H, W) on the CPU
        (with the pipeline's damage mask when it was given one)."""
        _check_rgb(image)
        image = image.cpu()
        extra = self._mask_channel(image.shape[-2], image.shape[-1], None)
        self._photo = self._describe(image)
        try:
            return self.run_tiled(self._restore_tile, image, on_tile=on_tile, placed=True,
                                  extra=None if extra is None else extra.expand(image.shape[0], -1, -1, -1))
        finally:
            self._photo = _NO_PHOTO

    def _describe(self, image: torch.Tensor) -> PhotoContext:
        """What every tile of the photo shares (:class:`PhotoContext`), from its thumbnail."""
        if self.strength == 0.0:
            return _NO_PHOTO
        thumb = thumbnail(image).to(self.device)
        with torch.inference_mode():
            proposed = self.tone_corrector.propose(thumb)
            tone = proposed if bool((proposed[1] > 0.0).any()) else None
            corrected = thumb if tone is None else self.tone_corrector.blend(thumb, *tone)
        monochrome = image.shape[0] == 1 and max(_colour_variation(thumb),
                                                 _colour_variation(corrected)) < MONOCHROME_CHROMA
        tint = _tint(thumb) if monochrome and self.options.tone == "keep" else None
        size = (image.shape[-2], image.shape[-1])
        if not self.generator.uses_context:
            return PhotoContext(tone, None, None, monochrome, tint, size)
        with self.inference():
            context, mirrored = self.generator.describe(corrected), self.generator.describe(corrected.flip(-1))
        return PhotoContext(tone, context, mirrored, monochrome, tint, size)

    def detect_damage(self, image: torch.Tensor, on_tile: Callable[[int, int], None] | None = None) -> torch.Tensor:
        """Probability of damage (scratch, dust, crease) per pixel: (N, 3, H, W) -> (N, 1, H, W) in [0, 1]."""
        _check_rgb(image)
        self._load_mask_net()
        return self.run_tiled(self._detect, image.cpu(), on_tile=on_tile, scale=1)

    def _detect(self, tile: torch.Tensor) -> torch.Tensor:
        return self._mask(self.to_model_input(tile))

    def damage_mask(self, image: Image, mask: Image | None = None, on_tile: TileProgressFn | None = None) -> Image:
        """The damage mask restoring ``image`` uses, as 8-bit gray (255 = damage, the photo's size): ``mask`` or
        the pipeline's given one, else the detected probability (zeros with ``scratches`` off).

        A detected mask is worked out over the whole photo and rounded to 8 bits; restoring with it as the
        ``mask`` gives the same bytes whichever run saved it. (Without a mask, restoration detects the damage
        tile by tile at full precision: within about 1/255 of that.)
        """
        pixels = self._mask_pixels(mask) if mask is not None else self.given_mask
        if pixels is not None:
            self._check_mask_size(pixels, image.height, image.width)
            return Image(pixels=pixels.copy())
        if not self.scratches:
            return Image(pixels=np.zeros((image.height, image.width, 1), dtype=np.uint8))
        self._load_mask_net()
        sink = PixelSink(Image(pixels=np.zeros((1, 1, 1), dtype=np.uint8)), image.height, image.width)
        self.run_tiled_into(self._detect, image_view(image.pixels), on_tile=on_tile, sink=sink, scale=1)
        return sink.image()

    def restore_image(self, image: Image, on_tile: TileProgressFn | None = None, *, mask: Image | None = None) -> Image:
        """Restore an :class:`Image`: gray stays gray, 16 bit stays 16 bit, alpha/EXIF/ICC are carried over
        (then colorized, with the ``colorize`` option: RGB). ``mask``: the damage mask for this photo (default:
        the pipeline's, else the detected one).

        Tiles are read straight from the image's pixels and results stored as pixels (no full-size
        float buffer).
        """
        restored = self._restored(image, on_tile, mask)
        return restored if self.colorizer is None else self._colorized(restored, None)

    def _restored(self, image: Image, on_tile: TileProgressFn | None, mask: Image | None) -> Image:
        extra = self._mask_channel(image.height, image.width, mask)
        self._photo = self._describe(image_view(image.pixels))
        try:
            restored = self.run_to_image(self._restore_tile, image, on_tile=on_tile, extra=extra, placed=True)
        finally:
            self._photo = _NO_PHOTO
        self.findings, self.notes = {}, []
        if self.face_refiner is not None and self.strength > 0.0:
            faces = self.face_refiner.refine(restored.pixels, image.pixels)
            self.findings = {"faces": [face.to_dict() for face in faces]}
            self.notes = [f"faces: {len(faces)} found and restored" if faces else "faces: none found"]
        return restored

    def process(self, image: Image, on_progress: ProgressFn | None = None, *, mask: Image | None = None) -> Image:
        """:meth:`restore_image` with progress as a fraction."""
        if self.colorizer is None:
            return self._restored(image, tile_progress(on_progress), mask)
        restored = self._restored(image, tile_progress(part_progress(on_progress, 0.0, 0.9)), mask)
        return self._colorized(restored, tile_progress(part_progress(on_progress, 0.9, 1.0)))

    def _colorized(self, restored: Image, on_tile: TileProgressFn | None) -> Image:
        """The restored photo colorized (left as it is when already in colour; :attr:`notes` says so)."""
        assert self.colorizer is not None
        colorized = self.colorizer.colorize_image(restored, on_progress=on_tile)
        self.notes += [f"colorize: {note}" for note in self.colorizer.notes]
        return colorized

    # -- given masks -------------------------------------------------------------------------------
    def _mask_pixels(self, mask: Image) -> np.ndarray:
        """A given damage mask as (H, W) uint8 (a ParameterError with ``scratches`` off: they contradict)."""
        if not self.scratches:
            raise OptionError("mask", MASK_WITHOUT_SCRATCHES)
        return mask_pixels(mask)

    def _mask_channel(self, height: int, width: int, mask: Image | None) -> torch.Tensor | None:
        """The damage mask for a photo of this size as a (1, 1, H, W) uint8 channel, or None to detect it."""
        pixels = self._mask_pixels(mask) if mask is not None else self.given_mask
        if pixels is None:
            if self.options.mask:
                raise ParameterError("the mask option names a damage mask: give its image")
            return None
        self._check_mask_size(pixels, height, width)
        return torch.from_numpy(pixels)[None, None]

    @staticmethod
    def _check_mask_size(pixels: np.ndarray, height: int, width: int) -> None:
        if pixels.shape != (height, width):
            raise ParameterError(f"mask {pixels.shape[1]}x{pixels.shape[0]} does not match the photo {width}x{height}")


def mask_pixels(mask: Image) -> np.ndarray:
    """A damage mask image as contiguous (H, W) uint8, 255 = damage: the mean of its channels, times its alpha
    when it has one (transparent = no damage), rounded to 8 bits."""
    if not isinstance(mask, Image):
        raise ParameterError(f"a damage mask must be an Image, got {type(mask).__name__}")
    pixels = mask.pixels
    if pixels.dtype == np.uint8 and pixels.shape[2] == 1 and mask.alpha is None:
        return np.ascontiguousarray(pixels[:, :, 0])
    scale = float(np.iinfo(pixels.dtype).max)
    value = pixels.astype(np.float32).mean(axis=2) / scale
    if mask.alpha is not None:
        value *= mask.alpha.astype(np.float32) / scale
    return np.ascontiguousarray(from_float01(value, np.uint8))


def _luma(image: torch.Tensor) -> torch.Tensor:
    return sum(weight * image[:, i : i + 1] for i, weight in enumerate(LUMA))  # type: ignore[return-value]


def _colour_variation(thumb: torch.Tensor, bins: int = 16) -> float:
    """How much a photo's colour varies beyond what its brightness explains: the mean absolute difference
    of each pixel's chroma (RGB minus luminance) from the mean chroma of pixels as bright. Near zero for a
    black-and-white print however it is toned, faded or cast (its colour is a function of its brightness)."""
    light = _luma(thumb).flatten()
    chroma = (thumb - _luma(thumb)).flatten(2)[0]  # (3, pixels)
    index = (light * bins).long().clamp(0, bins - 1)
    count = torch.bincount(index, minlength=bins).clamp_min(1)
    means = torch.stack([torch.bincount(index, weights=channel, minlength=bins) for channel in chroma]) / count
    return float((chroma - means[:, index]).abs().mean())


def _tint(thumb: torch.Tensor) -> torch.Tensor | None:
    """The toning of a black-and-white print, from its thumbnail: each channel's ratio to the luminance in the
    mid-tones, where toning shows, relative to the same ratio in the highlights, where the paper shows (so a
    yellowed paper or a cast of the whole print is not taken for toning). None when there is none to keep, or
    no mid-tones to read it from.

    It is given back by :func:`_monochrome` in proportion to ``4 L (1 - L)``: strongest in the mid-tones, none
    in the highlights, so the paper comes out white (its yellowing is corrected) while the print keeps its tone.
    """
    light = _luma(thumb)
    midtones = ((light > 0.2) & (light < 0.7)).float()
    if float(midtones.sum()) < 16:
        return None
    ratio = _channel_ratio(thumb, light, midtones)
    highlights = (light >= torch.quantile(light.flatten(), 0.9).clamp(max=0.95)).float() * (light > 0.7).float()
    if float(highlights.sum()) >= 16:
        ratio = ratio / _channel_ratio(thumb, light, highlights)
    tint = ratio / (ratio * ratio.new_tensor(LUMA)).sum()
    return None if float((tint - 1).abs().max()) < 0.02 else tint


def _channel_ratio(thumb: torch.Tensor, light: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
    """Each channel's sum over the pixels ``where`` (a 0/1 map) divided by the luminance's: (3,)."""
    return (thumb * where).sum(dim=(0, 2, 3)) / (light * where).sum().clamp_min(1e-6)


def _monochrome(image: torch.Tensor, tint: torch.Tensor | None) -> torch.Tensor:
    """A black-and-white print's restoration as gray, toned by ``tint`` (strongest in the mid-tones) if given."""
    light = _luma(image).clamp(0.0, 1.0)
    if tint is None:
        return light.expand_as(image).clone()
    weight = 4 * light * (1 - light)
    return light * (1 + weight * (tint.to(image.device)[None, :, None, None] - 1))


def _check_rgb(image: torch.Tensor) -> None:
    if not isinstance(image, torch.Tensor) or image.ndim != 4 or image.shape[1] != 3:
        raise ParameterError(f"expected an (N, 3, H, W) image tensor, got shape {tuple(getattr(image, 'shape', ()))}")


def restore_file(
    pipeline: RestorePipeline,
    source: str | Path,
    destination: str | Path,
    *,
    compare: str | Path | None = None,
    on_tile: Callable[[int, int], None] | None = None,
) -> Image:
    """:func:`patina.pipelines.files.process_file` with ``pipeline.restore_image``."""
    from patina.pipelines.files import process_file

    return process_file(lambda image: pipeline.restore_image(image, on_tile=on_tile), source, destination,
                        compare=compare)


__all__ = ["RestoreOptions", "RestorePipeline", "mask_pixels", "restore_file"]
