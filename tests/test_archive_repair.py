"""The archive mends and audits itself: a good copy repairs a missing or damaged master, stray files anywhere in
the store are found, temporaries of killed jobs are cleaned, multi-frame files are noted, CSV cells never run as
spreadsheet formulas."""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from typer.testing import CliRunner

from conftest import write_photo
from patina.archive import Archive
from patina.archive.store import STALE_TEMPORARY
from patina.cli.app import app

FAST = {"ensemble": False, "tile": 0}


def test_importing_a_good_copy_repairs_a_missing_or_damaged_master(archive: Archive, tmp_path: Path) -> None:
    photos = [write_photo(tmp_path / f"p{i}.png", seed=i, size=(32, 24)) for i in range(2)]
    report = archive.import_paths(photos)
    first, second = report.imported
    archive.path_of(first).unlink()  # lost
    damaged = archive.path_of(second)
    damaged.chmod(0o644)
    damaged.write_bytes(damaged.read_bytes()[:-10] + b"0123456789")  # bit rot
    assert not archive.verify(record=False).ok

    again = archive.import_paths(photos)
    assert sorted(again.duplicates) == [first, second] and not again.failed
    assert archive.verify(record=False).clean
    assert archive.path_of(second).read_bytes() == photos[1].read_bytes()
    repairs = {event.item_id: event.detail["was"] for event in archive.events(event_type="repair")}
    assert repairs == {first: "missing", second: "damaged"}
    archive.import_paths(photos)  # intact now: nothing more to repair
    assert len(archive.events(event_type="repair")) == 2


def test_verify_finds_stray_files_anywhere_in_the_store_and_exits_1(archive: Archive, tmp_path: Path) -> None:
    archive.import_paths([write_photo(tmp_path / "p.png", seed=3)])
    assert archive.verify(record=False).clean
    (archive.store.objects / "stray.txt").write_text("left behind")
    (archive.store.objects / "ab").mkdir(exist_ok=True)
    (archive.store.objects / "ab" / "not-a-hash").write_text("?")
    report = archive.verify(record=False)
    assert report.ok and not report.clean
    assert sorted(report.untracked) == ["ab/not-a-hash", "stray.txt"]
    root = archive.root
    archive.close()
    result = CliRunner().invoke(app, ["archive", "verify", "-A", str(root)])
    assert result.exit_code == 1 and "file objects/stray.txt" in result.output and "2 untracked" in result.output


def test_temporaries_of_killed_jobs_are_cleaned_when_old(archive: Archive) -> None:
    tmp = archive.store.tmp
    old, fresh = tmp / ".derived.png.1a2b.tmp", tmp / ".other.png.3c4d.tmp"
    for path in (old, fresh):
        path.write_bytes(b"half an image")
    long_ago = time.time() - STALE_TEMPORARY - 60
    os.utime(old, (long_ago, long_ago))
    assert archive.store.clean_temporaries() == 1
    assert not old.exists() and fresh.exists()  # a recent one may belong to a running job


def test_a_multi_frame_file_is_noted_where_its_first_frame_is_used(archive: Archive, tmp_path: Path) -> None:
    pages = tmp_path / "album.tif"
    frames = [PILImage.fromarray(np.full((24, 32, 3), value, np.uint8)) for value in (80, 160, 220)]
    frames[0].save(pages, save_all=True, append_images=frames[1:])
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["restore", str(pages), "-o", str(out), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "album.tif: the file has 3 frames (pages); only the first is restored" in " ".join(result.output.split())
    item = archive.import_paths([pages]).imported[0]
    assert archive.item(item).size_bytes == pages.stat().st_size  # the whole file is kept
    made = archive.derive(item, "restore", FAST)
    assert "the source has 3 frames (pages); only the first was used" in made.event.detail["notes"]


def test_csv_cells_never_run_as_formulas(archive: Archive, tmp_path: Path) -> None:
    item = archive.import_paths([write_photo(tmp_path / "p.png", seed=4)]).imported[0]
    archive.edit(item, metadata={"title": "=HYPERLINK(\"http://evil.example\")", "creator": "+1 555", "place": "-x",
                                 "subject": "@SUM(A1)", "description": "plain"})
    archive.export_csv(tmp_path / "items.csv")
    with open(tmp_path / "items.csv", newline="", encoding="utf-8") as fh:
        row = next(csv.DictReader(fh))
    assert row["title"] == "'=HYPERLINK(\"http://evil.example\")" and row["creator"] == "'+1 555"
    assert row["place"] == "'-x" and row["subject"] == "'@SUM(A1)" and row["description"] == "plain"
