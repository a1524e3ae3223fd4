"""The iot API over real HTTP (Django's test client): batch upload with agency keys and scopes,
public station reads, staff-only alerts and quarantine."""

import datetime
import json

import pytest
from django.test import Client
from django.utils import timezone

from civicstack.core.services import api_key_create
from civicstack.iot import services

from .conftest import level, minutes_ago, office_of

pytestmark = pytest.mark.django_db
BATCH = "/api/v1/iot/readings/batch"


def key_for(agency, scopes=("iot.readings:write",)) -> dict:
    raw, _ = api_key_create(actor=None, name="gauge logger", partner="水利署", agency=agency, scopes=list(scopes),
                            expires_at=timezone.now() + datetime.timedelta(days=30))  # fmt: skip
    return {"HTTP_X_API_KEY": raw}


def post(client, body, **headers):
    return client.post(BATCH, json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def other_gauge(districts):
    return services.station_register(
        actor=None, code="WL-LJ-01", name="老街溪 中正橋", kind="water_level", district=districts[1],
        agency=office_of(districts[1]), latitude=24.96, longitude=121.22,
        quantities=[{"quantity": "water_level", "unit": "m", "valid_min": 0, "valid_max": 20}],
    )  # fmt: skip


def test_an_agency_key_uploads_its_own_stations_readings_only(gauge, other_gauge):
    headers = key_for(gauge.agency)
    at = minutes_ago(3)
    body = {"readings": [level(2.0, at.isoformat()), level(2.0, at.isoformat(), station="WL-LJ-01"), 42]}
    response = post(Client(), body, **headers)
    assert response.status_code == 200, response.content
    assert response.json() == {"accepted": 1, "quarantined": 2, "duplicates": 0, "alerts_opened": 0,
                               "quarantine_reasons": {"not_permitted": 1, "malformed": 1}}  # fmt: skip
    again = post(Client(), body, **headers).json()
    assert (again["accepted"], again["duplicates"]) == (0, 1)


def test_upload_refusals_use_the_error_envelope(gauge, staff, token_for):
    assert post(Client(), {"readings": []}).status_code == 401
    response = post(Client(), {"readings": []}, **key_for(gauge.agency, scopes=["core.directory:read"]))
    assert response.status_code == 403 and response.json()["error"]["details"] == {
        "required_scope": "iot.readings:write"
    }
    bad = post(Client(), {"readings": "nope"}, **key_for(gauge.agency))
    assert bad.status_code == 422 and "error" in bad.json()
    too_many = post(
        Client(), {"readings": [{}] * (services.MAX_UPLOAD_READINGS + 1)}, **key_for(gauge.agency)
    )
    assert too_many.status_code == 400 and too_many.json()["error"]["code"] == "batch_too_large"
    broken = Client().post(BATCH, "{", content_type="application/json", **key_for(gauge.agency))
    assert broken.status_code in (400, 422)
    # staff upload for their own agency's stations; district B's clerk is not permitted district A's gauge
    body = {"readings": [level(1.5, minutes_ago(2).isoformat())]}
    assert post(Client(), body, **token_for(staff["clerk_b"])).json()["quarantine_reasons"] == {
        "not_permitted": 1
    }
    assert post(Client(), body, **token_for(staff["clerk_a"])).json()["accepted"] == 1


def test_public_station_reads(gauge, other_gauge):
    services.readings_ingest(readings=[level(v, minutes_ago(30 - i)) for i, v in enumerate([1.0, 1.5, 2.0])],
                             source="test")  # fmt: skip
    client = Client()
    page = client.get("/api/v1/iot/stations", {"kind": "water_level"}).json()
    assert page["count"] == 2 and {s["code"] for s in page["items"]} == {"WL-NK-01", "WL-LJ-01"}
    only_a = client.get("/api/v1/iot/stations", {"district": gauge.district.code}).json()
    assert [s["code"] for s in only_a["items"]] == ["WL-NK-01"]
    detail = client.get("/api/v1/iot/stations/WL-NK-01").json()
    assert detail["sensors"][0]["latest_value"] == 2.0 and detail["sensors"][0]["warning_level"] == 5.0
    series = client.get("/api/v1/iot/stations/WL-NK-01/readings", {"quantity": "water_level"}).json()
    assert [p["value"] for p in series["points"]] == [1.0, 1.5, 2.0]
    assert client.get("/api/v1/iot/stations/NOPE").status_code == 404
    assert client.get("/api/v1/iot/stations/WL-NK-01/readings", {"quantity": "ph"}).status_code == 404
    assert client.get("/api/v1/iot/stations/WL-NK-01/readings", {"quantity": "water_level",
                                                                 "since": "year 3"}).status_code == 422  # fmt: skip


def test_alerts_and_quarantine_are_for_staff(gauge, staff, token_for, citizen):
    services.readings_ingest(readings=[level(5.5, minutes_ago(5)), level(99, minutes_ago(4))], source="test")
    assert Client().get("/api/v1/iot/alerts").status_code == 401
    assert Client().get("/api/v1/iot/alerts", **token_for(citizen[0])).status_code == 403
    alerts = Client().get("/api/v1/iot/alerts", {"open": "true"}, **token_for(staff["clerk_b"])).json()
    assert alerts["count"] == 1 and alerts["items"][0]["level"] == "warning"
    quarantined = Client().get("/api/v1/iot/quarantine", **token_for(staff["clerk_a"])).json()
    assert quarantined["items"][0]["reason"] == "out_of_range"
    counts = Client().get("/api/v1/iot/quarantine/counts", **token_for(staff["clerk_a"])).json()
    assert counts == {"out_of_range": 1}
    assert (
        Client().get("/api/v1/iot/quarantine", {"reason": "bogus"}, **token_for(staff["clerk_a"])).status_code
        == 422
    )
