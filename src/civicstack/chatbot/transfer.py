"""Knowledge files: reading CSV and XLSX uploads into rows, writing exports in the same columns.

Columns: ``id,question,answer,category,venue`` are required; ``phrasings`` (one per line, or
separated by ``|``), ``link``, ``agency`` (agency code), ``language`` (zh-hant/en),
``translation_of`` (an entry id) and ``review_on`` (YYYY-MM-DD) are optional.
"""

import csv
import io
import zipfile

from django.utils.translation import gettext as _

from .errors import ImportInvalid

REQUIRED_COLUMNS = ("id", "question", "answer", "category", "venue")
OPTIONAL_COLUMNS = ("phrasings", "link", "agency", "language", "translation_of", "review_on")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
MAX_ROWS = 50_000


def read_rows(content: bytes, filename: str) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) of each data row of a CSV (UTF-8, with or without BOM) or XLSX file."""
    if filename.lower().endswith(".xlsx"):
        table = _xlsx_table(content)
    else:
        try:
            decoded = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportInvalid(_("The file is not UTF-8 text (save it as CSV UTF-8 or XLSX).")) from exc
        table = list(csv.reader(io.StringIO(decoded)))
    if not table:
        raise ImportInvalid(_("The file is empty."))
    header = [str(cell or "").strip().lower() for cell in table[0]]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise ImportInvalid(
            _("Missing columns: %(columns)s") % {"columns": ", ".join(missing)},
            details=[
                {"line": 1, "errors": [_("Missing columns: %(columns)s") % {"columns": ", ".join(missing)}]}
            ],
        )
    if len(table) - 1 > MAX_ROWS:
        raise ImportInvalid(_("At most %(count)d rows per file.") % {"count": MAX_ROWS})
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        values = ["" if cell is None else str(cell).strip() for cell in cells]
        if not any(values):
            continue
        rows.append(
            (number, {column: (values[i] if i < len(values) else "") for i, column in enumerate(header)})
        )
    return rows


def _xlsx_table(content: bytes) -> list[list]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ImportInvalid(_("The file is not a readable XLSX workbook.")) from exc
    sheet = workbook.worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def write_csv(rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # the BOM lets Excel open it as UTF-8


def write_xlsx(rows: list[dict]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("entries")
    sheet.append(list(COLUMNS))
    for row in rows:
        sheet.append([row.get(column, "") for column in COLUMNS])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
