"""Photos for training and evaluation: listing image folders, reading photos exactly as the product does
(through :mod:`patina.imageio`: EXIF orientation applied, 16-bit reduced, gray repeated, alpha dropped) and
the hold-out splits that keep evaluation photos out of training."""

from patina.data.listing import list_images
from patina.data.reading import read_rgb, read_rgb_tensor, read_rgb_uint8
from patina.data.splits import (FACE_CALIBRATION_EVERY, FACE_HOLDOUT_EVERY, STYLE_HOLDOUT_EVERY, artwork_key,
                                split_holdout, split_styles)

__all__ = ["FACE_CALIBRATION_EVERY", "FACE_HOLDOUT_EVERY", "STYLE_HOLDOUT_EVERY", "artwork_key", "list_images",
           "read_rgb", "read_rgb_tensor", "read_rgb_uint8", "split_holdout", "split_styles"]
