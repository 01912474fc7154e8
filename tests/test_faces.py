"""The face detector: box arithmetic and matching, the network and its decoding, the training samples and
targets, the teacher's labels, a short training run and the finder on its exported weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from patina.evaluation.face_teacher import PhotoFaces
from patina.networks.faces import LEVEL_SIZES, OUTPUTS, STRIDES, FaceDetector, decode_faces
from patina.ops.faces import MIRRORED_LANDMARKS, Face, box_iou, match_faces, suppress_overlaps
from patina.training.face_data import FaceCrops, cell_targets, level_of

from conftest import write_photo

SHARED = Path(__file__).resolve().parents[2] / "shared"
YUNET = SHARED / "weights/teachers/yunet/yunet_n_dynamic.onnx"


def face(x0: float, y0: float, x1: float, y1: float, score: float = 0.9) -> Face:
    """A face with landmarks placed as on a frontal face in its box."""
    w, h = x1 - x0, y1 - y0
    points = ((0.3, 0.4), (0.7, 0.4), (0.5, 0.6), (0.35, 0.8), (0.65, 0.8))
    return Face(box=(x0, y0, x1, y1), landmarks=tuple((x0 + px * w, y0 + py * h) for px, py in points), score=score)


def test_box_iou_of_known_overlaps() -> None:
    iou = box_iou(np.array([[0, 0, 10, 10], [0, 0, 10, 10]]),
                  np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]]))
    assert iou == pytest.approx(np.array([[1.0, 50 / 150, 0.0], [1.0, 50 / 150, 0.0]]))


def test_suppression_keeps_the_best_of_overlapping_faces_and_separate_ones() -> None:
    kept = suppress_overlaps([face(0, 0, 10, 10, 0.6), face(1, 0, 11, 10, 0.9), face(50, 50, 60, 60, 0.7)])
    assert [f.score for f in kept] == [0.9, 0.7]


def test_matching_counts_hits_false_alarms_misses_and_ignores_doubtful_faces() -> None:
    reference = [face(0, 0, 50, 50), face(100, 0, 160, 60)]
    found = [face(2, 2, 52, 52), face(200, 200, 250, 250), face(300, 0, 310, 10)]
    result = match_faces(found, reference, ignored=[face(299, 0, 311, 11)])
    assert (result.true_positives, result.false_positives, result.missed) == (1, 1, 1)
    assert result.precision == 0.5 and result.recall == 0.5
    duplicate = match_faces([face(0, 0, 50, 50, 0.9), face(1, 1, 51, 51, 0.8)], reference[:1])
    assert (duplicate.true_positives, duplicate.false_positives) == (1, 1)


def test_a_face_scales_and_round_trips_through_json() -> None:
    original = face(10, 20, 50, 70)
    assert Face.from_dict(json.loads(json.dumps(original.to_dict()))).box == original.box
    doubled = original.scaled(2)
    assert doubled.box == (20, 40, 100, 140) and doubled.size == 100
    assert doubled.landmarks[0] == pytest.approx((original.landmarks[0][0] * 2, original.landmarks[0][1] * 2))


def test_the_detector_gives_one_map_per_stride() -> None:
    net = FaceDetector().eval()
    with torch.no_grad():
        outputs = net(torch.rand(2, 1, 128, 192))
    assert [tuple(o.shape) for o in outputs] == [(2, OUTPUTS, 128 // s, 192 // s) for s in STRIDES]
    assert all(bool((o[:, 1:5] >= 0).all()) for o in outputs)  # box distances are positive
    assert sum(p.numel() for p in net.parameters()) < 150_000


def test_decoding_places_a_confident_cell_s_face_in_input_pixels() -> None:
    outputs = [torch.full((1, OUTPUTS, 64 // s, 64 // s), -10.0) for s in STRIDES]
    cell = outputs[1][0, :, 1, 2]  # stride 16: centre (40, 24)
    cell[0] = 5.0
    cell[1:5] = torch.tensor([1.0, 0.5, 1.0, 1.5])
    cell[5:15] = torch.tensor([-0.5, -0.2] * 5)
    faces = decode_faces(outputs)
    assert len(faces) == 1 and len(faces[0]) == 1
    found = faces[0][0]
    assert found.box == pytest.approx((24, 16, 56, 48)) and found.landmarks[0] == pytest.approx((32, 20.8))
    assert found.score > 0.99


def test_each_face_is_the_job_of_the_level_of_its_size() -> None:
    assert [level_of(size) for size in (10, 39, 40, 100, 500)] == [0, 0, 1, 2, 3]
    assert len(LEVEL_SIZES) == len(STRIDES)


def test_targets_mark_the_cells_at_a_face_s_centre_and_ignore_doubtful_ones() -> None:
    rows = torch.zeros(1, 32, 14)
    rows[0, 0, :4] = torch.tensor([100.0, 100.0, 160.0, 160.0])  # size 60: level 1, stride 16
    rows[0, 0, 4:] = torch.tensor(np.ravel(face(100, 100, 160, 160).landmarks), dtype=torch.float32)
    doubtful = torch.zeros(1, 32, 4)
    doubtful[0, 0] = torch.tensor([0.0, 0.0, 30.0, 30.0])
    batch = {"faces": rows, "doubtful": doubtful, "counts": torch.tensor([[1, 1]])}
    shapes = [(256 // s, 256 // s) for s in STRIDES]
    targets = cell_targets(batch, shapes)
    assert [int(t.positive.sum()) for t in targets][0] == 0 and int(targets[1].positive.sum()) >= 1
    positive = targets[1].centres[targets[1].positive[0]]
    assert bool(((positive - 130).abs() <= 1.5 * 16).all())
    assert torch.equal(targets[1].box[targets[1].positive][0], rows[0, 0, :4])
    corner = (targets[0].centres < 30).all(dim=1)
    assert bool((targets[0].weight[0, corner] == 0).all())  # the doubtful box is ignored, not background
    assert bool((targets[3].weight[0] == 1).all())


def test_crops_carry_their_faces_along_and_mirror_the_landmarks(tmp_path: Path) -> None:
    photo = write_photo(tmp_path / "portrait.png", size=(200, 160))
    labels = {photo: PhotoFaces(faces=(face(20, 40, 100, 120),))}  # left of centre: 12.8..64 in the crop
    crops = FaceCrops([photo], labels, crop=128, side_range=(1.0, 1.0), p_face=1.0, p_aged=0.0,
                      degradation=None, seed=3)  # type: ignore[arg-type]
    lefts = set()
    for index in range(30):
        item = crops[index]
        assert item["image"].shape == (1, 128, 128) and 0 <= float(item["image"].min()) <= 1
        assert int(item["counts"][0]) == 1
        row = item["faces"][0]
        assert float(row[2] - row[0]) == pytest.approx(80 * 128 / 200, abs=1e-3)
        lefts.add(round(float(row[0]), 1))
        assert float(row[4]) < float(row[6])  # the subject's right eye stays on the picture's left
        assert float(row[0]) <= float(row[4]) <= float(row[2])
    assert lefts == {12.8, 64.0}, "half the crops are mirrored"
    assert MIRRORED_LANDMARKS == (1, 0, 2, 4, 3)


@pytest.mark.skipif(not YUNET.is_file(), reason="../shared/weights/teachers is not on this machine")
def test_the_teacher_labels_a_face_photo_once_and_caches_it(tmp_path: Path) -> None:
    from patina.evaluation.face_teacher import teacher_faces

    photos = sorted((SHARED / "data/train/faces_web").glob("*"))[:2]
    first = teacher_faces(photos, teacher=YUNET, cache=tmp_path)
    assert any(labels.faces for labels in first.values())
    for labels in first.values():
        for found in labels.faces:
            x0, y0, x1, y1 = found.box
            assert x1 > x0 and y1 > y0 and found.score >= 0.75
            assert all(x0 - 5 <= x <= x1 + 5 and y0 - 5 <= y <= y1 + 5 for x, y in found.landmarks)
    (cache_file,) = tmp_path.glob("faces-*.json")
    stored = json.loads(cache_file.read_text())
    assert len(stored) == 2
    key = next(iter(stored))
    stored[key]["faces"] = []
    cache_file.write_text(json.dumps(stored))
    again = teacher_faces(photos, teacher=YUNET, cache=tmp_path)
    assert sum(len(labels.faces) for labels in again.values()) < sum(len(labels.faces) for labels in first.values())


@pytest.mark.skipif(not YUNET.is_file(), reason="../shared/weights/teachers is not on this machine")
def test_the_dense_teacher_s_best_cell_is_the_face_opencv_finds() -> None:
    import cv2

    from patina.data import read_rgb_uint8
    from patina.evaluation.face_teacher import TEACHER_STRIDES, DenseFaceTeacher

    photo = read_rgb_uint8(sorted((SHARED / "data/train/faces_web").glob("*"))[0])
    photo = np.ascontiguousarray(photo[:photo.shape[0] // 32 * 32, :photo.shape[1] // 32 * 32])
    opencv = cv2.FaceDetectorYN.create(str(YUNET), "", (photo.shape[1], photo.shape[0]), 0.5, 0.3, 10)
    _, rows = opencv.detect(np.ascontiguousarray(photo[..., ::-1]))
    levels = DenseFaceTeacher(YUNET).levels(photo)
    assert [level.stride for level in levels] == list(TEACHER_STRIDES)
    for level in levels:
        cells = (photo.shape[0] // level.stride) * (photo.shape[1] // level.stride)
        assert level.scores.shape == (cells,) and level.boxes.shape == (cells, 4)
        assert level.landmarks.shape == (cells, 10)
    best = max(levels, key=lambda level: level.scores.max())
    cell = int(best.scores.argmax())
    x, y, w, h = rows[0, :4]
    assert np.allclose(best.boxes[cell], [x, y, x + w, y + h], atol=0.5)
    assert np.allclose(best.landmarks[cell], rows[0, 4:14], atol=0.5)
    assert abs(float(best.scores[cell]) - float(rows[0, 14])) < 0.01
    with pytest.raises(ValueError, match="multiples of 32"):
        DenseFaceTeacher(YUNET).levels(photo[:100])


class _OneFaceTeacher:
    """A stand-in dense teacher: one sure face at the stride-16 cell (2, 3), nothing elsewhere."""

    def __init__(self, path: object = None) -> None:
        pass

    def levels(self, photo: np.ndarray) -> list:
        from patina.evaluation.face_teacher import TEACHER_STRIDES, DenseFaces

        levels = []
        for stride in TEACHER_STRIDES:
            rows, cols = photo.shape[0] // stride, photo.shape[1] // stride
            scores = np.zeros(rows * cols, np.float32)
            boxes = np.zeros((rows * cols, 4), np.float32)
            if stride == 16:
                scores[2 * cols + 3] = 0.9
                boxes[2 * cols + 3] = (40, 24, 72, 56)
            levels.append(DenseFaces(stride, scores, boxes, np.zeros((rows * cols, 10), np.float32)))
        return levels


def test_dense_targets_put_the_teacher_s_answers_on_the_detector_s_cells() -> None:
    from patina.training.face_data import dense_targets

    targets = dense_targets(_OneFaceTeacher(), np.zeros((128, 128, 3), np.uint8))  # type: ignore[arg-type]
    per_level = [(128 // stride) ** 2 for stride in STRIDES]
    assert targets.shape == (sum(per_level), OUTPUTS)
    (sure,) = torch.nonzero(targets[:, 0]).flatten().tolist()
    assert sure == per_level[0] + 2 * (128 // 16) + 3  # stride 16 comes after stride 8's cells, row by row
    assert targets[sure, 1:5].tolist() == [40, 24, 72, 56]
    assert float(targets[-per_level[-1]:].abs().sum()) == 0  # stride 64: no teacher level, no face


def test_quality_focal_loss_is_least_at_the_teacher_s_score() -> None:
    from patina.training.face_detector_trainer import quality_focal_loss

    target = torch.tensor([0.0, 0.3, 0.9])
    at_target = torch.logit(target.clamp(1e-4, 1 - 1e-4))
    assert float(quality_focal_loss(at_target, target)) < 1e-3
    for direction in (-1.0, 1.0):
        near, far = (float(quality_focal_loss(at_target + direction * shift, target)) for shift in (1.0, 2.0))
        assert 0.01 < near < far


@pytest.mark.slow
@pytest.mark.parametrize("distil", [False, True])
def test_a_short_training_run_exports_a_detector_the_finder_loads(tmp_path: Path, monkeypatch, distil: bool) -> None:
    from patina.pipelines.faces import FaceFinder
    from patina.training import face_data, face_detector_trainer
    from patina.training.config import FaceDetectorTrainConfig
    from patina.core.config import from_dict

    photos = [write_photo(tmp_path / "photos" / f"p{index}.png", seed=index, size=(120, 96)) for index in range(6)]
    labels = {path: PhotoFaces(faces=(face(30, 20, 80, 70),) if index % 2 else ()) for index, path in enumerate(photos)}
    monkeypatch.setattr(face_detector_trainer, "teacher_faces",
                        lambda files, **_: {Path(p): labels[Path(p)] for p in files})
    config = from_dict(FaceDetectorTrainConfig, {
        "out_dir": str(tmp_path / "run"), "device": "cpu", "teacher": str(tmp_path / "teacher.onnx"),
        "data": {"roots": [str(tmp_path / "photos")], "crop": 64, "batch_size": 2, "workers": 0, "holdout_every": 3},
        "optim": {"steps": 3, "warmup": 1, "amp": False}, "validate_photos": 2,
        "log_every": 1, "validate_every": 3, "checkpoint_every": 3, "image_every": 100,
        "loss": {"score": 0.0, "box": 0.0, "landmarks": 0.0, "soft_score": 1.0, "soft_box": 2.0,
                 "soft_landmarks": 1.0} if distil else {}})
    (tmp_path / "teacher.onnx").write_bytes(b"stand-in teacher")
    monkeypatch.setattr(face_data, "DenseFaceTeacher", _OneFaceTeacher)
    trainer = face_detector_trainer.FaceDetectorTrainer(config, progress=False)
    assert ("teacher" in trainer.training_set()[0]) == distil
    losses: dict[str, float] = {}
    generated = trainer.generate(next(iter(trainer.data_loader())), np.random.default_rng(0))
    trainer.loss_terms.total(generated.terms, losses)
    assert set(losses) == ({"g/soft_score", "g/soft_box", "g/soft_landmarks"} if distil
                           else {"g/score", "g/box", "g/landmarks"})
    trainer.fit()
    metrics = trainer.validate()
    assert set(metrics) == {"val/precision_clean", "val/recall_clean", "val/precision_aged", "val/recall_aged"}
    assert all(0.0 <= value <= 1.0 for value in metrics.values())
    exported = tmp_path / "run/export/face-detector.safetensors"
    card = json.loads(exported.with_suffix(".json").read_text())
    assert card["arch"] == "FaceDetector" and card["steps"] == 3
    assert card["teachers"][0]["file"] == "teacher.onnx"
    finder = FaceFinder.load(str(exported))
    found = finder(torch.rand(3, 300, 700))
    assert all(0 <= f.box[0] <= f.box[2] <= 700 and 0 <= f.box[1] <= f.box[3] <= 300 for f in found)
    with pytest.raises(ValueError, match="one"):
        finder(torch.rand(2, 3, 64, 64))


def _rotated_face(angle: float, scale: float, shift: tuple[float, float]) -> tuple[Face, np.ndarray]:
    """A face whose landmarks are the template's (in a 100 px crop) turned, scaled and moved: and that transform."""
    from patina.ops.face_align import TEMPLATE

    turn = np.deg2rad(angle)
    matrix = scale * np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    points = TEMPLATE * 100 @ matrix.T + np.array(shift)
    x0, y0 = points.min(axis=0) - 20
    x1, y1 = points.max(axis=0) + 20
    return Face(box=(x0, y0, x1, y1), landmarks=tuple(map(tuple, points)), score=1.0), points


def test_alignment_puts_the_landmarks_on_the_template() -> None:
    from patina.ops.face_align import TEMPLATE, alignment

    found, points = _rotated_face(25.0, 1.7, (140.0, 90.0))
    matrix = alignment(found, 128)
    mapped = points @ matrix[:, :2].T + matrix[:, 2]
    assert mapped == pytest.approx(TEMPLATE * 128, abs=0.05)


def test_pasting_an_unchanged_crop_or_at_strength_zero_leaves_the_photo_exactly_as_it_was() -> None:
    from patina.ops.face_align import align_face, match_tone, paste_face

    rng = np.random.default_rng(0)
    photo = cv2_blur(rng.random((240, 320, 3)).astype(np.float32))
    found, _ = _rotated_face(-15.0, 1.2, (120.0, 60.0))
    aligned = align_face(photo, found, 128)
    assert aligned.crop.shape == (128, 128, 3)
    assert np.array_equal(paste_face(photo, aligned, aligned.crop), photo)  # nothing changed: nothing pasted
    assert np.array_equal(paste_face(photo, aligned, np.zeros_like(aligned.crop), strength=0.0), photo)
    darker = paste_face(photo, aligned, aligned.crop * 0.5)
    centre = tuple(int(v) for v in np.mean(found.landmarks, axis=0))[::-1]
    assert darker[centre].mean() < photo[centre].mean() * 0.6  # the face itself is replaced
    assert np.array_equal(darker[0, -1], photo[0, -1])  # far from the face nothing changes
    shifted = match_tone(np.clip(aligned.crop + 0.2, 0, 1), aligned.crop)
    assert abs(float(shifted.mean() - aligned.crop.mean())) < 0.02


def cv2_blur(image: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(image, (0, 0), 2.0)


def test_aligned_face_pairs_are_aged_crops_of_the_faces(tmp_path: Path) -> None:
    from patina.degradations.chain import TRAIN_CONFIG
    from patina.training.face_data import AlignedFacePairs, jittered

    photo = write_photo(tmp_path / "portrait.png", size=(240, 200))
    labels = {photo: PhotoFaces(faces=(face(40, 30, 160, 150), face(200, 10, 230, 40)))}
    pairs = AlignedFacePairs([photo], labels, crop=64, min_face=96, jitter=0.05, degradation=TRAIN_CONFIG, seed=1)
    assert len(pairs.faces) == 1  # the 30 px face is too small to give a sharp crop
    first, again = pairs[4], pairs[4]
    assert first["degraded"].shape == first["target"].shape == (3, 64, 64)
    assert torch.equal(first["degraded"], again["degraded"])
    assert any(not torch.equal(pairs[i]["degraded"], pairs[i]["target"]) for i in range(8))
    moved = jittered(face(40, 30, 160, 150), np.random.default_rng(0), 0.05)
    shift = np.abs(np.subtract(moved.landmarks, face(40, 30, 160, 150).landmarks))
    assert 0 < shift.max() < 0.2 * 120
    with pytest.raises(Exception, match="no teacher faces"):
        AlignedFacePairs([photo], labels, crop=64, min_face=500, jitter=0.0, degradation=TRAIN_CONFIG, seed=1)


def test_restored_face_crops_cut_the_aged_restored_and_clean_photos_at_each_face_and_are_cached(
        tmp_path: Path) -> None:
    from patina.degradations.chain import TRAIN_CONFIG
    from patina.training.face_data import RestoredFaceCrops, restored_face_crops

    photos = [write_photo(tmp_path / f"p{index}.png", seed=index, size=(240, 200)) for index in range(2)]
    labels = {photos[0]: PhotoFaces(faces=(face(40, 30, 160, 150), face(200, 10, 230, 40))),
              photos[1]: PhotoFaces(faces=(face(20, 20, 140, 140),))}
    calls = []

    def halve(image: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(image.shape))
        return image * 0.5

    made = lambda restore: restored_face_crops(  # noqa: E731
        photos, labels, restore=restore, restore_key="halve", crop=64, min_face=96, jitter=0.02, variants=2,
        degradation=TRAIN_CONFIG, seed=5, cache=tmp_path / "cache")
    crops = made(halve)
    assert calls == [(1, 3, 200, 240)] * 4  # each photo restored whole, once per aging
    for name in ("degraded", "restored", "target"):
        assert crops[name].shape == (4, 64, 64, 3) and crops[name].dtype == np.uint8  # the 30 px face left out
    halved = crops["degraded"].astype(float) * 0.5
    assert np.abs(crops["restored"] - halved).mean() < 1.5  # the restored crop is the aged one restored
    assert np.abs(crops["degraded"].astype(float) - crops["target"]).mean() > 1.0
    again = made(lambda image: pytest.fail("restored again instead of read from the cache"))
    assert all(np.array_equal(crops[name], again[name]) for name in crops)
    dataset = RestoredFaceCrops(crops, seed=0)
    item = dataset[3]
    assert set(item) == {"degraded", "restored", "target"} and item["target"].shape == (3, 64, 64)
    assert torch.equal(dataset.item(1, mirrored=True)["target"], dataset.item(1)["target"].flip(-1))


@pytest.mark.slow
@pytest.mark.parametrize("conditioned", [False, True])
def test_a_short_face_restore_run_exports_a_restorer(tmp_path: Path, monkeypatch, conditioned: bool) -> None:
    from patina.core.config import from_dict
    from patina.core.errors import ConfigError
    from patina.training import face_restore_trainer
    from patina.training.config import FaceRestoreTrainConfig
    from patina.weights import load_model

    photos = [write_photo(tmp_path / "photos" / f"p{index}.png", seed=index, size=(160, 140)) for index in range(6)]
    labels = {path: PhotoFaces(faces=(face(20, 10, 130, 120),)) for path in photos}
    monkeypatch.setattr(face_restore_trainer, "teacher_faces",
                        lambda files, **_: {Path(p): labels[Path(p)] for p in files})
    (tmp_path / "teacher.onnx").write_bytes(b"stand-in teacher")
    settings = {
        "out_dir": str(tmp_path / "run"), "device": "cpu", "teacher": str(tmp_path / "teacher.onnx"),
        "data": {"roots": [str(tmp_path / "photos")], "crop": 64, "batch_size": 2, "workers": 0, "holdout_every": 3},
        "generator": {"widths": [8, 16, 16, 16], "blocks": [1, 1, 1, 1], "conditioned": conditioned},
        "discriminator": {"in_channels": 6, "width": 8}, "loss": {"perceptual": 0.0, "gan_start": 1, "teacher": None},
        "optim": {"steps": 3, "warmup": 1, "amp": False},
        "log_every": 1, "validate_every": 3, "checkpoint_every": 3, "image_every": 100}
    if conditioned:  # it corrects the registered restore model's output, on crops made once and cached
        with pytest.raises(ConfigError, match="conditioned"):
            face_restore_trainer.FaceRestoreTrainer(from_dict(FaceRestoreTrainConfig, settings), progress=False)
        settings |= {"condition": "restore", "variants": 1, "crops_cache": str(tmp_path / "crops")}
    else:  # the tone it would take is the restoration's
        with pytest.raises(ConfigError, match="tone_matched"):
            face_restore_trainer.FaceRestoreTrainer(
                from_dict(FaceRestoreTrainConfig, settings | {"tone_matched": True}), progress=False)
    trainer = face_restore_trainer.FaceRestoreTrainer(
        from_dict(FaceRestoreTrainConfig, settings | {"tone_matched": conditioned}), progress=False)
    trainer.fit()
    assert set(trainer.validate(limit=2)) == {"val/psnr_input", "val/psnr_restored"} | (
        {"val/psnr_restore", "val/psnr_face_stage"} if conditioned else set())
    network, card = load_model(tmp_path / "run/export/face-restore.safetensors")
    assert card.arch == "FaceRestorer" and card.steps == 3 and card.teachers[0]["file"] == "teacher.onnx"
    assert card.kwargs["conditioned"] is conditioned
    crop = torch.rand(1, 3, 64, 64)
    assert network(crop, *([crop] if conditioned else [])).shape == (1, 3, 64, 64)
    assert len(list((tmp_path / "crops").glob("face-crops-*.npz"))) == (2 if conditioned else 0)  # train, validation


def test_the_trainer_s_tone_matching_is_the_face_stage_s() -> None:
    from patina.ops.face_align import match_tone
    from patina.training.face_restore_trainer import tone_matched

    rng = np.random.default_rng(4)
    crop, reference = (cv2_blur(rng.random((128, 128, 3)).astype(np.float32)) * 0.4 + 0.3 for _ in range(2))
    as_tensor = lambda image: torch.from_numpy(image.transpose(2, 0, 1).copy())[None]  # noqa: E731
    matched = tone_matched(as_tensor(crop), as_tensor(reference))[0].permute(1, 2, 0).numpy()
    assert np.abs(matched - match_tone(crop, reference)).max() < 1e-4
    assert np.abs(matched - crop).max() > 0.01  # it did change the tone


def test_folding_the_batch_norms_keeps_the_detector_s_outputs() -> None:
    torch.manual_seed(0)
    net = FaceDetector()
    net.train()
    with torch.no_grad():
        for _ in range(3):  # give the batch norms statistics of their own
            net(torch.rand(4, 1, 128, 128))
    net.eval()
    image = torch.rand(1, 1, 128, 192)
    with torch.no_grad():
        before = net(image)
        after = net.fused()(image)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    for plain, folded in zip(before, after, strict=True):
        assert torch.allclose(plain, folded, atol=1e-4)


def test_the_threshold_sweep_trades_false_faces_for_missed_ones(tmp_path: Path, monkeypatch) -> None:
    from patina.evaluation import faces_eval

    photos = [write_photo(tmp_path / f"p{index}.png", seed=index, size=(120, 100)) for index in range(2)]
    labels = {photos[0]: PhotoFaces(faces=(face(10, 10, 70, 80),)), photos[1]: PhotoFaces(faces=())}
    found = {photos[0].name: [face(10, 10, 70, 80, score=0.6)], photos[1].name: [face(20, 20, 80, 90, score=0.3)]}
    order = iter([photos[0].name, photos[1].name] * 2)
    rows = faces_eval.threshold_sweep(lambda image: found[next(order)], photos, labels, [0.2, 0.4, 0.7])
    assert [(row["precision_clean"], row["recall_clean"]) for row in rows] == [(0.5, 1.0), (1.0, 1.0), (1.0, 0.0)]
    assert [row["worst"] for row in rows] == [0.5, 1.0, 0.0]
    assert rows[1]["precision_aged"] == 1.0 and rows[1]["recall_aged"] == 1.0
