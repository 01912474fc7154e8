"""The content-addressed store: layout, read-only objects, idempotent adds, damage, stale temporaries."""

from __future__ import annotations

import hashlib
import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from patina.archive import Archive
from patina.archive.store import ObjectStore
from patina.core.errors import ArchiveError


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    store = ObjectStore(tmp_path)
    store.create()
    return store


def test_objects_live_at_their_hash_and_are_read_only(store: ObjectStore, tmp_path: Path) -> None:
    data = b"a scan of a photograph"
    source = tmp_path / "scan.bin"
    source.write_bytes(data)
    stored = store.add_file(source)
    digest = hashlib.sha256(data).hexdigest()
    assert (stored.sha256, stored.size, stored.existed) == (digest, len(data), False)
    path = tmp_path / "objects" / digest[:2] / digest[2:4] / digest
    assert store.path(digest) == path and path.read_bytes() == data
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert source.read_bytes() == data and not list(store.tmp.iterdir())
    assert store.add_bytes(data).existed and list(store.iter_objects()) == [digest]


def test_a_damaged_object_is_not_silently_reused(store: ObjectStore) -> None:
    stored = store.add_bytes(b"original bytes")
    path = store.path(stored.sha256)
    path.chmod(0o644)
    path.write_bytes(b"original bytez")
    with pytest.raises(ArchiveError, match="damaged"):
        store.add_bytes(b"original bytes")


def test_paths_only_accept_sha256_digests(store: ObjectStore) -> None:
    for bad in ("../../etc/passwd", "ABC", "g" * 64, "0" * 63):
        with pytest.raises(ArchiveError, match="not a sha256"):
            store.path(bad)


def test_temporaries_of_dead_processes_are_cleaned(store: ObjectStore) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = store.temp_path()
    stale = stale.with_name(dead.stdout.strip() + stale.name[stale.name.index("@"):])
    stale.write_bytes(b"half written")
    live = store.temp_path()
    live.write_bytes(b"being written")
    elsewhere = store.tmp / f"{dead.stdout.strip()}@another-machine~abc.part"  # not ours to judge
    elsewhere.write_bytes(b"another machine's upload")
    assert store.clean_temporaries() == 1
    assert not stale.exists() and live.exists() and elsewhere.exists()


def test_an_archive_from_a_newer_patina_is_refused(tmp_path: Path) -> None:
    Archive.create(tmp_path / "arch").close()
    config = tmp_path / "arch" / "archive.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "format": 99}))
    with pytest.raises(ArchiveError, match="newer Patina"):
        Archive.open(tmp_path / "arch")

