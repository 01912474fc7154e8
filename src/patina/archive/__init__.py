"""The historical archive: immutable masters in a content-addressed store, a SQL catalogue with Dublin Core
descriptions, derivatives that record exactly how they were made, search, fixity audits and export.

    from patina.archive import Archive
    archive = Archive.create("family-archive")          # or Archive.open(...)
    report = archive.import_paths(["scans/"], collection="Grandparents")
    derived = archive.derive(report.imported[0], "restore", {"strength": 0.8})
    assert archive.reproduce(derived.item.id).identical
    archive.verify(); archive.export_bagit("bag/")
"""

from patina.archive.archive import Archive
from patina.archive.derive import DeriveResult, ReproduceReport
from patina.archive.export import BagReport
from patina.archive.fixity import FixityProblem, FixityReport
from patina.archive.ingest import ImportReport
from patina.archive.records import EventRecord, ItemRecord
from patina.archive.schema import DERIVATIVE, DUBLIN_CORE_FIELDS, MASTER

__all__ = [
    "DERIVATIVE",
    "DUBLIN_CORE_FIELDS",
    "MASTER",
    "Archive",
    "BagReport",
    "DeriveResult",
    "EventRecord",
    "FixityProblem",
    "FixityReport",
    "ImportReport",
    "ItemRecord",
    "ReproduceReport",
]
