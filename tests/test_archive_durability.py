"""kill -9 during an import or a pipeline run: the catalogue stays consistent and a re-run finishes the job."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import sha256_of_file, write_photo
from patina.archive import Archive

pytestmark = pytest.mark.slow


def _patina(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "patina", "archive", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _count(database: Path, sql: str) -> int:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        return connection.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:  # schema not visible yet
        return 0
    finally:
        connection.close()


def _kill_when(process: subprocess.Popen, database: Path, sql: str, at_least: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while _count(database, sql) < at_least:
        if process.poll() is not None:
            pytest.fail(f"the run ended before it could be killed: {process.stderr.read().decode()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("the run made no progress")
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL


def _assert_consistent(root: Path) -> None:
    """SQLite intact; every catalogued item has its intact object, its event and its search row."""
    connection = sqlite3.connect(root / "catalogue.sqlite")
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    items = connection.execute("SELECT id, sha256, role FROM items").fetchall()
    for item_id, sha256, role in items:
        path = root / "objects" / sha256[:2] / sha256[2:4] / sha256
        assert sha256_of_file(path) == sha256
        kind = "ingestion" if role == "master" else "derivation"
        column = "item_id" if role == "master" else "output_item_id"
        assert connection.execute(f"SELECT count(*) FROM events WHERE event_type=? AND {column}=?",
                                  (kind, item_id)).fetchone()[0] == 1
    assert connection.execute("SELECT count(*) FROM items_fts").fetchone()[0] == len(items)
    assert connection.execute("SELECT count(*) FROM events WHERE event_type='derivation' AND output_item_id "
                              "NOT IN (SELECT id FROM items)").fetchone()[0] == 0
    connection.close()


def test_kill_during_import_then_rerun_imports_everything_once(tmp_path: Path) -> None:
    sources = [write_photo(tmp_path / "scans" / f"box{i % 4}" / f"{i:04d}.png", seed=100 + i, size=(24, 16))
               for i in range(400)]
    hashes = {path: sha256_of_file(path) for path in sources}
    root = tmp_path / "archive"
    Archive.create(root).close()

    process = _patina("import", str(tmp_path / "scans"), "-A", str(root))
    _kill_when(process, root / "catalogue.sqlite", "SELECT count(*) FROM items", at_least=20)
    _assert_consistent(root)
    with Archive.open(root) as archive:
        assert 20 <= archive.count() < len(sources)
        report = archive.import_paths([tmp_path / "scans"])
        assert not report.failed and len(report.imported) + len(report.duplicates) == len(sources)
        assert archive.count() == len(sources)
        audit = archive.verify()
        assert audit.ok and not audit.untracked  # an object stored just before the kill was adopted
        assert not list(archive.store.tmp.iterdir())  # the killed process's temporaries were cleaned
    _assert_consistent(root)
    assert {path: sha256_of_file(path) for path in sources} == hashes


def test_kill_during_pipeline_runs_then_rerun_finishes_the_batch(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    with Archive.create(root) as archive:
        paths = [write_photo(tmp_path / f"p{i}.png", seed=i, size=(192, 160)) for i in range(4)]
        archive.import_paths(paths)
        masters = {record.id: record.sha256 for record in archive.items()}
    args = ["derive", *map(str, masters), "-A", str(root), "--param", "ensemble=false", "--param", "tile=0"]

    process = _patina(*args)
    _kill_when(process, root / "catalogue.sqlite", "SELECT count(*) FROM items WHERE role='derivative'", at_least=1)
    _assert_consistent(root)

    rerun = _patina(*args)
    assert rerun.wait(timeout=300) == 0, rerun.stderr.read().decode()
    _assert_consistent(root)
    with Archive.open(root) as archive:
        derivatives = archive.items(role="derivative")
        assert sorted(record.parent_id for record in derivatives) == sorted(masters)
        assert archive.verify().ok
        for sha256 in masters.values():
            assert sha256_of_file(archive.store.path(sha256)) == sha256
