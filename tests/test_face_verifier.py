"""The face detector's verifier: the patches it reads, the cascade's rescoring, the mined training samples and
a short training run whose export the finder loads as a cascade."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from patina.evaluation.face_teacher import PhotoFaces
from patina.networks.faces import PATCH, FaceDetector, FaceVerifier, face_patches
from patina.ops.faces import Face
from patina.core.errors import ConfigError
from patina.training import face_patches as patch_module
from patina.training.face_patches import (MINED_CONTEXT, MINED_PATCH, FacePatchSamples, box_correction,
                                          doubt_target, jittered_box, labelled_candidates, relative_corners)

from conftest import write_photo


def face(x0: float, y0: float, x1: float, y1: float, score: float = 0.9) -> Face:
    w, h = x1 - x0, y1 - y0
    points = ((0.3, 0.4), (0.7, 0.4), (0.5, 0.6), (0.35, 0.8), (0.65, 0.8))
    return Face(box=(x0, y0, x1, y1), landmarks=tuple((x0 + px * w, y0 + py * h) for px, py in points), score=score)


def test_a_patch_is_centred_on_the_box_with_its_context_at_any_face_size() -> None:
    for scale in (1, 4):  # a 100 px face read at full size, and a 400 px one read from a pooled copy
        gray = torch.zeros(1, 1, 400 * scale, 400 * scale)
        gray[..., 100 * scale:200 * scale, 100 * scale:200 * scale] = 1.0
        (patch,) = face_patches(gray, [face(100 * scale, 100 * scale, 200 * scale, 200 * scale)])
        assert patch.shape == (1, PATCH, PATCH)
        # the box is the middle 2/3 of the patch (context 1.5)
        assert patch[0, PATCH // 2, PATCH // 2] == pytest.approx(1.0)
        assert patch[0, 2, 2] == pytest.approx(0.0) and patch[0, -3, -3] == pytest.approx(0.0)
        assert float(patch.mean()) == pytest.approx((2 / 3) ** 2, abs=0.03)
    assert face_patches(gray, []).shape == (0, 1, PATCH, PATCH)


def test_the_verifier_s_patch_is_the_middle_of_a_mined_one() -> None:
    gray = torch.rand(1, 1, 300, 300)
    candidate = [face(100, 120, 170, 180)]
    mined = face_patches(gray, candidate, size=MINED_PATCH, context=MINED_CONTEXT)
    margin = (MINED_PATCH - PATCH) // 2
    assert torch.allclose(mined[..., margin:-margin, margin:-margin], face_patches(gray, candidate), atol=1e-5)


def test_a_large_face_s_patch_does_not_alias_fine_detail() -> None:
    checks = (torch.arange(800)[:, None] + torch.arange(800)[None, :]) % 2
    (patch,) = face_patches(checks.float()[None, None], [face(200, 200, 600, 600)])
    assert float(patch.std()) < 0.05 and float(patch.mean()) == pytest.approx(0.5, abs=0.02)


def test_the_verifier_gives_a_logit_per_patch_and_with_boxes_a_box_correction() -> None:
    with torch.no_grad():
        assert FaceVerifier().eval()(torch.rand(5, 1, PATCH, PATCH)).shape == (5, 1)
        assert FaceVerifier(boxes=True).eval()(torch.rand(5, 1, PATCH, PATCH)).shape == (5, 5)
    with pytest.raises(ValueError, match="5 widths"):
        FaceVerifier((8, 8))


def test_a_verifier_of_another_patch_size_reads_patches_of_that_size() -> None:
    verifier = FaceVerifier(boxes=True, patch=64).eval()
    with torch.no_grad():
        assert verifier(torch.rand(3, 1, 64, 64)).shape == (3, 5)
        with pytest.raises(RuntimeError):  # its head is sized for 4x4 cells, not the 3x3 of a 48 px patch
            verifier(torch.rand(3, 1, PATCH, PATCH))
        cascade = FaceDetector(verifier=(8, 8, 8, 8, 8), verifier_patch=64, verify_threshold=0.0).eval()
        candidates = [face(10, 10, 60, 60, 0.4), face(70, 70, 120, 120, 0.6)]
        assert len(cascade.verified(torch.rand(1, 1, 128, 128), candidates)) == 2  # cut at 64 px, or it fails


def _cascade(bias: float, box: tuple[float, ...] | None = None) -> FaceDetector:
    """A cascade whose verifier answers ``bias`` (and the box correction ``box``) whatever it sees."""
    detector = FaceDetector(verifier=(8, 8, 8, 8, 8), verify_threshold=0.5, verifier_boxes=box is not None).eval()
    assert detector.verifier is not None
    last = detector.verifier.head[-1]
    torch.nn.init.zeros_(last.weight)
    with torch.no_grad():
        last.bias.copy_(torch.tensor([bias, *(box or ())]))
    return detector


def test_a_cascade_keeps_the_candidates_its_verifier_accepts_scored_by_it() -> None:
    gray, candidates = torch.rand(1, 1, 128, 128), [face(10, 10, 60, 60, 0.4), face(70, 70, 120, 120, 0.6)]
    with torch.no_grad():
        accepted = _cascade(3.0).verified(gray, candidates)
        rejected = _cascade(-3.0).verified(gray, candidates)
        lenient = _cascade(-3.0).verified(gray, candidates, threshold=0.01)
    assert [f.box for f in accepted] == [f.box for f in candidates]
    verifier = 1 / (1 + np.exp(-3.0))
    assert [f.score for f in accepted] == pytest.approx([np.sqrt(0.4 * verifier), np.sqrt(0.6 * verifier)])
    assert rejected == [] and len(lenient) == 2
    assert FaceDetector().verified(gray, candidates) == candidates  # no verifier: as proposed


def test_a_cascade_that_corrects_boxes_moves_them_and_merges_the_ones_that_meet() -> None:
    gray = torch.rand(1, 1, 200, 200)
    candidates = [face(10, 10, 60, 60, 0.6), face(100, 100, 140, 150, 0.5)]
    with torch.no_grad():
        moved = _cascade(3.0, (0.1, -0.1, 0.2, 0.0)).verified(gray, candidates)
    # each corner moves by the correction times the candidate's longer side (50 px both)
    assert sorted(f.box for f in moved) == [pytest.approx((15, 5, 70, 60)), pytest.approx((105, 95, 150, 150))]
    twins = [face(10, 10, 60, 60, 0.6), face(14, 10, 64, 60, 0.5)]
    with torch.no_grad():
        assert len(_cascade(3.0, (0.0, 0.0, 0.0, 0.0)).verified(gray, twins)) == 1  # overlapping: the better kept


def test_a_mirrored_verification_answers_a_mirrored_patch_as_the_mirror_image_of_its_answer() -> None:
    torch.manual_seed(1)
    detector = FaceDetector(verifier=(8, 8, 8, 8, 8), verifier_boxes=True, verify_mirrored=True).eval()
    assert detector.verifier is not None
    patches = torch.rand(6, 1, PATCH, PATCH)
    with torch.no_grad():
        answers, of_mirrored = detector.verifier_answers(patches), detector.verifier_answers(patches.flip(-1))
        single = detector.verifier(patches)
    # the face's score is the same either way; the box's left edge correction is the right one's, negated
    assert torch.allclose(of_mirrored[:, [0, 2, 4]], answers[:, [0, 2, 4]], atol=1e-5)
    assert torch.allclose(of_mirrored[:, 1], -answers[:, 3], atol=1e-5)
    assert torch.allclose(of_mirrored[:, 3], -answers[:, 1], atol=1e-5)
    assert not torch.allclose(answers, single, atol=1e-4)  # the average of two views, not the first one alone
    detector.verify_mirrored = False
    with torch.no_grad():
        assert torch.equal(detector.verifier_answers(patches), single)


def test_many_patches_are_verified_in_parts_with_the_answers_of_one_call() -> None:
    torch.manual_seed(2)
    detector = FaceDetector(verifier=(8, 8, 8, 8, 8), verifier_boxes=True).eval()
    assert detector.verifier is not None
    patches = torch.rand(130, 1, PATCH, PATCH)  # 3 parts of at most 56
    with torch.no_grad():
        assert torch.allclose(detector.verifier_answers(patches), detector.verifier(patches), atol=1e-5)
        assert detector.verifier_answers(patches[:0]).shape == (0, 5)


def test_folding_the_batch_norms_keeps_the_verifier_s_answers() -> None:
    torch.manual_seed(0)
    detector = FaceDetector(verifier=(8, 16, 16, 24, 24))
    assert detector.verifier is not None
    with torch.no_grad():
        for _ in range(3):
            detector.verifier(torch.rand(8, 1, PATCH, PATCH))
        detector.eval()
        patches = torch.rand(4, 1, PATCH, PATCH)
        before = detector.verifier(patches)
        assert detector.fused().verifier is not None
        after = detector.verifier(patches)
    assert torch.allclose(before, after, atol=1e-4)


def test_candidates_are_faces_or_not_by_their_overlap_with_the_teacher_s_faces() -> None:
    labels = PhotoFaces(faces=(face(0, 0, 100, 100),), doubtful=(face(300, 300, 350, 350),))
    candidates = [face(0, 0, 50, 50), face(200, 200, 240, 240), face(150, 150, 175, 175), face(10, 10, 60, 60)]
    chosen, matches, targets = labelled_candidates(candidates, labels, 0.5)  # the photo shrunk to half
    # a hit; far from every face; on a doubtful face (left out); half on a face (left out)
    assert chosen == candidates[:2] and matches[1] is None and targets == [1.0, 0.0]
    assert matches[0] is not None and matches[0].box == (0, 0, 50, 50)  # the teacher's face, in the same pixels
    chosen, matches, targets = labelled_candidates(candidates[1:2], PhotoFaces(faces=()), 1.0)
    assert matches == [None] and targets == [0.0]


def test_doubtful_mining_keeps_a_candidate_on_a_doubtful_face_with_the_teacher_s_belief() -> None:
    doubtful = face(300, 300, 350, 350, score=0.6)  # halfway from the doubtful score (0.45) to the face score (0.75)
    labels = PhotoFaces(faces=(face(0, 0, 100, 100),), doubtful=(doubtful,))
    candidates = [face(0, 0, 50, 50), face(150, 150, 175, 175), face(151, 151, 176, 176), face(10, 10, 60, 60)]
    chosen, matches, targets = labelled_candidates(candidates, labels, 0.5, doubtful=True)
    # the hit; both candidates on the doubtful face; the one half on a face is still left out
    assert chosen == candidates[:3] and targets[0] == 1.0 and targets[1:] == pytest.approx([0.5, 0.5])
    assert matches[1] is not None and matches[1].box == (150, 150, 175, 175)
    assert doubt_target(0.45) == 0.0 and doubt_target(0.75) == 1.0 and doubt_target(0.2) == 0.0


@pytest.mark.parametrize("mirrored", [False, True])
def test_the_box_target_takes_a_moved_candidate_to_the_teacher_s_face(mirrored: bool) -> None:
    candidate, teacher = face(100, 100, 180, 160), face(90, 95, 170, 175)
    shift, scale = np.array([0.05, -0.1]), 1.2
    target = box_correction(np.array(relative_corners(candidate.box, candidate)),
                            np.array(relative_corners(teacher.box, candidate)), shift, scale, mirrored)
    # the candidate as the sample sees it: moved by shift (in its sizes), scaled, mirrored about its centre
    size, cx, cy = candidate.size, 140 + shift[0] * 80, 130 + shift[1] * 80
    half_w, half_h = 40 * scale, 30 * scale
    moved = np.array([cx - half_w, cy - half_h, cx + half_w, cy + half_h])
    wanted = np.array(teacher.box, float)
    if mirrored:  # mirror the teacher's box about the moved centre too
        wanted = np.array([2 * cx - wanted[2], wanted[1], 2 * cx - wanted[0], wanted[3]])
    assert moved + target * size * scale == pytest.approx(wanted, abs=1e-3)
    assert not box_correction(np.zeros(4), np.full(4, np.nan), shift, scale, mirrored).any()  # no face: zeros


def test_a_jittered_box_stays_on_its_face() -> None:
    rng = np.random.default_rng(0)
    original = face(100, 100, 200, 200)
    moved = [jittered_box(original, rng) for _ in range(50)]
    assert any(m.box != original.box for m in moved)
    assert all(abs(m.size - 100) < 40 and abs(m.box[0] - 100) < 40 for m in moved)
    assert all(m.landmarks == original.landmarks for m in moved)


def test_patch_samples_balance_faces_and_others_and_need_both() -> None:
    patches = np.zeros((10, MINED_PATCH, MINED_PATCH), np.uint8)
    patches[:2] = 255  # two face patches, eight others
    is_face = np.arange(10) < 2
    samples = FacePatchSamples(patches, is_face, p_face=0.5, seed=0)
    items = [samples[index] for index in range(200)]
    labels = [float(item["is_face"]) for item in items]
    assert 0.35 < np.mean(labels) < 0.65 and all(float(item["target"]) == float(item["is_face"]) for item in items)
    assert all(item["patch"].shape == (1, PATCH, PATCH) for item in items)
    # a face patch is bright, another dark, whatever the contrast and brightness jitter
    assert all((float(item["patch"].mean()) > 0.5) == bool(item["is_face"]) for item in items)
    with pytest.raises(ConfigError, match="faces and others"):
        FacePatchSamples(patches, np.zeros(10, bool), p_face=0.5, seed=0)


def test_doubtful_patches_are_drawn_their_share_of_the_time_with_their_soft_targets() -> None:
    patches = np.zeros((12, MINED_PATCH, MINED_PATCH), np.uint8)
    is_face, targets = np.arange(12) < 2, np.where(np.arange(12) < 2, 1.0, 0.0).astype(np.float32)
    targets[2:4] = 0.5  # two doubtful faces, eight others
    shares = {}
    for p_doubtful in (0.0, 0.3):
        samples = FacePatchSamples(patches, is_face, p_face=0.5, seed=0, targets=targets, p_doubtful=p_doubtful)
        items = [samples[index] for index in range(400)]
        assert all(float(item["is_face"]) == (float(item["target"]) == 1.0) for item in items)
        shares[p_doubtful] = np.mean([float(item["target"]) == 0.5 for item in items])
    assert 0.22 < shares[0.3] < 0.38 and shares[0.0] < 0.18  # else a fifth of the others' half
    with pytest.raises(ConfigError, match="doubtful"):
        FacePatchSamples(patches, is_face, p_face=0.5, seed=0, p_doubtful=0.1)


def test_without_jitter_a_sample_is_the_middle_of_its_mined_patch_or_its_mirror(monkeypatch) -> None:
    monkeypatch.setattr(patch_module, "BOX_JITTER", 0.0)
    mined = np.random.default_rng(0).integers(80, 176, (1, MINED_PATCH, MINED_PATCH)).astype(np.uint8)  # never clipped
    middle = mined[0, 8:-8, 8:-8].astype(np.float32) / 255
    samples = FacePatchSamples(np.concatenate([mined, mined]), np.array([True, False]), p_face=0.5, seed=1)
    for index in range(6):
        patch = samples[index]["patch"][0].numpy()
        mean = float(patch.mean())
        # contrast and brightness vary: compare the patterns, standardised
        got = (patch - mean) / patch.std()
        assert any(np.allclose(got, (m - m.mean()) / m.std(), atol=0.05) for m in (middle, middle[:, ::-1]))


def _verifier_run(tmp_path: Path, monkeypatch, proposing: FaceDetector, kwargs: dict, **overrides):
    """A face-verifier trainer on 9 small photos (a face in every other one, as the stubbed teacher says), its
    detector ``proposing`` saved with card ``kwargs`` as the ``init_from`` file."""
    from patina.core.config import from_dict
    from patina.training import face_verifier_trainer
    from patina.training.config import FaceVerifierTrainConfig
    from patina.weights import ModelCard, save_model

    photos = [write_photo(tmp_path / "photos" / f"p{index}.png", seed=index, size=(160, 128)) for index in range(9)]
    labels = {path: PhotoFaces(faces=(face(30, 20, 90, 80),) if index % 2 else ()) for index, path in enumerate(photos)}
    monkeypatch.setattr(face_verifier_trainer, "teacher_faces",
                        lambda files, **_: {Path(p): labels[Path(p)] for p in files})
    detector = tmp_path / "detector.safetensors"
    save_model(proposing, detector, ModelCard(name="face-detector", arch="FaceDetector", kwargs=kwargs,
                                              version="0.1.0", task="face-detect"))
    config = from_dict(FaceVerifierTrainConfig, {
        "out_dir": str(tmp_path / "run"), "device": "cpu", "teacher": str(tmp_path / "teacher.onnx"),
        "init_from": str(detector), "verifier": [8, 8, 16, 16, 16], "verifier_boxes": True,
        "verify_mirrored": True, "candidate_threshold": 0.4, "loss": {"verify": 1.0, "box": 1.0},
        "patch_cache": str(tmp_path / "patches"),
        "data": {"roots": [str(tmp_path / "photos")], "crop": 48, "batch_size": 8, "workers": 0, "holdout_every": 3},
        "optim": {"steps": 3, "warmup": 1, "amp": False}, "validate_photos": 2,
        "log_every": 1, "validate_every": 3, "checkpoint_every": 3, "image_every": 100, **overrides})
    (tmp_path / "teacher.onnx").write_bytes(b"stand-in teacher")
    return face_verifier_trainer.FaceVerifierTrainer(config, progress=False)


def test_a_verifier_run_from_a_cascade_with_another_verifier_keeps_its_detector_and_starts_a_fresh_verifier(
        tmp_path: Path, monkeypatch) -> None:
    torch.manual_seed(0)
    cascade = FaceDetector(verifier=(8, 8, 8, 8, 8), verifier_boxes=True)
    trainer = _verifier_run(tmp_path, monkeypatch, cascade, {"threshold": 0.3, "verifier": [8, 8, 8, 8, 8],
                                                              "verifier_boxes": True})
    loaded, source = trainer.cascade.state_dict(), cascade.state_dict()
    assert all(torch.allclose(loaded[key].float(), value.float(), atol=2e-3)  # the file holds float16
               for key, value in source.items() if not key.startswith("verifier."))
    assert loaded["verifier.head.1.weight"].shape != source["verifier.head.1.weight"].shape


def test_a_verifier_run_s_crop_is_the_side_of_the_patches_it_mines_samples_and_exports(tmp_path: Path,
                                                                                     monkeypatch) -> None:
    proposing = FaceDetector()
    with torch.no_grad():
        proposing.head[-1].bias[0] = 0.0  # about half the cells candidates
    data = {"roots": [str(tmp_path / "photos")], "crop": 64, "batch_size": 8, "workers": 0, "holdout_every": 3}
    trainer = _verifier_run(tmp_path, monkeypatch, proposing, {"threshold": 0.3}, data=data)
    samples = trainer.training_set()
    assert samples.patches.shape[1:] == (85, 85) and samples[0]["patch"].shape == (1, 64, 64)  # mined 4/3 wider
    assert trainer.cascade.verifier is not None and trainer.cascade.verifier.patch == 64
    assert trainer.cascade_kwargs()["verifier_patch"] == 64


@pytest.mark.slow
def test_a_short_verifier_run_exports_a_cascade_the_finder_loads(tmp_path: Path, monkeypatch) -> None:
    from patina.pipelines.faces import FaceFinder

    torch.manual_seed(0)
    proposing = FaceDetector()
    with torch.no_grad():
        proposing.head[-1].bias[0] = 0.0  # about half the cells candidates: faces and others to learn from
    trainer = _verifier_run(tmp_path, monkeypatch, proposing, {"threshold": 0.3})
    samples = trainer.training_set()
    assert trainer.mined["faces"] > 0 and trainer.mined["others"] > 0
    assert len(list((tmp_path / "patches").glob("face-patches-*.npz"))) == 1  # mined once, cached
    assert samples[0]["patch"].shape == (1, PATCH, PATCH) and samples[0]["box"].shape == (4,)
    losses: dict[str, float] = {}
    trainer.loss_terms.total(trainer.generate(next(iter(trainer.data_loader())), np.random.default_rng(0)).terms,
                             losses)
    assert set(losses) == {"g/verify", "g/box"}
    before = {name: value.clone() for name, value in trainer.cascade.state_dict().items()
              if not name.startswith("verifier.")}
    trainer.fit()
    after = trainer.cascade.state_dict()
    assert all(torch.equal(value, after[name]) for name, value in before.items())  # the detector stays as it was
    exported = tmp_path / "run/export/face-detector.safetensors"
    card = json.loads(exported.with_suffix(".json").read_text())
    assert card["kwargs"]["verifier"] == [8, 8, 16, 16, 16] and card["kwargs"]["threshold"] == 0.4
    assert card["kwargs"]["verifier_boxes"] is True and card["kwargs"]["verify_mirrored"] is True
    assert card["training"]["patches"] == trainer.mined
    finder = FaceFinder.load(str(exported))
    assert finder.network.verifier is not None and finder.verify_threshold == 0.5 and finder.network.verify_mirrored
    found = finder(torch.rand(3, 300, 400))
    assert all(0.5 <= f.score <= 1.0 for f in found)


def test_mining_a_photo_with_no_candidates_gives_empty_rows_of_the_right_shape(tmp_path: Path) -> None:
    from patina.training.datasets import degradation_preset
    from patina.training.face_patches import mine_face_patches
    from patina.weights import ModelCard, save_model

    photos = [write_photo(tmp_path / f"p{index}.png", seed=index, size=(160, 128)) for index in range(2)]
    labels = {photos[0]: PhotoFaces(faces=()), photos[1]: PhotoFaces(faces=(face(30, 20, 90, 80),))}
    silent = FaceDetector()
    with torch.no_grad():
        silent.head[-1].bias[0] = -30.0  # proposes nothing
    save_model(silent, tmp_path / "silent.safetensors", ModelCard(name="face-detector", arch="FaceDetector",
                                                                  kwargs={}, version="0.1.0", task="face-detect"))
    mined = mine_face_patches(photos, labels, detector=str(tmp_path / "silent.safetensors"), detector_key="silent",
                              threshold=0.5, aged_copies=1, jittered=2, degradation=degradation_preset("train"), seed=0,
                              workers=0, cache=None)
    # only the teacher's face, jittered twice in each of the two copies of the second photo
    assert mined["patches"].shape == (4, MINED_PATCH, MINED_PATCH) and mined["is_face"].all()
    assert mined["corners"].shape == mined["face_corners"].shape == (4, 4)
    assert not np.isnan(mined["face_corners"]).any()


def test_doubtful_mining_gives_the_candidates_on_a_doubtful_face_soft_targets(tmp_path: Path) -> None:
    from patina.training.datasets import degradation_preset
    from patina.training.face_patches import mine_face_patches
    from patina.weights import ModelCard, save_model

    torch.manual_seed(0)
    proposing = FaceDetector()
    with torch.no_grad():
        proposing.head[-1].bias[0] = 0.0  # about half the cells candidates
    save_model(proposing, tmp_path / "proposing.safetensors", ModelCard(name="face-detector", arch="FaceDetector",
                                                                        kwargs={}, version="0.1.0",
                                                                        task="face-detect"))
    photo = write_photo(tmp_path / "p.png", seed=0, size=(160, 128))
    labels = {photo: PhotoFaces(faces=(face(10, 10, 60, 60),), doubtful=(face(60, 60, 100, 100, score=0.6),))}
    mined = {doubtful: mine_face_patches([photo], labels, detector=str(tmp_path / "proposing.safetensors"),
                                         detector_key="proposing", threshold=0.3, aged_copies=0, jittered=1,
                                         degradation=degradation_preset("train"), seed=0, workers=0, cache=None,
                                         doubtful=doubtful)
             for doubtful in (False, True)}
    soft = mined[True]["target"] == np.float32(0.5)
    assert soft.any() and not mined[True]["is_face"][soft].any() and np.isnan(mined[True]["face_corners"][soft]).all()
    assert set(np.unique(mined[False]["target"])) <= {0.0, 1.0}
    assert len(mined[True]["target"]) == len(mined[False]["target"]) + soft.sum()  # only those are added
    assert (mined[True]["target"][~soft] == mined[True]["is_face"][~soft]).all()
