"""Inter-agency datasets: per-agency API keys with the analytics scope, daily quotas (429 with the
error envelope), rows as the key's agency may see them, and publishing to open data."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from civicstack.analytics import selectors, services
from civicstack.analytics.models import ApiKeyUsage
from civicstack.core.models import Agency, District
from civicstack.core.services import api_key_create

from .conftest import district_codes, fire_csv, load_now

DAY = timezone.localdate() - datetime.timedelta(days=3)


@pytest.fixture
def incidents(installed, drop):
    a, b = district_codes()[:2]
    drop("fire_reports", "f.csv", fire_csv([("F1", "fire", a, "中正路", f"{DAY} 10:00", 0),
                                             ("F2", "flood", b, "中山路", f"{DAY} 11:00", 0)]))  # fmt: skip
    load_now(selectors.access_source_by_code("fire_reports"))
    return a, b


def key_for(agency: Agency, scopes=(services.DATASETS_SCOPE,), daily_limit: int | None = None) -> dict:
    raw, key = api_key_create(actor=None, name="partner", partner="agency system", agency=agency, scopes=list(scopes),
                              expires_at=timezone.now() + datetime.timedelta(days=30))  # fmt: skip
    if daily_limit is not None:
        services.quota_set(actor=None, api_key=key, daily_limit=daily_limit)
    return {"HTTP_X_API_KEY": raw}


def office_of(code: str) -> Agency:
    return Agency.objects.get(kind=Agency.Kind.DISTRICT_OFFICE, district=District.objects.get(code=code))


URL = "/api/v1/analytics/datasets/fire-incidents"


def test_a_key_reads_the_rows_its_agency_may_see(incidents):
    a, _b = incidents
    citywide = Client().get(URL, **key_for(Agency.objects.get(name_en="Fire Department"))).json()
    office = Client().get(URL, **key_for(office_of(a))).json()
    assert sorted(row[0] for row in citywide["rows"]) == ["F1", "F2"]
    assert [row[0] for row in office["rows"]] == ["F1"]
    assert office["columns"][:3] == ["incident_id", "incident_type", "district"]
    assert office["quota"] == {"limit": 1000, "used": 1}


def test_keys_need_the_scope_and_callers_need_a_key_or_staff_login(incidents, citizen, client_for):
    no_scope = Client().get(URL, **key_for(office_of(incidents[0]), scopes=["core.directory:read"]))
    assert no_scope.status_code == 403 and no_scope.json()["error"]["details"] == {
        "required_scope": services.DATASETS_SCOPE
    }
    assert Client().get(URL).status_code == 401
    assert Client().get(URL, HTTP_X_API_KEY="cs_nothing_here").status_code == 401
    assert client_for(citizen[0]).get(URL).status_code == 403
    assert (
        Client().get("/api/v1/analytics/datasets/nope", **key_for(office_of(incidents[0]))).status_code == 404
    )


def test_the_daily_quota_is_enforced_with_429(incidents, settings):
    settings.REDIS_URL = None  # counted in the database here; Redis is used when configured
    headers = key_for(office_of(incidents[0]), daily_limit=2)
    answers = [Client().get(URL, **headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    error = answers[2].json()["error"]
    assert error["code"] == "quota_exceeded" and error["details"]["limit"] == 2
    assert ApiKeyUsage.objects.get().requests == 3


def test_the_quota_is_counted_in_redis_when_configured(incidents, settings):
    redis = pytest.importorskip("redis")
    url = settings.REDIS_URL or "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url).ping()
    except redis.ConnectionError:
        pytest.skip("no Redis server")
    settings.REDIS_URL = url
    headers = key_for(office_of(incidents[0]), daily_limit=1)
    assert [Client().get(URL, **headers).status_code for _ in range(2)] == [200, 429]
    assert not ApiKeyUsage.objects.exists()


def test_the_catalog_lists_27_datasets(incidents):
    listing = Client().get("/api/v1/analytics/datasets", **key_for(office_of(incidents[0])))
    assert listing.status_code == 200 and len(listing.json()) == 27


def test_publishing_to_open_data_makes_a_public_dataset_with_a_csv_resource(incidents, staff, client_for):
    from civicstack.opendata.models import Dataset

    client = client_for(staff["city_admin"])
    response = client.post("/api/v1/analytics/datasets/fire-monthly/publish")
    assert response.status_code == 200
    published = Dataset.objects.get(name=response.json()["opendata_name"])
    resource = published.resources.get()
    assert published.state == Dataset.State.PUBLIC and resource.internal_source == "analytics.fire-monthly"
    assert resource.format == "CSV"
    again = client.post("/api/v1/analytics/datasets/fire-monthly/publish").json()
    assert again["opendata_name"] == published.name and Dataset.objects.count() == 1
    not_open = client.post("/api/v1/analytics/datasets/fire-incidents/publish")
    assert not_open.status_code == 403
