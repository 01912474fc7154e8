"""nn.Module generators and discriminators only: keyword-only kwargs, no I/O, no device placement."""

from patina.networks.discriminators import PatchDiscriminator
from patina.networks.restore import DamageMaskNet, RestoreGenerator

ARCHITECTURES = {
    "RestoreGenerator": RestoreGenerator,
    "DamageMaskNet": DamageMaskNet,
    "PatchDiscriminator": PatchDiscriminator,
}

__all__ = ["ARCHITECTURES", "DamageMaskNet", "PatchDiscriminator", "RestoreGenerator"]
