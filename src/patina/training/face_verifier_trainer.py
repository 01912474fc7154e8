"""Training of the face detector's second stage, its verifier (:class:`~patina.networks.faces.FaceVerifier`),
after MTCNN's refinement net: a trained detector (``init_from``, kept as it is) proposes candidates at a low
score, and the verifier learns from the teacher's labels which of them are faces
(:mod:`patina.training.face_patches`; with ``doubtful_faces``, how much the teacher believes in its doubtful
ones), and, with ``verifier_boxes``, where the teacher's box is. Binary cross-entropy on balanced batches
(and L1 of the box correction on the faces), an EMA of the weights. The export is the whole cascade, one
``FaceDetector`` file: the detector's weights with the verifier's.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from patina.core.errors import ConfigError
from patina.data import FACE_CALIBRATION_EVERY
from patina.evaluation.face_teacher import PhotoFaces, teacher_faces
from patina.networks.faces import STRIDES, FaceDetector
from patina.pipelines.faces import FaceFinder
from patina.training.config import FaceVerifierTrainConfig
from patina.training.datasets import degradation_preset
from patina.training.face_detector_trainer import validation_metrics
from patina.training.face_patches import FacePatchSamples, mine_face_patches
from patina.training.loss_terms import LossTerm
from patina.training.trainer import Generated, Trainer, init_source, kwargs_of
from patina.weights import ModelCard, card_path, sha256_of

CASCADE_KWARGS = ("verifier", "verify_threshold", "verifier_boxes", "verify_mirrored", "verifier_patch")
"""The detector card's kwargs that belong to a verifier (an ``init_from`` cascade's are replaced)."""


class FaceVerifierTrainer(Trainer):
    """The verifier of the ``init_from`` face detector, with an EMA; the detector's own weights do not train."""

    task = "face-detect"

    def __init__(self, config: FaceVerifierTrainConfig, *, progress: bool = True) -> None:
        if not config.init_from:
            raise ConfigError("a face-verifier run needs init_from: the trained face detector whose candidates "
                              "it learns to check")
        super().__init__(config, progress=progress)
        self.labels: dict[Path, PhotoFaces] = teacher_faces(self.train_files + self.val_files,
                                                            teacher=config.teacher, cache=config.teacher_cache)
        detector_card = ModelCard.read(card_path(config.init_from))
        self.detector_kwargs = {name: value for name, value in detector_card.kwargs.items()
                                if name not in (*CASCADE_KWARGS, "threshold")}
        self.cascade = FaceDetector(**self.cascade_kwargs()).to(self.device)
        assert self.cascade.verifier is not None
        (self.ema_verifier,) = self.train_generator({"verifier": self.cascade.verifier})
        self.mined: dict[str, int] = {}

    def cascade_kwargs(self) -> dict:
        """The exported cascade's constructor kwargs (the verify threshold stays the default until calibrated)."""
        cfg = self.config
        return {**self.detector_kwargs, "threshold": cfg.candidate_threshold, "verifier": list(cfg.verifier),
                "verifier_boxes": cfg.verifier_boxes, "verify_mirrored": cfg.verify_mirrored,
                "verifier_patch": cfg.data.crop}

    def initialise_from(self, path: Path) -> None:
        """The detector's weights (and, from a cascade, its verifier's when it has the configured widths)."""
        state, own = init_source(path, "FaceDetector").state_dict(), self.cascade.state_dict()
        if any(key in own and own[key].shape != value.shape for key, value in state.items()
               if key.startswith("verifier.")):  # a verifier of other widths: this one starts afresh
            state = {key: value for key, value in state.items() if not key.startswith("verifier.")}
        mismatched = self.cascade.load_state_dict(state, strict=False)
        wrong = [key for key in (*mismatched.missing_keys, *mismatched.unexpected_keys)
                 if not key.startswith("verifier.")]
        if wrong:
            raise ConfigError(f"init_from {path}: weights do not fit the face detector ({', '.join(wrong[:5])})")

    def mining_files(self) -> list[Path]:
        """The training photos the patches come from: all but the calibration ones."""
        return [path for index, path in enumerate(self.train_files) if index % FACE_CALIBRATION_EVERY]

    def training_set(self) -> FacePatchSamples:
        cfg = self.config
        detector = str(cfg.init_from)
        mined = mine_face_patches(self.mining_files(), self.labels, detector=detector,
                                  detector_key=sha256_of(detector), threshold=cfg.candidate_threshold,
                                  aged_copies=cfg.aged_copies, jittered=cfg.jittered,
                                  degradation=degradation_preset(cfg.data.degradation, cfg.data.degradation_overrides),
                                  seed=cfg.seed, workers=cfg.data.workers, cache=cfg.patch_cache,
                                  doubtful=cfg.doubtful_faces, patch=cfg.data.crop)
        boxes = {"corners": mined["corners"], "face_corners": mined["face_corners"]} if cfg.verifier_boxes else {}
        samples = FacePatchSamples(mined["patches"], mined["is_face"], p_face=cfg.p_face, seed=cfg.seed,
                                   targets=mined["target"], p_doubtful=cfg.p_doubtful, patch=cfg.data.crop, **boxes)
        faces = len(samples.faces)
        self.mined = {"faces": faces, "others": len(samples.patches) - faces, "doubtful": len(samples.doubtful)}
        return samples

    def generate(self, batch: dict[str, torch.Tensor], rng: np.random.Generator) -> Generated:
        patches, is_face = batch["patch"].to(self.device), batch["is_face"].to(self.device)
        target = batch["target"].to(self.device)
        assert self.cascade.verifier is not None
        answers = self.cascade.verifier(patches).float()
        logits = answers[:, 0]
        accuracy = float(((logits > 0) == (target > 0.5)).float().mean())
        terms: dict[str, LossTerm] = {"verify": lambda: F.binary_cross_entropy_with_logits(logits, target)}
        if "box" in batch:
            faces = is_face > 0.5
            wanted = batch["box"].to(self.device)
            terms["box"] = lambda: (F.l1_loss(answers[faces, 1:5], wanted[faces]) if bool(faces.any())
                                    else answers[:, 1:5].sum() * 0)
        return Generated(terms=terms, images=[patches.expand(-1, 3, -1, -1)], label="train/candidate patches",
                         logged={"train/accuracy": accuracy})

    def trained_cascade(self) -> FaceDetector:
        """The cascade with the EMA verifier."""
        cascade = copy.deepcopy(self.cascade).eval()
        assert cascade.verifier is not None
        cascade.verifier.load_state_dict(self.ema_verifier.shadow.state_dict())
        return cascade

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Precision and recall (IoU 0.5) of the cascade (its score 0.5 until calibrated) against the teacher on
        held-out photos, as they are and aged by the independent chain (faces of at least 48 px)."""
        photos = self.val_files[:self.config.validate_photos]
        return validation_metrics(FaceFinder(self.trained_cascade()), photos, self.labels) if photos else {}

    def teacher_files(self) -> list[Path]:
        return [Path(self.config.teacher)]

    def export(self, folder: str | Path) -> list[ModelCard]:
        cfg = self.config
        cascade = self.trained_cascade()
        kwargs = kwargs_of(cascade, self.cascade_kwargs())
        return [self.save_network(cascade, folder, name=cfg.name, arch="FaceDetector", kwargs=kwargs,
                                  strides=list(STRIDES), train_images=len(self.train_files),
                                  val_images=len(self.val_files), detector=str(cfg.init_from),
                                  detector_sha256=sha256_of(str(cfg.init_from)), patches=self.mined)]
