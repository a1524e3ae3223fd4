"""The module in the platform API (/api/v1/opendata/), its CLI verbs, scheduled refresh from a
source URL (a live server), and the small demo data."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from civicstack.opendata import demo, services, usage
from civicstack.opendata.models import Dataset, Resource, ResourceUpdate, UsageMonthly


def test_quality_and_usage_endpoints(client, parking):
    usage.count(parking.id, "downloads")
    usage.usage_flush()
    quality = client.get("/api/v1/opendata/quality").json()
    assert quality == [{
        "agency_id": parking.agency_id, "agency_name": parking.agency.name_zh, "datasets": 1,
        "three_stars_or_more": 1, "share_three_stars": 1.0, "stale": 0,
    }]  # fmt: skip
    (row,) = client.get("/api/v1/opendata/usage").json()
    assert row["downloads"] == 1 and row["agency_code"] == parking.agency.code
    tables = client.get("/api/v1/opendata/datastore-resources").json()
    assert tables["count"] == 1 and tables["items"][0]["rows"] == 4
    assert client.get(tables["items"][0]["openapi_url"]).status_code == 200


def test_openapi_json_lists_the_module(client, db):
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "/api/v1/opendata/quality" in paths


def test_cli_export_import_quality_and_flush(parking, tmp_path):
    target = tmp_path / "catalog.csv"
    call_command("opendata", "export", str(target))
    assert "桃園市公有停車場" in target.read_text(encoding="utf-8")
    out = io.StringIO()
    call_command("opendata", "import", str(target), stdout=out)
    assert "updated 1" in out.getvalue()
    out = io.StringIO()
    call_command("opendata", "quality", stdout=out)
    assert "100.0%" in out.getvalue()
    usage.count(parking.id, "views")
    call_command("opendata", "flush-usage", stdout=io.StringIO())
    assert UsageMonthly.objects.get(dataset=parking).views == 1


def test_small_demo_makes_public_datasets_with_tables_and_a_big5_file(db):
    outcome = demo.generate(scale="small", seed=1)
    assert outcome["datasets_created"] == 36
    assert Dataset.objects.filter(state="public").count() == 36
    assert Resource.objects.filter(datastore_active=True, encoding="Big5").count() == 1
    assert Resource.objects.filter(format="GeoJSON").exclude(geometry_preview=[]).count() == 8
    assert UsageMonthly.objects.count() == 36 * 12


@pytest.mark.usefixtures("city_profile_restored_after_flush")
class TestScheduledRefresh:
    def test_due_resources_reload_from_their_source_url(self, live_server, make_dataset, publisher):
        source = make_dataset("來源", name="source").resources.get()
        target = make_dataset("鏡像", name="mirror", content=None, state=Dataset.State.DRAFT)
        url = f"{live_server.url}/opendata/resource/{source.id}/download"
        linked = services.resource_link(
            actor=publisher, dataset=target, url=url, format="CSV", refresh_every_hours=1
        )
        assert linked.datastore_row_count == 4
        Resource.objects.filter(pk=linked.pk).update(
            next_refresh_at=timezone.now() - datetime.timedelta(minutes=1)
        )
        call_command("opendata", "refresh", stdout=io.StringIO())
        history = list(ResourceUpdate.objects.filter(resource=linked).order_by("created_at"))
        assert [u.source for u in history] == ["link", "refresh"]
        assert history[-1].succeeded and history[-1].row_count == 4
        linked.refresh_from_db()
        assert linked.next_refresh_at > timezone.now()
        Resource.objects.filter(pk=linked.pk).update(refresh_url=f"{live_server.url}/no-such-file.csv",
                                                      next_refresh_at=timezone.now())  # fmt: skip
        (failed,) = services.resources_refresh_due()
        assert not failed.succeeded and Resource.objects.get(pk=linked.pk).datastore_row_count == 4
