"""``patina eval faces``: the face detector against the teacher, and the face stage against restoration alone.

Detector: how well it finds the teacher's faces (:mod:`patina.evaluation.face_teacher`) in held-out photos,
clean and aged by the independent chain (:mod:`patina.evaluation.aging`). A teacher face whose box is at least
:data:`MIN_FACE` pixels on its longer side is one to find; smaller and doubtful teacher faces are ignored
(finding one is neither a hit nor a false positive). Found faces are matched to the teacher's at IoU 0.5
(:func:`patina.ops.faces.match_faces`); precision and recall are totals over the photos, faceless ones
included (a face found there is a false positive).

Face stage (protocol ``faces_eval``): the held-out photos with a teacher face of at least
:data:`MIN_RESTORE_FACE` px; photo ``i`` aged by :func:`~patina.evaluation.aging.age_photo` with seed ``i``,
restored by the restore pipeline, then given the face stage at the teacher's faces (so the face model is
judged apart from the detector). Each face is scored on its aligned crop (:data:`CROP` px, by the teacher's
landmarks) against the same crop of the target (the clean photo, gray for a black-and-white print): PSNR,
SSIM and the VGG19 feature distance (relu1_1-relu3_1, lower is better), averaged over a photo's faces.
The ``clean`` rows run both on the photo as it is: how much each changes a face that needs nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from patina.data import FACE_HOLDOUT_EVERY, list_images, read_rgb, split_holdout
from patina.evaluation.aging import age_photo
from patina.evaluation.common import check_data_dirs, feature_distance, score, to_tensor
from patina.evaluation.face_teacher import DEFAULT_TEACHER, PhotoFaces, teacher_faces
from patina.evaluation.protocol import EvalProtocol, EvalSet
from patina.evaluation.report import EvaluationDataError, ImageScore
from patina.networks.face_restore import CROP
from patina.ops.face_align import align_face
from patina.ops.faces import Face, Matching, match_faces

if TYPE_CHECKING:
    from patina.pipelines.faces import FaceRefiner
    from patina.pipelines.restore import RestorePipeline

MIN_FACE = 48.0
"""Teacher faces at least this many pixels (box, longer side) count; smaller ones are ignored."""

FaceFinderFn = Callable[[torch.Tensor], list[Face]]


def reference_faces(labels: PhotoFaces, min_face: float = MIN_FACE) -> tuple[list[Face], list[Face]]:
    """The teacher faces a detector must find in a photo, and those it is not judged on."""
    faces = [face for face in labels.faces if face.size >= min_face]
    ignored = [face for face in labels.faces if face.size < min_face] + list(labels.doubtful)
    return faces, ignored


def found_faces(find: FaceFinderFn, photos: Sequence[Path], *, aged: bool) -> list[list[Face]]:
    """What ``find`` finds in each photo (aged with seed = the photo's index when ``aged``)."""
    found = []
    for index, path in enumerate(photos):
        pixels = read_rgb(path)
        if aged:
            pixels = age_photo(pixels, seed=index).aged
        found.append(find(torch.from_numpy(pixels.transpose(2, 0, 1).copy())))
    return found


def matching_of(found: Sequence[list[Face]], photos: Sequence[Path], labels: dict[Path, PhotoFaces], *,
                min_face: float = MIN_FACE) -> Matching:
    """The faces ``found`` in each photo against the teacher's, totalled."""
    total = Matching(0, 0, 0)
    for faces_found, path in zip(found, photos, strict=True):
        faces, ignored = reference_faces(labels[path], min_face)
        total = total + match_faces(faces_found, faces, ignored=ignored)
    return total


def detector_matching(find: FaceFinderFn, photos: Sequence[Path], labels: dict[Path, PhotoFaces], *,
                      aged: bool, min_face: float = MIN_FACE) -> Matching:
    """Found against teacher faces over ``photos`` (aged with seed = the photo's index when ``aged``)."""
    return matching_of(found_faces(find, photos, aged=aged), photos, labels, min_face=min_face)


def threshold_sweep(find: FaceFinderFn, photos: Sequence[Path], labels: dict[Path, PhotoFaces],
                    thresholds: Sequence[float]) -> list[dict[str, float]]:
    """Precision and recall, clean and aged, at each score threshold; ``find`` must find every face scoring at
    least the lowest one (it runs once per photo and condition; higher thresholds drop faces)."""
    found = {condition: found_faces(find, photos, aged=aged) for condition, aged in (("clean", False),
                                                                                    ("aged", True))}
    rows = []
    for threshold in thresholds:
        row = {"threshold": threshold}
        for condition, faces in found.items():
            kept = [[face for face in photo if face.score >= threshold] for photo in faces]
            matching = matching_of(kept, photos, labels)
            row[f"precision_{condition}"], row[f"recall_{condition}"] = matching.precision, matching.recall
        row["worst"] = min(value for key, value in row.items() if key != "threshold")
        rows.append(row)
    return rows


MIN_RESTORE_FACE = 64.0
"""Teacher faces at least this many pixels are scored by the face-stage protocol."""
PROTOCOL = "faces_eval"
DETECTOR_PHOTOS_PER_LIMIT = 4
METHODS = {"aged": "aged input", "restore": "restore", "faces": "restore + faces",
           "clean_restore": "clean: restore", "clean_faces": "clean: restore + faces"}


def matching_report(matching: Matching) -> dict[str, float | int]:
    """A detector's matching as JSON values."""
    return {"precision": round(matching.precision, 4), "recall": round(matching.recall, 4),
            "found": matching.true_positives, "false": matching.false_positives, "missed": matching.missed}


class FacesEval(EvalProtocol):
    """The ``faces_eval`` protocol (module docstring): one set, the held-out photos of the given folders."""

    task = "faces"
    protocol = PROTOCOL
    compare = ("faces", "restore")
    card_settings = ("detector", "strength")

    def __init__(self, restore: RestorePipeline, refiner: FaceRefiner, *, teacher: str = DEFAULT_TEACHER,
                 features: nn.Module | None = None, limit: int | None = None) -> None:
        super().__init__(limit=limit)
        self.restore, self.refiner, self.teacher, self.features = restore, refiner, teacher, features
        self.methods = dict(METHODS)
        self.labels: dict[Path, PhotoFaces] = {}
        self.detector: dict[str, Any] = {}

    @classmethod
    def load(cls, *, restore_model: str, face_model: str, detector: str, device: str, limit: int | None,
             teacher: str = DEFAULT_TEACHER, features: str | Path | None = None) -> FacesEval:
        """The protocol for the named models, as ``patina restore --faces`` runs them."""
        from patina.losses import VGGTeacher
        from patina.pipelines.faces import FaceRefiner
        from patina.pipelines.restore import RestorePipeline

        restore = RestorePipeline(model=restore_model, device=device)
        refiner, descriptors = FaceRefiner.load(face_model, detector, device=restore.device)
        feature_teacher = None
        if features is not None and Path(features).is_file():
            feature_teacher = VGGTeacher.from_file(features).to(restore.device)
        evaluation = cls(restore, refiner, teacher=teacher, features=feature_teacher, limit=limit)
        evaluation.model_settings = {"models": {d.name: {"version": d.card.version, "sha256": d.sha256}
                                                for d in descriptors}, "restore_model": restore_model,
                                     "device": str(restore.device)}
        evaluation.card_models = [face_model, detector]
        return evaluation

    def eval_sets(self, data_dirs: Sequence[str | Path]) -> list[EvalSet]:
        folders = check_data_dirs(list(data_dirs))
        _, held_out = split_holdout(list_images(folders), FACE_HOLDOUT_EVERY)
        self.labels = teacher_faces(held_out, teacher=self.teacher)
        photos = [path for path in held_out if self._faces(path)]
        if not photos:
            raise EvaluationDataError(f"no held-out photo in {', '.join(map(str, folders))} has a teacher face of "
                                      f"{MIN_RESTORE_FACE:g} px or more")
        return [EvalSet("held-out-faces", folders[0], [(path.name, path) for path in photos])]

    def _faces(self, path: Path) -> list[Face]:
        return [face for face in self.labels[path].faces if face.size >= MIN_RESTORE_FACE]

    def prepare(self) -> None:
        """The detector's precision and recall on every held-out photo (faceless ones too), clean and aged; with
        ``limit``, on the first ``DETECTOR_PHOTOS_PER_LIMIT * limit`` of them."""
        photos = sorted(self.labels)[:None if self.limit is None else DETECTOR_PHOTOS_PER_LIMIT * self.limit]
        self.detector = {condition: matching_report(detector_matching(self.refiner.finder, photos, self.labels,
                                                                      aged=aged))
                         for condition, aged in (("clean", False), ("aged", True))}

    def settings(self) -> dict[str, Any]:
        return {"min_face": MIN_RESTORE_FACE, "crop": CROP, "detector_min_face": MIN_FACE,
                "detector": self.detector, "strength": self.refiner.strength,
                "feature_distance": "vgg19 relu1_1-relu3_1" if self.features else None}

    def read(self, source: Any) -> Any:
        return source

    def seed(self, index: int) -> int:
        return index

    def score_image(self, eval_set: EvalSet, name: str, image: Any, seed: int | None) -> dict[str, ImageScore]:
        path: Path = image
        clean = read_rgb(path)
        aged = age_photo(clean, int(seed or 0))
        faces = self._faces(path)
        references = {"aged": self._references(aged.target, faces), "clean": self._references(clean, faces)}
        scores = {"aged": self._score(name, aged.aged, references["aged"], faces)}
        for prefix, given, wanted in (("", aged.aged, references["aged"]), ("clean_", clean, references["clean"])):
            start = time.perf_counter()
            restored = self.restore(to_tensor(given))[0].permute(1, 2, 0).numpy().copy()
            middle = time.perf_counter()
            refined = restored.copy()
            self.refiner.refine(refined, given, faces=faces)
            end = time.perf_counter()
            scores[f"{prefix}restore"] = self._score(name, restored, wanted, faces, middle - start)
            scores[f"{prefix}faces"] = self._score(name, refined, wanted, faces, end - middle)
        return scores

    def _references(self, target: np.ndarray, faces: list[Face]) -> list[tuple[torch.Tensor, Any]]:
        """Each face's aligned crop of ``target`` and the feature teacher's features of it (None without one)."""
        references = []
        for face in faces:
            crop = to_tensor(align_face(target, face, CROP).crop)
            with torch.inference_mode():
                features = None if self.features is None else self.features(crop.to(self.restore.device))
            references.append((crop, features))
        return references

    def _score(self, name: str, result: np.ndarray, references: list[tuple[torch.Tensor, Any]], faces: list[Face],
               seconds: float | None = None) -> ImageScore:
        """The mean over ``faces`` of their aligned crops' scores against ``references`` (``seconds``: the
        method's time)."""
        values = []
        for face, (wanted, features) in zip(faces, references, strict=True):
            got = to_tensor(align_face(np.clip(result, 0, 1), face, CROP).crop)
            row = [*score(got, wanted)]
            if self.features is not None:
                row.append(feature_distance(self.features, got.to(self.restore.device), features))
            values.append(row)
        means = np.mean(values, axis=0)
        extra = {"feature_distance": float(means[2])} if self.features is not None else {}
        return ImageScore(name, float(means[0]), float(means[1]), seconds, extra)


__all__ = ["METHODS", "MIN_FACE", "MIN_RESTORE_FACE", "PROTOCOL", "FaceFinderFn", "FacesEval", "detector_matching",
           "found_faces", "matching_of", "matching_report", "reference_faces", "threshold_sweep"]
