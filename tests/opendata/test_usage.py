"""Usage counted without a write per request: counts wait in memory and land in one batch."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from civicstack.opendata import usage
from civicstack.opendata.models import UsageMonthly


def test_page_views_and_downloads_are_batched(client, parking, monkeypatch):
    monkeypatch.setattr(usage, "FLUSH_SECONDS", 3600)
    resource = parking.resources.get()
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert client.get(f"/opendata/dataset/{parking.name}/").status_code == 200
        assert client.get(f"/opendata/resource/{resource.id}/download").status_code == 200
    writes = [
        q["sql"] for q in queries.captured_queries
        if "opendata_usagemonthly" in q["sql"] and not q["sql"].startswith("SELECT")
    ]  # fmt: skip
    assert writes == []
    assert usage.usage_flush() == 1
    row = UsageMonthly.objects.get(dataset=parking)
    assert (row.views, row.downloads, row.api_calls) == (5, 1, 0)
    usage.count(parking.id, "views")
    usage.usage_flush()
    assert UsageMonthly.objects.get(dataset=parking).views == 6


def test_a_full_batch_flushes_by_itself(parking, monkeypatch):
    monkeypatch.setattr(usage, "FLUSH_EVENTS", 3)
    monkeypatch.setattr(usage, "FLUSH_SECONDS", 3600)
    usage.usage_flush()
    for _ in range(2):
        usage.count(parking.id, "api_calls")
    assert not UsageMonthly.objects.exists()
    usage.count(parking.id, "api_calls")
    assert UsageMonthly.objects.get(dataset=parking).api_calls == 3


def test_counts_for_deleted_datasets_are_dropped(parking):
    usage.count("00000000-0000-0000-0000-000000000000", "views")
    usage.count(parking.id, "downloads")
    usage.usage_flush()
    assert list(UsageMonthly.objects.values_list("dataset_id", "downloads")) == [(parking.id, 1)]
