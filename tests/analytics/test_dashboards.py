"""Dashboards as data: chart definitions validated on save, row-level security per district and
per agency enforced in the engine, cached results with their freshness, public dashboards,
pages with filters and CSV export."""

import datetime
import json
import re

import pytest
from django.utils import timezone

from civicstack.analytics import selectors, services, warehouse
from civicstack.analytics.definitions import COLUMN_LABELS
from civicstack.analytics.errors import ChartInvalid, QueryFailed
from civicstack.analytics.models import Chart, CuratedDataset, Dashboard
from civicstack.core.models import Agency, StaffRole
from civicstack.core.services import staff_role_grant

from .conftest import district_codes, fire_csv, load_now

DAY = timezone.localdate() - datetime.timedelta(days=2)


@pytest.fixture
def accidents(installed, drop):
    """Three accidents in district A, one in district B, and eTag flow on the same roads."""
    a, b = district_codes()[:2]
    drop("fire_reports", "accidents.csv", fire_csv(
        [(f"A{i}", "traffic_accident", a, "中正路", f"{DAY} 0{7 + i}:30", 0) for i in range(3)]
        + [("B1", "traffic_accident", b, "中山路", f"{DAY} 18:10", 2)]
    ))  # fmt: skip
    load_now(selectors.access_source_by_code("fire_reports"))
    return a, b


def query_of(user, slug, **filters):
    return f"/api/v1/analytics/dashboards/{slug}?" + "&".join(f"{k}={v}" for k, v in filters.items())


def chart_rows(body, slug):
    return next(chart["data"]["rows"] for chart in body["charts"] if chart["slug"] == slug)


class TestDefinitions:
    def test_the_shipped_dashboards_and_27_datasets_validate(self, sources):
        services.definitions_install(actor=None)
        assert Dashboard.objects.count() == 6 and CuratedDataset.objects.count() == 27
        chart = Chart.objects.get(slug="hot-spots")
        assert chart.tables == ["districts", "etag_flows", "fire_reports"]

    @pytest.mark.parametrize(("sql", "parameters", "problem"), [
        ("DELETE FROM fire_reports", [], "only one SELECT"),
        ("SELECT 1; SELECT 2", [], "only one SELECT"),
        ("SELECT * FROM auth_user", [], "unknown tables: auth_user"),
        ("SELECT * FROM read_csv('/etc/passwd')", [], "table functions"),
        ("SELECT * FROM main.fire_reports", [], "qualified"),
        ("SELECT count(*) AS n FROM fire_reports WHERE district = :district", [], "not declared: district"),
        ("SELECT count(*) AS n FROM fire_reports", ["since"], "unknown parameters: since"),
        ("SELECT nothing_here AS n FROM fire_reports", [], "does not run"),
        ("SELEC 1", [], "not allowed"),
    ])  # fmt: skip
    def test_a_chart_is_refused_unless_one_select_over_warehouse_tables(
        self, sources, sql, parameters, problem
    ):
        dashboard = services.dashboard_save(
            actor=None, slug="t", title="T", topic="t", agency=Agency.objects.first()
        )
        with pytest.raises(ChartInvalid) as refused:
            services.chart_save(actor=None, dashboard=dashboard, slug="c", title="C", sql=sql, parameters=parameters,
                                spec={"type": "bar", "x": "n", "y": ["n"]})  # fmt: skip
        assert problem in refused.value.message
        assert not Chart.objects.exists()

    def test_a_spec_must_name_result_columns_and_a_known_type(self, sources):
        dashboard = services.dashboard_save(
            actor=None, slug="t", title="T", topic="t", agency=Agency.objects.first()
        )
        sql = "SELECT district, count(*) AS n FROM fire_reports GROUP BY 1"
        with pytest.raises(ChartInvalid) as refused:
            services.chart_save(actor=None, dashboard=dashboard, slug="c", title="C", sql=sql, parameters=[],
                                spec={"type": "pie", "x": "district", "y": ["count"]})  # fmt: skip
        assert set(refused.value.details) == {"type", "columns"}
        chart = services.chart_save(actor=None, dashboard=dashboard, slug="c", title="C", sql=sql, parameters=[],
                                    spec={"type": "bar", "x": "district", "y": ["n"]})  # fmt: skip
        assert chart.tables == ["fire_reports"]

    def test_the_api_refuses_a_bad_chart_with_the_envelope(self, installed, staff, client_for):
        response = client_for(staff["city_admin"]).post(
            "/api/v1/analytics/dashboards/traffic-safety/charts", content_type="application/json",
            data={"slug": "x", "title": "X", "sql": "DROP TABLE fire_reports", "spec": {"type": "bar", "x": "a", "y": ["a"]}},
        )  # fmt: skip
        assert response.status_code == 400 and response.json()["error"]["code"] == "chart_invalid"


class TestRowLevelSecurity:
    def test_a_district_office_sees_only_its_districts_rows(self, accidents, staff, client_for):
        a, b = accidents
        city = client_for(staff["city_admin"]).get(query_of(None, "traffic-safety")).json()
        clerk_a = client_for(staff["clerk_a"]).get(query_of(None, "traffic-safety")).json()
        asking_for_b = client_for(staff["clerk_a"]).get(query_of(None, "traffic-safety", district=b)).json()

        assert sum(row[1] for row in chart_rows(city, "accidents-by-hour")) == 4
        assert sum(row[1] for row in chart_rows(clerk_a, "accidents-by-hour")) == 3
        assert [row[0] for row in chart_rows(clerk_a, "accidents-by-district")] == [a]
        assert chart_rows(asking_for_b, "accidents-by-hour") == []

    def test_the_engine_filters_every_table_and_locks_files_away(self, accidents):
        a, _b = accidents
        viewer = warehouse.Viewer(
            all_districts=False, district_codes=frozenset({a}), agency_codes=frozenset()
        )
        connection = selectors.connection_for(viewer)
        assert connection.execute("SELECT count(*) FROM fire_reports").fetchone() == (3,)
        assert connection.execute("SELECT count(*) FROM districts").fetchone() == (1,)
        with pytest.raises(warehouse.QueryRefused, match="disabled by configuration"):
            warehouse.run(connection, "SELECT * FROM read_csv('/etc/passwd')", {})
        with pytest.raises(warehouse.QueryRefused, match="locked"):
            warehouse.run(connection, "SET enable_external_access = true", {})
        # Inside the warehouse folder, a query naming a file would step around the views: every
        # query is checked before it runs, not only when a chart is saved.
        path = warehouse.table_files("fire_reports")[0]
        around = "SELECT count(*) AS n FROM read_parquet('" + path + "')"  # noqa: S608 -- the attack under test
        with pytest.raises(QueryFailed, match="table functions"):
            selectors.query_result(around, {}, viewer, cache_key=None)

    def test_a_restricted_source_is_visible_to_its_agency_only(
        self, installed, drop, staff, make_user, client_for
    ):
        a = district_codes()[0]
        drop("food_inspections", "i.csv", (
            "inspection_id,factory_id,factory_name,district,category,inspected_on,passed,ghp_violations,haccp_certified\n"
            f"I1,F1,甲廠,{a},餐盒,{DAY},false,5,false\n"
        ))  # fmt: skip
        load_now(selectors.access_source_by_code("food_inspections"))
        health = Agency.objects.get(name_en="Department of Public Health")
        inspector = make_user("inspector")
        staff_role_grant(actor=None, user=inspector, agency=health, role=StaffRole.Role.CLERK)

        seen = {name: chart_rows(client_for(user).get(query_of(None, "food-factory-risk")).json(), "risk-ranking")
                for name, user in [("health", inspector), ("bureau", staff["bureau_clerk"]), ("city", staff["city_admin"])]}  # fmt: skip

        assert [row[0] for row in seen["health"]] == ["甲廠"] and seen["health"][0][-1] > 60
        assert seen["bureau"] == [] and len(seen["city"]) == 1


class TestResultsAndPages:
    def test_results_are_cached_until_a_load_adds_rows(self, accidents, staff):
        chart = Chart.objects.get(slug="accidents-by-hour")
        viewer = selectors.viewer_for_user(staff["city_admin"])
        values = selectors.filters_of(chart.parameters)
        first = selectors.chart_data(chart, viewer, values)
        second = selectors.chart_data(chart, viewer, values)
        assert (first["cached"], second["cached"]) == (False, True) and first["rows"] == second["rows"]
        assert second["computed_at"] == first["computed_at"]
        # A new load changes the warehouse version: the next answer is computed afresh.
        drop_dir = selectors.access_source_by_code("fire_reports")
        from civicstack.analytics.connectors import drop_dir as folder_of

        (folder_of(drop_dir) / "more.csv").write_text(
            fire_csv([("C1", "traffic_accident", accidents[0], "中正路", f"{DAY} 07:45", 0)])
        )
        load_now(drop_dir)
        third = selectors.chart_data(chart, viewer, values)
        assert third["cached"] is False and sum(row[1] for row in third["rows"]) == 5

    def test_public_dashboards_show_public_figures_to_anyone(self, installed, client):
        listing = client.get("/api/v1/analytics/dashboards").json()
        assert [d["slug"] for d in listing] == ["city-operations"]
        public = client.get("/api/v1/analytics/dashboards/city-operations").json()
        assert {c["slug"] for c in public["charts"]} == {"cases-per-day", "parking-occupancy", "pm25-daily",
                                                          "sentiment-topics", "medical-map"}  # fmt: skip
        assert client.get("/api/v1/analytics/dashboards/traffic-safety").status_code == 404
        assert client.get("/analytics/d/traffic-safety/").status_code == 404
        page = client.get("/analytics/d/city-operations/")
        assert page.status_code == 200 and "Public figures only." in page.content.decode()

    def test_the_page_filters_by_district_and_exports_csv(self, accidents, staff, client_for):
        a, _b = accidents
        client = client_for(staff["city_admin"])
        page = client.get(f"/analytics/d/traffic-safety/?date_from={DAY}&date_to={DAY}&district={a}")
        html = page.content.decode()
        assert page.status_code == 200 and "Method" in html and 'data-chart="chart-' in html
        assert "Computed" in html and "echarts.min.js" in html
        chart = Chart.objects.get(slug="accidents-by-hour")
        exported = client.get(f"/analytics/charts/{chart.pk}.csv?district={a}&date_from={DAY}&date_to={DAY}")
        lines = exported.content.decode("utf-8-sig").splitlines()
        assert lines == ["hour,accidents", "7,1", "8,1", "9,1"]
        bad = client.get("/analytics/d/traffic-safety/?date_from=2026-02-01&date_to=2026-01-01")
        assert bad.status_code == 200 and "The start date is after the end date." in bad.content.decode()

    def test_bad_filters_are_refused_in_the_api(self, installed, staff, client_for):
        client = client_for(staff["city_admin"])
        for filters in (
            {"district": "x"},
            {"date_from": "2020-01-01", "date_to": "2026-01-01"},
            {"date_to": "soon"},
        ):
            response = client.get(query_of(None, "traffic-safety", **filters))
            assert response.status_code == 422 and "error" in response.json()


class TestColumnHeadings:
    """Tables, legends and the API name result columns in the reader's language, not by SQL names."""

    def test_every_shipped_charts_columns_have_a_heading(self, installed):
        checker = services.QueryChecker()
        unlabelled = {
            (chart.slug, column)
            for chart in Chart.objects.all()
            for column in checker.check(chart.sql, chart.parameters)[1]
            if column not in COLUMN_LABELS
        }
        assert Chart.objects.count() > 20 and unlabelled == set()

    def test_the_page_heads_columns_in_the_readers_language(self, accidents, staff, client_for):
        client = client_for(staff["city_admin"])
        english = client.get("/analytics/d/traffic-safety/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        chinese = client.get("/analytics/d/traffic-safety/", HTTP_ACCEPT_LANGUAGE="zh-Hant").content.decode()
        assert '<th scope="col">Hour</th><th scope="col">Accidents</th>' in english
        assert '<th scope="col">小時</th><th scope="col">事故數</th>' in chinese
        assert '<th scope="col">hour</th>' not in english + chinese
        chart = Chart.objects.get(slug="accidents-by-hour")
        embedded = re.search(
            rf'<script id="chart-{chart.pk}-data" type="application/json">(.*?)</script>', chinese
        )
        assert json.loads(embedded.group(1))["labels"] == {
            "hour": "小時",
            "accidents": "事故數",
        }  # for the legend

    def test_the_api_gives_labels_and_a_charts_own_labels_win(self, accidents, staff, client_for):
        client = client_for(staff["city_admin"])
        chart = Chart.objects.get(slug="accidents-by-hour")
        body = client.get(f"/api/v1/analytics/charts/{chart.pk}/data", HTTP_ACCEPT_LANGUAGE="en").json()
        assert body["columns"] == ["hour", "accidents"]
        assert body["labels"] == {"hour": "Hour", "accidents": "Accidents"}
        services.chart_save(actor=None, dashboard=chart.dashboard, slug=chart.slug, title=chart.title, sql=chart.sql,
                            parameters=chart.parameters, chart=chart,
                            spec={**chart.spec, "labels": {"accidents": "Crashes"}})  # fmt: skip
        body = client.get(f"/api/v1/analytics/charts/{chart.pk}/data", HTTP_ACCEPT_LANGUAGE="en").json()
        assert body["labels"] == {"hour": "Hour", "accidents": "Crashes"}

    @pytest.mark.parametrize(
        "labels", [["Crashes"], {"accidents": ""}, {"accidents": 3}, {"nothing": "Nothing"}]
    )
    def test_bad_labels_are_refused(self, installed, labels):
        chart = Chart.objects.get(slug="accidents-by-hour")
        with pytest.raises(ChartInvalid) as refused:
            services.chart_save(actor=None, dashboard=chart.dashboard, slug=chart.slug, title=chart.title,
                                sql=chart.sql, parameters=chart.parameters, chart=chart,
                                spec={**chart.spec, "labels": labels})  # fmt: skip
        assert set(refused.value.details) == {"labels"}
        assert Chart.objects.get(pk=chart.pk).spec == chart.spec


def test_the_date_inputs_show_the_period_the_charts_cover(installed, staff, client_for):
    client = client_for(staff["city_admin"])
    today = timezone.localdate()
    for language in ("zh-Hant", "en"):  # ISO in the input whatever the language's date format
        html = client.get("/analytics/d/traffic-safety/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert f'name="date_from" value="{today - datetime.timedelta(days=29)}"' in html
        assert f'name="date_to" value="{today}"' in html
    chosen = client.get(
        "/analytics/d/traffic-safety/?date_from=2026-01-05&date_to=2026-01-31"
    ).content.decode()
    assert 'name="date_from" value="2026-01-05"' in chosen and 'name="date_to" value="2026-01-31"' in chosen
