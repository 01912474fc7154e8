"""`patina archive ...` end to end: the life of a small archive, and how the CLI reports errors."""

from __future__ import annotations

import json
from pathlib import Path

import bagit
import pytest
from typer.testing import CliRunner

from conftest import sha256_of_file, write_photo
from patina.cli.app import app

runner = CliRunner()


def _ok(*args: str) -> str:
    result = runner.invoke(app, ["archive", *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


@pytest.mark.slow
def test_archive_lifecycle_through_the_cli_never_modifies_a_master(tmp_path: Path, photo_tree: Path) -> None:
    root = str(tmp_path / "arch")
    _ok("init", root)
    out = _ok("import", str(photo_tree), "-A", root, "--collection", "Family", "--tag", "box",
              "--set", "rights=CC BY 4.0")
    assert "3 imported, 1 already in the archive, 0 failed" in out
    store = tmp_path / "arch" / "objects"
    masters = {path: sha256_of_file(path) for path in store.rglob("*") if path.is_file()}

    _ok("edit", "1", "-A", root, "--set", "title=Grandmother at the seaside", "--add-tag", "beach")
    found = json.loads(_ok("search", "seaside", "-A", root, "--json"))
    assert [item["id"] for item in found] == [1] and found[0]["metadata"]["rights"] == "CC BY 4.0"
    assert "derivative 4 (derived)" in _ok("derive", "1", "-A", root, "--param", "ensemble=false", "--param", "tile=0")
    assert "already done" in _ok("derive", "1", "-A", root, "--param", "ensemble=false", "--param", "tile=0")
    assert "identical" in _ok("reproduce", "4", "-A", root)
    shown = json.loads(_ok("show", "4", "-A", root, "--json"))
    assert shown["parent_id"] == 1 and [e["event_type"] for e in shown["events"]] == ["derivation", "reproduction"]
    listed = json.loads(_ok("list", "-A", root, "--role", "master", "--json"))
    assert [item["id"] for item in listed] == [1, 2, 3]
    assert "4 files checked: all intact" in _ok("verify", "-A", root)
    _ok("export", "-A", root, "--bagit", str(tmp_path / "bag"), "--csv", str(tmp_path / "items.csv"),
        "--iiif", str(tmp_path / "manifest.json"))
    bagit.Bag(str(tmp_path / "bag")).validate()
    assert len((tmp_path / "items.csv").read_text().splitlines()) == 5
    assert len(json.loads((tmp_path / "manifest.json").read_text())["items"]) == 3

    assert {path: sha256_of_file(path) for path in masters} == masters


@pytest.mark.slow
def test_cli_reports_problems_with_exit_codes(tmp_path: Path) -> None:
    root = str(tmp_path / "arch")
    not_archive = runner.invoke(app, ["archive", "list", "-A", str(tmp_path)])
    assert not_archive.exit_code != 0 and "not a Patina archive" in str(not_archive.exception)

    _ok("init", root)
    write_photo(tmp_path / "in" / "ok.png")
    (tmp_path / "in" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    partly = runner.invoke(app, ["archive", "import", str(tmp_path / "in"), "-A", root])
    assert partly.exit_code == 1 and "broken.png" in partly.output and "1 imported" in partly.output

    batch = runner.invoke(app, ["archive", "derive", "99", "1", "-A", root, "--param", "ensemble=false",
                                "--param", "tile=0"])
    assert batch.exit_code == 1 and "failed item 99: no item '99'" in batch.output
    assert "item 1 -> derivative" in batch.output  # the batch went on past the bad item

    stored = next(p for p in (tmp_path / "arch" / "objects").rglob("*") if p.is_file() and p.suffix == "")
    stored.chmod(0o644)
    stored.write_bytes(stored.read_bytes()[:-1] + b"\x00")
    audit = runner.invoke(app, ["archive", "verify", "-A", root])
    assert audit.exit_code == 1 and "changed" in audit.output

    bad_param = runner.invoke(app, ["archive", "derive", "1", "-A", root, "--param", "speed=9"])
    assert bad_param.exit_code != 0 and "has no parameter speed" in str(bad_param.exception)
    assert runner.invoke(app, ["archive", "export", "-A", root]).exit_code == 2


@pytest.mark.slow
def test_worker_command_runs_the_queued_jobs(tmp_path: Path) -> None:
    from patina.archive import Archive
    from patina.batch import JobQueue

    root = tmp_path / "arch"
    with Archive.create(root) as archive:
        archive.import_paths([write_photo(tmp_path / "p.png")])
        JobQueue(archive).submit(1, "restore", {"ensemble": False, "tile": 0})
    out = _ok("worker", "-A", str(root), "--until-empty")
    assert "job 1 (restore on item 1): succeeded" in out and "1 jobs run" in out
