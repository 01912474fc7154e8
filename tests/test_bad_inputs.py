"""Inputs that must stop nothing: a symlink loop, a broken link, a named pipe, a name that is not UTF-8 and a
missing argument, next to good photos, in the CLI and the archive import (each reported with its reason)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from patina.archive import Archive
from patina.cli.app import app
from patina.imageio import Image, ImageScan, scan_images, write_image

GOOD = 10


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """10 good photos, a symlink loop, a broken link, a FIFO called *.png and a file whose name is not UTF-8."""
    root = tmp_path / "scans"
    root.mkdir()
    for index in range(GOOD):
        write_image(root / f"good{index}.png", Image(pixels=np.full((24, 32, 3), 60 + 15 * index, np.uint8)))
    os.symlink("loop.jpg", root / "loop.jpg")
    os.symlink("gone.jpg", root / "dangling.jpg")
    os.mkfifo(root / "pipe.png")
    with open(os.fsencode(root) + b"/bad\xff\xfename.png", "wb") as bad:
        bad.write((root / "good0.png").read_bytes())
    return root


def _reasons(scan: ImageScan) -> dict[str, str]:
    return {Path(name).name: reason for name, reason in scan.problems}


def test_the_scan_lists_what_it_cannot_use_and_goes_on(folder: Path, tmp_path: Path) -> None:
    scan = scan_images([folder, tmp_path / "missing.jpg"])
    assert sorted(file.name for file, _ in scan.found) == sorted(f"good{i}.png" for i in range(GOOD))
    assert _reasons(scan) == {"loop.jpg": "a symlink loop", "dangling.jpg": "a broken link",
                              "pipe.png": "not a regular file (a named pipe, socket or device)",
                              "bad\\xff\\xfename.png": "the file name is not valid UTF-8: rename the file",
                              "missing.jpg": "no such file or folder"}


def test_the_cli_restores_every_good_photo_and_names_each_bad_one(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["restore", str(folder), str(tmp_path / "missing.jpg"), "-o", str(out),
                                      "--device", "cpu"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # an exit, not a crash
    assert "Traceback" not in result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(f"good{i}.png" for i in range(GOOD))
    for line in ("loop.jpg: a symlink loop", "pipe.png: not a regular file", "dangling.jpg: a broken link",
                 "bad\\xff\\xfename.png: the file name is not valid UTF-8", "missing.jpg: no such file or folder"):
        assert line in result.output, line
    assert f"restored {GOOD} of {GOOD} images" in result.output and "5 failed" in result.output


def test_the_archive_imports_every_good_photo_and_records_each_bad_one(folder: Path, tmp_path: Path) -> None:
    with Archive.create(tmp_path / "archive") as archive:
        report = archive.import_paths([folder, tmp_path / "missing.jpg"])
        assert len(report.imported) + len(report.duplicates) == GOOD
        assert {Path(name).name for name, _ in report.failed} == {
            "loop.jpg", "dangling.jpg", "pipe.png", "bad\\xff\\xfename.png", "missing.jpg"}
        audit = archive.verify(record=False)
        assert audit.ok and not audit.untracked  # nothing half-imported left in the store
