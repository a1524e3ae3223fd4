"""Reading the files agencies publish into a table (fields + rows) for the datastore.

Every reader takes the whole file as bytes and either returns a ``Table`` or raises
``InvalidFile`` with a message a clerk can act on ("row 7 has 4 values, the header has 5").
Nothing here touches the database, so a resource is parsed completely before anything is saved.
"""

import csv
import io
import json
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import charset_normalizer
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from django.utils.translation import gettext as _

from .errors import InvalidFile
from .models import Resource

Format = Resource.Format

EXTENSIONS = {
    ".csv": Format.CSV, ".json": Format.JSON, ".xml": Format.XML, ".xlsx": Format.XLSX, ".ods": Format.ODS,
    ".geojson": Format.GEOJSON, ".kml": Format.KML, ".rdf": Format.RDF, ".ttl": Format.RDF,
    ".jsonld": Format.RDF, ".pdf": Format.PDF,
}  # fmt: skip
MIMETYPES = {
    Format.CSV: "text/csv", Format.JSON: "application/json", Format.XML: "application/xml",
    Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    Format.ODS: "application/vnd.oasis.opendocument.spreadsheet", Format.GEOJSON: "application/geo+json",
    Format.KML: "application/vnd.google-earth.kml+xml", Format.RDF: "application/rdf+xml",
    Format.PDF: "application/pdf", Format.OTHER: "application/octet-stream",
}  # fmt: skip
TABULAR = {Format.CSV, Format.JSON, Format.XML, Format.XLSX, Format.ODS, Format.GEOJSON, Format.KML}
MAX_PREVIEW_GEOMETRIES = 2_000


@dataclass
class Table:
    fields: list[dict]  # [{"id": name, "type": "int"|"numeric"|"text"|"bool"}]
    rows: list[dict]
    encoding: str = ""
    geometries: list[dict] = field(default_factory=list)


def detect_format(filename: str, content: bytes, declared: str = "") -> str:
    """The declared format if given, else the extension, else a sniff of the first bytes."""
    if declared:
        for choice in Format:
            if choice.value.lower() == declared.strip().lower():
                return choice.value
        raise InvalidFile(_("Unknown format %(format)s.") % {"format": declared})
    suffix = PurePosixPath(filename.lower().split("?", 1)[0]).suffix
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    head = content[:512].lstrip()
    if head.startswith(b"%PDF"):
        return Format.PDF
    if head.startswith(b"PK"):
        try:
            names = zipfile.ZipFile(io.BytesIO(content)).namelist()
        except zipfile.BadZipFile:
            return Format.OTHER
        return (
            Format.XLSX
            if "xl/workbook.xml" in names
            else (Format.ODS if "content.xml" in names else Format.OTHER)
        )
    if head.startswith((b"{", b"[")):
        return Format.GEOJSON if b'"FeatureCollection"' in content[:2048] else Format.JSON
    if head.startswith(b"<"):
        return Format.KML if b"<kml" in content[:1024] else Format.XML
    return Format.CSV


def decode_text(content: bytes) -> tuple[str, str]:
    """Text and the encoding it was in. UTF-8 first (with or without BOM); otherwise
    charset-normalizer's best guess, where Big5 (the encoding of many older Taiwanese files)
    is read as cp950, Big5 plus Microsoft's additions, which such files usually are."""
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    try:
        return content.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    match = charset_normalizer.from_bytes(content, cp_isolation=["big5", "cp950", "utf_16", "gb18030"]).best()
    if match is None:
        raise InvalidFile(
            _("The file's text encoding could not be detected; save it as UTF-8 and upload it again.")
        )
    encoding = match.encoding
    if encoding in {"big5", "cp950", "big5hkscs"}:
        return content.decode("cp950", errors="strict"), "Big5"
    return str(match), encoding.upper().replace("_", "-")


# --- values and types ---------------------------------------------------------------------------


def _number(value: str):
    text = value.strip().replace(",", "")
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    number = float(text)  # raises ValueError for text
    if math.isnan(number) or math.isinf(number):
        raise ValueError(value)
    return number


def typed_table(header: list[str], raw_rows: list[list], *, encoding: str = "", geometries=None) -> Table:
    """Infer each column's type from its values (int, numeric, bool or text) and convert."""
    names = _field_names(header)
    columns = list(zip(*raw_rows, strict=True)) if raw_rows else [[] for _ in names]
    types = [_column_type(column) for column in columns]
    rows = []
    for raw in raw_rows:
        row = {}
        for name, kind, value in zip(names, types, raw, strict=True):
            row[name] = _convert(value, kind)
        rows.append(row)
    return Table(
        fields=[{"id": n, "type": t} for n, t in zip(names, types, strict=True)], rows=rows, encoding=encoding,
        geometries=geometries or [],
    )  # fmt: skip


def _field_names(header: list) -> list[str]:
    names, seen = [], set()
    for index, raw in enumerate(header, start=1):
        name = str(raw if raw is not None else "").strip() or f"column_{index}"
        if name.startswith("_"):
            name = name.lstrip("_") or f"column_{index}"
        base, suffix = name, 2
        while name in seen:
            name, suffix = f"{base}_{suffix}", suffix + 1
        seen.add(name)
        names.append(name)
    return names


def _column_type(values) -> str:
    present = [v for v in values if v is not None and not (isinstance(v, str) and not v.strip())]
    if not present:
        return "text"
    if all(isinstance(v, bool) for v in present):
        return "bool"
    kinds = set()
    for value in present:
        if isinstance(value, bool):
            return "text"
        if isinstance(value, int):
            kinds.add("int")
        elif isinstance(value, float):
            kinds.add("numeric")
        elif isinstance(value, str):
            try:
                kinds.add("int" if isinstance(_number(value), int) else "numeric")
            except ValueError:
                return "text"
        else:
            return "text"
    return "int" if kinds == {"int"} else "numeric"


def _convert(value, kind: str):
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if kind == "text":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return value if isinstance(value, str) else str(value)
    if kind == "bool":
        return bool(value)
    number = _number(value) if isinstance(value, str) else value
    if kind == "numeric":
        return float(number)
    return int(number)


# --- readers ------------------------------------------------------------------------------------


def read_csv(content: bytes) -> Table:
    text, encoding = decode_text(content)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(reader, None)
        if not header or not any(cell.strip() for cell in header):
            raise InvalidFile(_("The CSV file is empty or has no header row."))
        rows = []
        for row in reader:
            if not row or not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise InvalidFile(
                    _("Row %(line)s has %(found)s values; the header has %(expected)s.")
                    % {"line": reader.line_num, "found": len(row), "expected": len(header)},
                    details={"line": reader.line_num, "found": len(row), "expected": len(header)},
                )
            rows.append(row)
    except csv.Error as exc:
        raise InvalidFile(_("The CSV file is malformed: %(error)s") % {"error": exc}) from exc
    return typed_table(header, rows, encoding=encoding)


def _records_table(records: list, *, encoding: str, geometries=None) -> Table:
    if not records or not all(isinstance(r, dict) for r in records):
        raise InvalidFile(_("The JSON file must hold a list of objects (one object a row)."))
    header: list[str] = []
    seen = set()
    for record in records:
        for key in record:
            if key not in seen:
                seen.add(key)
                header.append(key)
    rows = []
    for record in records:
        row = []
        for key in header:
            value = record.get(key)
            if isinstance(value, (dict, list)):
                value = json.dumps(value, ensure_ascii=False)
            row.append(value)
        rows.append(row)
    return typed_table(header, rows, encoding=encoding, geometries=geometries)


def _load_json(content: bytes):
    text, encoding = decode_text(content)
    try:
        return json.loads(text), encoding
    except json.JSONDecodeError as exc:
        raise InvalidFile(
            _("The JSON file is malformed at line %(line)s, column %(column)s: %(error)s")
            % {"line": exc.lineno, "column": exc.colno, "error": exc.msg}
        ) from exc


def read_json(content: bytes) -> Table:
    data, encoding = _load_json(content)
    if isinstance(data, dict):
        if data.get("type") == "FeatureCollection":
            return _geojson_table(data, encoding)
        lists = [value for value in data.values() if isinstance(value, list)]
        if len(lists) != 1:
            raise InvalidFile(_("The JSON file must hold a list of objects (one object a row)."))
        data = lists[0]
    if not isinstance(data, list):
        raise InvalidFile(_("The JSON file must hold a list of objects (one object a row)."))
    return _records_table(data, encoding=encoding)


def _geojson_table(data: dict, encoding: str) -> Table:
    features = data.get("features")
    if not isinstance(features, list) or not features:
        raise InvalidFile(_("The GeoJSON file has no features."))
    records, geometries = [], []
    for index, feature in enumerate(features, start=1):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise InvalidFile(_("Feature %(index)s of the GeoJSON file is not a Feature.") % {"index": index})
        geometry = feature.get("geometry") or {}
        record = dict(feature.get("properties") or {})
        if geometry.get("type") == "Point":
            coordinates = geometry.get("coordinates") or []
            if len(coordinates) < 2 or not all(isinstance(c, (int, float)) for c in coordinates[:2]):
                raise InvalidFile(_("Feature %(index)s has invalid coordinates.") % {"index": index})
            record.setdefault("lon", coordinates[0])
            record.setdefault("lat", coordinates[1])
        if geometry and len(geometries) < MAX_PREVIEW_GEOMETRIES:
            geometries.append(geometry)
        records.append(record)
    return _records_table(records, encoding=encoding, geometries=geometries)


def read_geojson(content: bytes) -> Table:
    data, encoding = _load_json(content)
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise InvalidFile(_("A GeoJSON file must be a FeatureCollection."))
    return _geojson_table(data, encoding)


def _parse_xml(content: bytes):
    try:
        return ElementTree.fromstring(content)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise InvalidFile(_("The XML file is malformed: %(error)s") % {"error": exc}) from exc


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read_xml(content: bytes) -> Table:
    """Rows are the repeated child elements of the root (or of its single child, for the common
    <data><records><record>...</record></records></data> shape); fields are their children."""
    root = _parse_xml(content)
    container = root
    while len(container) == 1 and len(container[0]) and all(len(child) for child in container[0]):
        container = container[0]
    records = []
    for element in container:
        record = {_local(child.tag): (child.text or "").strip() for child in element}
        record.update({key: value for key, value in element.attrib.items() if key not in record})
        if record:
            records.append(record)
    if not records:
        raise InvalidFile(_("The XML file has no repeated records to read as rows."))
    return _records_table(records, encoding="UTF-8")


def read_kml(content: bytes) -> Table:
    root = _parse_xml(content)
    records, geometries = [], []
    for placemark in root.iter():
        if _local(placemark.tag) != "Placemark":
            continue
        record = {"name": "", "description": ""}
        geometry = None
        for element in placemark.iter():
            tag = _local(element.tag)
            if tag in ("name", "description") and element.text:
                record[tag] = element.text.strip()
            elif tag == "coordinates" and element.text and geometry is None:
                points = []
                for chunk in element.text.split():
                    parts = chunk.split(",")
                    try:
                        points.append([float(parts[0]), float(parts[1])])
                    except (ValueError, IndexError) as exc:
                        raise InvalidFile(_("A KML placemark has invalid coordinates.")) from exc
                if len(points) == 1:
                    geometry = {"type": "Point", "coordinates": points[0]}
                    record["lon"], record["lat"] = points[0]
                elif points:
                    geometry = {"type": "LineString", "coordinates": points}
        if geometry and len(geometries) < MAX_PREVIEW_GEOMETRIES:
            geometries.append(geometry)
        records.append(record)
    if not records:
        raise InvalidFile(_("The KML file has no placemarks."))
    return _records_table(records, encoding="UTF-8", geometries=geometries)


def read_spreadsheet(content: bytes) -> Table:
    """XLSX and ODS through calamine: the first sheet, its first row as the header."""
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
        rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=True)
    except (CalamineError, ValueError, OSError, zipfile.BadZipFile) as exc:
        raise InvalidFile(_("The spreadsheet could not be read: %(error)s") % {"error": exc}) from exc
    rows = [row for row in rows if any(cell not in ("", None) for cell in row)]
    if not rows:
        raise InvalidFile(_("The spreadsheet's first sheet is empty."))
    header, body = rows[0], rows[1:]
    width = len(header)
    body = [list(row) + [""] * (width - len(row)) if len(row) < width else list(row)[:width] for row in body]
    body = [[None if cell == "" else _spreadsheet_value(cell) for cell in row] for row in body]
    return typed_table([str(h) for h in header], body, encoding="")


def _spreadsheet_value(cell):
    if hasattr(cell, "isoformat"):
        return cell.isoformat()
    return cell


READERS = {
    Format.CSV: read_csv, Format.JSON: read_json, Format.XML: read_xml, Format.XLSX: read_spreadsheet,
    Format.ODS: read_spreadsheet, Format.GEOJSON: read_geojson, Format.KML: read_kml,
}  # fmt: skip


def read_table(format: str, content: bytes) -> Table:
    if not content:
        raise InvalidFile(_("The file is empty."))
    return READERS[format](content)
