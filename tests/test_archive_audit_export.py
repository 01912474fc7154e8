"""Editing, search, fixity audits and exports (BagIt, IIIF, CSV)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import bagit
import pytest
from iiif_prezi3 import Manifest

from conftest import sha256_of_file
from patina.archive import Archive
from patina.archive.search import fts_query
from patina.core.errors import ArchiveError, ItemNotFoundError, ParameterError


@pytest.fixture
def filled(archive: Archive, photo_tree: Path) -> Archive:
    archive.import_paths([photo_tree / "a.png"], collection="Harbour", tags=["boats"])
    archive.import_paths([photo_tree / "box1"], collection="Wedding")
    archive.edit(1, metadata={"title": "Fishing boats at Ostend", "date": "1923", "creator": "J. Peeters"})
    archive.edit(2, metadata={"title": "Wedding party", "description": "Anna and Jan leave the church"})
    return archive


# -- editing and search ----------------------------------------------------------------------------
def test_edit_records_old_and_new_values_and_leaves_the_file(filled: Archive) -> None:
    before = sha256_of_file(filled.path_of(2))
    record = filled.edit(2, metadata={"place": "Ghent"}, add_tags=["church"], add_collections=["Best of"],
                         remove_collections=["Wedding"])
    assert record.metadata["place"] == "Ghent" and record.tags == ["church"] and record.collections == ["Best of"]
    change = filled.events(2, event_type="metadata modification")[-1].detail["changes"]
    assert change["place"] == {"old": "", "new": "Ghent"}
    assert change["collections"] == {"old": ["Wedding"], "new": ["Best of"]}
    assert sha256_of_file(filled.path_of(2)) == before
    with pytest.raises(ParameterError, match="unknown metadata field"):
        filled.edit(2, metadata={"colour": "red"})
    with pytest.raises(ItemNotFoundError):
        filled.edit(99, metadata={"title": "x"})


def test_search_words_prefixes_phrases_fields_tags_and_collections(filled: Archive) -> None:
    def ids(query: str) -> list[int]:
        return [record.id for record in filled.search(query)]

    assert ids("boats") == [1]
    assert ids("fish") == [1]  # prefix
    assert ids("ostend 1923") == [1]  # every word must match
    assert ids('"leave the church"') == [2]
    assert ids("title:wedding") == [2] and ids("creator:wedding") == []
    assert ids("collections:harbour") == [1] and ids("tags:boats") == [1]
    assert ids("sleeve") == [3]  # original folder names are searchable
    filled.edit(1, metadata={"title": "Shrimp fishers"})
    assert ids("ostend") == [] and ids("shrimp") == [1]


@pytest.mark.parametrize("query", ['"', "AND OR (", "*", "title:", "NEAR(a b)", "'; DROP TABLE items; --", ""])
def test_search_never_breaks_on_odd_input(filled: Archive, query: str) -> None:
    assert isinstance(filled.search(query), list)
    assert filled.count() == 3


def test_fts_query_quotes_every_term() -> None:
    assert fts_query('boat "old harbour" title:anna') == '"boat"* AND "old harbour" AND title : "anna"*'


def test_items_are_found_by_id_or_sha_prefix(filled: Archive) -> None:
    record = filled.item(2)
    assert filled.item(record.sha256[:10]).id == 2
    with pytest.raises(ItemNotFoundError, match="neither an item id"):
        filled.item("xyz")


# -- fixity ----------------------------------------------------------------------------------------
def test_verify_passes_then_detects_a_flipped_byte_a_missing_file_and_strays(filled: Archive) -> None:
    clean = filled.verify()
    assert clean.ok and clean.checked == 3 and not clean.problems and not clean.untracked

    flipped = filled.path_of(1)
    flipped.chmod(0o644)
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0x01
    flipped.write_bytes(bytes(data))
    filled.path_of(2).unlink()
    stray = filled.store.add_bytes(b"left by an interrupted run")

    report = filled.verify()
    assert not report.ok
    assert [(p.item_id, p.problem) for p in report.problems] == [(1, "changed"), (2, "missing")]
    assert report.untracked == [stray.sha256]
    outcomes = [e.outcome for e in filled.events(1, event_type="fixity check")]
    assert outcomes == ["pass", "fail"]


def test_verify_flags_a_master_that_became_writable(filled: Archive) -> None:
    filled.path_of(3).chmod(0o644)
    report = filled.verify()
    assert report.ok and [(p.item_id, p.problem) for p in report.problems] == [(3, "writable")]


# -- export ----------------------------------------------------------------------------------------
def test_bagit_export_is_a_valid_bag_with_files_metadata_and_manifest(filled: Archive, tmp_path: Path) -> None:
    derived = filled.derive(1, "restore", {"ensemble": False, "tile": 0})
    report = filled.export_bagit(tmp_path / "bag", bag_info={"Source-Organization": "Peeters family"})

    bag = bagit.Bag(str(tmp_path / "bag"))
    bag.validate()  # re-hashes every payload file against both manifests
    assert set(bag.algorithms) == {"sha256", "sha512"} and bag.info["Source-Organization"] == "Peeters family"
    assert report.items == 4
    payload = {Path(p).name for p in bag.payload_files()}
    assert "000001-master-a.png" in payload and f"{derived.item.id:06d}-derivative-a.restore.png" in payload
    items = json.loads((tmp_path / "bag/data/metadata/items.json").read_text())
    first = next(i for i in items if i["id"] == 1)
    assert first["metadata"]["title"] == "Fishing boats at Ostend"
    assert [e["event_type"] for e in first["events"]][:2] == ["ingestion", "metadata modification"]
    for entry in items:
        assert sha256_of_file(tmp_path / "bag" / entry["path"]) == entry["sha256"]
    assert not list(tmp_path.glob(".bag.partial-*"))


def test_iiif_manifest_offers_master_and_derivatives_as_choices(filled: Archive, tmp_path: Path) -> None:
    derived = filled.derive(1, "restore", {"ensemble": False, "tile": 0})
    manifest = filled.iiif_manifest(base_url="https://archive.example.org/iiif")
    Manifest(**manifest)  # parses as IIIF Presentation 3
    assert manifest["type"] == "Manifest" and len(manifest["items"]) == 3
    canvas = manifest["items"][0]
    body = canvas["items"][0]["items"][0]["body"]
    assert canvas["label"] == {"en": ["Fishing boats at Ostend"]}
    assert body["type"] == "Choice" and [b["label"]["en"][0] for b in body["items"]][0] == "master"
    urls = [b["id"] for b in body["items"]]
    assert urls[1].endswith(derived.item.sha256) and urls[0].startswith("https://archive.example.org/iiif/objects/")
    only = filled.iiif_manifest(collection="Wedding", derivatives=False)
    assert [c["label"]["en"][0] for c in only["items"]] == ["Wedding party", "c.png"]


def test_csv_export_has_a_row_per_item(filled: Archive, tmp_path: Path) -> None:
    assert filled.export_csv(tmp_path / "items.csv") == 3
    rows = list(csv.DictReader(open(tmp_path / "items.csv", encoding="utf-8")))
    assert [row["id"] for row in rows] == ["1", "2", "3"]
    assert rows[0]["title"] == "Fishing boats at Ostend" and rows[0]["collections"] == "Harbour"
    assert rows[0]["sha256"] == filled.item(1).sha256


def test_export_refuses_an_existing_folder_and_an_empty_selection(filled: Archive, tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(ArchiveError, match="already exists"):
        filled.export_bagit(tmp_path / "taken")
    with pytest.raises(ArchiveError, match="nothing to export"):
        filled.export_bagit(tmp_path / "none", collection="No such collection")
    assert not (tmp_path / "none").exists() and os.listdir(tmp_path / "taken") == []
