"""nn.Module generators and discriminators only: keyword-only kwargs, no I/O, no device placement."""

from patina.networks.colorize import ColorizeGenerator
from patina.networks.discriminators import PatchDiscriminator
from patina.networks.restore import DamageMaskNet, RestoreGenerator

ARCHITECTURES = {
    "RestoreGenerator": RestoreGenerator,
    "ColorizeGenerator": ColorizeGenerator,
    "DamageMaskNet": DamageMaskNet,
    "PatchDiscriminator": PatchDiscriminator,
}

__all__ = ["ARCHITECTURES", "ColorizeGenerator", "DamageMaskNet", "PatchDiscriminator", "RestoreGenerator"]
