"""Reading and writing photographs: 8/16-bit PNG, JPEG, TIFF and WebP with alpha, EXIF and ICC kept (XMP and
IPTC copied file to file with ``read_text_metadata``).

``read_image`` decodes a file into an :class:`Image` (upright, size-limited), ``write_image`` encodes
one atomically, ``image_to_tensor`` / ``tensor_to_image`` cross over to the (1, 3, H, W) tensors the
networks use, and ``find_images`` expands command-line inputs into image files.
"""

from patina.imageio.convert import image_to_tensor, make_thumbnail, resize_alpha, tensor_to_image, to_8bit
from patina.imageio.embedded import TextMetadata, read_text_metadata, write_text_metadata
from patina.imageio.discover import IMAGE_EXTENSIONS, ImageScan, find_images, is_image_file, printable, scan_images
from patina.imageio.image import DEFAULT_MAX_PIXELS, Image
from patina.imageio.read import read_image
from patina.imageio.write import FORMATS_BY_EXTENSION, write_image

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "FORMATS_BY_EXTENSION",
    "IMAGE_EXTENSIONS",
    "Image",
    "ImageScan",
    "TextMetadata",
    "find_images",
    "image_to_tensor",
    "is_image_file",
    "make_thumbnail",
    "printable",
    "read_image",
    "read_text_metadata",
    "resize_alpha",
    "scan_images",
    "tensor_to_image",
    "to_8bit",
    "write_image",
    "write_text_metadata",
]
