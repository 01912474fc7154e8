"""The face stage of restoration (pipelines.faces.FaceRefiner, restore --faces): what it pastes where, modes and
depths kept, provenance, --save-mask's faces file, and the faces evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from patina.networks.face_restore import FaceRestorer
from patina.networks.faces import FaceDetector
from patina.ops.face_align import TEMPLATE
from patina.ops.faces import Face
from patina.pipelines.faces import FaceFinder, FaceRefiner
from patina.weights import ModelCard, save_model

SMALL_RESTORER = {"widths": [8, 8, 8, 8], "blocks": [1, 1, 1, 1]}
SMALL_DETECTOR = {"widths": [8, 8, 8, 8, 8, 8], "pyramid": 8, "depth": [1, 1, 1, 1, 1, 1]}


def identity_restorer() -> FaceRestorer:
    """A face model that gives its input back (its correction is zero)."""
    network = FaceRestorer(**{key: tuple(value) for key, value in SMALL_RESTORER.items()})
    torch.nn.init.zeros_(network.tail.weight)
    torch.nn.init.zeros_(network.tail.bias)
    return network.eval()


def frontal_face(side: float, left: float, top: float) -> Face:
    """A face whose landmarks sit where the template puts them in a ``side`` px crop at (left, top)."""
    points = TEMPLATE * side + np.array([left, top])
    return Face(box=(left + 0.2 * side, top + 0.3 * side, left + 0.8 * side, top + 0.9 * side),
                landmarks=tuple(map(tuple, points.tolist())), score=0.9)


def smooth_photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.random((height, width, 3)).astype(np.float32), (0, 0), 6.0) * 0.6 + 0.2


def refiner(strength: float = 1.0) -> FaceRefiner:
    detector = FaceDetector(**{key: tuple(v) if isinstance(v, list) else v for key, v in SMALL_DETECTOR.items()})
    return FaceRefiner(FaceFinder(detector.eval()), identity_restorer(), strength=strength)


def test_the_face_gets_the_face_model_s_detail_and_the_restoration_s_tone_and_nothing_else_changes() -> None:
    restored = smooth_photo(200, 260)
    rng = np.random.default_rng(1)
    source = np.clip(restored * 0.7 + rng.normal(0, 0.08, restored.shape).astype(np.float32), 0, 1)  # faded, grainy
    face = frontal_face(100, 80, 40)
    result = restored.copy()
    assert refiner().refine(result, source, faces=[face]) == [face]
    centre = (slice(90, 110), slice(120, 140))
    grain = lambda image: float(np.std(image - cv2.GaussianBlur(image, (0, 0), 3.0)))  # noqa: E731
    assert grain(result[centre]) > 3 * grain(restored[centre])       # the (identity) face model's detail
    assert abs(float(result[centre].mean() - restored[centre].mean())) < 0.03  # the restoration's tone
    assert np.array_equal(result[:, 200:], restored[:, 200:])         # far from the face: untouched
    assert np.array_equal(result[160:], restored[160:])


def test_strength_zero_changes_nothing_and_a_face_model_given_the_restoration_itself_gives_it_back() -> None:
    restored = smooth_photo(180, 180)
    face = frontal_face(110, 30, 20)
    untouched = restored.copy()
    refiner(strength=0.0).refine(untouched, restored * 0.5, faces=[face])
    assert np.array_equal(untouched, restored)
    again = restored.copy()
    refiner().refine(again, restored, faces=[face])
    assert np.abs(again - restored).max() < 1e-5  # only a change is pasted: what stays is not resampled


def test_a_conditioned_face_model_starts_as_the_restoration_and_reads_it_in_the_face_stage() -> None:
    network = FaceRestorer(**{key: tuple(value) for key, value in SMALL_RESTORER.items()}, conditioned=True).eval()
    crop, restored_crop = torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64)
    assert torch.equal(network(crop, restored_crop), restored_crop)  # untrained: the restoration as it is
    with pytest.raises(ValueError, match="conditioned"):
        network(crop)
    with pytest.raises(ValueError, match="conditioned"):
        identity_restorer()(crop, restored_crop)
    restored = smooth_photo(200, 260)
    rng = np.random.default_rng(1)
    source = np.clip(restored * 0.7 + rng.normal(0, 0.08, restored.shape).astype(np.float32), 0, 1)
    face = frontal_face(100, 80, 40)
    result = restored.copy()
    detector = FaceDetector(**{key: tuple(v) if isinstance(v, list) else v for key, v in SMALL_DETECTOR.items()})
    FaceRefiner(FaceFinder(detector.eval()), network).refine(result, source, faces=[face])
    assert np.abs(result - restored).max() < 1e-5  # it got the restored crop, not the grainy source's
    torch.nn.init.normal_(network.tail.weight, std=0.05)
    changed = restored.copy()
    FaceRefiner(FaceFinder(detector.eval()), network).refine(changed, source, faces=[face])
    assert np.abs(changed - restored).mean() > 0.002


def test_a_large_face_keeps_the_restoration_s_fine_detail() -> None:
    rng = np.random.default_rng(2)
    restored = np.clip(smooth_photo(700, 700) + rng.normal(0, 0.05, (700, 700, 3)).astype(np.float32), 0, 1)
    face = frontal_face(500, 100, 60)  # ~4 photo pixels per crop pixel
    result = restored.copy()
    refiner().refine(result, restored, faces=[face])
    centre = (slice(330, 370), slice(330, 370))
    assert np.abs(result[centre] - restored[centre]).mean() < 0.01


def test_gray_16_bit_stays_so_and_an_upscaled_restoration_takes_its_face_from_the_smaller_source() -> None:
    restored = (smooth_photo(240, 240)[:, :, :1] * 65535).astype(np.uint16)
    rng = np.random.default_rng(3)
    source_float = cv2.resize(restored[:, :, 0].astype(np.float32) / 65535, (120, 120), interpolation=cv2.INTER_AREA)
    source = np.clip(source_float + rng.normal(0, 0.1, source_float.shape), 0, 1)[:, :, None].astype(np.float32)
    face = frontal_face(120, 60, 50)  # in the restored (x2) photo's pixels
    result = restored.copy()
    refiner().refine(result, source, faces=[face])
    assert result.dtype == np.uint16 and result.shape == (240, 240, 1)
    centre = (slice(105, 125), slice(110, 130))
    assert np.abs(result[centre].astype(float) - restored[centre]).mean() > 500  # the source's grain, enlarged
    assert np.array_equal(result[200:], restored[200:])


def test_faces_are_found_on_a_shrunk_copy_and_returned_in_the_photo_s_pixels_small_ones_left_out(monkeypatch) -> None:
    import patina.pipelines.faces as faces_module

    seen = []

    def fake_decode(outputs, threshold):
        seen.append(tuple(outputs[0].shape[-2:]))
        return [[Face(box=(10.0, 20.0, 110.0, 140.0), landmarks=((40.0, 60.0),) * 5, score=0.8),
                 Face(box=(300.0, 300.0, 308.0, 308.0), landmarks=((304.0, 304.0),) * 5, score=0.9)]]

    monkeypatch.setattr(faces_module, "decode_faces", fake_decode)
    finder = refiner().finder
    faces = finder.find(np.zeros((1600, 2400, 1), np.uint16))
    assert seen == [(448 // 8, 640 // 8)]  # the detector read 427 x 640, padded to multiples of 64
    assert len(faces) == 1  # the other is 8 px at the detector, 30 px in the photo: under MIN_FACE
    assert faces[0].box == pytest.approx((37.5, 75.0, 412.5, 525.0), rel=0.01)


# -- the restore pipeline, the command line, the archive --------------------------------------------------------
@pytest.fixture(scope="module")
def face_models(tmp_path_factory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("face-models")
    detector = FaceDetector(**{key: tuple(v) if isinstance(v, list) else v for key, v in SMALL_DETECTOR.items()})
    save_model(detector, folder / "face-detector.safetensors",
               ModelCard(name="face-detector", arch="FaceDetector", kwargs=SMALL_DETECTOR, version="0.0.0-test"))
    restorer = identity_restorer()
    torch.nn.init.normal_(restorer.tail.weight, std=0.05)
    save_model(restorer, folder / "face-restore.safetensors",
               ModelCard(name="face-restore", arch="FaceRestorer", kwargs=SMALL_RESTORER, version="0.0.0-test"))
    return str(folder / "face-detector.safetensors"), str(folder / "face-restore.safetensors")


@pytest.fixture
def one_face(monkeypatch) -> Face:
    """The detector finds one face (the real one is untrained here): its place in a 160 x 200 photo."""
    face = frontal_face(90, 40, 20)
    monkeypatch.setattr(FaceFinder, "find", lambda self, pixels: [face])
    return face


def test_restore_with_faces_records_both_models_and_the_faces(face_models, one_face) -> None:
    from patina.imageio import Image
    from patina.pipelines.restore import RestorePipeline

    detector, restorer = face_models
    photo = Image(pixels=(smooth_photo(160, 200) * 255).astype(np.uint8))
    plain = RestorePipeline(device="cpu").process(photo)
    pipeline = RestorePipeline(faces=True, face_model=restorer, face_detector=detector, device="cpu")
    with_faces = pipeline.process(photo)
    roles = [entry["role"] for entry in pipeline.models()]
    assert roles[-2:] == ["face-detector", "face-restore"]
    assert pipeline.findings == {"faces": [one_face.to_dict()]}
    assert pipeline.notes == ["faces: 1 found and restored"]
    changed = np.argwhere(np.any(with_faces.pixels != plain.pixels, axis=2))
    assert len(changed) and changed.min(axis=0).tolist() >= [10, 30] and changed.max(axis=0).tolist() <= [130, 150]


def test_save_mask_with_faces_writes_the_faces_beside_the_output(face_models, one_face, tmp_path) -> None:
    from patina.cli.app import app
    from patina.imageio import Image, write_image

    detector, restorer = face_models
    (tmp_path / "in").mkdir()
    write_image(tmp_path / "in" / "portrait.png", Image(pixels=(smooth_photo(160, 200) * 255).astype(np.uint8)))
    result = CliRunner().invoke(app, ["restore", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--faces",
                                      "--face-model", restorer, "--face-detector", detector, "--face-strength",
                                      "0.5", "--save-mask"])
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "out" / "portrait.faces.json").read_text())
    assert saved == {"source": "portrait.png", "faces": [one_face.to_dict()]}
    assert (tmp_path / "out" / "portrait.mask.png").is_file()


def test_a_bad_face_strength_is_refused_before_anything_runs() -> None:
    from patina.core.options import OptionError
    from patina.pipelines.restore import RestoreOptions

    with pytest.raises(OptionError, match="face_strength"):
        RestoreOptions.from_mapping({"faces": True, "face_strength": 1.5})


@pytest.mark.slow
def test_the_faces_eval_scores_the_held_out_faces_and_the_detector(face_models, tmp_path, monkeypatch) -> None:
    from patina.evaluation import faces_eval
    from patina.evaluation.face_teacher import PhotoFaces
    from patina.imageio import Image, write_image

    detector, restorer = face_models
    photos = []
    for index in range(20):  # one in 10 is held out: photos 0 and 10 (list_images sorts by name)
        path = tmp_path / "photos" / f"p{index:02d}.png"
        path.parent.mkdir(exist_ok=True)
        write_image(path, Image(pixels=(smooth_photo(150, 160, seed=index) * 255).astype(np.uint8)))
        photos.append(path)
    labels = {path: PhotoFaces(faces=(frontal_face(120, 15, 5),)) for path in photos}  # a 72 px box
    monkeypatch.setattr(faces_eval, "teacher_faces", lambda files, **_: {Path(p): labels[Path(p)] for p in files})
    evaluation = faces_eval.FacesEval.load(restore_model="restore", face_model=restorer, detector=detector,
                                           device="cpu", limit=None, features=None)
    report = evaluation.run([tmp_path / "photos"], progress=False)
    (result,) = report.datasets
    assert [name for name, _ in evaluation.eval_sets([tmp_path / "photos"])[0].images] == ["p00.png", "p10.png"]
    assert set(result.methods) == set(faces_eval.METHODS)
    assert all(len(method.images) == 2 for method in result.methods.values())
    aged, restored = result.methods["aged"], result.methods["restore"]
    assert 5 < aged.psnr < 60 and 0 < restored.ssim <= 1
    assert result.methods["clean_restore"].ssim > 0.5  # the photos read as they are (in [0, 1])
    assert result.methods["faces"].images[0].seconds is not None
    assert set(report.settings["detector"]) == {"clean", "aged"}
    assert 0.0 <= report.settings["detector"]["clean"]["recall"] <= 1.0


def test_an_archive_derivative_made_with_faces_records_the_faces_and_both_face_models(
        face_models, one_face, archive, tmp_path) -> None:
    from patina.imageio import Image, write_image

    detector, restorer = face_models
    write_image(tmp_path / "portrait.png", Image(pixels=(smooth_photo(160, 200) * 255).astype(np.uint8)))
    master = archive.import_paths([tmp_path / "portrait.png"]).imported[0]
    result = archive.derive(master, "restore", {"faces": True, "face_model": restorer, "face_detector": detector,
                                                "face_strength": 0.7, "tile": 0})
    detail = result.event.detail
    assert detail["findings"] == {"faces": [one_face.to_dict()]}
    assert detail["parameters"]["face_strength"] == 0.7
    recorded = {entry["role"]: entry["sha256"] for entry in detail["models"]}
    assert recorded["face-restore"] != recorded["face-detector"] and len(recorded["face-restore"]) == 64
    assert archive.reproduce(result.item.id).identical


def test_calibrating_the_detector_writes_the_best_threshold_into_its_card(face_models, tmp_path, monkeypatch) -> None:
    import shutil

    from patina.cli.app import app
    from patina.evaluation import face_teacher
    from patina.evaluation.face_teacher import PhotoFaces
    from patina.imageio import Image, write_image
    from patina.weights import ModelCard, load_model

    detector, _ = face_models
    model = tmp_path / "face-detector.safetensors"
    shutil.copy(detector, model)
    shutil.copy(Path(detector).with_suffix(".json"), model.with_suffix(".json"))
    (tmp_path / "photos").mkdir()
    for index in range(18):
        write_image(tmp_path / "photos" / f"p{index:02d}.png",
                    Image(pixels=(smooth_photo(64, 64, seed=index) * 255).astype(np.uint8)))
    monkeypatch.setattr(face_teacher, "teacher_faces",
                        lambda files, **_: {Path(p): PhotoFaces(faces=()) for p in files})
    config = tmp_path / "config.yaml"
    config.write_text(f"data: {{roots: [{tmp_path / 'photos'}], holdout_every: 10}}\n")
    result = CliRunner().invoke(app, ["train", "calibrate-face-detector", "--config", str(config), "--model",
                                      str(model)])
    assert result.exit_code == 0, result.output
    card = ModelCard.read(model.with_suffix(".json"))
    rows = card.training["calibration"]["rows"]
    assert card.kwargs["threshold"] == max(rows, key=lambda row: row["worst"])["threshold"]
    assert card.training["calibration"]["photos"] == 2  # every 8th of the 16 training photos
    network, _ = load_model(model)
    assert network.threshold == card.kwargs["threshold"]


def test_faces_without_face_models_says_which_files_to_give() -> None:
    from patina.core.errors import ModelNotFoundError
    from patina.pipelines.restore import RestorePipeline

    with pytest.raises(ModelNotFoundError, match="No face model is registered yet"):
        RestorePipeline(faces=True, device="cpu")
