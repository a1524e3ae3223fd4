"""The city sensors pages: public station list and station page, staff data-quality page."""

import pytest
from django.test import Client

from civicstack.iot import services

from .conftest import level, minutes_ago

pytestmark = pytest.mark.django_db


def test_station_list_shows_latest_values_and_open_alerts(gauge, air_station):
    services.readings_ingest(
        readings=[level(4.0, minutes_ago(20)), level(5.4, minutes_ago(10))], source="test"
    )
    page = Client().get("/iot/")
    assert page.status_code == 200
    html = page.content.decode()
    assert (
        "南崁溪 南崁橋" in html and "5.4 m" in html and "Open alerts" in html and "iot-level-warning" in html
    )
    filtered = Client().get("/iot/", {"kind": "air_quality"}).content.decode()
    assert '<span class="muted mono">AQ-TY-01</span>' in filtered
    assert '<span class="muted mono">WL-NK-01</span>' not in filtered  # its open alert is still listed above


def test_station_page_draws_a_chart_with_threshold_lines(gauge):
    services.readings_ingest(readings=[level(v, minutes_ago(60 - 10 * i)) for i, v in enumerate([3, 4, 4.5, 4.2])],
                             source="test")  # fmt: skip
    html = Client().get("/iot/stations/WL-NK-01/").content.decode()
    assert "<polyline" in html and 'stroke-dasharray="6 4"' in html and "4 readings, 3–4.5 m" in html
    assert Client().get("/iot/stations/NOPE/").status_code == 404


def test_quantities_are_named_in_the_readers_language_with_the_code_beside(gauge):
    services.readings_ingest(readings=[level(v, minutes_ago(30 - 10 * i)) for i, v in enumerate([3, 4])],
                             source="test")  # fmt: skip
    chinese = Client(HTTP_ACCEPT_LANGUAGE="zh-Hant").get("/iot/stations/WL-NK-01/").content.decode()
    assert "水位 (m) <small" in chinese and '<small class="mono muted">water_level</small>' in chinese
    assert "南崁溪 南崁橋 水位：2 筆讀數，3–4 m，最新 4 m" in chinese  # the chart's description
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get("/iot/").content.decode()
    assert "Water level" in english and ">water_level" not in english


def test_data_quality_page_is_for_staff(gauge, staff, citizen, client_for):
    services.readings_ingest(readings=[level(99, minutes_ago(1)), level(1, minutes_ago(1)), level(1, minutes_ago(1))],
                             source="mqtt")  # fmt: skip
    assert client_for(None).get("/iot/quality/").status_code == 302
    assert client_for(citizen[0]).get("/iot/quality/").status_code == 403
    html = client_for(staff["clerk_b"]).get("/iot/quality/").content.decode()
    assert "Value outside the sensor&#x27;s valid range: <strong>1</strong>" in html
    assert '<td class="num">1</td>' in html  # one stored, one duplicate, one quarantined
