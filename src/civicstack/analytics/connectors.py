"""Connectors: each kind of source yields batches of raw rows as a CSV file of text values, which
the loader (services.source_load) types, checks and appends to the warehouse.

- file drops: ``<drop dir>/<source code>/*.csv|json|xlsx``; a file is moved to ``done/`` once
  loaded (``failed/`` when it cannot be read at all), so a drop is loaded exactly once;
- HTTP pull: ``options.url`` answering CSV or JSON (a list of objects, or ``{"rows": [...]}``);
- MQTT: readings the IoT module received, after the source's cursor (``iot.selectors.readings_after``);
- platform modules: the card module's taps after the cursor (``card.selectors.taps_after``).
"""

import csv
import datetime
import io
import json
import shutil
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings

from .models import Source

LOCAL = ZoneInfo("Asia/Taipei")
HTTP_TIMEOUT_SECONDS = 30
MODULE_BATCH = 200_000


class ConnectorFailed(Exception):
    pass


@dataclass
class RawBatch:
    """Rows as text in a CSV file (header first), where they came from, and how to finish."""

    path: Path
    origin: str
    new_cursor: int | None = None
    done_file: Path | None = None  # a dropped file to move to done/ after the load commits


def drop_dir(source: Source) -> Path:
    base = Path(getattr(settings, "ANALYTICS_DROP_DIR", settings.VAR_DIR / "drop"))
    return base / source.code


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(LOCAL).replace(tzinfo=None)
        return value.isoformat(sep=" ")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_rows(rows: list[dict], path: Path, columns: list[str] | None = None) -> Path:
    columns = list(columns or [])
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_text(row.get(name)) for name in columns])
    return path


def rows_of_json(content: bytes) -> list[dict]:
    data = json.loads(content.decode("utf-8-sig"))
    if isinstance(data, dict):
        data = data.get("rows", data.get("data", []))
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise ConnectorFailed('JSON must be a list of objects or {"rows": [...]}')
    return data


def rows_of_xlsx(path: Path) -> list[dict]:
    from python_calamine import CalamineWorkbook

    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python(skip_empty_area=True)
    if not sheet:
        return []
    header = [str(name).strip() for name in sheet[0]]
    return [dict(zip(header, row, strict=False)) for row in sheet[1:]]


def _file_batches(source: Source, work: Path) -> Iterator[RawBatch]:
    folder = drop_dir(source)
    suffix = {"file_csv": ".csv", "file_json": ".json", "file_xlsx": ".xlsx"}[source.kind]
    for dropped in sorted(folder.glob(f"*{suffix}")) if folder.is_dir() else []:
        try:
            if source.kind == Source.Kind.FILE_CSV:
                path = work / dropped.name
                path.write_bytes(dropped.read_bytes().removeprefix(b"\xef\xbb\xbf"))
            elif source.kind == Source.Kind.FILE_JSON:
                path = write_rows(rows_of_json(dropped.read_bytes()), work / (dropped.stem + ".csv"))
            else:
                path = write_rows(rows_of_xlsx(dropped), work / (dropped.stem + ".csv"))
        except (ValueError, ConnectorFailed, OSError) as error:
            _move(dropped, "failed")
            raise ConnectorFailed(f"{dropped.name}: {error}") from error
        yield RawBatch(path=path, origin=dropped.name, done_file=dropped)


def _move(path: Path, folder: str) -> None:
    target = path.parent / folder
    target.mkdir(exist_ok=True)
    shutil.move(str(path), target / path.name)


def finish(batch: RawBatch) -> None:
    if batch.done_file is not None and batch.done_file.exists():
        _move(batch.done_file, "done")


def _http_batches(source: Source, work: Path) -> Iterator[RawBatch]:
    url = source.options.get("url", "")
    if not url.startswith(("http://", "https://", "file://")):
        raise ConnectorFailed("the source has no http(s) URL to pull")
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_SECONDS) as response:  # noqa: S310 (checked above)
            content = response.read()
            content_type = response.headers.get("Content-Type", "")
    except OSError as error:
        raise ConnectorFailed(f"{url}: {error}") from error
    path = work / "pull.csv"
    try:
        if "json" in content_type or url.endswith(".json") or content.lstrip()[:1] in (b"[", b"{"):
            write_rows(rows_of_json(content), path)
        else:
            path.write_bytes(content.removeprefix(b"\xef\xbb\xbf"))
    except ValueError as error:
        raise ConnectorFailed(f"{url}: {error}") from error
    yield RawBatch(path=path, origin=url)


def _mqtt_batches(source: Source, work: Path) -> Iterator[RawBatch]:
    from civicstack.iot.selectors import readings_after

    kinds = set(source.options.get("kinds", []))
    rows, new_cursor = readings_after(source.cursor, limit=MODULE_BATCH)
    picked = [
        {"reading_id": row["id"], "station": row["station"], "district": row["district"],
         "measured_at": row["measured_at"], "quantity": row["quantity"], "value": row["value"], "unit": row["unit"]}
        for row in rows if not kinds or row["kind"] in kinds
    ]  # fmt: skip
    if rows:
        # Readings of other kinds still move the cursor on: an empty batch records that.
        header = [column["name"] for column in source.schema]
        yield RawBatch(path=write_rows(picked, work / "readings.csv", columns=header),
                       origin=f"iot readings {source.cursor + 1}..{new_cursor}", new_cursor=new_cursor)  # fmt: skip


def _module_batches(source: Source, work: Path) -> Iterator[RawBatch]:
    module = source.options.get("module")
    if module != "card":
        raise ConnectorFailed(f"no connector for the module {module!r}")
    from civicstack.card.selectors import taps_after

    rows, new_cursor = taps_after(source.cursor, limit=MODULE_BATCH)
    if rows:
        shaped = [{"tap_id": row["id"], **{k: v for k, v in row.items() if k != "id"}} for row in rows]
        yield RawBatch(path=write_rows(shaped, work / "taps.csv"), origin=f"card taps {source.cursor + 1}..{new_cursor}",
                       new_cursor=new_cursor)  # fmt: skip


def batches(source: Source, work: Path) -> Iterator[RawBatch]:
    if source.kind in (Source.Kind.FILE_CSV, Source.Kind.FILE_JSON, Source.Kind.FILE_XLSX):
        return _file_batches(source, work)
    if source.kind == Source.Kind.HTTP:
        return _http_batches(source, work)
    if source.kind == Source.Kind.MQTT:
        return _mqtt_batches(source, work)
    return _module_batches(source, work)


def sniff_csv_header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(io.StringIO(handle.readline())), [])
