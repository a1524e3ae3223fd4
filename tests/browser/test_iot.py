"""City sensors in a real browser: the public station list shows the demo's open alert (the
大漢溪 gauge still above its warning level after the typhoon day); filtering by district narrows
the table; the gauge's page draws its 48-hour chart with the threshold lines."""

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_station_list_filter_and_chart(page):
    page.goto("/iot/")
    alerts = page.locator("section.iot-alerts")
    assert "大漢溪 武嶺橋" in alerts.inner_text()
    if os.environ.get("CIVICSTACK_SCREENSHOTS"):  # refresh docs/screenshots on request only
        page.screenshot(path=SCREENSHOTS / "iot-stations.png", full_page=False)
    page.select_option("#district", label="大溪區")
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_url("**district=*")
    rows = page.locator("table.iot-table tbody tr")
    assert rows.count() == 3  # the 大漢溪 gauge, the air-quality station, one traffic counter
    page.locator("a", has_text="大漢溪 武嶺橋").last.click()
    page.wait_for_url("**/iot/stations/WL-DH-01/")
    chart = page.locator("svg.iot-chart").first
    assert chart.is_visible()
    assert "水位" in chart.get_attribute("aria-label")  # the quantity by its name, in the page's language
    assert page.locator("svg.iot-chart line").count() == 2  # warning and alert levels
    if os.environ.get("CIVICSTACK_SCREENSHOTS"):
        page.screenshot(path=SCREENSHOTS / "iot-station.png", full_page=True)
