"""The traffic-safety dashboard in a real browser: the city administrator opens it, filters by
district, and sees the charts drawn by the vendored ECharts; a district clerk sees only their
district's rows. No Content-Security-Policy violations on the way."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import log_in

pytestmark = pytest.mark.browser

CITY_ADMIN = ("cityadmin", "cityadmin-demo-2019")
CLERK = ("clerk", "clerk-demo-2019")  # a clerk of 中壢區公所
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_staff_open_the_traffic_safety_dashboard_filter_by_district_and_see_charts(page, browser, live_demo):
    log_in(page, CITY_ADMIN, "/analytics/")
    page.locator("a", has_text="交通安全熱點").or_(
        page.locator("a[href='/analytics/d/traffic-safety/']")
    ).first.click()
    page.wait_for_url("**/analytics/d/traffic-safety/")
    page.locator("[data-chart][data-drawn='1']").first.wait_for()
    all_districts = page.locator("[data-chart]").count()
    assert all_districts == 3  # hour bars, district map, daily series (the hot-spot list is a table)

    page.locator("#id_district").select_option(label="中壢區")
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_url("**district=68000020**")
    page.locator("[data-chart-slug='accidents-by-hour'] [data-drawn='1']").wait_for()
    page.locator("[data-chart-slug='accidents-by-district'] [data-drawn='1']").wait_for()
    assert page.locator("[data-chart-slug='accidents-by-hour'] canvas").count() == 1
    district_rows = page.locator("[data-chart-slug='accidents-by-district'] tbody tr")
    assert district_rows.count() == 1 and "中壢區" in district_rows.first.text_content()
    assert page.locator("#method-title").is_visible()
    page.locator("#id_district").select_option("")
    page.locator("form.filters button[type=submit]").click()
    page.locator("[data-chart-slug='accidents-by-district'] [data-drawn='1']").wait_for()
    if os.environ.get("CIVICSTACK_SCREENSHOTS"):  # refresh docs/screenshots on request only
        page.wait_for_timeout(300)  # let the map finish its first paint
        page.screenshot(path=str(SCREENSHOTS / "analytics-traffic-safety.png"), full_page=True)
    assert page.csp_violations == []

    # A district clerk sees the same dashboard with their district's rows only.
    context = browser.new_context(base_url=live_demo, locale="zh-TW", viewport={"width": 390, "height": 844})
    clerk_page = context.new_page()
    log_in(clerk_page, CLERK, "/analytics/d/traffic-safety/")
    clerk_page.locator("[data-chart-slug='accidents-by-district'] [data-drawn='1']").wait_for()
    rows = clerk_page.locator("[data-chart-slug='accidents-by-district'] tbody tr")
    assert rows.count() == 1 and "中壢區" in rows.first.text_content()
    context.close()


def test_a_city_administrator_previews_and_saves_a_chart_in_the_editor(page, live_demo):
    log_in(page, CITY_ADMIN, "/analytics/editor/charts/new/")
    page.locator("#id_dashboard").select_option("traffic-safety")
    page.locator("#id_title").fill("Accidents by road")
    page.locator("#id_slug").fill("accidents-by-road")
    page.locator("#id_sql").fill(
        "SELECT road, count(*) AS accidents FROM fire_reports WHERE incident_type = 'traffic_accident' "
        "AND reported_at >= :date_from AND reported_at < :date_to + INTERVAL '1' DAY "
        "AND (:district = '' OR district = :district) GROUP BY road ORDER BY 2 DESC LIMIT 12"
    )
    page.locator("#id_type").select_option("bar")
    page.locator("#id_x").fill("road")
    page.locator("#id_y").fill("accidents, deaths")
    page.locator("#preview-chart").click()
    expect(page.locator("#chart-problems")).to_be_visible()  # the preview is a round trip: wait for it
    # the validation's own message, on its field
    expect(page.locator("#id_y-error")).to_contain_text("deaths")
    page.locator("#id_y").fill("accidents")
    page.locator("#preview-chart").click()
    page.locator("#chart-preview[data-drawn='1']").wait_for()
    assert page.locator("#preview tbody tr").count() >= 1
    if os.environ.get("CIVICSTACK_SCREENSHOTS"):
        page.wait_for_timeout(300)
        page.screenshot(path=str(SCREENSHOTS / "analytics-chart-editor.png"), full_page=True)
    page.locator("#save-chart").click()
    page.wait_for_url("**/analytics/editor/dashboards/traffic-safety/")
    page.goto("/analytics/d/traffic-safety/")
    page.locator("[data-chart-slug='accidents-by-road'] [data-drawn='1']").wait_for()
    assert page.csp_violations == []
