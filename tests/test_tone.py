"""Restore's whole-photo tone correction: the wide tone damage it learns from, the corrector network, its
training, and what the pipeline does with it (neutral and kept toning of black-and-white prints)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from patina.degradations.chain import EVAL_CONFIG, TRAIN_CONFIG, sample_plan
from patina.degradations.tone import P_UNTOUCHED, P_VERY_STRONG, describe_plan, sample_tone_plan, tone_shift
from patina.networks.restore import thumbnail
from patina.networks.tone import GATE, ToneCorrector
from patina.pipelines.restore import RestorePipeline
from patina.weights import ModelCard, save_model
from test_restore_pipeline import make_models

ROOT = Path(__file__).resolve().parents[1]


def photo(height: int = 96, width: int = 128, seed: int = 0) -> np.ndarray:
    """A colourful test picture: gradients, a few patches and noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / np.array([height, width])[:, None, None]
    image = np.stack([x, y, 1 - (x + y) / 2], axis=-1)
    image[10:40, 20:60] = rng.uniform(0, 1, 3)
    return np.clip(image + rng.normal(0, 0.03, image.shape), 0, 1).astype(np.float32)


# -- wide tone damage -----------------------------------------------------------------------------------
def test_tone_plans_are_json_and_replay_exactly():
    for seed in range(20):
        plan = sample_tone_plan(np.random.default_rng(seed), gray=seed % 2 == 0)
        again = json.loads(json.dumps(plan))
        np.testing.assert_array_equal(tone_shift(photo(), plan), tone_shift(photo(), again))
        assert describe_plan(plan)


def test_tone_damage_is_wide_and_sometimes_none():
    rng = np.random.default_rng(0)
    plans = [sample_tone_plan(rng, gray=False) for _ in range(400)]
    untouched = [plan for plan in plans if plan["untouched"]]
    assert abs(len(untouched) / len(plans) - P_UNTOUCHED) < 0.06
    np.testing.assert_array_equal(tone_shift(photo(), untouched[0]), photo())
    hues = [plan["cast"]["hue"] for plan in plans if "cast" in plan]
    assert min(hues) < 30 and max(hues) > 330  # casts of any hue, not only warm ones
    means = [tone_shift(photo(), plan).mean(axis=(0, 1)) for plan in plans[:60] if not plan["untouched"]]
    assert np.ptp(np.array(means), axis=0).min() > 0.2  # each channel moves a lot across draws


def test_some_damage_is_very_strong_yet_stays_a_picture():
    """About P_VERY_STRONG of the damaged prints are faded almost to the paper; lifts and drops are capped so
    that some picture is always left."""
    rng = np.random.default_rng(2)
    damaged = [plan for plan in (sample_tone_plan(rng, gray=False) for _ in range(600)) if not plan["untouched"]]
    very_strong = sum(plan["strength"] > 1.0 for plan in damaged) / len(damaged)
    assert abs(very_strong - P_VERY_STRONG) < 0.07
    curves = [plan["dye"] for plan in damaged if "dye" in plan]
    lifts, drops = (np.array([dye[key] for dye in curves]) for key in ("lift", "drop"))
    assert lifts.max() > 0.5 and lifts.max() <= 0.6 and (lifts + drops).max() <= 0.85 + 1e-4
    assert min(min(dye["gamma"]) for dye in curves) < 0.5  # washed-out mid-tones
    remaining = np.array([plan["density"]["remaining"] for plan in damaged if "density" in plan])
    assert remaining.min() >= 0.06 - 1e-6 and remaining.min() < 0.15  # a dye can be almost gone, never all
    faded = tone_shift(photo(), max(damaged, key=lambda plan: plan["strength"]))
    assert np.ptp(faded.mean(axis=2)) > 0.05


def test_density_fading_is_as_often_as_curves_and_mostly_turns_prints_red():
    """Half the damaged colour prints fade in dye density; the cyan dye is most often the one that fades
    first, and a print whose cyan has faded gets redder, its dark tones most (they hold the most dye)."""
    from patina.degradations.tone import P_DENSITY

    rng = np.random.default_rng(4)
    damaged = [plan for plan in (sample_tone_plan(rng, gray=False) for _ in range(600)) if not plan["untouched"]]
    density = [plan["density"] for plan in damaged if "density" in plan]
    assert abs(len(density) / len(damaged) - P_DENSITY) < 0.07
    fastest = np.argmin([fading["remaining"] for fading in density], axis=1)
    assert np.bincount(fastest, minlength=3).argmax() == 0  # cyan (red channel)
    gray_ramp = np.repeat(np.linspace(0.05, 0.95, 64, dtype=np.float32)[None, :, None], 3, axis=2)
    faded = tone_shift(gray_ramp, {"untouched": False, "strength": 1.0,
                                   "density": {"remaining": [0.4, 1.0, 1.0], "stain": [0, 0, 0], "flare": 0.0}})
    redness = faded[0, :, 0] - faded[0, :, 1]
    assert (redness > 0).all() and redness[:8].mean() > redness[-8:].mean()
    untouched = tone_shift(gray_ramp, {"untouched": False, "strength": 1.0,
                                       "density": {"remaining": [1.0, 1.0, 1.0], "stain": [0, 0, 0], "flare": 0.0}})
    np.testing.assert_allclose(untouched, gray_ramp, atol=1e-5)  # no fading, no stain: the print as it was


def test_half_the_curve_fades_follow_the_dyes_order_and_most_turn_prints_red():
    """In an ordered curve fade the channel whose dye fades first is lifted most and lightened most; the cyan
    (red channel) is most often that dye; uneven fading and loss of saturation are drawn as often as set."""
    from patina.degradations.tone import P_DYE_ORDER, P_UNEVEN, _dye_order_curves

    rng = np.random.default_rng(7)
    fades = [_dye_order_curves(rng, float(rng.uniform(0.15, 1.6))) for _ in range(400)]
    for lift, gamma in fades:
        assert np.argmax(lift) == np.argmin(gamma) and (gamma <= 1).all() and lift.max() <= 0.6
    first = np.bincount([int(np.argmax(lift)) for lift, _ in fades], minlength=3) / len(fades)
    assert first[0] > 0.45 and first[1] > 0.15 and first[2] > 0.1
    rng = np.random.default_rng(8)
    damaged = [plan for plan in (sample_tone_plan(rng, gray=False) for _ in range(1500)) if not plan["untouched"]]
    curves = [plan for plan in damaged if "dye" in plan]
    ordered = [plan for plan in curves if np.argmax(plan["dye"]["lift"]) == np.argmin(plan["dye"]["gamma"])]
    assert len(ordered) / len(curves) > P_DYE_ORDER  # the ordered ones, and the unordered that happen to be
    assert abs(sum("saturation" in plan for plan in curves) / len(curves) - 0.5) < 0.07
    assert abs(sum("uneven" in plan for plan in damaged) / len(damaged) - P_UNEVEN) < 0.05
    ramp = np.repeat(np.linspace(0.05, 0.95, 64, dtype=np.float32)[None, :, None], 3, axis=2)
    lift, gamma = _dye_order_curves(np.random.default_rng(3), 1.0)
    faded = tone_shift(ramp, {"untouched": False, "strength": 1.0,
                              "dye": {"lift": lift.tolist(), "drop": [0.0] * 3, "gamma": gamma.tolist()}})
    assert (faded[0, :, int(np.argmax(lift))] >= faded[0, :, int(np.argmin(lift))] - 1e-6).all()


def test_black_and_white_prints_are_scored_on_brightness_only():
    """The pipeline turns a black-and-white print's restoration gray, so the corrector is not taught to drain
    colour from it: a tinted correction of a gray target costs nothing if its brightness is right; the same
    tint on a colour photo costs in pixels and in chroma."""
    from patina.training.tone_trainer import tone_losses

    target = torch.full((2, 3, 8, 8), 0.5)
    tinted = target + torch.tensor([0.1, 0.0, -0.1]).view(1, 3, 1, 1)
    pixel, chroma_error = tone_losses(tinted, target, torch.tensor([1.0, 1.0]))
    assert float(pixel) < 1e-6 and float(chroma_error) == 0.0
    pixel, chroma_error = tone_losses(tinted, target, torch.tensor([0.0, 1.0]))
    assert float(pixel) == pytest.approx(0.2 / 3 / 2) and float(chroma_error) == pytest.approx(0.2 / 3)
    darker = target - 0.1
    assert float(tone_losses(darker, target, torch.tensor([1.0, 1.0]))[0]) == pytest.approx(0.1)


def test_squared_tone_losses_weigh_large_errors_more_and_keep_gray_prints_on_brightness():
    """``loss.norm: l2``: an error of 0.2 costs four times one of 0.1 (L1: twice), so a partial correction of an
    ambiguous fade beats none; a black-and-white print is still scored on its brightness only."""
    from patina.training.tone_trainer import tone_losses

    target = torch.full((1, 3, 8, 8), 0.5)
    colour = torch.tensor([0.0])
    small, large = (float(tone_losses(target - e, target, colour, "l2")[0]) for e in (0.1, 0.2))
    assert small == pytest.approx(0.01) and large == pytest.approx(4 * small)
    assert float(tone_losses(target - 0.2, target, colour)[0]) == pytest.approx(2 * float(
        tone_losses(target - 0.1, target, colour)[0]))
    tinted = target + torch.tensor([0.1, 0.0, -0.1]).view(1, 3, 1, 1)
    pixel, chroma_error = tone_losses(tinted, target, torch.tensor([1.0]), "l2")
    assert float(pixel) < 1e-9 and float(chroma_error) == 0.0
    assert float(tone_losses(tinted, target, colour, "l2")[1]) == pytest.approx(0.02 / 3)


def test_untouched_photos_can_be_shown_close_up(tmp_path):
    """``p_close_untouched``: an untouched colour photo shown as a close view (at most half of each side), where
    one colour often fills the picture, as it does in a photo of a red door; the target is that view itself."""
    from PIL import Image as PILImage

    from patina.training.datasets import ToneThumbnails

    ramp = np.repeat(np.linspace(0, 255, 128)[None, :, None], 96, axis=0).repeat(3, axis=2).astype(np.uint8)
    PILImage.fromarray(ramp).save(tmp_path / "ramp.png")

    def spans(p_close: float) -> list[float]:
        dataset = ToneThumbnails([tmp_path / "ramp.png"], size=32, p_grayscale=0.0, p_untouched=1.0, seed=1,
                                 p_close_untouched=p_close)
        items = [dataset[index] for index in range(16)]
        assert all("gray" in item and float(item["gray"]) == 0.0 for item in items)
        return [float(np.ptp(item["target"][0].numpy())) for item in items]

    assert max(spans(1.0)) <= 0.55 and min(spans(0.0)) >= 0.45  # a close view spans at most half the ramp


def test_tone_thumbnails_show_many_views_of_each_photo(tmp_path):
    """One photo gives many different clean targets (parts of it, flips), so the corrector cannot memorise
    the corpus; damaged thumbnails are its tone-damaged, worn copies."""
    from PIL import Image as PILImage

    from patina.training.datasets import ToneThumbnails

    rng = np.random.default_rng(3)
    picture = (np.cumsum(rng.random((96, 128, 3)), axis=1) / 128 * 255).clip(0, 255).astype(np.uint8)
    PILImage.fromarray(picture).save(tmp_path / "one.png")
    dataset = ToneThumbnails([tmp_path / "one.png"], size=32, p_grayscale=0.0, p_untouched=0.0, seed=0)
    items = [dataset[index] for index in range(24)]
    targets = {item["target"].numpy().round(3).tobytes() for item in items}
    assert len(targets) > 12
    for item in items:
        assert item["degraded"].shape == item["target"].shape == (3, 32, 32)
        assert 0.0 <= float(item["degraded"].min()) and float(item["degraded"].max()) <= 1.0
    assert np.mean([float((item["degraded"] - item["target"]).abs().mean()) for item in items]) > 0.03


def test_black_and_white_prints_get_toning_not_dye_fading():
    rng = np.random.default_rng(1)
    plans = [sample_tone_plan(rng, gray=True) for _ in range(100)]
    assert not any("dye" in plan or "saturation" in plan for plan in plans)
    assert sum("tone" in plan for plan in plans) > 40


def test_training_chain_draws_tone_shifts_and_the_eval_chain_never():
    train = [sample_plan(TRAIN_CONFIG, (64, 64), seed) for seed in range(60)]
    assert 15 < sum(any(op["op"] == "tone_shift" for op in plan["ops"]) for plan in train) < 45
    for seed in range(60):
        assert all(op["op"] != "tone_shift" for op in sample_plan(EVAL_CONFIG, (64, 64), seed)["ops"])


# -- the corrector --------------------------------------------------------------------------------------
def test_a_new_corrector_is_the_identity_and_works_per_pixel():
    net = ToneCorrector(knots=8, width=16)
    image = torch.from_numpy(photo().transpose(2, 0, 1))[None]
    with torch.no_grad():
        params = net.predict(thumbnail(image))
        assert params.shape == (1, net.parameter_count)
        assert torch.allclose(net.correct(image, params), image, atol=1e-5)
        torch.nn.init.normal_(net.mlp[-1].weight, std=0.5)
        params = net.predict(thumbnail(image))
        whole = net.correct(image, params)
        assert not torch.allclose(whole, image, atol=1e-2)
        # a global correction: a tile corrected on its own equals the same tile of the whole
        assert torch.allclose(net.correct(image[..., 30:70, 40:100], params), whole[..., 30:70, 40:100])


def test_a_new_corrector_with_levels_stretches_each_channel_between_its_thumbnail_levels():
    net = ToneCorrector(knots=8, width=16, levels=True)
    clean = torch.from_numpy(photo().transpose(2, 0, 1))[None]
    lift, gain = torch.tensor([0.3, 0.1, 0.2]).view(1, 3, 1, 1), torch.tensor([0.5, 0.8, 0.6]).view(1, 3, 1, 1)
    faded = lift + gain * clean  # each channel's blacks lifted and whites lowered by its own amount
    with torch.no_grad():
        params = net.predict(thumbnail(faded))
        assert params.shape == (1, net.parameter_count)
        corrected = net.correct(faded, params)
        assert F.l1_loss(corrected, clean) < 0.4 * F.l1_loss(faded, clean)
        # the stretch is part of the parameters: a tile corrected on its own equals the same tile of the whole
        assert torch.allclose(net.correct(faded[..., 30:70, 40:100], params), corrected[..., 30:70, 40:100])
        flat = torch.full((1, 3, 16, 16), 0.4)  # a flat picture is not blown up to black or white
        out = net.correct(flat, net.predict(flat))
        assert torch.allclose(out, torch.full_like(out, 0.5), atol=1e-4)


def test_band_features_give_the_colour_of_the_shadows_and_of_the_highlights():
    """A print whose shadows are red-shifted and highlights neutral has per-channel levels a neutral photo with a
    red patch could have too; the band features tell them apart, and a corrector with them starts as the identity."""
    gray = torch.linspace(0, 1, 64).repeat(64, 1)[None, None].expand(1, 3, 64, 64).clone()
    faded = gray.clone()
    faded[:, 0] += 0.2 * (1 - gray[:, 0])  # red lifted most in the shadows, as a cyan dye's fade does
    net = ToneCorrector(knots=8, width=16, bands=4)
    with torch.no_grad():
        features = net.band_colours(faded).view(4, 4)  # rows: luma, R, G, B chroma; columns: darkest to lightest
        assert torch.all(features[0, 1:] > features[0, :-1])  # ranked by luma
        red = features[1]
        assert red[0] > 0.08 and red[-1] < 0.03 and torch.all(red[1:] < red[:-1])
        assert torch.allclose(net.band_colours(gray).view(4, 4)[1:], torch.zeros(3, 4), atol=1e-6)
        params = net.predict(faded)
        assert params.shape == (1, net.parameter_count)
        assert torch.allclose(net.correct(faded, params), faded, atol=1e-5)


def test_a_gridded_corrector_starts_as_the_whole_photo_correction_and_then_varies_over_the_photo():
    """With ``grid`` each cell of a lattice over the photo gets its own change to the photo's correction: a new
    one is the whole photo's correction; once the cells differ, the left of the photo is corrected differently
    from the right, smoothly, and a tile told where it lies is corrected as that part of the whole."""
    torch.manual_seed(0)
    flat, gridded = ToneCorrector(knots=8, width=16), ToneCorrector(knots=8, width=16, grid=3)
    torch.nn.init.normal_(flat.mlp[-1].weight, std=0.3)
    gridded.load_state_dict({**gridded.state_dict(), **flat.state_dict()})
    image = torch.from_numpy(photo(60, 90).transpose(2, 0, 1))[None]
    with torch.no_grad():
        params = gridded.predict(thumbnail(image))
        assert params.shape == (1, gridded.parameter_count) == (1, 10 * flat.parameter_count)
        whole = gridded.correct(image, params)
        assert torch.allclose(whole, flat.correct(image, flat.predict(thumbnail(image))), atol=1e-5)
        cells = params[:, flat.parameter_count:].view(1, -1, 3, 3)
        cells[:, -3:] = torch.linspace(-0.2, 0.2, 3).view(1, 1, 1, 3)  # offsets from dark (left) to light (right)
        varied = gridded.correct(image, params)
        change = (varied - whole).mean(dim=(0, 1, 2))  # per column
        assert change[0] < -0.15 and change[-1] > 0.15 and torch.all(change.diff() > -1e-5)
        assert change.diff().abs().max() < 0.02  # no steps between cells
        tile = gridded.correct(image[..., 20:50, 30:80], params, box=(20, 30, 60, 90))
        assert torch.allclose(tile, varied[..., 20:50, 30:80], atol=1e-5)
        assert not torch.allclose(gridded.correct(image[..., 20:50, 30:80], params), tile, atol=1e-2)


def test_curves_are_monotone_and_the_matrix_mixes_channels():
    net = ToneCorrector(knots=4, width=8)
    params = torch.zeros(1, net.parameter_count)
    params[0, : 3 * 5] = torch.randn(15) * 3  # any raw curve parameters
    ramp = torch.linspace(0, 1, 101).view(1, 1, 1, -1).expand(1, 3, 1, -1)
    curved = net.correct(ramp, params)
    assert (curved.diff(dim=-1) >= -1e-6).all()
    params = torch.zeros(1, net.parameter_count)
    params[0, 15:24] = torch.tensor([-0.5, 0.25, 0.25, 0.25, -0.5, 0.25, 0.25, 0.25, -0.5])  # half desaturation
    colour = torch.tensor([0.8, 0.2, 0.2]).view(1, 3, 1, 1)
    out = net.correct(colour, params).flatten()
    assert torch.allclose(out, torch.tensor([0.5, 0.35, 0.35]), atol=1e-5)


def test_the_gate_leaves_small_corrections_out_and_applies_large_ones_in_full():
    net = ToneCorrector(knots=4, width=8)
    thumbs = torch.full((3, 3, 8, 8), 0.5)
    params = torch.zeros(3, net.parameter_count)
    params[:, -3:] = torch.tensor([GATE[0] / 2, (GATE[0] + GATE[1]) / 2, 2 * GATE[1]])[:, None]  # offsets
    net.predict = lambda thumb: params  # type: ignore[method-assign]
    proposed, amount = net.propose(thumbs)
    assert torch.allclose(amount, torch.tensor([0.0, 0.5, 1.0]), atol=1e-4)
    applied = net.blend(thumbs, proposed, amount)
    assert torch.allclose(applied.mean(dim=(1, 2, 3)), 0.5 + amount * params[:, -1], atol=1e-5)


@pytest.mark.slow
def test_corrector_learns_to_undo_a_cast():
    """A few hundred steps on thumbnails of one cast: the error falls well below the input's."""
    torch.manual_seed(0)
    net = ToneCorrector(knots=8, width=16)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    clean = torch.stack([torch.from_numpy(photo(32, 32, seed).transpose(2, 0, 1)) for seed in range(8)])
    cast = clean * torch.tensor([1.0, 0.85, 0.6]).view(1, 3, 1, 1) + 0.1
    for _ in range(150):
        loss = F.l1_loss(net(cast, cast), clean)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.3 * F.l1_loss(cast, clean).item()


# -- in the pipeline ------------------------------------------------------------------------------------
def models_with_tone(folder: Path, tone: ToneCorrector) -> str:
    path = make_models(folder)
    save_model(tone, folder / "restore-tone.safetensors",
               ModelCard(name="restore-tone", arch="ToneCorrector", kwargs={"knots": 8, "width": 16},
                         version="0.0.0-test", dtype="float32"))
    return str(path)


def toned_print(height: int = 64, width: int = 96) -> torch.Tensor:
    """A sepia-toned black-and-white print with a white paper border."""
    gray = torch.from_numpy(photo(height, width).mean(axis=2))
    gray[:6] = 0.97
    weight = 4 * gray * (1 - gray)
    tint = torch.tensor([1.1, 0.97, 0.75])
    return (gray[None] * (1 + weight[None] * (tint.view(3, 1, 1) - 1))).clamp(0, 1)[None].float()


def test_sibling_tone_model_is_found_and_reported(tmp_path):
    model = models_with_tone(tmp_path, ToneCorrector(knots=8, width=16))
    pipe = RestorePipeline(model=model, device="cpu")
    assert pipe.resolved_options().tone_model == str(tmp_path / "restore-tone.safetensors")
    assert "tone" in [entry["role"] for entry in pipe.models()]


def test_toned_print_neutral_is_gray_and_keep_keeps_its_tone(tmp_path):
    model = models_with_tone(tmp_path, ToneCorrector(knots=8, width=16))  # the identity correction
    image = toned_print()
    neutral = RestorePipeline(model=model, device="cpu", tone="neutral", scratches=False)(image)
    assert torch.equal(neutral[:, 0], neutral[:, 1]) and torch.equal(neutral[:, 1], neutral[:, 2])
    kept = RestorePipeline(model=model, device="cpu", tone="keep", scratches=False)(image)
    mids = (neutral[:, 0] > 0.3) & (neutral[:, 0] < 0.6)
    warmth = (kept[:, 0] - kept[:, 2])[mids]
    assert warmth.mean() > 0.05  # still sepia: red above blue in the mid-tones
    assert torch.allclose(kept.mean(dim=1), neutral.mean(dim=1), atol=0.03)  # the same print, only toned


def test_kept_toning_leaves_the_paper_white_and_a_yellowed_or_untoned_print_gray(tmp_path):
    """Toning is read in the mid-tones relative to the paper (the highlights): a sepia print whose paper has
    yellowed keeps its sepia, not the yellowing; a print yellowed all over, or not toned, comes out gray."""
    from patina.pipelines.restore import _monochrome, _tint

    gray = torch.from_numpy(photo(64, 96).mean(axis=2))
    gray[:8] = 1.0  # the print's paper border
    sepia = 1 + 4 * gray * (1 - gray) * (torch.tensor([1.1, 0.97, 0.75]).view(3, 1, 1) - 1)
    yellowing = torch.tensor([1.0, 0.95, 0.8]).view(1, 3, 1, 1)
    gray = gray[None, None].expand(1, 3, -1, -1).contiguous()
    tint = _tint(thumbnail((gray * sepia * yellowing).clamp(0, 1)))
    assert tint is not None and tint[0] > 1 > tint[2]
    kept = _monochrome(gray, tint)  # the restoration of the toned, yellowed print, toned
    assert torch.allclose(kept[..., :8, :], torch.ones_like(kept[..., :8, :]))  # white paper, not yellow
    middle = (kept.mean(dim=1) > 0.4) & (kept.mean(dim=1) < 0.6)
    assert ((kept[:, 0] - kept[:, 2])[middle] > 0.05).all()  # warm mid-tones
    toned = gray * sepia
    warmth = (kept[:, 0] - kept[:, 2])[middle].mean() / (toned[:, 0] - toned[:, 2])[middle].mean()
    assert 0.7 < warmth < 1.3  # the sepia's own warmth, without the yellowing's on top
    assert _tint(thumbnail(gray * yellowing)) is None  # yellowed all over: nothing to keep
    model = models_with_tone(tmp_path, ToneCorrector(knots=8, width=16))
    plain = RestorePipeline(model=model, device="cpu", tone="keep", scratches=False)(gray)
    assert torch.equal(plain[:, 0], plain[:, 2])  # nothing to keep: gray


def test_a_tone_correction_that_varies_over_the_photo_is_the_same_in_tiles(tmp_path):
    """The pipeline tells each tile where it lies: tiled and untiled restorations agree with a gridded corrector."""
    torch.manual_seed(1)
    tone = ToneCorrector(knots=8, width=16, grid=3)
    torch.nn.init.normal_(tone.cells[-1].weight, std=0.3)
    torch.nn.init.normal_(tone.mlp[-1].weight, std=0.1)
    folder = tmp_path / "models"
    folder.mkdir()
    model = str(make_models(folder))
    save_model(tone, folder / "restore-tone.safetensors",
               ModelCard(name="restore-tone", arch="ToneCorrector", kwargs={"knots": 8, "width": 16, "grid": 3},
                         version="0.0.0-test", dtype="float32"))
    image = torch.from_numpy(photo(200, 232).transpose(2, 0, 1))[None]
    untiled = RestorePipeline(model=model, device="cpu", scratches=False, tile=0)
    assert untiled.tone_corrector.propose(thumbnail(image))[1].item() > 0  # a correction is applied
    tiled = RestorePipeline(model=model, device="cpu", scratches=False, tile=64, overlap=16)
    assert (tiled(image) - untiled(image)).abs().max() < 1 / 255


def test_each_photo_of_a_batch_gets_its_own_tone_gate(tmp_path):
    """A batch restores as its photos do one by one: one photo's gate (here: no correction for the dark one,
    all of it for the bright one) does not decide the other's."""
    pipe = RestorePipeline(model=models_with_tone(tmp_path, ToneCorrector(knots=8, width=16)), device="cpu",
                           scratches=False)
    net = pipe.tone_corrector

    def predict(thumb: torch.Tensor) -> torch.Tensor:  # an offset below the gate for dark photos, above for bright
        params = torch.zeros(thumb.shape[0], net.parameter_count)
        bright = thumb.mean(dim=(1, 2, 3)) > 0.5
        params[:, -3:] = torch.where(bright, 2 * GATE[1], GATE[0] / 2)[:, None]
        return params

    net.predict = predict  # type: ignore[method-assign]
    image = torch.from_numpy(photo().transpose(2, 0, 1))[None]
    dark, bright = 0.3 * image, 0.4 + 0.5 * image
    alone = torch.cat([pipe(dark), pipe(bright)])
    assert torch.allclose(pipe(torch.cat([dark, bright])), alone, atol=1e-5)


def test_a_correction_that_drains_a_colour_photo_does_not_make_it_black_and_white(tmp_path):
    """A colour photo whose tone correction takes its colour away is still restored as a colour photo (not
    gray, not re-toned); a toned print through the same correction is still made gray."""
    from patina.pipelines.restore import MONOCHROME_CHROMA, _colour_variation

    pipe = RestorePipeline(model=models_with_tone(tmp_path, ToneCorrector(knots=8, width=16)), device="cpu",
                           scratches=False, tone="neutral")
    net = pipe.tone_corrector

    def drain(thumb: torch.Tensor) -> torch.Tensor:  # a matrix that maps every pixel to its channel mean
        params = torch.zeros(thumb.shape[0], net.parameter_count)
        params[:, 3 * (net.knots + 1): 3 * (net.knots + 1) + 9] = torch.full((3, 3), 1 / 3).flatten() - torch.eye(
            3).flatten()
        return params

    net.predict = drain  # type: ignore[method-assign]
    colour = torch.from_numpy(photo().transpose(2, 0, 1))[None].float()
    assert _colour_variation(thumbnail(colour)) > MONOCHROME_CHROMA
    drained = net.correct(colour, drain(thumbnail(colour))).clamp(0, 1)
    assert _colour_variation(thumbnail(drained)) < MONOCHROME_CHROMA  # the correction alone would say gray
    restored = pipe(colour)
    assert (restored[:, 0] - restored[:, 2]).abs().max() > 0.05  # restored in colour (drained, but not gray)
    toned = pipe(toned_print())
    assert torch.equal(toned[:, 0], toned[:, 1]) and torch.equal(toned[:, 1], toned[:, 2])


def test_colour_photos_are_the_same_with_keep_and_neutral(tmp_path):
    model = models_with_tone(tmp_path, ToneCorrector(knots=8, width=16))
    image = torch.from_numpy(photo().transpose(2, 0, 1))[None]
    keep = RestorePipeline(model=model, device="cpu", tone="keep")(image)
    neutral = RestorePipeline(model=model, device="cpu", tone="neutral")(image)
    assert torch.equal(keep, neutral)


def test_bad_tone_is_refused():
    from patina.core.errors import ParameterError

    with pytest.raises(ParameterError, match="tone"):
        RestorePipeline(tone="sepia", device="cpu")


# -- the shipped model ----------------------------------------------------------------------------------
HELD_OUT = ROOT.parent / "shared/data/train"


@pytest.mark.slow
@pytest.mark.skipif(not HELD_OUT.is_dir(), reason="needs ../shared/data/train (its held-out photos)")
def test_shipped_corrector_undoes_casts_and_fades_it_never_saw():
    """Casts and fades drawn from seeds apart from training's, on held-out photos (every 40th of the training
    corpus, never trained on): the corrected thumbnails are much closer to the clean ones than the damaged
    ones were."""
    from patina.data import list_images, read_rgb_uint8, split_holdout
    from patina.weights import load

    net = load("restore-tone").network
    _, held_out = split_holdout(list_images([HELD_OUT]), 40)
    before, after = [], []
    for index, path in enumerate(held_out[:16]):
        picture = read_rgb_uint8(path).astype(np.float32) / 255
        target = thumbnail(torch.from_numpy(picture.transpose(2, 0, 1))[None])
        for draw in range(3):
            plan = sample_tone_plan(np.random.default_rng([987654, index, draw]), gray=False, p_untouched=0.0)
            damaged = thumbnail(torch.from_numpy(tone_shift(picture, plan).transpose(2, 0, 1))[None])
            with torch.no_grad():
                corrected = net(damaged, damaged).clamp(0, 1)
            before.append(F.l1_loss(damaged, target).item())
            after.append(F.l1_loss(corrected, target).item())
    assert np.mean(after) < 0.75 * np.mean(before)
