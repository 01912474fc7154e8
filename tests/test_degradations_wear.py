"""Tests for the wear-and-tear ops (cracks, folds, torn corners, flaking, long scratches, blotches), the
fine-detail negatives and their place in the degradation chain."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pytest

from patina import degradations as D
from patina.degradations import EVAL_CONFIG, TRAIN_CONFIG, apply_plan, degrade, sample_plan
from patina.degradations.detail import DETAIL_KINDS
from test_degradations import natural_image

WEAR = [
    ("cracks", dict(count=3, craquelure=1)),
    ("folds", dict(count=1)),
    ("torn_corners", dict(count=2)),
    ("flaking", dict(count=2)),
    ("long_scratches", dict(count=2)),
    ("blotches", dict(count=4, p_opaque=0.5)),
]
PURE = [c for c in WEAR if c[0] != "blotches"]  # change nothing outside their mask
NEW_OPS = [name for name, _ in WEAR] + ["fine_detail"]
IMG = natural_image(96, 112, seed=3)


@pytest.mark.parametrize("name,kw", WEAR, ids=[c[0] for c in WEAR])
def test_wear_op_contract_and_determinism(name, kw):
    before = IMG.tobytes()
    out, mask = getattr(D, name)(IMG, seed=5, **kw)
    assert IMG.tobytes() == before, "input was modified"
    assert out.shape == IMG.shape and out.dtype == np.float32 and out.flags.c_contiguous
    assert np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0
    assert mask.shape == IMG.shape[:2] and mask.dtype == np.float32
    assert set(np.unique(mask)).issubset({0.0, 1.0})
    again, mask2 = getattr(D, name)(IMG, seed=5, **kw)
    assert again.tobytes() == out.tobytes() and mask2.tobytes() == mask.tobytes()
    other, _ = getattr(D, name)(IMG, seed=6, **kw)
    assert other.tobytes() != out.tobytes(), "another seed gave the same result"


@pytest.mark.parametrize("name,kw", PURE, ids=[c[0] for c in PURE])
@pytest.mark.parametrize("seed", [0, 1])
def test_wear_mask_matches_changes(name, kw, seed):
    img = natural_image(96, 128, seed=seed)
    out, mask = getattr(D, name)(img, seed=seed, **kw)
    assert mask.sum() > 0
    outside = mask == 0
    assert np.array_equal(out[outside], img[outside]), "pixels changed outside the damage mask"
    diff = np.abs(out - img).max(axis=-1)
    assert float(diff[mask > 0].mean()) > 0.05, "damage not visible where the mask says"


def test_blotches_mask_holds_only_opaque_ones():
    stains, mask = D.blotches(IMG, count=4, p_opaque=0.0, seed=2)
    assert mask.sum() == 0, "translucent stains are tone damage, not inpainting"
    assert np.abs(stains - IMG).max() > 0.05
    ink, mask = D.blotches(IMG, count=4, p_opaque=1.0, seed=2)
    assert mask.sum() > 0
    assert np.array_equal(ink[mask == 0], IMG[mask == 0])
    assert float(np.abs(ink - IMG).max(axis=-1)[mask > 0].mean()) > 0.1


@pytest.mark.parametrize("name,kw", WEAR, ids=[c[0] for c in WEAR])
def test_wear_scales_with_image_size(name, kw):
    """The damaged fraction stays similar from a 96 px crop to a 384 px scan (sizes grow with the image)."""
    def frac(side: int) -> float:
        img = natural_image(side, side, seed=1)
        return float(np.mean([getattr(D, name)(img, seed=sd, **dict(kw, p_opaque=1.0) if name == "blotches"
                                               else kw)[1].mean() for sd in range(3)]))
    small, big = frac(96), frac(384)
    assert small > 0 and big > 0
    assert 0.2 < big / small < 5.0, (small, big)


def test_widths_vary():
    img = natural_image(128, 128)
    areas = [D.long_scratches(img, count=1, p_vertical=1.0, seed=sd)[1].sum() for sd in range(10)]
    assert max(areas) > 2.0 * min(areas), areas
    thin = D.folds(img, count=1, width=1.0, seed=0)[1]
    wide = D.folds(img, count=1, width=6.0, seed=0)[1]
    assert wide.sum() > 1.5 * thin.sum()


def test_torn_corners_background_and_corner():
    grey = np.full((80, 80, 3), 0.5, np.float32)
    paper, mp = D.torn_corners(grey, count=1, p_corner=1.0, background="paper", seed=0)
    mount, mm = D.torn_corners(grey, count=1, p_corner=1.0, background="mount", seed=0)
    corners = [mp[0, 0], mp[0, -1], mp[-1, -1], mp[-1, 0]]
    assert max(corners) == 1.0, "a torn corner is missing its corner"
    assert np.array_equal(mp, mm), "the background does not change the tear"
    assert float(paper[mp > 0].mean()) > 0.75
    assert float(mount[mm > 0].mean()) < float(paper[mp > 0].mean()) - 0.2
    assert 0.0 < mp.mean() < 0.3


def test_cracks_craquelure_only():
    out, mask = D.cracks(IMG, count=0, craquelure=1, seed=3)
    assert mask.sum() > 0
    none, empty = D.cracks(IMG, count=0, craquelure=0, seed=3)
    assert empty.sum() == 0 and np.array_equal(none, IMG)


@pytest.mark.parametrize("kind", DETAIL_KINDS)
def test_fine_detail_draws_content(kind):
    out = D.fine_detail(IMG, count=2, kinds=(kind,), seed=4)
    assert isinstance(out, np.ndarray), "fine detail is content: no mask"
    assert out.shape == IMG.shape and out.dtype == np.float32 and 0.0 <= out.min() <= out.max() <= 1.0
    assert not np.array_equal(out, IMG)
    assert D.fine_detail(IMG, count=2, kinds=(kind,), seed=4).tobytes() == out.tobytes()


def test_fine_detail_rejects_unknown_kinds():
    with pytest.raises(ValueError):
        D.fine_detail(IMG, kinds=("graffiti",), seed=0)


# ------------------------------------------------------------------------------------------- chain

#: sha256 of the EVAL_CONFIG plans for seeds 0..5 on 256 x 256 (json.dumps, sort_keys), before the wear ops.
EVAL_PLANS_SHA256 = "b7fac0eb3d002002b0327480c19157f82d6f309956a45f2cc32abf5b76b57443"


def test_eval_plans_unchanged():
    h = hashlib.sha256()
    for seed in range(6):
        h.update(json.dumps(sample_plan(EVAL_CONFIG, (256, 256), seed), sort_keys=True).encode())
    assert h.hexdigest() == EVAL_PLANS_SHA256
    for f in dataclasses.fields(EVAL_CONFIG):
        if f.name.startswith("p_") and any(k in f.name for k in ("crack", "craq", "fold", "torn", "flak", "long",
                                                                  "blotch", "fine")):
            assert getattr(EVAL_CONFIG, f.name) == 0.0, f.name


def test_training_config_draws_every_new_op():
    seen: set[str] = set()
    for seed in range(200):
        seen |= {o["op"] for o in sample_plan(TRAIN_CONFIG, (64, 64), seed)["ops"]}
    assert set(NEW_OPS) <= seen, set(NEW_OPS) - seen


def test_all_new_ops_replay_and_fine_detail_is_target():
    img = natural_image(72, 88, seed=2)
    on = {f.name: 1.0 for f in dataclasses.fields(TRAIN_CONFIG) if f.name.startswith("p_") and f.name != "p_untouched"}
    plan = sample_plan(dataclasses.replace(TRAIN_CONFIG, **on), img.shape, 9)
    ops = [o["op"] for o in plan["ops"]]
    assert ops[:2] == ["fine_detail", "grayscale"] and set(NEW_OPS) <= set(ops)
    s = apply_plan(img, plan)
    r = apply_plan(img, json.loads(json.dumps(plan)))
    assert r.degraded.tobytes() == s.degraded.tobytes() and r.mask.tobytes() == s.mask.tobytes()
    t = s.target
    assert np.array_equal(t[..., 0], t[..., 1]) and np.array_equal(t[..., 0], t[..., 2]), "B&W target stays grey"
    assert s.mask.sum() > 0


def test_fine_detail_changes_target_and_adds_no_mask():
    img = natural_image(64, 80, seed=1)
    quiet = {f.name: 0.0 for f in dataclasses.fields(EVAL_CONFIG) if f.name.startswith("p_")}
    cfg = dataclasses.replace(EVAL_CONFIG, **dict(quiet, p_fine_detail=1.0))
    s = degrade(img, cfg, 0)
    assert [o["op"] for o in s.params["ops"]] == ["fine_detail"]
    assert not np.array_equal(s.target, img), "fine detail is drawn into the clean target"
    assert np.array_equal(s.degraded, s.target)
    assert s.mask.sum() == 0
