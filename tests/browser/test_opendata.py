"""Open data in a real browser: a visitor searches the catalog, filters by organization, opens a
dataset and previews its table, chart and map, and the CKAN API answers from the same server."""

import json
import re

import pytest

pytestmark = pytest.mark.browser


def test_visitor_searches_filters_opens_and_previews_a_dataset(page):
    page.goto("/opendata/")
    page.get_by_role("textbox", name=re.compile("搜尋資料集|Search datasets")).fill("停車")
    page.get_by_role("button", name=re.compile("^(搜尋|Search)$")).click()
    page.wait_for_url(re.compile(r"q=%E5%81%9C%E8%BB%8A"))
    status = page.get_by_role("status").first.inner_text()
    before = int(re.search(r"\d+", status).group())
    assert before >= 2

    page.locator('[data-facet="organization"] a', has_text="交通局").first.click()
    page.wait_for_url(re.compile("organization="))
    after = int(re.search(r"\d+", page.get_by_role("status").first.inner_text()).group())
    assert 1 <= after <= before
    titles = page.locator(".dataset-item h3 a").all_inner_texts()
    assert titles and all("停車" in t or "自行車" in t or "交通" in t for t in titles)
    for agency in page.locator(".dataset-item .muted").all_inner_texts():
        assert "交通局" in agency

    page.locator(".dataset-item h3 a", has_text="停車場").first.click()
    page.wait_for_url(re.compile("/opendata/dataset/"))
    assert "停車" in page.get_by_role("heading", level=1).inner_text()
    table = page.locator("table.preview-table")
    assert table.is_visible()
    assert table.locator("tbody tr").count() >= 5
    assert page.locator("svg.chart rect").count() >= 5
    assert page.locator("svg.map-preview circle.map-point").count() >= 5
    assert page.csp_violations == []

    # The API example on the page works against the same server.
    example = page.locator("pre.mono").inner_text().splitlines()[0]
    url = re.search(r"'(http[^']+)'", example).group(1)
    body = json.loads(page.request.get(url).text())
    assert body["success"] is True and body["result"]["total"] >= len(body["result"]["records"]) > 0

    # Revalidation over real HTTP: the same request again is a cache hit with the same ETag, and
    # sending that ETag back gets a 304 without a body.
    first = page.request.get(url)
    again = page.request.get(url)
    assert again.headers["etag"] == first.headers["etag"] and again.headers["x-cache"] == "HIT"
    assert again.headers["cache-control"] == "public, no-cache"
    revalidated = page.request.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert revalidated.status == 304 and revalidated.body() == b""
