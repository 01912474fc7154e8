"""Era looks: each era is a parameter set of one differentiable op chain (see :mod:`patina.looks.ops`).

    look = ERAS["1970s"]
    old = render(photo, look, strength=0.8, seed=7)            # (N, 3, H, W) in [0, 1] -> same
    base = render(photo, look, texture=False)                 # tone / colour / softness only (the GAN's input)

The chain: softness -> saturation -> toning -> colour balance -> tone curve -> halation -> vignette
-> paper -> grain -> dust and scratches. ``strength`` moves every parameter from the identity (0: the
photograph unchanged) to the era's value (1). Each era also names the group of real old photographs it is
judged against (``group``): toned monochrome, neutral monochrome or colour prints.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch

from patina.core.errors import ParameterError
from patina.looks import ops

RGB = tuple[float, float, float]
GROUPS = ("toned", "neutral", "colour")
"""Kinds of real old photographs: toned monochrome (albumen, sepia), neutral monochrome, colour prints."""


@dataclass(frozen=True)
class Look:
    """The parameters of the era chain; the defaults are the identity (the photograph unchanged)."""

    name: str = "identity"
    label: str = "no look"
    group: str = "colour"
    saturation: float = 1.0
    tint_shadows: RGB = (0.0, 0.0, 0.0)
    tint_highlights: RGB = (1.0, 1.0, 1.0)
    tint_amount: float = 0.0
    gains: RGB = (1.0, 1.0, 1.0)
    shadow_shift: RGB = (0.0, 0.0, 0.0)
    highlight_shift: RGB = (0.0, 0.0, 0.0)
    black: RGB = (0.0, 0.0, 0.0)
    white: RGB = (1.0, 1.0, 1.0)
    gamma: float = 1.0
    contrast: float = 0.0
    softness: float = 0.0
    halation: float = 0.0
    vignette: float = 0.0
    paper: float = 0.0
    grain: float = 0.0
    dust: float = 0.0
    scratches: float = 0.0
    grain_size: float = 1.0    # shape, not amount: not scaled by strength
    grain_colour: float = 0.0  # shape, not amount: not scaled by strength

    SHAPE_FIELDS = ("name", "label", "group", "grain_size", "grain_colour", "tint_shadows", "tint_highlights")

    def scaled(self, strength: float) -> Look:
        """This look at ``strength`` (0: identity, 1: the look): every amount moves linearly from the identity."""
        identity = Look()
        changes: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            if field.name in self.SHAPE_FIELDS:
                continue
            value, base = getattr(self, field.name), getattr(identity, field.name)
            if isinstance(value, tuple):
                changes[field.name] = tuple(b + strength * (v - b) for v, b in zip(value, base, strict=True))
            else:
                changes[field.name] = base + strength * (value - base)
        return dataclasses.replace(self, **changes)


ERAS: dict[str, Look] = {
    look.name: look
    for look in (
        Look("1880s", "1880s albumen print", "toned", saturation=0.0, tint_shadows=(0.24, 0.12, 0.11),
             tint_highlights=(1.0, 0.92, 0.76), tint_amount=1.0, black=(0.10, 0.07, 0.06), white=(0.93, 0.87, 0.75),
             gamma=1.05, contrast=0.1, softness=1.6, vignette=0.35, paper=0.05, grain=0.012, dust=0.5, scratches=0.3),
        Look("1920s", "1920s silver gelatin print", "neutral", saturation=0.0, black=(0.05, 0.05, 0.05),
             white=(0.90, 0.90, 0.90), contrast=0.25, softness=1.0, vignette=0.25, paper=0.02, grain=0.022,
             grain_size=1.2, dust=0.4, scratches=0.2),
        Look("1950s", "1950s Kodachrome slide", "colour", saturation=1.3, gains=(1.05, 1.0, 0.92),
             shadow_shift=(0.0, -0.01, 0.03), black=(0.02, 0.02, 0.03), white=(0.97, 0.95, 0.90), contrast=0.3,
             softness=0.6, halation=0.05, vignette=0.15, grain=0.012, grain_colour=0.3),
        Look("1970s", "1970s faded colour print", "colour", saturation=0.6, gains=(1.06, 0.98, 0.82),
             shadow_shift=(0.06, 0.0, 0.04), highlight_shift=(0.02, 0.02, -0.06), black=(0.12, 0.09, 0.09),
             white=(0.96, 0.92, 0.82), contrast=-0.15, softness=0.9, vignette=0.2, grain=0.025, grain_colour=0.4,
             dust=0.2),
        Look("1980s", "1980s instant film", "colour", saturation=0.75, shadow_shift=(-0.02, 0.04, 0.05),
             highlight_shift=(0.03, 0.02, -0.04), black=(0.10, 0.12, 0.13), white=(0.95, 0.93, 0.86), gamma=0.95,
             contrast=-0.1, softness=1.5, halation=0.15, vignette=0.3, grain=0.015, grain_colour=0.3),
        Look("1990s", "1990s disposable camera", "colour", saturation=1.1, gains=(1.0, 1.03, 0.95),
             shadow_shift=(0.0, 0.03, 0.0), highlight_shift=(0.03, 0.01, -0.02), black=(0.04, 0.05, 0.04),
             white=(0.98, 0.96, 0.92), contrast=0.25, softness=0.8, halation=0.25, vignette=0.4, grain=0.025,
             grain_size=1.3, grain_colour=0.5),
    )
}
ERA_NAMES: tuple[str, ...] = tuple(ERAS)
"""The eras in embedding order (the GAN's era index is the position here)."""


def get_era(name: str) -> Look:
    """The look of an era by name ('1970s'; '1970' and '70s' are accepted too)."""
    key = str(name).strip().lower()
    for era in ERA_NAMES:
        if key in (era, era[:-1], era[2:]):
            return ERAS[era]
    raise ParameterError(f"unknown era {name!r}; choose one of {', '.join(ERA_NAMES)}")


def check_strength(strength: object) -> float:
    """A strength in [0, 1], or a clear error."""
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0.0 <= float(strength) <= 1.0:
        raise ParameterError(f"strength must be a number from 0 to 1, got {strength!r}")
    return float(strength)


def render(image: torch.Tensor, look: Look, *, strength: float = 1.0, seed: int = 0, texture: bool = True,
           scale: float | None = None) -> torch.Tensor:
    """Give ``image`` ((N, 3, H, W) in [0, 1]) the ``look`` at ``strength``; ``texture=False`` leaves out the
    random parts (paper, grain, dust, scratches). ``scale``: see :func:`ops.pixel_scale`. Deterministic
    for a given seed; differentiable in the image."""
    p = look.scaled(check_strength(strength))
    x = ops.soften(image, p.softness, scale=scale)
    x = ops.saturate(x, p.saturation)
    x = ops.tint(x, shadows=p.tint_shadows, highlights=p.tint_highlights, amount=p.tint_amount)
    x = ops.colour_balance(x, gains=p.gains, shadow_shift=p.shadow_shift, highlight_shift=p.highlight_shift)
    x = ops.tone_curve(x, black=p.black, white=p.white, gamma=p.gamma, contrast=p.contrast)
    x = ops.halation(x, amount=p.halation, scale=scale)
    x = ops.vignette(x, amount=p.vignette)
    if texture:
        x = add_texture(x, p, seed=seed, scale=scale)
    return x.clamp(0.0, 1.0)


def add_texture(image: torch.Tensor, look: Look, *, seed: int = 0, damage: bool = True,
                scale: float | None = None) -> torch.Tensor:
    """The random part of a look (already scaled): paper, grain and, if ``damage``, dust and scratches."""
    generator = torch.Generator().manual_seed(int(seed))
    x = ops.paper(image, generator, amount=look.paper, scale=scale)
    x = ops.grain(x, generator, amount=look.grain, size=look.grain_size, colour=look.grain_colour, scale=scale)
    if damage:
        x = ops.damage(x, generator, dust=look.dust, scratches=look.scratches, scale=scale)
    return x


__all__ = ["ERAS", "ERA_NAMES", "GROUPS", "Look", "add_texture", "check_strength", "get_era", "render"]
