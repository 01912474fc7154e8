"""Patina: GAN restoration, upscaling, colorization and styling of old photographs, with an archive."""

__version__ = "0.1.0"
