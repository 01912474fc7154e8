"""Archive creation and import: catalogue, store layout, dedupe, names and folders, metadata, bad files."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import numpy as np
import pyexiv2
import pytest
from PIL import Image as PILImage

from conftest import sha256_of_file, write_photo
from patina.archive import MASTER, Archive
from patina.archive import catalogue
from patina.core.errors import ArchiveError, ParameterError


def test_create_makes_catalogue_at_newest_migration_and_store(tmp_path: Path) -> None:
    with Archive.create(tmp_path / "arch") as archive:
        assert (tmp_path / "arch" / "archive.json").is_file()
        assert (tmp_path / "arch" / "objects").is_dir()
        assert catalogue.current_revision(archive.engine) == catalogue.head_revision() == "0006"
    connection = sqlite3.connect(tmp_path / "arch" / "catalogue.sqlite")
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"items", "item_origins", "collections", "tags", "events", "items_fts", "jobs", "derivation_claims",
            "users", "login_sessions", "alembic_version"} <= tables


def test_create_refuses_an_existing_archive_and_open_refuses_a_plain_folder(tmp_path: Path) -> None:
    Archive.create(tmp_path / "arch").close()
    with pytest.raises(ArchiveError, match="already holds an archive"):
        Archive.create(tmp_path / "arch")
    with pytest.raises(ArchiveError, match="not a Patina archive"):
        Archive.open(tmp_path)


def test_migrations_render_for_postgresql_without_sqlite_only_parts() -> None:
    sql = catalogue.migration_sql("postgresql://user@localhost/patina")
    assert "CREATE TABLE items" in sql and "CREATE TABLE events" in sql
    assert "fts5" not in sql
    assert "fts5" in catalogue.migration_sql("sqlite:///x.sqlite")


@pytest.mark.skipif(not os.environ.get("PATINA_TEST_POSTGRES_URL"),
                    reason="set PATINA_TEST_POSTGRES_URL to a scratch PostgreSQL database "
                           "(its public schema is dropped)")
def test_postgresql_catalogue_works_end_to_end(tmp_path: Path, photo_tree: Path) -> None:
    from sqlalchemy import create_engine

    url = os.environ["PATINA_TEST_POSTGRES_URL"]
    with create_engine(url).begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    with Archive.create(tmp_path / "pg", database_url=url) as archive:
        report = archive.import_paths([photo_tree])
        assert len(report.imported) == 3 and len(report.duplicates) == 1
        archive.edit(1, metadata={"title": "Harbour at dusk"}, add_tags=["sea"])
        assert [r.id for r in archive.search("harbour")] == [1]
        derived = archive.derive(1, "restore", {"ensemble": False, "tile": 0})
        assert archive.derive(1, "restore", {"ensemble": False, "tile": 0}).reused
        assert archive.reproduce(derived.item.id).identical
        assert archive.verify().ok


def test_import_folders_dedupes_and_records_names_and_folders(archive: Archive, photo_tree: Path) -> None:
    sources = {path: sha256_of_file(path) for path in photo_tree.rglob("*.*")}
    report = archive.import_paths([photo_tree], collection="Family", tags=["box", "1920s"])

    assert len(report.imported) == 3 and len(report.duplicates) == 1 and not report.failed
    masters = archive.items(role=MASTER)
    assert {r.sha256 for r in masters} == set(sources.values())
    first = next(r for r in masters if r.original_name == "a.png")
    assert sorted(Path(o).name for o in first.origins) == ["a-copy.png", "a.png"]
    assert first.collections == ["Family"] and first.tags == ["1920s", "box"]
    with archive.session() as session:
        from patina.archive.schema import ItemOrigin

        folders = {o.original_name: o.original_folder for o in session.query(ItemOrigin)}
    assert folders == {"a.png": "", "b.jpg": "box1", "c.png": "box1/sleeve", "a-copy.png": "box2"}
    jpeg = next(r for r in masters if r.original_name == "b.jpg")
    assert (jpeg.media_type, jpeg.extension, jpeg.width, jpeg.height) == ("image/jpeg", "jpg", 48, 40)
    # sources untouched, stored copies byte-identical and read-only
    assert {path: sha256_of_file(path) for path in sources} == sources
    for record in masters:
        stored = archive.store.path(record.sha256)
        assert sha256_of_file(stored) == record.sha256
        assert not stored.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    events = archive.events(event_type="ingestion")
    assert len(events) == 3
    assert {event.item_id: event.detail["message_digest"] for event in events} == {r.id: r.sha256 for r in masters}


def test_importing_again_resumes_without_duplicates(archive: Archive, photo_tree: Path) -> None:
    archive.import_paths([photo_tree / "a.png"])
    report = archive.import_paths([photo_tree])
    assert len(report.imported) == 2 and len(report.duplicates) == 2
    assert archive.count() == 3 and len(archive.events(event_type="ingestion")) == 3


def test_bad_files_are_reported_and_nothing_is_stored_for_them(archive: Archive, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    write_photo(folder / "good.png", seed=5)
    truncated = write_photo(folder / "truncated.jpg", seed=6, size=(200, 160))
    truncated.write_bytes(truncated.read_bytes()[:600])
    (folder / "notes.png").write_text("this is not an image")
    report = archive.import_paths([folder])

    assert len(report.imported) == 1
    reasons = dict((Path(path).name, reason) for path, reason in report.failed)
    assert set(reasons) == {"truncated.jpg", "notes.png"}
    assert "truncated" in reasons["truncated.jpg"] and "not an image" in reasons["notes.png"]
    assert list(archive.store.iter_objects()) == [archive.items()[0].sha256]
    missing = archive.import_paths([tmp_path / "missing", folder / "good.png"])  # reported; the rest goes on
    assert missing.failed == [(str(tmp_path / "missing"), "no such file or folder")]
    assert missing.duplicates == [archive.items()[0].id]


@pytest.mark.parametrize("name, mode, media_type", [
    ("cmyk.jpg", "CMYK", "image/jpeg"), ("palette.png", "P", "image/png"), ("alpha.png", "RGBA", "image/png"),
    ("gray16.png", "I;16", "image/png"), ("scan.tif", "RGB", "image/tiff"), ("photo.webp", "RGB", "image/webp"),
])
def test_modes_and_formats_import_with_their_facts(archive: Archive, tmp_path: Path, name: str, mode: str,
                                                   media_type: str) -> None:
    path = write_photo(tmp_path / name, seed=7, size=(30, 20), mode=mode)
    report = archive.import_paths([path])
    record = archive.item(report.imported[0])
    assert (record.media_type, record.width, record.height) == (media_type, 30, 20)
    assert sha256_of_file(archive.store.path(record.sha256)) == sha256_of_file(path)


def _with_metadata(path: Path) -> Path:
    write_photo(path, seed=9)
    with pyexiv2.Image(str(path)) as image:
        image.modify_exif({"Exif.Image.Artist": "EXIF Artist", "Exif.Photo.DateTimeOriginal": "1931:06:02 14:05:00",
                           "Exif.Image.ImageDescription": "exif description", "Exif.Image.Copyright": "exif rights"})
        image.modify_iptc({"Iptc.Application2.ObjectName": "IPTC title",
                           "Iptc.Application2.Keywords": ["wedding", "church"],
                           "Iptc.Application2.City": "Ghent", "Iptc.Application2.CountryName": "Belgium",
                           "Iptc.Application2.Source": "Box 7"})
        image.modify_xmp({"Xmp.dc.title": {'lang="x-default"': "Wedding of Anna and Jan"},
                          "Xmp.dc.creator": ["Studio Vermeulen"]})
    return path


def test_embedded_exif_iptc_xmp_become_dublin_core(archive: Archive, tmp_path: Path) -> None:
    report = archive.import_paths([_with_metadata(tmp_path / "wedding.jpg")])
    metadata = archive.item(report.imported[0]).metadata
    assert metadata == {
        "title": "Wedding of Anna and Jan",  # XMP wins over IPTC
        "creator": "Studio Vermeulen",  # XMP wins over EXIF
        "date": "1931-06-02T14:05:00",  # EXIF date made ISO 8601
        "subject": "wedding; church",
        "description": "exif description",
        "rights": "exif rights",
        "place": "Ghent, Belgium",
        "source": "Box 7",
    }
    assert [r.id for r in archive.search("vermeulen")] == report.imported


def test_overrides_replace_embedded_values_and_unknown_fields_fail(archive: Archive, tmp_path: Path) -> None:
    report = archive.import_paths([_with_metadata(tmp_path / "w.jpg")], metadata={"rights": "CC BY 4.0"})
    assert archive.item(report.imported[0]).metadata["rights"] == "CC BY 4.0"
    with pytest.raises(ParameterError, match="unknown metadata field colour"):
        archive.import_paths([tmp_path / "w.jpg"], metadata={"colour": "sepia"})


def test_gps_coordinates_give_a_place(tmp_path: Path) -> None:
    from patina.archive.metadata import dublin_core

    place = dublin_core({"Exif.GPSInfo.GPSLatitude": "51/1 3/1 0/1", "Exif.GPSInfo.GPSLatitudeRef": "N",
                         "Exif.GPSInfo.GPSLongitude": "3/1 43/1 30/1", "Exif.GPSInfo.GPSLongitudeRef": "W"})["place"]
    assert place == "51.050000, -3.725000"


def test_unreadable_metadata_does_not_block_the_import(archive: Archive, tmp_path: Path) -> None:
    path = tmp_path / "plain.bmp"
    PILImage.fromarray(np.full((8, 8, 3), 90, np.uint8)).save(path)
    report = archive.import_paths([path])
    assert len(report.imported) == 1
    record = archive.item(report.imported[0])
    assert record.media_type == "image/bmp" and record.metadata["title"] == ""


def test_opening_an_older_catalogue_upgrades_it_and_keeps_its_items(tmp_path: Path, photo_tree: Path) -> None:
    root = tmp_path / "old"
    with Archive.create(root) as archive:
        archive.import_paths([photo_tree])
        with archive.engine.begin() as connection:  # take it back to the first schema
            connection.exec_driver_sql("DROP TABLE jobs")
            connection.exec_driver_sql("DROP TABLE derivation_claims")
            connection.exec_driver_sql("DROP TABLE users")
            connection.exec_driver_sql("DROP TABLE login_sessions")
            connection.exec_driver_sql("DROP INDEX ix_items_withdrawn_at")
            connection.exec_driver_sql("ALTER TABLE items DROP COLUMN withdrawn_at")
            connection.exec_driver_sql("ALTER TABLE items DROP COLUMN purged_at")
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
    with Archive.open(root) as archive:
        assert catalogue.current_revision(archive.engine) == catalogue.head_revision()
        assert archive.count() == 3
