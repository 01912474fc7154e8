"""`patina archive ...`: the historical archive from the command line (thin wrappers over patina.archive)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from patina.cli.terminal import console as say
from patina.cli.terminal import error_console, show_progress

app = typer.Typer(help="The archive: immutable masters, derivatives with provenance, search, fixity, export.",
                  no_args_is_help=True)
console = Console(highlight=False)
"""What a command was asked to show (items, search results, audits): printed even with --quiet; summaries and
per-item lines go to :func:`~patina.cli.terminal.console` (``say()``), errors to ``error_console()``."""

ArchiveDir = Annotated[Path, typer.Option(
    "-A", "--archive", envvar="PATINA_ARCHIVE", help="The archive folder (or set PATINA_ARCHIVE).")]
Settings = Annotated[list[str] | None, typer.Option(
    "--set", help="FIELD=VALUE for a Dublin Core field (title, date, creator, place, subject, description, "
                  "rights, source); repeatable.", show_default=False)]


def _open(root: Path):  # noqa: ANN202 - Archive
    from patina.archive import Archive

    return Archive.open(root)


def _settings(pairs: list[str] | None) -> dict[str, str]:
    from patina.core.errors import ParameterError

    found = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ParameterError(f"--set expects FIELD=VALUE, got {pair!r}")
        found[name.strip()] = value
    return found


def _progress():  # noqa: ANN202 - rich Progress
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=say(), transient=True, disable=not show_progress())


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def _items_table(records: list) -> Table:
    table = Table("id", "role", "from", "size", "name / title", "collections", "tags", "sha256")
    for r in records:
        table.add_row(str(r.id), r.role, str(r.parent_id or ""), f"{r.width}x{r.height}", escape(r.label),
                      escape(", ".join(r.collections)), escape(", ".join(r.tags)), r.sha256[:12])
    return table


@app.command("init")
def init(
    folder: Annotated[Path, typer.Argument(help="Folder for the new archive (created if missing).")],
    db: Annotated[str | None, typer.Option(
        help="Database URL, e.g. postgresql+psycopg://user@host/patina; default: SQLite inside the folder.")] = None,
) -> None:
    """Create an archive: a SQLite catalogue (or the --db database) and a content-addressed file store."""
    from patina.archive import Archive

    with Archive.create(folder, database_url=db) as archive:
        say().print(f"created archive [bold]{escape(str(folder))}[/bold] ({archive.engine.dialect.name} catalogue)")


@app.command("import")
def import_(
    paths: Annotated[list[Path], typer.Argument(help="Image files and folders (searched recursively).")],
    archive_dir: ArchiveDir = Path("."),
    collection: Annotated[str | None, typer.Option(help="Add the items to this collection.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Add this tag; repeatable.")] = None,
    settings: Settings = None,
) -> None:
    """Import masters. Files are deduplicated by SHA-256; names, folders and embedded EXIF/IPTC/XMP are
    recorded. Re-running an interrupted import resumes it. Exit status 1 if any file failed."""
    overrides = _settings(settings)
    with _open(archive_dir) as archive, _progress() as progress:
        task = progress.add_task("importing", total=None)

        def advance(done: int, total: int, path: Path) -> None:
            progress.update(task, completed=done, total=total, description=f"importing {escape(path.name)}")

        report = archive.import_paths(paths, collection=collection, tags=tag or [], metadata=overrides,
                                      on_file=advance)
    for path, reason in report.failed:
        error_console().print(f"[red]failed[/red] {escape(path)}: {escape(reason)}")
    say().print(f"{len(report.imported)} imported, {len(report.duplicates)} already in the archive, "
                  f"{len(report.failed)} failed")
    if report.failed:
        raise typer.Exit(1)


@app.command("list")
def list_items(
    archive_dir: ArchiveDir = Path("."),
    role: Annotated[str | None, typer.Option(help="master or derivative.")] = None,
    collection: Annotated[str | None, typer.Option()] = None,
    tag: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(help="At most this many items.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    withdrawn: Annotated[bool, typer.Option("--withdrawn", help="List the withdrawn items instead.")] = False,
) -> None:
    """List items in id order (those in use, or the withdrawn ones)."""
    with _open(archive_dir) as archive:
        records = archive.items(role=role, collection=collection, tag=tag, limit=limit, withdrawn=withdrawn)
    if as_json:
        _print_json([r.to_dict() for r in records])
    else:
        console.print(_items_table(records))


@app.command("show")
def show(
    item: Annotated[str, typer.Argument(help="Item id or sha256 prefix.")],
    archive_dir: ArchiveDir = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show an item: file facts, description, origins, derivatives and its provenance events."""
    with _open(archive_dir) as archive:
        record = archive.item(item)
        events = archive.events(record.id)
        path = archive.store.path(record.sha256)
    if as_json:
        _print_json({**record.to_dict(), "path": str(path), "events": [e.to_dict() for e in events]})
        return
    parent = f" of {record.parent_id}" if record.parent_id else ""
    console.print(f"[bold]item {record.id}[/bold] ({record.role}{parent})"
                  f"  {record.width}x{record.height} {record.media_type}, {record.size_bytes} bytes")
    if record.withdrawn_at is not None:
        console.print(f"[yellow]withdrawn[/yellow] {record.withdrawn_at:%Y-%m-%d %H:%M:%S}"
                      + (" (file deleted)" if record.purged else " (file kept)"))
    console.print(f"sha256 {record.sha256}\nfile   {escape(str(path))}")
    for name, value in record.metadata.items():
        if value:
            console.print(f"{name:12} {escape(value)}")
    for label, values in (("collections", record.collections), ("tags", record.tags), ("origins", record.origins),
                          ("derivatives", [str(i) for i in record.derivative_ids])):
        if values:
            console.print(f"{label:12} {escape(', '.join(values))}")
    for event in events:
        console.print(f"  {event.occurred_at:%Y-%m-%d %H:%M:%S}  {event.event_type:22} {event.outcome}")
        if event.event_type == "derivation":
            detail = event.detail
            settings = " ".join(f"{k}={v}" for k, v in detail["parameters"].items())
            models = ", ".join(f"{m['name']} ({m['sha256'][:12]})" for m in detail["models"])
            console.print(f"      {detail['pipeline']} {escape(settings)} seed={detail['seed']}; "
                          f"models {escape(models)}")
        elif event.event_type == "deaccession":
            console.print(f"      reason: {escape(event.detail['reason'])}")


@app.command("edit")
def edit(
    items: Annotated[list[str] | None, typer.Argument(help="Item ids or sha256 prefixes.", show_default=False)] = None,
    archive_dir: ArchiveDir = Path("."),
    query: Annotated[str | None, typer.Option(
        "--search", help="Also edit every item this search finds (see `patina archive search`).")] = None,
    limit: Annotated[int, typer.Option(help="With --search: at most this many results.")] = 1000,
    settings: Settings = None,
    add_tag: Annotated[list[str] | None, typer.Option(help="Add a tag; repeatable.")] = None,
    remove_tag: Annotated[list[str] | None, typer.Option(help="Remove a tag; repeatable.")] = None,
    add_to: Annotated[list[str] | None, typer.Option(help="Add to a collection; repeatable.")] = None,
    remove_from: Annotated[list[str] | None, typer.Option(help="Remove from a collection; repeatable.")] = None,
) -> None:
    """Edit the description, tags and collections of items: those named, and those a search finds (bulk edit).
    Each changed item gets a 'metadata modification' event; the files themselves are never changed.

    Example: patina archive edit --search "mill 1923" --set rights="CC BY 4.0" --add-tag mill"""
    with _open(archive_dir) as archive:
        records = archive.edit_many(items or [], query=query or "", limit=limit, metadata=_settings(settings),
                                    add_tags=add_tag or [],
                                    remove_tags=remove_tag or [], add_collections=add_to or [],
                                    remove_collections=remove_from or [])
    for record in records:
        say().print(f"item {record.id}: " + escape(", ".join(f"{k}={v!r}" for k, v in record.metadata.items()
                                                              if v)))


@app.command("import-metadata")
def import_metadata(
    csv_file: Annotated[Path, typer.Argument(help="CSV file: a column id, original_name or file naming the "
                                                  "items, then any of title, date, creator, place, subject, "
                                                  "description, rights, source, tags, collections.")],
    archive_dir: ArchiveDir = Path("."),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; change nothing.")] = False,
) -> None:
    """Describe items from a spreadsheet (CSV; Excel's UTF-8 and ';' files too): each row's non-empty cells
    replace the item's fields, its tags and collections are added. Rows that match no item, or several, are
    listed and left out; exit status 1 if there were any."""
    with _open(archive_dir) as archive:
        plan = archive.import_metadata_csv(csv_file, dry_run=dry_run)
    verb = "would change" if dry_run else "changed"
    for change in plan.changes:
        parts = [f"{name}: {old!r} -> {new!r}" for name, (old, new) in change.fields.items()]
        parts += [f"+tag {tag}" for tag in change.add_tags] + [f"+collection {c}" for c in change.add_collections]
        console.print(f"row {change.row}: item {change.item_id} ({escape(change.label)}) {verb}: "
                      + escape("; ".join(parts)))
    for row, reason in plan.problems:
        error_console().print(f"[yellow]row {row} left out[/yellow]: {escape(reason)}")
    say().print(f"{len(plan.changes)} items {verb}, {len(plan.unchanged)} rows already as given, "
                f"{len(plan.problems)} rows left out" + (" (dry run: nothing changed)" if dry_run else ""))
    if plan.problems:
        raise typer.Exit(1)


@app.command("withdraw")
def withdraw(
    items: Annotated[list[str], typer.Argument(help="Item ids or sha256 prefixes.", show_default=False)],
    reason: Annotated[str, typer.Option(help="Why (recorded in the deaccession event).", show_default=False)],
    archive_dir: ArchiveDir = Path("."),
    purge: Annotated[bool, typer.Option(
        "--purge", help="Also delete the files of withdrawn derivatives (their sha256 stays recorded). Masters' "
                        "files are never deleted.")] = False,
) -> None:
    """Withdraw (deaccession) items: hidden from listings, search, exports and the gallery; the file is kept
    (`show` and `verify` still reach it); a deaccession event records the reason."""
    with _open(archive_dir) as archive:
        for ref in items:
            done = archive.withdraw(ref, reason, purge=purge)
            state = "already withdrawn" if done.already and not done.purged else "withdrawn"
            say().print(f"item {done.item.id}: {state}" + (", file deleted" if done.purged else ""))


@app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="Words (prefix match), \"a phrase\", or field:word (title:, creator:, "
                                              "date:, place:, subject:, tags:, collections:, names:, ...).")],
    archive_dir: ArchiveDir = Path("."),
    limit: Annotated[int, typer.Option(help="At most this many results.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Search descriptions, original names, tags and collections, best matches first."""
    with _open(archive_dir) as archive:
        records = archive.search(query, limit=limit)
    if as_json:
        _print_json([r.to_dict() for r in records])
    elif records:
        console.print(_items_table(records))
    else:
        console.print("no matches")


@app.command("derive")
def derive(
    items: Annotated[list[str] | None, typer.Argument(help="Item ids or sha256 prefixes.", show_default=False)] = None,
    archive_dir: ArchiveDir = Path("."),
    pipeline: Annotated[str, typer.Option("--pipeline", "-p", help="Pipeline to run: restore.")] = "restore",
    param: Annotated[list[str] | None, typer.Option(
        "--param", help="NAME=VALUE pipeline parameter (JSON values), e.g. strength=0.8; repeatable.")] = None,
    collection: Annotated[str | None, typer.Option(help="Also run on every master of this collection.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed, recorded for reproduction.")] = 0,
    output_format: Annotated[str, typer.Option("--format", help="png, tiff, jpeg or webp.")] = "png",
    device: Annotated[str, typer.Option(help="cpu, cuda, ... (recorded; CPU runs reproduce bit for bit).")] = "cpu",
    again: Annotated[bool, typer.Option("--again", help="Run even if the same request was done before.")] = False,
) -> None:
    """Run a pipeline on items and store the results as derivatives with full provenance.

    A request already carried out on an item (same pipeline, parameters, seed, format) is skipped, so
    re-running an interrupted batch resumes it. Exit status 1 if any item failed.
    """
    from patina.core.errors import failure_reason
    from patina.pipelines.recipes import get_recipe, parse_parameter

    parameters = dict(parse_parameter(p) for p in param or [])
    get_recipe(pipeline).parameters(parameters)  # fail before the batch on a bad name
    failed = 0
    with _open(archive_dir) as archive:
        refs = list(items or []) + ([r.id for r in archive.items(role="master", collection=collection)]
                                    if collection else [])
        if not refs:
            raise typer.BadParameter("give item ids or --collection")
        with _progress() as progress:
            task = progress.add_task(f"{pipeline}", total=len(refs))
            for ref in refs:
                try:
                    result = archive.derive(ref, pipeline, parameters, seed=seed, output_format=output_format,
                                            device=device, again=again)
                    state = "already done" if result.reused else "derived"
                    progress.console.print(f"item {ref} -> derivative {result.item.id} ({state})")
                except Exception as exc:  # noqa: BLE001 - one item's failure must not end the batch
                    failed += 1
                    error_console().print(f"[red]failed[/red] item {ref}: {escape(failure_reason(exc))}")
                progress.advance(task)
    if failed:
        raise typer.Exit(1)


@app.command("reproduce")
def reproduce(
    item: Annotated[str, typer.Argument(help="Derivative id or sha256 prefix.")],
    archive_dir: ArchiveDir = Path("."),
    device: Annotated[str | None, typer.Option(help="Run on this device instead of the recorded one.")] = None,
) -> None:
    """Re-run the recorded event that made a derivative and report whether the bytes match (exit 1 if not)."""
    with _open(archive_dir) as archive:
        report = archive.reproduce(item, device=device)
    for note in report.notes:
        say().print(f"[yellow]note[/yellow] {escape(note)}")
    if report.identical:
        console.print(f"identical: derivative {report.derivative_id} reproduced byte for byte (sha256 "
                      f"{report.recorded_sha256[:12]})")
        return
    console.print(f"[red]different[/red]: recorded {report.recorded_sha256[:12]}, reproduced "
                  f"{report.reproduced_sha256[:12]}; max pixel difference {report.max_abs_difference}, "
                  f"PSNR {report.psnr}")
    raise typer.Exit(1)


@app.command("verify")
def verify(
    items: Annotated[list[str] | None, typer.Argument(help="Only these items (default: all).",
                                                         show_default=False)] = None,
    archive_dir: ArchiveDir = Path("."),
) -> None:
    """Fixity audit: re-hash every stored file; report missing or changed files and anything in the store the
    catalogue does not account for (untracked objects, stray files); exit 1 on any of them."""
    with _open(archive_dir) as archive, _progress() as progress:
        task = progress.add_task("verifying", total=None)
        report = archive.verify(items=items or None,
                                on_item=lambda done, total: progress.update(task, completed=done, total=total))
    for problem in report.problems:
        colour = "yellow" if problem.problem == "writable" else "red"
        console.print(f"[{colour}]{problem.problem}[/{colour}] item {problem.item_id} "
                      f"({problem.sha256[:12]}): {escape(problem.detail)}")
    for name in report.untracked:
        what = f"object {name[:12]}" if len(name) == 64 and "/" not in name else f"file objects/{escape(name)}"
        console.print(f"[yellow]untracked[/yellow] {what} is in the store but not catalogued")
    console.print(f"{report.checked} files checked: "
                  + ("all intact" if report.ok else f"{len(report.of_kind('missing'))} missing, "
                                                     f"{len(report.of_kind('changed'))} changed")
                  + (f", {len(report.untracked)} untracked" if report.untracked else ""))
    if not report.clean:
        raise typer.Exit(1)


@app.command("export")
def export(
    archive_dir: ArchiveDir = Path("."),
    bagit: Annotated[Path | None, typer.Option(help="Write a BagIt bag to this new folder.")] = None,
    csv: Annotated[Path | None, typer.Option(help="Write the catalogue as CSV to this file.")] = None,
    iiif: Annotated[Path | None, typer.Option(help="Write an IIIF Presentation 3 manifest to this file.")] = None,
    item: Annotated[list[str] | None, typer.Option(help="Only this master (and its derivatives); repeatable.")] = None,
    collection: Annotated[str | None, typer.Option(help="Only the masters of this collection.")] = None,
    derivatives: Annotated[bool, typer.Option("--derivatives/--no-derivatives",
                                              help="Include the derivatives of the chosen masters.")] = True,
    base_url: Annotated[str | None, typer.Option(
        help="URL the images will be served under, for the IIIF manifest (default: file:// URLs).")] = None,
) -> None:
    """Export items: a BagIt bag (sha256 + sha512 manifests, metadata JSON/CSV, IIIF manifest), a CSV, or an
    IIIF manifest. By default every master with its derivatives."""
    if bagit is None and csv is None and iiif is None:
        raise typer.BadParameter("choose at least one of --bagit, --csv, --iiif")
    selection: dict[str, Any] = {"items": item or None, "collection": collection, "derivatives": derivatives}
    with _open(archive_dir) as archive:
        if bagit is not None:
            report = archive.export_bagit(bagit, base_url=base_url, **selection)
            say().print(f"bag {escape(str(report.path))}: {report.items} files, {report.bytes} bytes, valid")
        if csv is not None:
            rows = archive.export_csv(csv, **selection)
            say().print(f"csv {escape(str(csv))}: {rows} rows")
        if iiif is not None:
            manifest = archive.iiif_manifest(base_url=base_url, **selection)
            iiif.write_text(json.dumps(manifest, indent=2) + "\n")
            say().print(f"iiif {escape(str(iiif))}: {len(manifest.get('items', []))} canvases")


@app.command("worker")
def worker(
    archive_dir: ArchiveDir = Path("."),
    workers: Annotated[int, typer.Option(help="Worker threads in this process (Ray tasks with --ray).")] = 1,
    device: Annotated[str, typer.Option(help="cpu, cuda, ...")] = "cpu",
    until_empty: Annotated[bool, typer.Option("--until-empty", help="Stop when the queue is empty.")] = False,
    ray: Annotated[bool, typer.Option("--ray", help="Run the queued jobs as Ray tasks (then stop).")] = False,
    ray_address: Annotated[str | None, typer.Option(
        help="Ray cluster address ('auto': the cluster this machine is in); default a local Ray instance.")] = None,
) -> None:
    """Carry out queued jobs (submitted through the service or the API). Start several workers, or use
    --ray, to scale out: all take from the same durable queue, and jobs left by a dead worker resume.
    Across machines the archive folder must be shared and the catalogue be PostgreSQL."""
    import time

    from patina.batch import WorkerPool

    def done(job) -> None:  # noqa: ANN001 - JobRecord
        console.print(f"job {job.id} ({job.pipeline} on item {job.item_id}): {job.status} {escape(job.message)}")

    if ray:
        from patina.batch.ray_runner import run_on_ray

        for job in run_on_ray(archive_dir, tasks=workers, device=device, address=ray_address):
            done(job)
        return
    with _open(archive_dir) as archive:
        pool = WorkerPool(archive, workers=workers, device=device, on_job=done)
        if until_empty:
            say().print(f"{pool.run_until_empty()} jobs run")
            return
        resumed = pool.start()
        say().print(f"working (Ctrl-C to stop); {len(resumed)} abandoned jobs re-queued")
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pool.stop()


users_app = typer.Typer(help="Who may use the service (`patina serve`): users with a role and a token of their own.",
                        no_args_is_help=True)
app.add_typer(users_app, name="user")
RoleOption = Annotated[str, typer.Option(help="viewer (look, search, download), editor (+ upload, describe, run "
                                              "pipelines) or admin (+ withdraw items).")]


@users_app.command("add")
def add_user(name: Annotated[str, typer.Argument(help="The user's name.")], role: RoleOption = "editor",
             archive_dir: ArchiveDir = Path(".")) -> None:
    """Add a user; their token is printed once (only its sha256 is kept): give it to them."""
    with _open(archive_dir) as archive:
        user, token = archive.add_user(name, role)
    typer.echo(f"user {user.name} ({user.role}) added; their token (shown once): {token}")


@users_app.command("list")
def list_users(archive_dir: ArchiveDir = Path(".")) -> None:
    """The users, their roles and since when."""
    with _open(archive_dir) as archive:
        for user in archive.users():
            console.print(f"{escape(user.name):30} {user.role:7} since {user.created_at:%Y-%m-%d}")


@users_app.command("token")
def new_token(name: Annotated[str, typer.Argument(help="The user's name.")],
              archive_dir: ArchiveDir = Path(".")) -> None:
    """Give a user a new token (printed once); the old one stops working."""
    with _open(archive_dir) as archive:
        token = archive.new_user_token(name)
    typer.echo(f"new token for {name} (shown once): {token}")


@users_app.command("remove")
def remove_user(name: Annotated[str, typer.Argument(help="The user's name.")],
                archive_dir: ArchiveDir = Path(".")) -> None:
    """Remove a user: their token stops working."""
    with _open(archive_dir) as archive:
        archive.remove_user(name)
    say().print(f"user {escape(name)} removed")
