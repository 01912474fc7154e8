"""Curating the archive: search inside file names, withdrawal (deaccession) with and without purge, metadata
from a CSV file, and bulk edits of search results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from typer.testing import CliRunner

from conftest import sha256_of_file, write_photo
from patina.archive import Archive, catalogue
from patina.cli.app import app
from patina.core.errors import ParameterError

FAST = {"ensemble": False, "tile": 0}
NAMES = ("FadedRacket.PNG", "IMG_0042_mill.jpg", "portrait1923b.tif", "oma.png")


@pytest.fixture
def items(archive: Archive, tmp_path: Path) -> dict[str, int]:
    """The four photos of NAMES imported, by name."""
    folder = tmp_path / "scans"
    folder.mkdir()
    paths = [write_photo(folder / name, seed=index, size=(40, 32)) for index, name in enumerate(NAMES)]
    archive.import_paths(paths)
    return {record.original_name: record.id for record in archive.items()}


def _found(archive: Archive, query: str) -> list[str]:
    return [record.original_name for record in archive.search(query)]


def test_search_finds_words_inside_file_names(archive: Archive, items: dict[str, int]) -> None:
    assert _found(archive, "racket") == ["FadedRacket.PNG"]
    assert _found(archive, "faded") == ["FadedRacket.PNG"]
    assert _found(archive, "mill") == ["IMG_0042_mill.jpg"]
    assert _found(archive, "0042") == ["IMG_0042_mill.jpg"]
    assert _found(archive, "1923") == ["portrait1923b.tif"]
    assert _found(archive, "names:portrait") == ["portrait1923b.tif"]
    assert _found(archive, "FadedRacket") == ["FadedRacket.PNG"]  # the whole name still matches


def test_an_older_catalogue_is_upgraded_and_its_names_reindexed(archive: Archive, items: dict[str, int]) -> None:
    with archive.engine.begin() as connection:  # back to revision 0002, its index holding names as they were
        config = catalogue._alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
        connection.execute(text("UPDATE items_fts SET names = (SELECT original_name FROM items "
                                "WHERE items.id = items_fts.rowid)"))
    root = archive.root
    archive.close()
    with Archive.open(root) as upgraded:
        assert catalogue.current_revision(upgraded.engine) == catalogue.head_revision()
        assert _found(upgraded, "racket") == ["FadedRacket.PNG"]
        assert upgraded.item(items["oma.png"]).withdrawn_at is None


def test_a_withdrawn_master_is_hidden_but_kept(archive: Archive, items: dict[str, int], tmp_path: Path) -> None:
    racket = items["FadedRacket.PNG"]
    path = archive.path_of(racket)
    sha = sha256_of_file(path)
    done = archive.withdraw(racket, "duplicate of another scan")
    assert not done.already and not done.purged and done.item.withdrawn_at is not None

    assert racket not in [record.id for record in archive.items()]
    assert archive.count() == 3 and archive.count(withdrawn=True) == 1
    assert [record.id for record in archive.items(withdrawn=True)] == [racket]
    assert _found(archive, "racket") == []
    assert archive.export_csv(tmp_path / "all.csv") == 3
    assert "FadedRacket" not in (tmp_path / "all.csv").read_text()
    bag = archive.export_bagit(tmp_path / "bag")
    assert bag.items == 3
    # the file and the record stay: show, events and fixity still reach it
    assert sha256_of_file(path) == sha and archive.item(racket).sha256 == sha
    event = archive.events(racket)[-1]
    assert event.event_type == "deaccession" and event.detail["reason"] == "duplicate of another scan"
    assert event.detail["sha256"] == sha and event.detail["purged"] is False
    assert archive.verify().ok
    with pytest.raises(ParameterError, match="is withdrawn"):
        archive.derive(racket, "restore", FAST)
    again = archive.withdraw(racket, "asked twice")
    assert again.already and len(archive.events(racket, event_type="deaccession")) == 1


def test_purge_deletes_a_derivatives_file_never_a_masters(archive: Archive, items: dict[str, int]) -> None:
    master = items["oma.png"]
    with pytest.raises(ParameterError, match="masters are never deleted"):
        archive.withdraw(master, "wrong scan", purge=True)
    with pytest.raises(ParameterError, match="give the reason"):
        archive.withdraw(master, "  ")
    first = archive.derive(master, "restore", FAST).item
    second = archive.derive(first.id, "restore", {**FAST, "strength": 0.5}).item
    with pytest.raises(ParameterError, match="has derivatives of its own"):
        archive.withdraw(first.id, "too strong", purge=True)

    done = archive.withdraw(second.id, "not needed", purge=True)
    assert done.purged and done.item.purged
    assert not archive.store.exists(second.sha256)
    assert archive.item(second.id).sha256 == second.sha256  # the record of what it was stays
    assert archive.events(second.id, event_type="deaccession")[0].detail["size_bytes"] == second.size_bytes
    assert archive.item(first.id).derivative_ids == [second.id]
    assert [record.id for record in archive.items(role="derivative")] == [first.id]
    report = archive.verify()
    assert report.ok and not report.untracked  # a purged file is not "missing"
    assert archive.withdraw(first.id, "too strong", purge=True).purged  # now its only child is purged
    assert archive.store.exists(archive.item(master).sha256)


def _write_csv(path: Path, text_: str, *, bom: bool = False) -> Path:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text_.encode())
    return path


def test_csv_metadata_dry_run_then_import(archive: Archive, items: dict[str, int], tmp_path: Path) -> None:
    archive.import_paths([write_photo(tmp_path / "other" / "oma.png", seed=9, size=(40, 32))])  # a second oma.png
    csv_file = _write_csv(tmp_path / "meta.csv", (
        "file;Title;date;tags;collections\n"
        "FadedRacket.PNG;A tennis racket;1930;sport, tennis;Sport\n"
        f"{items['IMG_0042_mill.jpg']};;;;\n"
        "oma.png;Grandmother;;;\n"
        "missing.jpg;Nothing;;;\n"), bom=True)
    with pytest.raises(ParameterError, match="no column naming|needs a column"):
        archive.import_metadata_csv(_write_csv(tmp_path / "bad.csv", "title\nx\n"))
    with pytest.raises(ParameterError, match="unknown column titel"):
        archive.import_metadata_csv(_write_csv(tmp_path / "typo.csv", "id,titel\n1,x\n"))

    events_before = len(archive.events())
    plan = archive.import_metadata_csv(csv_file, dry_run=True)
    assert not plan.applied and len(archive.events()) == events_before
    assert archive.item(items["FadedRacket.PNG"]).metadata["title"] == ""
    [change] = plan.changes
    assert change.item_id == items["FadedRacket.PNG"] and change.row == 2
    assert change.fields == {"title": ("", "A tennis racket"), "date": ("", "1930")}
    assert change.add_tags == ["sport", "tennis"] and change.add_collections == ["Sport"]
    assert plan.unchanged == []  # row 3 gives the mill's id in the 'file' column: no file is called that
    reasons = dict(plan.problems)
    assert "no such item" in reasons[3] and "2 items have this name" in reasons[4] and "no such item" in reasons[5]

    by_id = _write_csv(tmp_path / "by-id.csv", f"id,title,rights\n{items['oma.png']},Grandmother,CC BY 4.0\n"
                                                f"{items['FadedRacket.PNG']},,\n")
    applied = archive.import_metadata_csv(by_id)
    assert applied.applied and applied.unchanged == [3] and not applied.problems
    record = archive.item(items["oma.png"])
    assert (record.metadata["title"], record.metadata["rights"]) == ("Grandmother", "CC BY 4.0")
    event = archive.events(record.id, event_type="metadata modification")[-1]
    assert event.detail["changes"]["title"] == {"old": "", "new": "Grandmother"}
    archive.import_metadata_csv(csv_file)
    racket = archive.item(items["FadedRacket.PNG"])
    assert racket.metadata["title"] == "A tennis racket" and racket.tags == ["sport", "tennis"]
    assert racket.collections == ["Sport"]


def test_bulk_edit_of_search_results(archive: Archive, items: dict[str, int]) -> None:
    found = [record.id for record in archive.search("mill")]
    assert found == [items["IMG_0042_mill.jpg"]]
    records = archive.edit_many([*found, items["FadedRacket.PNG"], items["FadedRacket.PNG"]],
                                metadata={"rights": "CC BY 4.0"}, add_tags=["checked"])
    assert sorted(record.id for record in records) == sorted({*found, items["FadedRacket.PNG"]})
    for record in records:
        assert record.metadata["rights"] == "CC BY 4.0" and "checked" in record.tags
        assert len(archive.events(record.id, event_type="metadata modification")) == 1
    with pytest.raises(Exception, match="no item"):
        archive.edit_many([items["oma.png"], 999], metadata={"rights": "x"})
    assert archive.item(items["oma.png"]).metadata["rights"] == ""  # all refs are checked before any edit


@pytest.mark.slow
def test_the_cli_withdraws_imports_metadata_and_bulk_edits(archive: Archive, items: dict[str, int],
                                                         tmp_path: Path) -> None:
    runner, where = CliRunner(), ["-A", str(archive.root)]
    archive.close()
    edited = runner.invoke(app, ["archive", "edit", "--search", "mill", "--set", "rights=CC0", "--add-tag", "x",
                                 *where])
    assert edited.exit_code == 0, edited.output
    assert f"item {items['IMG_0042_mill.jpg']}: rights='CC0'" in edited.output
    csv_file = _write_csv(tmp_path / "m.csv", "original_name,title\noma.png,Oma\nnope.png,No\n")
    dry = runner.invoke(app, ["archive", "import-metadata", str(csv_file), "--dry-run", *where])
    assert dry.exit_code == 1 and "would change: title: '' -> 'Oma'" in dry.output
    assert "row 3 left out" in dry.output and "nothing changed" in dry.output
    withdrawn = runner.invoke(app, ["archive", "withdraw", str(items["oma.png"]), "--reason", "blurred", *where])
    assert withdrawn.exit_code == 0 and f"item {items['oma.png']}: withdrawn" in withdrawn.output
    shown = runner.invoke(app, ["archive", "show", str(items["oma.png"]), *where])
    assert "withdrawn" in shown.output and "reason: blurred" in shown.output
    listed = runner.invoke(app, ["archive", "list", "--withdrawn", "--json", *where])
    assert [entry["id"] for entry in json.loads(listed.output)] == [items["oma.png"]]
    with Archive.open(archive.root) as reopened:
        assert reopened.item(items["oma.png"]).metadata["title"] == ""  # the dry run changed nothing


def test_search_input_is_bounded_and_searches_at_once_are_capped(archive: Archive, items: dict[str, int],
                                                                   monkeypatch) -> None:
    import threading

    from patina.archive import search as search_module
    from patina.core.errors import BusyError

    with pytest.raises(ParameterError, match="at most 500 characters"):
        archive.search("a" * 501)
    with pytest.raises(ParameterError, match="at most 12 words"):
        archive.search(" ".join(["mill"] * 13))
    assert _found(archive, " ".join(["mill"] * 12)) == ["IMG_0042_mill.jpg"]
    monkeypatch.setattr(search_module, "SEARCH_WAIT", 0.05)
    slots = threading.BoundedSemaphore(1)
    monkeypatch.setattr(search_module, "_SLOTS", slots)
    slots.acquire()  # one search already running, the cap at one
    try:
        with pytest.raises(BusyError, match="try again"):
            archive.search("mill")
    finally:
        slots.release()
    assert _found(archive, "mill") == ["IMG_0042_mill.jpg"]


def test_a_search_that_runs_too_long_is_stopped_and_the_archive_goes_on(archive: Archive,
                                                                        items: dict[str, int]) -> None:
    """The query's time limit: a statement still running at the deadline is interrupted (BusyError, the
    connection usable again); the next search, and searches after the limit is lifted, work."""
    from sqlalchemy import text

    from patina.archive.search import time_limit
    from patina.core.errors import BusyError

    slow = text("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) "
                "SELECT count(*) FROM n")
    with archive.session() as session:
        with pytest.raises(BusyError, match="longer than 0.2 s"), time_limit(session, 0.2):
            session.execute(slow).scalar()
        with time_limit(session, 5.0):
            assert session.execute(text("SELECT 1")).scalar() == 1
    assert _found(archive, "mill") == ["IMG_0042_mill.jpg"]


@pytest.mark.slow
def test_users_are_managed_from_the_cli_and_only_their_token_hash_is_kept(archive: Archive) -> None:
    runner, where = CliRunner(), ["-A", str(archive.root)]
    added = runner.invoke(app, ["archive", "user", "add", "anna", "--role", "viewer", *where])
    assert added.exit_code == 0, added.output
    token = added.output.strip().rsplit(" ", 1)[-1]
    assert archive.user_with_token(token).name == "anna"
    assert token.encode() not in (archive.root / "catalogue.sqlite").read_bytes()
    listed = runner.invoke(app, ["archive", "user", "list", *where])
    assert "anna" in listed.output and "viewer" in listed.output
    twice = runner.invoke(app, ["archive", "user", "add", "anna", *where])  # main() makes these exit status 2
    assert isinstance(twice.exception, ParameterError) and "already" in str(twice.exception)
    boss = runner.invoke(app, ["archive", "user", "add", "x", "--role", "boss", *where])
    assert isinstance(boss.exception, ParameterError) and "role must be one of" in str(boss.exception)
    renewed = runner.invoke(app, ["archive", "user", "token", "anna", *where])
    assert archive.user_with_token(token) is None
    assert archive.user_with_token(renewed.output.strip().rsplit(" ", 1)[-1]).role == "viewer"
    assert runner.invoke(app, ["archive", "user", "remove", "anna", *where]).exit_code == 0
    assert archive.users() == []
