"""Feeds from other modules, read through their selectors: the card module's taps (card-use
analytics, loaded incrementally) and the IoT module's MQTT readings (water level, air quality)."""

import datetime
import zoneinfo

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from civicstack.analytics import selectors, warehouse
from civicstack.card import services as card_services
from civicstack.card.settlement import TapIn
from civicstack.core import services as core_services
from civicstack.core.models import Agency, District
from tests.card.conftest import issue_card, photo  # noqa: F401 -- fixtures reused as they are

from .conftest import district_codes, load_now

TPE = zoneinfo.ZoneInfo("Asia/Taipei")


@pytest.fixture
def bus_taps(issue_card, make_person):  # noqa: F811
    """A funded general card and a bus reader in district A; returns a function that settles rides."""
    district = District.objects.get(code=district_codes()[0])
    partner = card_services.partner_create(actor=None, code="demo-bus", name="示範客運", kind="transit")
    _raw, key = core_services.api_key_create(
        actor=None, name="validators", partner=partner.name, agency=Agency.objects.get(name_en="Department of Transportation"),
        scopes=["card.taps:upload"], expires_at=timezone.now() + datetime.timedelta(days=30),
    )  # fmt: skip
    card_services.reader_register(actor=None, code="bus-a", kind="bus", api_key=key, functions=["bus_bogo"],
                                  operator_partner=partner, district=district)  # fmt: skip
    card = issue_card(make_person(district=district))
    card_services.wallet_top_up(
        actor=None, card=card, amount=500, channel="counter", idempotency_key="analytics-t"
    )
    start = timezone.now().astimezone(TPE)  # after the card was issued

    def ride(*tap_ids: str):
        taps = [TapIn("bus-a", tap_id, card.number, start + datetime.timedelta(milliseconds=i), 18, "bus_bogo")
                for i, tap_id in enumerate(tap_ids)]  # fmt: skip
        return card_services.taps_settle(api_key=key, taps=taps)

    return ride


def test_card_uses_load_incrementally_and_feed_the_card_dashboard(installed, bus_taps, staff, client_for):
    source = selectors.access_source_by_code("card_uses")
    bus_taps("t1", "t2")
    [first] = load_now(source)
    bus_taps("t3")
    [second] = load_now(source)
    assert load_now(source) == []  # nothing new since the cursor
    assert (first.rows_loaded, second.rows_loaded) == (2, 1)

    body = client_for(staff["city_admin"]).get("/api/v1/analytics/dashboards/card-use").json()
    per_day = next(c for c in body["charts"] if c["slug"] == "uses-per-day")["data"]["rows"]
    assert [row[1:] for row in per_day] == [["general", 3]]
    district = next(c for c in body["charts"] if c["slug"] == "district-function")["data"]["rows"]
    assert [row[1:] for row in district] == [["bus_bogo", 3]]
    # The public sees the public figures of the card dashboard only if the dashboard is public: it is not.
    assert Client().get("/api/v1/analytics/dashboards/card-use").status_code == 404

    # A cursor set back (a restored database, a re-run by hand) re-delivers the taps: they are
    # skipped by their natural key, and the rollups the dashboards read are not counted twice.
    source.cursor = 0
    source.save(update_fields=["cursor"])
    [again] = load_now(source)
    assert (again.rows_in, again.rows_loaded, again.duplicates_skipped) == (3, 0, 3)
    cache.clear()
    body = client_for(staff["city_admin"]).get("/api/v1/analytics/dashboards/card-use").json()
    per_day = next(c for c in body["charts"] if c["slug"] == "uses-per-day")["data"]["rows"]
    assert [row[1:] for row in per_day] == [["general", 3]]


def test_mqtt_readings_arrive_through_the_iot_module(installed):
    from civicstack.iot.services import readings_ingest, station_register

    code = district_codes()[0]
    water = Agency.objects.get(name_en="Department of Water Resources")
    station_register(actor=None, code="WL-T1", name="南崁溪水位站", kind="water_level", district=code, agency=water,
                     latitude=25.05, longitude=121.29,
                     quantities=[{"quantity": "water_level", "unit": "m", "valid_min": 0, "valid_max": 20}])  # fmt: skip
    now = timezone.now()
    readings_ingest(source="test", readings=[
        {"station": "WL-T1", "quantity": "water_level", "value": 2.5 + i / 10, "unit": "m",
         "measured_at": now - datetime.timedelta(minutes=30 - i)} for i in range(5)
    ])  # fmt: skip

    [load] = load_now(selectors.access_source_by_code("water_levels"))
    assert load_now(selectors.access_source_by_code("air_quality"))[0].rows_in == 0

    assert (load.status, load.rows_loaded) == ("ok", 5)
    connection = selectors.connection_for(warehouse.EVERYONE)
    assert connection.execute("SELECT station, max(value) FROM water_levels GROUP BY 1").fetchall() == [
        ("WL-T1", 2.9)
    ]
