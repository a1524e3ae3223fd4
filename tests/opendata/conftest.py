"""Open data fixtures: a publishing agency with its clerk, files of every format, and a public
dataset with a CSV resource loaded into the datastore."""

import io
import json

import pytest
from django.utils import translation

from civicstack.core.selectors import acting_agency
from civicstack.opendata import response_cache, selectors, services, usage
from civicstack.opendata.demo import ensure_groups
from civicstack.opendata.models import Dataset

PARKING_CSV = (
    "停車場名稱,行政區,總車位數,剩餘車位數,經度,緯度\r\n"
    "中正公有停車場,桃園區,120,35,121.3010,24.9930\r\n"
    "中壢站前停車場,中壢區,300,12,121.2250,24.9530\r\n"
    "平鎮立體停車場,平鎮區,80,80,121.2180,24.9450\r\n"
    "大園機場停車場,大園區,500,0,121.2330,25.0770\r\n"
)
PARKING_BYTES = PARKING_CSV.encode()


@pytest.fixture(autouse=True)
def english(settings):
    """The assertions below read English messages; pages and the API default to zh-Hant, so these
    tests ask for English (the zh-Hant catalog is checked by msgfmt and seen on the pages)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    usage._pending.clear()  # nothing carried over from another test's counters
    response_cache.store.clear()  # nor cached API responses (a rolled-back test's generation)
    selectors._public_resources.clear()  # nor resources loaded under such a generation
    yield


@pytest.fixture
def publisher(staff):
    """A clerk of a first-level agency (the agency that owns the datasets below)."""
    return staff["bureau_clerk"]


@pytest.fixture
def publisher_agency(publisher):
    return acting_agency(publisher)


@pytest.fixture
def groups(db):
    return ensure_groups()


@pytest.fixture
def make_dataset(publisher, publisher_agency, groups):
    def make(title="桃園市公有停車場", *, state=Dataset.State.PUBLIC, content=PARKING_BYTES, filename="parking.csv",
             tags=("停車", "交通"), group="transport", **fields):  # fmt: skip
        dataset = services.dataset_create(
            actor=publisher,
            data=services.DatasetInput(
                title=title, agency=publisher_agency, tags=list(tags), groups=[group], **fields
            ),
        )
        if content is not None:
            services.resource_upload(actor=publisher, dataset=dataset, filename=filename, content=content)
        if state != Dataset.State.DRAFT:
            dataset = services.dataset_set_state(actor=publisher, dataset=dataset, state=state)
        return Dataset.objects.get(pk=dataset.pk)

    return make


@pytest.fixture
def parking(make_dataset):
    return make_dataset(name="parking-lots")


def geojson_bytes(points: list[tuple[float, float, str]]) -> bytes:
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"name": name},
        }
        for lon, lat, name in points
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode()


def xlsx_bytes(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def ods_bytes(rows: list[list]) -> bytes:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    table = Table(name="Sheet1")
    for row in rows:
        table_row = TableRow()
        for value in row:
            if isinstance(value, (int, float)):
                cell = TableCell(valuetype="float", value=value)
            else:
                cell = TableCell(valuetype="string")
            cell.addElement(P(text=str(value)))
            table_row.addElement(cell)
        table.addElement(table_row)
    document.spreadsheet.addElement(table)
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()
