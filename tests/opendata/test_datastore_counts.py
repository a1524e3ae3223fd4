"""Exact filtered totals from the value counts kept with a datastore table (DatastoreValueCount):
the same totals as counting the rows, replaced with every load, and never taken for a filter
they cannot answer."""

import importlib
import json

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from civicstack.opendata import selectors, services
from civicstack.opendata.models import DatastoreRow, DatastoreValueCount, value_key

from .test_ckan_api import call

# Four lots in two districts, each read several times: small enough for a test, with MIN_ROWS
# lowered to 2 so that most values are kept and one (平鎮區, one row) is too rare.
READINGS_CSV = "停車場代號,行政區,剩餘車位數,比率\r\n" + "".join(
    f"P{lot},{district},{free},{ratio}\r\n"
    for lot, district, free, ratio in [
        (1, "桃園區", 10, 0.5), (2, "中壢區", 12, 1.0), (1, "桃園區", 10, 0.25), (3, "中壢區", 0, 1),
        (2, "中壢區", 12, 0.5), (1, "桃園區", 7, 0.5), (4, "平鎮區", 0, 0.75), (3, "中壢區", 12, 1.0),
    ]
)  # fmt: skip


@pytest.fixture
def readings(make_dataset, monkeypatch):
    monkeypatch.setattr(DatastoreValueCount, "MIN_ROWS", 2)
    dataset = make_dataset("停車場剩餘車位紀錄", name="readings", content=READINGS_CSV.encode())
    return dataset.resources.get()


def _counted(resource) -> dict[tuple[str, str], int]:
    return {(c.field, c.value): c.rows for c in DatastoreValueCount.objects.filter(resource=resource)}


def _search(resource, filters):
    """The total, and whether the rows were counted for it (a COUNT query ran)."""
    with CaptureQueriesContext(connection) as queries:
        result = selectors.datastore_search(resource, filters=filters, limit=100)
    counted = any("COUNT(" in query["sql"].upper() for query in queries.captured_queries)
    return result.total, counted, [record["_id"] for record in result.records]


def test_value_key_equates_what_jsonb_equality_equates():
    assert value_key(1) == value_key(1.0) == "n1"
    assert value_key(0.5) == "n0.5" and value_key(10**20) == value_key(1e20)
    assert len({value_key(True), value_key(1), value_key("1"), value_key("True")}) == 4
    assert value_key(False) != value_key(0)
    for not_scalar in (None, float("nan"), float("inf"), [1], {"a": 1}):
        assert value_key(not_scalar) is None


def test_a_load_keeps_the_counts_of_values_seen_often_enough(readings):
    counted = _counted(readings)
    assert counted[("行政區", "s中壢區")] == 4 and counted[("行政區", "s桃園區")] == 3
    assert counted[("停車場代號", "sP1")] == 3 and counted[("剩餘車位數", "n12")] == 3
    assert counted[("比率", "n1")] == 3  # 1.0 and 1 are one value, as in jsonb
    assert ("行政區", "s平鎮區") not in counted  # one row: counted when asked


@pytest.mark.parametrize(
    ("filters", "from_counts"),
    [
        ({"行政區": "中壢區"}, True),
        ({"行政區": ["中壢區", "桃園區"]}, True),
        ({"行政區": ["中壢區", "中壢區"]}, True),  # the same value twice is counted once
        ({"剩餘車位數": "12"}, True),  # coerced to the field's type first, as the filter is
        ({"比率": 1}, True),
        ({"行政區": "平鎮區"}, False),  # too rare to be kept
        ({"行政區": ["中壢區", "平鎮區"]}, False),
        ({"行政區": "大園區"}, False),  # absent: 0 is counted, never assumed
        ({"行政區": "中壢區", "剩餘車位數": 12}, False),  # two fields: the rows are counted
        ({"_id": [1, 2]}, False),
    ],
)
def test_totals_from_the_counts_equal_counting_the_rows(readings, filters, from_counts):
    total, counted, ids = _search(readings, filters)
    DatastoreValueCount.objects.filter(resource=readings).delete()
    readings.last_modified = readings.last_modified.replace(year=2000)  # a fresh count-cache key
    expected, _, expected_ids = _search(readings, filters)
    assert total == expected and ids == expected_ids
    assert counted is not from_counts


def test_every_kept_count_is_the_number_of_matching_rows(readings):
    rows = list(DatastoreRow.objects.filter(resource=readings).values_list("data", flat=True))
    for (name, key), kept in _counted(readings).items():
        assert kept == sum(1 for data in rows if value_key(data.get(name)) == key)


def test_a_refresh_replaces_the_counts(readings):
    services.resource_refresh(
        resource=readings, content="停車場代號,行政區\r\nP9,大溪區\r\nP9,大溪區\r\nP8,大溪區\r\n".encode()
    )
    assert _counted(readings) == {("停車場代號", "sP9"): 2, ("行政區", "s大溪區"): 3}
    assert _search(readings, {"行政區": "中壢區"})[:2] == (0, True)
    services.resource_refresh(resource=readings, content="停車場代號\r\nP7\r\n".encode())
    assert _counted(readings) == {}


def test_fields_with_arrays_or_objects_are_not_counted():
    counter = services.ValueCounter()
    for row in ({"a": "x", "b": "x", "c": None}, {"a": "x", "b": ["x"], "c": None}, {"a": "x", "b": "x"}):
        counter.add(row)
    assert dict(counter.counts) == {"a": {"sx": 3}}


def test_the_api_total_comes_from_the_counts(client, readings):
    _, body = call(
        client, "datastore_search", resource_id=str(readings.id), filters=json.dumps({"行政區": "中壢區"})
    )
    assert body["result"]["total"] == 4 and body["result"]["total_was_estimated"] is False
    assert [r["_id"] for r in body["result"]["records"]] == [2, 4, 5, 8]


def test_the_backfill_migration_counts_tables_loaded_before_it(readings):
    expected = _counted(readings)
    DatastoreValueCount.objects.all().delete()
    backfill = importlib.import_module("civicstack.opendata.migrations.0004_backfill_datastore_value_counts")
    backfill.backfill(apps, connection.schema_editor())
    assert _counted(readings) == expected
    backfill.backfill(apps, connection.schema_editor())  # rerunning changes nothing
    assert _counted(readings) == expected


def test_deleting_a_resource_deletes_its_counts(readings):
    readings.delete()
    assert not DatastoreValueCount.objects.exists()
