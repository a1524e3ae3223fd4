"""Public parking availability and EV-scooter charging stations from open datasets (issue 5 §6).

A dataset file (JSON or CSV, UTF-8 with or without a BOM, or Big5/cp950 as many of Taiwan's
government CSVs still are) is read through a **field map**: for each of our fields, the column
names a dataset may use for it (Traditional Chinese, as Taiwanese open data names them). Another
publisher's format is another field map (``FIELD_MAPS``, or a JSON file given to the CLI), not new
code. Every row is checked; a bad row is refused with its line number and every problem found,
and the good rows of the same file are still loaded. Rows are upserted by ``(source, source_id)``;
each load is kept as a ``NearbyLoad`` (counts and the refused rows), so a refresh leaves history.

Reads for the app (``parking_lots`` and ``charging_stations``: district, near a point sorted by
distance, only those with free spaces) are here too, and ``generate`` loads the shipped samples
and the sandbox hospital for the demo.
"""

import codecs
import csv
import datetime
import hashlib
import io
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction
from django.db.models import F, FloatField, Q, QuerySet, Value
from django.db.models.functions import ASin, Cast, Cos, Power, Radians, Sin, Sqrt
from django.utils import timezone
from django.utils.translation import gettext as _

from civicstack.core.errors import InvalidInput
from civicstack.core.models import District

from .models import ChargingStation, NearbyLoad, ParkingLot

DATA_DIR = Path(__file__).resolve().parent / "data"
SAMPLES = {
    "parking": DATA_DIR / "parking_sample.json",
    "charging": DATA_DIR / "ev_scooter_charging_sample.csv",
}
DEMO_SOURCE = "demo"
MAX_FILE_BYTES = 50 * 1024 * 1024
# Taiwan with its outlying islands (Kinmen at 118.2°E, Matsu at 26.4°N), in WGS84 degrees.
LATITUDE_RANGE = (Decimal("21.8"), Decimal("26.5"))
LONGITUDE_RANGE = (Decimal("118.1"), Decimal("122.2"))
MAX_RADIUS_M = 20_000
EARTH_RADIUS_M = 6_371_008.8


class DatasetError(InvalidInput):
    """The file as a whole cannot be read (not the fault of one row): nothing is loaded."""

    code = "dataset_unreadable"


# --- field maps -------------------------------------------------------------------------------

# Our fields of each kind: (type, required, maximum length). Types: id, text, count, coordinate,
# time, district.
FIELDS = {
    "parking": {
        "source_id": ("id", False, 64), "name": ("text", True, 120), "district": ("district", False, 0),
        "address": ("text", False, 200), "latitude": ("coordinate", True, 0),
        "longitude": ("coordinate", True, 0), "total_spaces": ("count", True, 0),
        "available_spaces": ("count", False, 0), "fee": ("text", False, 300), "updated_at": ("time", False, 0),
    },
    "charging": {
        "source_id": ("id", False, 64), "name": ("text", True, 120), "district": ("district", False, 0),
        "address": ("text", False, 200), "latitude": ("coordinate", True, 0),
        "longitude": ("coordinate", True, 0), "sockets": ("count", True, 0),
        "available_sockets": ("count", False, 0), "operator": ("text", False, 120),
        "opening_hours": ("text", False, 120), "updated_at": ("time", False, 0),
    },
}  # fmt: skip
MODELS = {"parking": ParkingLot, "charging": ChargingStation}


@dataclass(frozen=True)
class FieldMap:
    """How one dataset names its columns. ``columns`` maps each of our fields to the column names
    that may hold it, tried in order. ``records_path`` says where a JSON document keeps its rows
    (e.g. ``("result", "records")`` for a CKAN answer); empty, the first list of objects found is
    used. Without a ``source_id`` column, a row's key is derived from its name and address."""

    name: str
    kind: str
    source: str
    columns: dict[str, tuple[str, ...]]
    records_path: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: dict) -> "FieldMap":
        try:
            kind = data["kind"]
            fields = FIELDS[kind]
            columns = {key: tuple([value] if isinstance(value, str) else value)
                       for key, value in data["columns"].items()}  # fmt: skip
            unknown = sorted(set(columns) - set(fields))
            if unknown:
                raise InvalidInput(
                    _("The field map names unknown fields: %(fields)s") % {"fields": ", ".join(unknown)}
                )
            return cls(name=str(data.get("name") or "custom"), kind=kind, source=str(data.get("source") or "custom"),
                       columns=columns, records_path=tuple(data.get("records_path") or ()))  # fmt: skip
        except (KeyError, TypeError, AttributeError) as exc:
            raise InvalidInput(
                _("A field map is a JSON object with kind (parking or charging) and columns: %(error)s")
                % {"error": exc}
            ) from exc


TYCG_PARKING = FieldMap(
    name="tycg-parking", kind="parking", source="tycg-parking",
    columns={
        "source_id": ("停車場編號", "停車場代碼", "編號", "id", "ID"),
        "name": ("停車場名稱", "名稱", "name"),
        "district": ("行政區", "區域", "鄉鎮市區", "district"),
        "address": ("地址", "停車場地址", "address"),
        "total_spaces": ("總車位數", "汽車總車位數", "小型車總格位數", "總格位數"),
        "available_spaces": ("剩餘車位數", "汽車剩餘車位數", "剩餘車位", "小型車剩餘格位數"),
        "longitude": ("經度", "X座標", "lng", "lon", "longitude"),
        "latitude": ("緯度", "Y座標", "lat", "latitude"),
        "fee": ("收費方式", "收費標準", "收費說明"),
        "updated_at": ("更新時間", "資料更新時間", "資料時間"),
    },
)  # fmt: skip
TYCG_EV_SCOOTER = FieldMap(
    name="tycg-ev-scooter", kind="charging", source="tycg-ev-scooter",
    columns={
        "source_id": ("站點編號", "站點代碼", "編號", "id", "ID"),
        "name": ("站點名稱", "充電站名稱", "名稱", "name"),
        "district": ("行政區", "區域", "鄉鎮市區", "district"),
        "address": ("地址", "站點地址", "address"),
        "sockets": ("充電座數", "充電座數量", "充電槍數", "插座數"),
        "available_sockets": ("可用充電座數", "剩餘充電座數"),
        "operator": ("營運單位", "營運商", "業者", "設置單位"),
        "opening_hours": ("開放時間", "營業時間", "服務時間"),
        "longitude": ("經度", "X座標", "lng", "lon", "longitude"),
        "latitude": ("緯度", "Y座標", "lat", "latitude"),
        "updated_at": ("更新時間", "資料更新時間", "資料時間"),
    },
)  # fmt: skip
FIELD_MAPS = {m.name: m for m in (TYCG_PARKING, TYCG_EV_SCOOTER)}
DEFAULT_FIELD_MAPS = {"parking": TYCG_PARKING, "charging": TYCG_EV_SCOOTER}


def field_map_load(path: str | Path) -> FieldMap:
    """A field map from a JSON file: ``{"name", "kind", "source", "columns": {field: [names]},
    "records_path": [...]}``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(_("Cannot read the field map: %(error)s") % {"error": exc}) from exc
    if not isinstance(data, dict):
        raise InvalidInput(_("A field map is a JSON object."))
    return FieldMap.from_dict(data)


# --- reading the file -------------------------------------------------------------------------


def decode(raw: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 with or without a BOM, UTF-16 with a BOM, else Big5 (as cp950,
    Windows' Big5, which government offices export; then Big5-HKSCS). A file no encoding decodes
    cleanly is read in the one that fits best, and its undecodable rows are refused one by one."""
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace"), "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", errors="replace"), "utf-16"
    for encoding in ("utf-8", "cp950", "big5hkscs"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    candidates = [(raw.decode(encoding, errors="replace"), encoding) for encoding in ("utf-8", "cp950")]
    return min(candidates, key=lambda pair: pair[0].count("\ufffd"))


_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _skip(text: str, pos: int) -> int:
    return _WHITESPACE.match(text, pos).end()


def _find_records_path(document, depth: int = 0) -> tuple[str, ...] | None:
    if isinstance(document, list):
        return ()
    if isinstance(document, dict) and depth < 3:
        for key, value in document.items():
            if isinstance(value, list) and any(isinstance(item, dict) for item in value):
                return (key,)
        for key, value in document.items():
            found = _find_records_path(value, depth + 1) if isinstance(value, dict) else None
            if found is not None:
                return (key, *found)
    return None


def _json_records(text: str, path: tuple[str, ...]) -> list[tuple[int, object]]:
    """Each record of the JSON document with the line it starts on: the document is parsed once
    to check it, then walked with ``raw_decode`` to find where every record begins."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(
            _("The file is not valid JSON (line %(line)s, column %(column)s: %(message)s).")
            % {"line": exc.lineno, "column": exc.colno, "message": exc.msg}
        ) from exc
    if not path:
        path = _find_records_path(document)
        if path is None:
            raise DatasetError(_("The JSON file holds no list of records."))
    decoder = json.JSONDecoder()
    pos = _skip(text, 0)
    for key in path:
        if text[pos] != "{":
            raise DatasetError(_("The JSON file has no %(path)s.") % {"path": ".".join(path)})
        pos = _skip(text, pos + 1)
        while True:
            if text[pos] == "}":
                raise DatasetError(_("The JSON file has no %(path)s.") % {"path": ".".join(path)})
            name, end = decoder.raw_decode(text, pos)
            pos = _skip(text, _skip(text, end) + 1)  # past the colon
            if name == key:
                break
            _value, end = decoder.raw_decode(text, pos)
            pos = _skip(text, end)
            if text[pos] == ",":
                pos = _skip(text, pos + 1)
    if text[pos] != "[":
        raise DatasetError(_("%(path)s in the JSON file is not a list.") % {"path": ".".join(path) or "/"})
    records: list[tuple[int, object]] = []
    pos, line, counted = _skip(text, pos + 1), 1, 0
    while text[pos] != "]":
        line += text.count("\n", counted, pos)
        counted = pos
        value, end = decoder.raw_decode(text, pos)
        records.append((line, value))
        pos = _skip(text, end)
        if text[pos] == ",":
            pos = _skip(text, pos + 1)
    return records


class _Broken(str):
    """A CSV row that could not be split into the header's fields: the reason, in place of it."""


def _csv_records(text: str) -> tuple[list[str], list[tuple[int, object]]]:
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [_normal(name) for name in next(reader, [])]
        records: list[tuple[int, object]] = []
        line = reader.line_num + 1
        for values in reader:
            start, line = line, reader.line_num + 1
            if not any(value.strip() for value in values):
                continue
            if len(values) != len(header):
                records.append((start, _Broken(_("has %(found)s fields where the header has %(expected)s")
                                               % {"found": len(values), "expected": len(header)})))  # fmt: skip
                continue
            records.append((start, dict(zip(header, values, strict=True))))
    except csv.Error as exc:
        raise DatasetError(_("The CSV file cannot be read at line %(line)s: %(error)s")
                           % {"line": reader.line_num, "error": exc}) from exc  # fmt: skip
    return header, records


def _normal(name: str) -> str:
    return unicodedata.normalize("NFKC", str(name)).strip().lstrip("\ufeff")


# --- checking a row ---------------------------------------------------------------------------

_LOCAL_TIME = re.compile(
    r"^(\d{2,4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]+(\d{1,2})[:時](\d{1,2})(?:[:分](\d{1,2})秒?)?)?$"
)


def parse_time(raw: str) -> datetime.datetime:
    """ISO 8601, ``2026/11/27 08:05``, or an ROC-era date (``115/11/27 08:05``, 民國115年); Taipei
    time when the value carries no offset."""
    text = unicodedata.normalize("NFKC", raw).strip()
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        match = _LOCAL_TIME.match(text)
        if match is None:
            raise ValueError(text) from None
        year, month, day, hour, minute, second = (int(part) if part else 0 for part in match.groups())
        moment = datetime.datetime(year + 1911 if year < 1911 else year, month, day, hour, minute, second)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


class _Districts:
    def __init__(self):
        self.by_name: dict[str, District] = {}
        self.ordered = list(District.objects.all())
        for district in self.ordered:
            names = {district.code, district.name_zh, district.name_zh.removesuffix("區"), district.name_en.lower(),
                     district.name_en.lower().removesuffix(" district")}  # fmt: skip
            for name in names - {""}:
                self.by_name[name] = district

    def find(self, name: str, address: str) -> District | None:
        if name:
            found = self.by_name.get(name) or self.by_name.get(name.lower())
            if found is not None:
                return found
        return next((d for d in self.ordered if d.name_zh and d.name_zh in address), None)


def _coordinate_problems(latitude: Decimal | None, longitude: Decimal | None) -> list[str]:
    if latitude is None or longitude is None:
        return []
    if all(100_000 <= abs(value) <= 3_000_000 for value in (latitude, longitude)):
        return [_("the coordinates (%(lat)s, %(lon)s) look like TWD97 metres; WGS84 degrees are expected")
                % {"lat": latitude, "lon": longitude}]  # fmt: skip
    in_lat = LATITUDE_RANGE[0] <= latitude <= LATITUDE_RANGE[1]
    in_lon = LONGITUDE_RANGE[0] <= longitude <= LONGITUDE_RANGE[1]
    if in_lat and in_lon:
        return []
    if (
        LATITUDE_RANGE[0] <= longitude <= LATITUDE_RANGE[1]
        and LONGITUDE_RANGE[0] <= latitude <= LONGITUDE_RANGE[1]
    ):
        return [
            _("latitude %(lat)s and longitude %(lon)s look swapped") % {"lat": latitude, "lon": longitude}
        ]
    return [_("the position (%(lat)s, %(lon)s) is outside Taiwan") % {"lat": latitude, "lon": longitude}]


def _clean(record: dict, fmap: FieldMap, districts: _Districts) -> tuple[dict, list[str], list[str]]:
    """The row's values for our fields, the problems that refuse it, and warnings."""
    record = {_normal(key): value for key, value in record.items()}
    values: dict = {}
    problems: list[str] = []
    warnings: list[str] = []
    district_name = ""
    for field, (kind, required, max_length) in FIELDS[fmap.kind].items():
        column = next((name for name in fmap.columns.get(field, ()) if name in record), None)
        raw = record.get(column) if column else None
        text = "" if raw is None else " ".join(str(raw).split())
        label = column or field
        if "\ufffd" in text:
            problems.append(
                _("%(column)s has bytes that are not valid text in the file's encoding") % {"column": label}
            )
            continue
        if not text:
            if required:
                problems.append(_("%(column)s is missing") % {"column": label})
            values[field] = None if kind in ("count", "coordinate", "time", "district") else ""
            continue
        if kind in ("id", "text"):
            if len(text) > max_length:
                problems.append(
                    _("%(column)s is longer than %(max)s characters") % {"column": label, "max": max_length}
                )
            values[field] = text
        elif kind == "count":
            number = text.replace(",", "")
            try:
                value = Decimal(number)
                if value.is_finite() and value.adjusted() > 9:
                    value = Decimal(10**9 + 1)  # implausible; never build a huge int from "1e999999999"
                if not value.is_finite() or value != value.to_integral_value():
                    raise InvalidOperation
                value = int(value)
            except ArithmeticError:
                problems.append(
                    _("%(column)s is not a whole number: %(value)s") % {"column": label, "value": text}
                )
                continue
            if value < 0:
                problems.append(_("%(column)s is negative: %(value)s") % {"column": label, "value": value})
            elif value > 100_000:
                problems.append(
                    _("%(column)s is implausibly large: %(value)s") % {"column": label, "value": value}
                )
            values[field] = value
        elif kind == "coordinate":
            try:
                value = Decimal(text)
                if not value.is_finite():
                    raise InvalidOperation
            except InvalidOperation:
                problems.append(_("%(column)s is not a number: %(value)s") % {"column": label, "value": text})
                continue
            values[field] = (
                value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP) if abs(value) < 1000 else value
            )
        elif kind == "time":
            try:
                values[field] = parse_time(text)
            except ValueError:
                problems.append(
                    _("%(column)s is not a date and time: %(value)s") % {"column": label, "value": text}
                )
        elif kind == "district":
            district_name = text
    problems += _coordinate_problems(values.get("latitude"), values.get("longitude"))
    total, free = (values.get("total_spaces"), values.get("available_spaces")) if fmap.kind == "parking" else (
        values.get("sockets"), values.get("available_sockets"))  # fmt: skip
    if isinstance(total, int) and isinstance(free, int) and free > total:
        problems.append(
            _("%(free)s free of %(total)s: more free than there are") % {"free": free, "total": total}
        )
    moment = values.get("updated_at")
    if moment is not None and moment > timezone.now() + datetime.timedelta(hours=1):
        problems.append(_("the update time %(time)s is in the future") % {"time": moment.isoformat()})
    values["district"] = districts.find(district_name, values.get("address") or "")
    if values["district"] is None and (district_name or values.get("address")):
        warnings.append(
            _("no district of the city matches %(name)s") % {"name": district_name or values.get("address")}
        )
    if not values.get("source_id") and not problems:
        key = f"{values['name']}|{values.get('address') or ''}"
        values["source_id"] = "h-" + hashlib.sha256(key.encode()).hexdigest()[:24]
    return values, problems, warnings


# --- loading ----------------------------------------------------------------------------------


@transaction.atomic
def nearby_load(
    *, kind: str, path: str | Path | None = None, data: bytes | None = None, file_name: str = "",
    field_map: FieldMap | str | None = None, source: str = "", file_format: str = "",
) -> NearbyLoad:  # fmt: skip
    """Load one dataset file (``path``, or its bytes in ``data`` with a ``file_name``) into
    parking lots or charging stations; return the load with its counts and refused rows. Nothing
    is written when the file as a whole cannot be read (``DatasetError``)."""
    if kind not in MODELS:
        raise InvalidInput(_("Unknown dataset kind %(kind)s: parking or charging.") % {"kind": kind})
    if data is None:
        if path is None:
            path = SAMPLES[kind]
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise DatasetError(_("Cannot read %(file)s: %(error)s") % {"file": path, "error": exc}) from exc
        file_name = file_name or Path(path).name
    if len(data) > MAX_FILE_BYTES:
        raise DatasetError(_("The file is larger than %(mb)s MB.") % {"mb": MAX_FILE_BYTES // 1024 // 1024})
    fmap = FIELD_MAPS.get(field_map) if isinstance(field_map, str) else field_map
    if fmap is None and isinstance(field_map, str):
        raise InvalidInput(_("Unknown field map %(name)s.") % {"name": field_map})
    fmap = fmap or DEFAULT_FIELD_MAPS[kind]
    if fmap.kind != kind:
        raise InvalidInput(
            _("The field map %(name)s is for %(kind)s.") % {"name": fmap.name, "kind": fmap.kind}
        )
    source = (source or fmap.source)[:40]
    text, encoding = decode(data)
    file_format = (file_format or Path(file_name).suffix.lstrip(".")).lower()
    if file_format not in ("json", "csv"):
        file_format = "json" if text.lstrip()[:1] in ("[", "{") else "csv"
    if file_format == "json":
        records = _json_records(text, fmap.records_path)
        present = set().union(*(map(_normal, r) for _line, r in records if isinstance(r, dict)))
    else:
        header, records = _csv_records(text)
        present = set(header)
    missing = [field for field, (_kind, required, _max) in FIELDS[kind].items()
               if required and not present & set(fmap.columns.get(field, ()))]  # fmt: skip
    if missing and records:
        raise DatasetError(
            _("The file has no column for %(fields)s (the field map %(map)s accepts: %(names)s).")
            % {"fields": ", ".join(missing), "map": fmap.name,
               "names": "; ".join(f"{f}: {'/'.join(fmap.columns.get(f, ())) or '-'}" for f in missing)}
        )  # fmt: skip

    districts = _Districts()
    rows: dict[str, tuple[int, dict]] = {}
    problems: list[dict] = []
    warnings: list[dict] = []
    for line, record in records:
        if isinstance(record, _Broken):
            problems.append({"line": line, "source_id": "", "problems": [record]})
            continue
        if not isinstance(record, dict):
            problems.append({"line": line, "source_id": "", "problems": [_("the record is not an object")]})
            continue
        values, row_problems, row_warnings = _clean(record, fmap, districts)
        key = values.get("source_id") or ""
        if key and key in rows:
            row_problems.append(_("the same identifier as line %(line)s") % {"line": rows[key][0]})
        if row_problems:
            problems.append({"line": line, "source_id": key, "problems": row_problems})
            continue
        if row_warnings:
            warnings.append({"line": line, "source_id": key, "warnings": row_warnings})
        rows[key] = (line, values)

    now = timezone.now()
    model = MODELS[kind]
    fields = [field for field in FIELDS[kind] if field != "source_id"]
    existing = {place.source_id: place for place in model.objects.filter(source=source)}
    to_create, to_update, unchanged = [], [], 0
    for key, (line, values) in rows.items():
        place = existing.get(key)
        given_time = values["updated_at"]
        if place is None:
            to_create.append(
                model(source=source, loaded_at=now, **{**values, "updated_at": given_time or now})
            )
            continue
        if given_time is not None and given_time < place.updated_at:
            warnings.append({"line": line, "source_id": key, "warnings": [
                _("older than the data already held (%(time)s); kept the newer") % {"time": place.updated_at.isoformat()}]})  # fmt: skip
            unchanged += 1
            continue
        compared = [f for f in fields if f != "updated_at" or given_time is not None]
        if all(_same(getattr(place, f if f != "district" else "district_id"),
                     values[f].pk if f == "district" and values[f] else values[f]) for f in compared):  # fmt: skip
            unchanged += 1
            continue
        for field in fields:
            setattr(place, field, values[field])
        place.updated_at = given_time or now
        place.loaded_at = now
        to_update.append(place)
    model.objects.bulk_create(to_create, batch_size=500)
    model.objects.bulk_update(to_update, [*fields, "loaded_at"], batch_size=500)
    return NearbyLoad.objects.create(
        kind=kind, source=source, file_name=file_name[:200], file_sha256=hashlib.sha256(data).hexdigest(),
        file_format=file_format, encoding=encoding, field_map=fmap.name[:40], rows=len(records),
        created=len(to_create), updated=len(to_update), unchanged=unchanged, rejected=len(problems),
        absent=len(set(existing) - set(rows)), problems=problems, warnings=warnings, loaded_at=now,
    )  # fmt: skip


def _same(held, given) -> bool:
    if isinstance(held, Decimal) and isinstance(given, Decimal):
        return held.compare(given) == 0
    return held == given


def load_summary(load: NearbyLoad) -> str:
    return _(
        "%(file)s (%(format)s, %(encoding)s, field map %(map)s) into %(kind)s of source %(source)s: "
        "%(rows)s rows read, %(created)s created, %(updated)s updated, %(unchanged)s unchanged, "
        "%(rejected)s rejected; %(absent)s held from earlier loads are not in this file."
    ) % {"file": load.file_name, "format": load.file_format, "encoding": load.encoding, "map": load.field_map,
         "kind": load.kind, "source": load.source, "rows": load.rows, "created": load.created,
         "updated": load.updated, "unchanged": load.unchanged, "rejected": load.rejected,
         "absent": load.absent}  # fmt: skip


# --- reads for the app ------------------------------------------------------------------------


def _places(
    queryset: QuerySet, *, district_code: str = "", latitude: float | None = None, longitude: float | None = None,
    radius_m: int = 3000, available_field: str = "", only_available: bool = False,
) -> QuerySet:  # fmt: skip
    """Filtered places. Near a point: within ``radius_m`` metres, nearest first, each annotated
    with ``distance_m`` (great-circle, haversine in SQL: SQLite and PostgreSQL both have the
    functions), after a bounding-box filter the position index can serve."""
    queryset = queryset.select_related("district")
    if district_code:
        queryset = queryset.filter(district__code=district_code)
    if only_available:
        queryset = queryset.filter(**{f"{available_field}__gt": 0})
    if (latitude is None) != (longitude is None):
        raise InvalidInput(
            _("Give both lat and lon, or neither."), details={"field": "lat" if latitude is None else "lon"}
        )
    if latitude is None:
        return queryset.order_by("district__sort_order", "name", "id")
    if not (LATITUDE_RANGE[0] <= Decimal(str(latitude)) <= LATITUDE_RANGE[1]
            and LONGITUDE_RANGE[0] <= Decimal(str(longitude)) <= LONGITUDE_RANGE[1]):  # fmt: skip
        raise InvalidInput(_("The point is outside Taiwan."), details={"field": "lat"})
    radius_m = max(1, min(int(radius_m), MAX_RADIUS_M))
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    dlon = dlat / math.cos(math.radians(latitude))
    box = Q(latitude__gte=Decimal(f"{latitude - dlat:.6f}"), latitude__lte=Decimal(f"{latitude + dlat:.6f}"),
            longitude__gte=Decimal(f"{longitude - dlon:.6f}"), longitude__lte=Decimal(f"{longitude + dlon:.6f}"))  # fmt: skip
    phi = Radians(Cast(F("latitude"), FloatField()))
    lam = Radians(Cast(F("longitude"), FloatField()))
    phi0, lam0 = math.radians(latitude), math.radians(longitude)
    haversine = Power(Sin((phi - Value(phi0)) / Value(2.0)), 2) + Value(math.cos(phi0)) * Cos(phi) * Power(
        Sin((lam - Value(lam0)) / Value(2.0)), 2
    )
    distance = Value(2 * EARTH_RADIUS_M) * ASin(Sqrt(haversine))
    return (
        queryset.filter(box)
        .annotate(distance_m=distance)
        .filter(distance_m__lte=radius_m)
        .order_by("distance_m", "id")
    )


def parking_lots(**filters) -> QuerySet[ParkingLot]:
    return _places(ParkingLot.objects.all(), available_field="available_spaces", **filters)


def charging_stations(**filters) -> QuerySet[ChargingStation]:
    return _places(ChargingStation.objects.all(), available_field="available_sockets", **filters)


# --- demo ------------------------------------------------------------------------------------


def generate(*, scale: str, seed: int = 2019) -> dict:
    """The shipped sample files (source ``demo``) and the sandbox hospital's clinics, with the
    demo citizen's next appointment and a queue in progress. Safe to repeat."""
    from . import hospital

    parking = nearby_load(kind="parking", source=DEMO_SOURCE)
    charging = nearby_load(kind="charging", source=DEMO_SOURCE)
    counts = {"parking_lots": ParkingLot.objects.filter(source=DEMO_SOURCE).count(),
              "charging_stations": ChargingStation.objects.filter(source=DEMO_SOURCE).count(),
              "sample_rows_rejected": parking.rejected + charging.rejected}  # fmt: skip
    counts.update(hospital.sandbox_generate(seed=seed))
    return counts
