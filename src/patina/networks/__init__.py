"""nn.Module generators and discriminators only: keyword-only kwargs, no I/O, no device placement."""

from patina.networks.colorize import ColorizeGenerator
from patina.networks.face_restore import FaceRestorer
from patina.networks.faces import FaceDetector
from patina.networks.discriminators import PatchDiscriminator, ProjectionDiscriminator, UNetDiscriminator
from patina.networks.restore import DamageMaskNet, RestoreGenerator
from patina.networks.retro import RetroGenerator
from patina.networks.semantic import SemanticEncoder
from patina.networks.stylize import StyleDecoder, StyleEncoder, StyleTransferNet
from patina.networks.tone import ToneCorrector
from patina.networks.upscale import CompactUpscaler, RRDBNet, ResidualUpscaler

ARCHITECTURES = {
    "RestoreGenerator": RestoreGenerator,
    "ColorizeGenerator": ColorizeGenerator,
    "DamageMaskNet": DamageMaskNet,
    "PatchDiscriminator": PatchDiscriminator,
    "UNetDiscriminator": UNetDiscriminator,
    "CompactUpscaler": CompactUpscaler,
    "ResidualUpscaler": ResidualUpscaler,
    "RRDBNet": RRDBNet,
    "RetroGenerator": RetroGenerator,
    "ProjectionDiscriminator": ProjectionDiscriminator,
    "StyleEncoder": StyleEncoder,
    "StyleDecoder": StyleDecoder,
    "StyleTransferNet": StyleTransferNet,
    "ToneCorrector": ToneCorrector,
    "FaceDetector": FaceDetector,
    "FaceRestorer": FaceRestorer,
    "SemanticEncoder": SemanticEncoder,
}

__all__ = ["ARCHITECTURES", "ColorizeGenerator", "CompactUpscaler", "DamageMaskNet", "FaceDetector", "FaceRestorer",
           "PatchDiscriminator", "ProjectionDiscriminator", "RRDBNet", "ResidualUpscaler", "RestoreGenerator",
           "RetroGenerator", "SemanticEncoder", "StyleDecoder", "StyleEncoder", "StyleTransferNet", "ToneCorrector",
           "UNetDiscriminator"]
