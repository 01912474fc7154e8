"""Derivatives: provenance recorded in the catalogue and the file's XMP, reproduction, resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from sqlalchemy import select

from conftest import sha256_of_file, write_photo
from patina.archive import DERIVATIVE, Archive
from patina.archive.metadata import AI_SOURCE_TYPE, read_xmp
from patina.archive.schema import Event
from patina.core.errors import ArchiveError, ParameterError
from patina.imageio import Image, write_image
from patina.weights.registry import REGISTRY
from patina.weights.card import ModelCard

FAST = {"ensemble": False, "tile": 0}


@pytest.fixture
def master(archive: Archive, tmp_path: Path) -> int:
    report = archive.import_paths([write_photo(tmp_path / "portrait.png", seed=11, size=(40, 32))])
    archive.edit(report.imported[0], metadata={"title": "Portrait of Maria", "rights": "Family collection"})
    return report.imported[0]


def test_derive_records_everything_needed_to_repeat_it(archive: Archive, master: int) -> None:
    source = archive.item(master)
    result = archive.derive(master, "restore", {**FAST, "strength": 0.8}, seed=3)

    item, detail = result.item, result.event.detail
    assert not result.reused
    assert ((item.role, item.parent_id, item.width, item.height, item.media_type)
            == (DERIVATIVE, master, 40, 32, "image/png"))
    assert item.metadata["title"] == "Portrait of Maria"  # the description carries over
    assert archive.item(master).derivative_ids == [item.id]
    assert result.event.event_type == "derivation" and result.event.item_id == master
    assert detail["pipeline"] == "restore" and detail["seed"] == 3 and detail["format"] == "png"
    assert detail["parameters"] == {"model": "restore", "mask_model": "damage-mask", "tone_model": "restore-tone",
                                    "tone": "keep", "scratches": True, "mask": [],
                                    "strength": 0.8, "ensemble": False, "tile": 0, "overlap": 64, "context": 64,
                                    "faces": False, "face_strength": 1.0, "face_model": "face-restore",
                                    "face_detector": "face-detector", "colorize": False, "upscale": None}
    shipped = {name: ModelCard.read(REGISTRY[name].path.with_suffix(".json")).sha256
               for name in ("restore", "damage-mask", "restore-tone")}
    assert {m["name"]: m["sha256"] for m in detail["models"]} == shipped
    assert detail["input"]["sha256"] == source.sha256 and detail["output"]["sha256"] == item.sha256
    assert detail["environment"]["threads"] == torch.get_num_threads() and detail["environment"]["device"] == "cpu"
    assert sha256_of_file(archive.store.path(item.sha256)) == item.sha256
    assert sha256_of_file(archive.store.path(source.sha256)) == source.sha256  # master untouched


def test_derivative_xmp_carries_history_source_and_ai_disclosure(archive: Archive, master: int) -> None:
    result = archive.derive(master, "restore", FAST)
    xmp = read_xmp(archive.store.path(result.item.sha256))
    master_sha = archive.item(master).sha256
    assert xmp["Xmp.iptcExt.DigitalSourceType"] == AI_SOURCE_TYPE
    assert xmp["Xmp.xmpMM.DerivedFrom/stRef:documentID"] == f"sha256:{master_sha}"
    assert xmp["Xmp.dc.title"] == {'lang="x-default"': "Portrait of Maria"}
    assert xmp["Xmp.xmpMM.History[1]/stEvt:instanceID"] == f"uuid:{result.event.uuid}"
    assert json.loads(xmp["Xmp.xmpMM.History[1]/stEvt:parameters"])["pipeline"] == "restore"
    assert json.loads(xmp["Xmp.patina.Provenance"])[0]["parameters"]["strength"] == 1.0


def test_reproduce_gives_identical_bytes_and_is_recorded(archive: Archive, master: int) -> None:
    derived = archive.derive(master, "restore", FAST, seed=5)
    report = archive.reproduce(derived.item.id)
    assert report.identical and report.reproduced_sha256 == derived.item.sha256 and report.notes == []
    assert [e.outcome for e in archive.events(derived.item.id, event_type="reproduction")] == ["identical"]


def test_reproduce_reports_a_difference_with_pixel_distance(archive: Archive, master: int) -> None:
    derived = archive.derive(master, "restore", FAST)
    with archive.session() as session:  # pretend the record said another strength
        event = session.scalar(select(Event).where(Event.output_item_id == derived.item.id))
        event.detail = {**event.detail, "parameters": {**event.detail["parameters"], "strength": 0.5}}
    report = archive.reproduce(derived.item.id)
    assert not report.identical
    assert 0 < report.max_abs_difference <= 1 and 15 < report.psnr < 80
    assert archive.events(derived.item.id, event_type="reproduction")[-1].outcome == "different"


def test_reproduce_refuses_masters_and_changed_sources(archive: Archive, master: int) -> None:
    with pytest.raises(ArchiveError, match="not made by a pipeline"):
        archive.reproduce(master)
    derived = archive.derive(master, "restore", FAST)
    stored = archive.store.path(archive.item(master).sha256)
    stored.chmod(0o644)
    data = bytearray(stored.read_bytes())
    data[-20] ^= 0xFF
    stored.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match="has changed on disk"):
        archive.reproduce(derived.item.id)


def test_a_damage_mask_item_is_recorded_by_sha256_and_reproduces(archive: Archive, master: int,
                                                                   tmp_path: Path) -> None:
    painted = np.zeros((32, 40), dtype=np.uint8)
    painted[5:9, 3:30] = 255
    write_image(tmp_path / "mask.png", Image(pixels=painted))
    write_image(tmp_path / "small.png", Image(pixels=painted[:30]))
    mask_id, small_id = archive.import_paths([tmp_path / "mask.png", tmp_path / "small.png"]).imported
    derived = archive.derive(master, "restore", {**FAST, "mask": mask_id})
    assert derived.event.detail["parameters"]["mask"] == [archive.item(mask_id).sha256]
    assert [m["role"] for m in derived.event.detail["models"]] == ["generator", "tone"]  # the mask net is not run
    assert derived.item.sha256 != archive.derive(master, "restore", FAST).item.sha256
    assert archive.reproduce(derived.item.id).identical
    with pytest.raises(ParameterError, match="mask 40x30 does not match the photo 40x32"):
        archive.derive(master, "restore", {**FAST, "mask": small_id})


def test_same_request_is_reused_unless_again(archive: Archive, master: int) -> None:
    first = archive.derive(master, "restore", FAST)
    second = archive.derive(master, "restore", FAST)
    assert second.reused and second.item.id == first.item.id
    third = archive.derive(master, "restore", FAST, again=True)
    assert not third.reused and third.item.id != first.item.id  # new event, so new XMP, so new bytes
    other = archive.derive(master, "restore", {**FAST, "strength": 0.5})
    assert not other.reused and len(archive.item(master).derivative_ids) == 3


def test_derivative_of_a_derivative_keeps_the_whole_history(archive: Archive, master: int) -> None:
    first = archive.derive(master, "restore", FAST)
    second = archive.derive(first.item.id, "restore", {**FAST, "strength": 0.5})
    history = second.event.detail["xmp"]["history"]
    assert [step["uuid"] for step in history] == [first.event.uuid, second.event.uuid]
    assert second.event.detail["master"]["sha256"] == archive.item(master).sha256
    assert archive.reproduce(second.item.id).identical


def test_bad_requests_fail_before_running(archive: Archive, master: int) -> None:
    with pytest.raises(ParameterError, match="unknown pipeline 'sharpen'"):
        archive.derive(master, "sharpen")
    with pytest.raises(ParameterError, match="has no parameter colour"):
        archive.derive(master, "restore", {"colour": 1})
    with pytest.raises(ParameterError, match="strength must be between 0 and 1"):
        archive.derive(master, "restore", {"strength": 3})
    with pytest.raises(ParameterError, match="output format"):
        archive.derive(master, "restore", FAST, output_format="gif")
    assert archive.count(role=DERIVATIVE) == 0


def test_jpeg_and_tiff_derivatives_reproduce(archive: Archive, master: int) -> None:
    for output_format in ("jpeg", "tiff"):
        derived = archive.derive(master, "restore", FAST, output_format=output_format)
        assert derived.item.extension == {"jpeg": "jpg", "tiff": "tif"}[output_format]
        assert archive.reproduce(derived.item.id).identical
