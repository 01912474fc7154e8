"""patina.evaluation: classical baseline, the restore_eval protocol, the report layer and `patina eval restore`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from patina.core.errors import PatinaError
from patina.degradations.chain import EVAL_CONFIG, degrade
from patina.evaluation import EvaluationDataError, classical_restore, detected_mask, evaluate_restore
from patina.evaluation.report import DatasetResult, EvalReport, ImageScore, card_metrics
from patina.evaluation.common import read_clean, to_tensor
from patina.imageio import read_image
from patina.ops.metrics import psnr, ssim

SIZE = 96


def _clean(seed: int, size: int = SIZE) -> np.ndarray:
    """A synthetic photograph-like image: smooth gradients plus a few sharp-edged shapes, float32 in [0, 1]."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0.15, 0.85, (6, 6, 3)).astype(np.float32)
    image = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    for _ in range(3):
        x, y, r = (int(v) for v in rng.integers(10, size - 10, 3) // (1, 1, 3))
        cv2.circle(image, (x, y), max(r, 4), tuple(float(c) for c in rng.uniform(0.1, 0.9, 3)), -1, cv2.LINE_AA)
    return np.clip(image, 0, 1).astype(np.float32)


# -- classical baseline ---------------------------------------------------------------------------------------

def test_baseline_denoises_a_noisy_image() -> None:
    clean = _clean(0, 128)
    noisy = np.clip(clean + np.random.default_rng(1).normal(0, 0.06, clean.shape), 0, 1).astype(np.float32)
    restored = classical_restore(noisy, None)
    assert restored.shape == clean.shape and restored.dtype == np.float32
    before = psnr(to_tensor(noisy), to_tensor(clean)).item()
    after = psnr(to_tensor(restored), to_tensor(clean)).item()
    assert after > before + 2.0, (before, after)
    assert ssim(to_tensor(restored), to_tensor(clean)) > ssim(to_tensor(noisy), to_tensor(clean))


def test_baseline_inpaints_a_masked_scratch() -> None:
    clean = _clean(2, 128)
    mask = np.zeros(clean.shape[:2], np.uint8)
    cv2.line(mask, (10, 20), (118, 100), 1, 2)
    scratched = clean.copy()
    scratched[mask > 0] = 1.0   # a white scratch
    under = mask > 0
    error_before = np.abs(scratched[under] - clean[under]).mean()
    with_mask = classical_restore(scratched, detected_mask(mask.astype(np.float32)), levels=0.0)
    without_mask = classical_restore(scratched, None, levels=0.0)
    error_after = np.abs(with_mask[under] - clean[under]).mean()
    assert error_after < 0.3 * error_before, (error_before, error_after)
    assert error_after < np.abs(without_mask[under] - clean[under]).mean()
    # float masks are thresholded at 0.5; an all-zero mask is the same as none
    assert np.array_equal(classical_restore(scratched, mask * 0.9), classical_restore(scratched, mask > 0))
    assert np.array_equal(classical_restore(scratched, np.zeros_like(mask)), classical_restore(scratched, None))


def test_baseline_is_deterministic_and_validates_input() -> None:
    image = _clean(3, 64)
    assert np.array_equal(classical_restore(image, None), classical_restore(image, None))
    with pytest.raises(ValueError):
        classical_restore(image[..., 0], None)
    with pytest.raises(ValueError):
        classical_restore(image, np.zeros((10, 10), bool))
    with pytest.raises(ValueError):
        classical_restore(image, None, levels=1.5)


def test_detected_mask_threshold_and_dilation() -> None:
    probability = np.zeros((9, 9), np.float32)
    probability[4, 4] = 0.7
    probability[0, 0] = 0.4   # below the threshold
    mask = detected_mask(probability)
    assert mask.dtype == np.bool_ and mask.sum() == 9 and mask[3:6, 3:6].all()
    assert detected_mask(probability, dilate=0).sum() == 1


# -- evaluate_restore -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> Path:
    """Random-init tiny restore + damage-mask models with cards, in one folder."""
    from patina.networks import DamageMaskNet, RestoreGenerator
    from patina.weights import ModelCard, save_model

    folder = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    kwargs = {"widths": [8, 16], "blocks": [1, 1], "unshuffle": 2}
    restore = RestoreGenerator(widths=(8, 16), blocks=(1, 1))
    torch.nn.init.normal_(restore.tail.weight, std=0.01)   # not the identity
    save_model(restore, folder / "restore.safetensors",
               ModelCard(name="restore", arch="RestoreGenerator", kwargs=kwargs, version="0.1.0"))
    save_model(DamageMaskNet(widths=(8, 16), blocks=(1, 1)), folder / "damage-mask.safetensors",
               ModelCard(name="damage-mask", arch="DamageMaskNet", kwargs=kwargs, version="0.1.0"))
    return folder


@pytest.fixture(scope="module")
def eval_set(tmp_path_factory) -> Path:
    """A folder 'Synth' of two clean 96 x 96 PNGs."""
    folder = tmp_path_factory.mktemp("sets") / "Synth"
    folder.mkdir()
    for i, name in enumerate(["b.png", "a.png"]):   # written out of order: evaluation sorts by name
        cv2.imwrite(str(folder / name), cv2.cvtColor((_clean(10 + i) * 255).round().astype(np.uint8),
                                                     cv2.COLOR_RGB2BGR))
    return folder


@pytest.fixture(scope="module")
def pipeline(tiny_models):
    from patina.pipelines.restore import RestorePipeline

    return RestorePipeline(model=str(tiny_models / "restore.safetensors"), device="cpu", tile=None)


@pytest.fixture(scope="module")
def report(eval_set, pipeline) -> EvalReport:
    return evaluate_restore([eval_set], pipeline=pipeline, progress=False)


def test_evaluate_restore_scores_three_methods(report: EvalReport) -> None:
    assert [d.name for d in report.datasets] == ["Synth"]
    result = report.datasets[0]
    assert result.key == "restore_eval/Synth" and result.seeds == [0, 1] and result.seeds_label == "0..1"
    assert list(result.methods) == ["degraded", "baseline", "model"]
    for scores in result.methods.values():
        assert [s.name for s in scores.images] == ["a.png", "b.png"]
        assert math.isfinite(scores.psnr) and 0 < scores.psnr < 100
        assert math.isfinite(scores.ssim) and -1 <= scores.ssim <= 1
    assert result.methods["degraded"].seconds_per_image is None
    assert result.methods["baseline"].seconds_per_image > 0 and result.methods["model"].seconds_per_image > 0


def test_degraded_row_matches_a_direct_computation(report: EvalReport, eval_set: Path) -> None:
    scores = report.datasets[0].methods["degraded"]
    for seed, name in enumerate(["a.png", "b.png"]):
        sample = degrade(read_clean(eval_set / name), EVAL_CONFIG, seed=seed)
        expected = psnr(to_tensor(sample.degraded), to_tensor(sample.target)).item()
        assert scores.images[seed].psnr == pytest.approx(expected, abs=1e-9)
        assert scores.images[seed].ssim == pytest.approx(ssim(to_tensor(sample.degraded),
                                                              to_tensor(sample.target)).item(), abs=1e-9)


def test_evaluate_restore_is_deterministic(report: EvalReport, eval_set: Path, pipeline) -> None:
    again = evaluate_restore([eval_set], pipeline=pipeline, progress=False)

    def scores(r: EvalReport):
        return {k: [(s.psnr, s.ssim) for s in m.images] for k, m in r.datasets[0].methods.items()}

    assert scores(again) == scores(report)


def test_evaluate_restore_options(eval_set: Path, pipeline) -> None:
    # limit, seed offset, baseline masks, and a run without a model
    one = evaluate_restore([eval_set], pipeline=None, limit=1, seeds_offset=5, baseline_mask="oracle", progress=False)
    result = one.datasets[0]
    assert result.seeds == [5] and list(result.methods) == ["degraded", "baseline"]
    with pytest.raises(PatinaError):
        evaluate_restore([eval_set], pipeline=None, progress=False)           # 'detected' needs the mask network
    with pytest.raises(PatinaError):
        evaluate_restore([eval_set], pipeline=pipeline, baseline_mask="magic", progress=False)


# -- the independent aging chain (validation only) -----------------------------------------------------------
def test_independent_aging_is_seeded_marks_its_damage_and_leaves_the_photo() -> None:
    from patina.evaluation.aging import age_photo

    clean = _clean(3, size=128)
    before = clean.copy()
    aged = [age_photo(clean, seed) for seed in range(12)]
    assert np.array_equal(clean, before)
    assert age_photo(clean, 5).aged.tobytes() == aged[5].aged.tobytes()
    assert len({sample.aged.tobytes() for sample in aged}) == 12
    for sample in aged:
        assert sample.aged.shape == clean.shape and sample.aged.dtype == np.float32
        assert 0 <= sample.aged.min() and sample.aged.max() <= 1 and sample.mask.shape == clean.shape[:2]
        assert np.abs(sample.aged - sample.target).mean() > 0.01  # visibly aged
        if "monochrome" in sample.steps:  # a black-and-white print: the restoration's target is gray
            assert np.allclose(sample.target[..., 0], sample.target[..., 2])
        else:
            assert np.array_equal(sample.target, clean)
        damaged = sample.mask > 0
        if damaged.sum() > 20:  # scratches and dust change the picture where the mask says
            change = np.abs(sample.aged - sample.target).mean(axis=2)
            assert change[damaged].mean() > change[~damaged].mean()
    steps = {step.split(":")[0] for sample in aged for step in sample.steps}
    assert {"monochrome", "tone", "dye fade", "yellowed paper", "stain", "grain", "jpeg"} <= steps


def test_evaluate_restore_on_the_independent_chain(eval_set: Path) -> None:
    independent = evaluate_restore([eval_set], pipeline=None, baseline_mask="oracle", chain="independent",
                                   progress=False)
    training = evaluate_restore([eval_set], pipeline=None, baseline_mask="oracle", progress=False)
    assert independent.datasets[0].protocol == "restore_eval_independent" and independent.settings["chain"] == \
        "independent"
    assert training.datasets[0].protocol == "restore_eval"
    psnrs = [score.psnr for method in independent.datasets[0].methods.values() for score in method.images]
    assert all(math.isfinite(value) for value in psnrs)
    assert psnrs != [score.psnr for method in training.datasets[0].methods.values() for score in method.images]
    with pytest.raises(PatinaError, match="chain"):
        evaluate_restore([eval_set], pipeline=None, baseline_mask="oracle", chain="sepia", progress=False)


def test_the_clean_chain_scores_how_much_a_good_photo_changes(eval_set: Path, pipeline) -> None:
    clean = evaluate_restore([eval_set], pipeline=pipeline, chain="clean", progress=False)
    result = clean.datasets[0]
    assert result.protocol == "restore_eval_clean" and list(result.methods) == ["baseline", "model"]
    model = [score.psnr for score in result.methods["model"].images]
    assert all(math.isfinite(value) and value > 10 for value in model)


def test_missing_or_empty_set_is_a_clean_error(tmp_path: Path, pipeline) -> None:
    with pytest.raises(EvaluationDataError, match="does not exist"):
        evaluate_restore([tmp_path / "nope"], pipeline=pipeline, progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(EvaluationDataError, match="no images"):
        evaluate_restore([tmp_path / "empty"], pipeline=pipeline, progress=False)
    assert issubclass(EvaluationDataError, PatinaError)


# -- report layer ---------------------------------------------------------------------------------------------

def test_report_means_deltas_and_card_entries() -> None:
    result = DatasetResult(name="Set", path="/x/Set", protocol="restore_eval", seeds=[0, 1, 2])
    result.method("baseline", "classical baseline").images += [ImageScore("a", 20.0, 0.5, 1.0),
                                                              ImageScore("b", 22.0, 0.7, 3.0)]
    result.method("model", "model").images += [ImageScore("a", 25.0, 0.8, 0.5), ImageScore("b", 27.0, 0.9, 0.5)]
    assert result.methods["baseline"].psnr == 21.0 and result.methods["baseline"].seconds_per_image == 2.0
    assert result.delta("model", "baseline") == pytest.approx({"psnr": 5.0, "ssim": 0.25})
    assert result.delta("model", "degraded") is None
    report = EvalReport(task="restore", datasets=[result], command="patina eval restore --data /x/Set")
    entry = card_metrics(report)["restore_eval/Set"]
    assert entry["model"] == {"psnr": 26.0, "ssim": 0.85, "seconds_per_image": 0.5}
    assert entry["seeds"] == "0..2" and entry["images"] == 3 and entry["command"].startswith("patina eval")
    assert json.loads(report.to_json())["datasets"][0]["methods"]["model"]["images"][1]["psnr"] == 27.0
    assert DatasetResult("S", "", "p", seeds=[0, 2]).seeds_label == "0,2"
    assert DatasetResult("S", "", "p", seeds=[5]).seeds_label == "5"


# -- CLI ------------------------------------------------------------------------------------------------------

def test_cli_prints_tables_writes_json_and_updates_only_the_card(tiny_models: Path, eval_set: Path,
                                                                 tmp_path: Path) -> None:
    from patina.cli.app import app
    from patina.weights import ModelCard, sha256_of

    weights = tiny_models / "restore.safetensors"
    card_file = weights.with_suffix(".json")
    weights_bytes = weights.read_bytes()
    card_before = json.loads(card_file.read_text())
    out_json = tmp_path / "out" / "scores.json"
    result = CliRunner().invoke(app, ["eval", "restore", "--data", str(eval_set), "--model", str(weights),
                                      "--device", "cpu",
                                      "--json", str(out_json), "--update-card", "--no-progress",
                                      "--sheet", str(tmp_path / "out" / "sheet.png")],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    # the sheet: a header, 2 rows (input, baseline, model, truth) of 224-px cells, then the bar chart
    from patina.evaluation.sheet import CELL, CHART_HEIGHT, LABEL_HEIGHT, PAPER

    sheet = read_image(tmp_path / "out" / "sheet.png").pixels
    assert sheet.shape == (LABEL_HEIGHT + 2 * (CELL + LABEL_HEIGHT) + CHART_HEIGHT + 2 * LABEL_HEIGHT, 4 * CELL, 3)
    for column in range(4):  # every cell of the first row holds a picture
        cell = sheet[2 * LABEL_HEIGHT:2 * LABEL_HEIGHT + 40, column * CELL:(column + 1) * CELL]
        assert (np.abs(cell.astype(int) - np.array(PAPER)).sum(axis=2) > 30).mean() > 0.5
    chart = sheet[-CHART_HEIGHT:]
    assert (np.abs(chart.astype(int) - np.array(PAPER)).sum(axis=2) > 30).mean() > 0.02  # bars drawn
    for text in ("Synth", "degraded input", "classical baseline", "model", "PSNR", "SSIM", "s/image", "−"):
        assert text in result.output
    scores = json.loads(out_json.read_text())
    assert scores["task"] == "restore" and scores["datasets"][0]["key"] == "restore_eval/Synth"
    assert set(scores["datasets"][0]["methods"]) == {"degraded", "baseline", "model"}
    # the card gained metrics; nothing else changed, the weights are untouched and still verify
    card_after = json.loads(card_file.read_text())
    entry = card_after["metrics"]["restore_eval/Synth"]
    assert set(entry) >= {"degraded", "baseline", "model", "seeds", "command"} and entry["seeds"] == "0..1"
    assert entry["model"]["psnr"] == pytest.approx(scores["datasets"][0]["methods"]["model"]["psnr"], abs=1e-3)
    assert entry["command"].startswith("patina eval restore --data ")
    assert {k: v for k, v in card_after.items() if k != "metrics"} == \
           {k: v for k, v in card_before.items() if k != "metrics"}
    assert weights.read_bytes() == weights_bytes and sha256_of(weights) == card_after["sha256"]
    assert ModelCard.read(card_file).metrics == card_after["metrics"]
    from patina.weights.files import load_model

    load_model(weights)   # sha256 verification passes


def test_cli_missing_data_folder_exits_2_without_traceback(tmp_path: Path, capsys, monkeypatch) -> None:
    from patina.cli.app import main

    monkeypatch.setattr("sys.argv", ["patina", "eval", "restore", "--data", str(tmp_path / "missing")])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    err = " ".join(captured.err.split())   # Rich wraps long lines
    assert err.startswith("error:") and "does not exist" in err
    assert "Traceback" not in captured.err + captured.out
