"""Embedded metadata: EXIF, IPTC and XMP read into Dublin Core on import, XMP written into derivatives.

Reading prefers XMP, then IPTC, then EXIF for each Dublin Core field. Writing gives a derivative the
Dublin Core of its source, an XMP Media Management history of how it was made, a link to the file it
was derived from, and the IPTC DigitalSourceType that discloses AI processing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyexiv2

from patina.archive.schema import DUBLIN_CORE_FIELDS

PATINA_NS = "https://patina.dev/ns/provenance/1.0/"
pyexiv2.set_log_level(4)  # exiv2 would print warnings about odd files to stderr; we record errors ourselves
pyexiv2.registerNs(PATINA_NS, "patina")

AI_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
"""IPTC DigitalSourceType of a photograph altered by a trained model (GAN restoration, upscaling, ...)."""

MAX_EMBEDDED_VALUE = 2000  # characters kept of one raw metadata value
_SKIPPED_PREFIXES = ("Exif.Thumbnail", "Exif.Photo.MakerNote", "Exif.MakerNote", "Xmp.xmpMM.History")

# (field, candidates in order of preference): XMP, then IPTC, then EXIF
_SOURCES: dict[str, tuple[str, ...]] = {
    "title": ("Xmp.dc.title", "Iptc.Application2.ObjectName", "Exif.Image.XPTitle"),
    "date": ("Xmp.photoshop.DateCreated", "Xmp.xmp.CreateDate", "Xmp.dc.date", "Iptc.Application2.DateCreated",
             "Exif.Photo.DateTimeOriginal", "Exif.Image.DateTime"),
    "creator": ("Xmp.dc.creator", "Iptc.Application2.Byline", "Exif.Image.Artist"),
    "subject": ("Xmp.dc.subject", "Iptc.Application2.Keywords", "Exif.Image.XPKeywords"),
    "description": ("Xmp.dc.description", "Iptc.Application2.Caption", "Exif.Image.ImageDescription"),
    "rights": ("Xmp.dc.rights", "Iptc.Application2.Copyright", "Exif.Image.Copyright"),
    "source": ("Xmp.dc.source", "Xmp.photoshop.Source", "Iptc.Application2.Source"),
}
_PLACE_PARTS = (
    ("Xmp.iptc.Location", "Iptc.Application2.SubLocation"),
    ("Xmp.photoshop.City", "Iptc.Application2.City"),
    ("Xmp.photoshop.State", "Iptc.Application2.ProvinceState"),
    ("Xmp.photoshop.Country", "Iptc.Application2.CountryName"),
)


def read_embedded(path: str | Path) -> dict[str, Any]:
    """Every EXIF, IPTC and XMP value of a file as text (binary blobs skipped, long values cut).

    A file whose metadata cannot be parsed gives ``{"error": reason}``: the file is still an image.
    """
    try:
        with pyexiv2.Image(str(path)) as image:
            raw = {**image.read_exif(), **image.read_iptc(), **image.read_xmp()}
    except Exception as exc:  # noqa: BLE001 - exiv2 raises plain Exceptions for unreadable metadata
        return {"error": f"metadata not readable: {exc}"}
    return {key: _clip(value) for key, value in raw.items() if not key.startswith(_SKIPPED_PREFIXES)}


def dublin_core(embedded: dict[str, Any]) -> dict[str, str]:
    """The Dublin Core fields found in ``embedded`` (from :func:`read_embedded`); missing fields are ''."""
    found = {name: "" for name in DUBLIN_CORE_FIELDS}
    for name, keys in _SOURCES.items():
        for key in keys:
            text = _as_text(embedded.get(key), separator="; " if name in ("subject", "creator") else " ")
            if text:
                found[name] = _exif_date(text) if key.startswith("Exif.") and name == "date" else text
                break
    found["place"] = ", ".join(
        text for keys in _PLACE_PARTS if (text := _first_text(embedded, keys))
    ) or _gps_place(embedded)
    return found


def _first_text(embedded: dict[str, Any], keys: Iterable[str]) -> str:
    for key in keys:
        if text := _as_text(embedded.get(key)):
            return text
    return ""


def _as_text(value: Any, separator: str = " ") -> str:
    """A metadata value as one line of text: lang-alt dicts give their default, lists are joined."""
    if value is None:
        return ""
    if isinstance(value, dict):
        value = value.get('lang="x-default"') or next(iter(value.values()), "")
    if isinstance(value, list):
        return separator.join(part.strip() for part in map(str, value) if part.strip())
    return str(value).replace("\x00", "").strip()


def _exif_date(text: str) -> str:
    """'2001:02:03 04:05:06' (EXIF) -> '2001-02-03T04:05:06' (ISO 8601); anything else unchanged."""
    if len(text) >= 10 and text[4] == ":" and text[7] == ":":
        date = text[:10].replace(":", "-")
        time = text[11:19].strip()
        return f"{date}T{time}" if time else date
    return text


def _gps_place(embedded: dict[str, Any]) -> str:
    """'lat, lon' in decimal degrees from EXIF GPS tags, or ''."""
    try:
        lat = _degrees(embedded["Exif.GPSInfo.GPSLatitude"], embedded.get("Exif.GPSInfo.GPSLatitudeRef", "N"))
        lon = _degrees(embedded["Exif.GPSInfo.GPSLongitude"], embedded.get("Exif.GPSInfo.GPSLongitudeRef", "E"))
    except (KeyError, ValueError, ZeroDivisionError):
        return ""
    return f"{lat:.6f}, {lon:.6f}"


def _degrees(value: str, ref: str) -> float:
    parts = [float(n) / float(d) for n, d in (part.split("/") for part in str(value).split())]
    degrees = sum(part / 60**i for i, part in enumerate(parts))
    return -degrees if ref.strip().upper() in ("S", "W") else degrees


def _clip(value: Any) -> Any:
    if isinstance(value, str):
        return value[:MAX_EMBEDDED_VALUE]
    if isinstance(value, list):
        return [_clip(part) for part in value[:100]]
    if isinstance(value, dict):
        return {str(k): _clip(v) for k, v in list(value.items())[:100]}
    return str(value)[:MAX_EMBEDDED_VALUE]


# -- writing ---------------------------------------------------------------------------------------
def derivative_xmp(
    *, dublin_core_fields: dict[str, str], history: list[dict[str, Any]], derived_from: str, master: str,
    software: str,
) -> dict[str, Any]:
    """The XMP of a derivative (pyexiv2 keys): source's Dublin Core, history, links and AI disclosure.

    ``history`` lists the derivation events from the master to this file, oldest first, each with
    ``uuid``, ``when`` (ISO 8601), ``pipeline`` and ``parameters``; ``derived_from`` and ``master``
    are sha256 digests of the direct source and of the master.
    """
    xmp: dict[str, Any] = {
        "Xmp.iptcExt.DigitalSourceType": AI_SOURCE_TYPE,
        "Xmp.xmp.CreatorTool": software,
        "Xmp.xmpMM.OriginalDocumentID": f"sha256:{master}",
        "Xmp.xmpMM.DerivedFrom/stRef:documentID": f"sha256:{derived_from}",
        "Xmp.xmpMM.History": 'type="Seq"',
    }
    for key, name in (("title", "title"), ("description", "description"), ("rights", "rights")):
        if dublin_core_fields.get(name):
            xmp[f"Xmp.dc.{key}"] = {'lang="x-default"': dublin_core_fields[name]}
    if dublin_core_fields.get("creator"):
        xmp["Xmp.dc.creator"] = [part.strip() for part in dublin_core_fields["creator"].split(";") if part.strip()]
    if dublin_core_fields.get("subject"):
        xmp["Xmp.dc.subject"] = [part.strip() for part in dublin_core_fields["subject"].split(";") if part.strip()]
    for name in ("date", "source"):
        if dublin_core_fields.get(name):
            xmp[f"Xmp.dc.{name}"] = dublin_core_fields[name]
    if dublin_core_fields.get("place"):
        xmp["Xmp.dc.coverage"] = dublin_core_fields["place"]
    for index, step in enumerate(history, start=1):
        prefix = f"Xmp.xmpMM.History[{index}]/stEvt:"
        xmp[prefix + "action"] = "derived"
        xmp[prefix + "instanceID"] = f"uuid:{step['uuid']}"
        xmp[prefix + "when"] = step["when"]
        xmp[prefix + "softwareAgent"] = software
        xmp[prefix + "parameters"] = json.dumps({"pipeline": step["pipeline"], **step["parameters"]},
                                                sort_keys=True)
    xmp["Xmp.patina.Provenance"] = json.dumps(history, sort_keys=True)
    return xmp


def embed_xmp(path: str | Path, xmp: dict[str, Any]) -> None:
    """Write ``xmp`` into the file at ``path`` (our own freshly written derivative, never a master)."""
    with pyexiv2.Image(str(path)) as image:
        image.modify_xmp(xmp)


def read_xmp(path: str | Path) -> dict[str, Any]:
    """The XMP of a file as pyexiv2 keys and values."""
    with pyexiv2.Image(str(path)) as image:
        return image.read_xmp()
