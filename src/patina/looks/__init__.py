"""Era looks as differentiable op chains (presets), and look statistics / reference matching."""

from patina.looks.match import look_statistics, match_look, photo_group
from patina.looks.presets import ERA_NAMES, ERAS, GROUPS, Look, add_texture, get_era, render

__all__ = ["ERAS", "ERA_NAMES", "GROUPS", "Look", "add_texture", "get_era", "look_statistics", "match_look",
           "photo_group", "render"]
