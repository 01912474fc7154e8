"""Patina: GAN restoration, upscaling, colorization and styling of old photographs, with an archive."""

__version__ = "0.1.0"


_CALLS = ("restore", "upscale", "colorize", "retro", "stylize")


def __getattr__(name: str) -> object:
    """``patina.restore(photo, **options)`` and the other one-call functions (see :mod:`patina.pipelines.calls`),
    imported on first use so that ``import patina`` stays light."""
    if name in _CALLS:
        from patina.pipelines import calls

        return getattr(calls, name)
    raise AttributeError(f"module 'patina' has no attribute {name!r}")
