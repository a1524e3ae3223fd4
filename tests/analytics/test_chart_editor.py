"""The staff chart editor: who may use it, a refused definition shown on the form with the
validation's own message, a preview that saves nothing, saving, dashboards and chart order."""

import datetime

import pytest
from django.utils import timezone

from civicstack.analytics import selectors, services
from civicstack.analytics.models import Chart, Dashboard
from civicstack.core.errors import PermissionDenied
from civicstack.core.models import Agency, AuditEvent

from .conftest import district_codes, fire_csv, load_now

YESTERDAY = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
ACCIDENTS_BY_ROAD = (
    "SELECT road, count(*) AS accidents FROM fire_reports WHERE incident_type = 'traffic_accident' "
    "AND reported_at >= :date_from AND reported_at < :date_to + INTERVAL '1' DAY GROUP BY road ORDER BY 2 DESC"
)


def chart_post(**changes) -> dict:
    data = {"dashboard": "traffic-safety", "title": "Accidents by road", "slug": "by-road", "sql": ACCIDENTS_BY_ROAD,
            "parameters": ["date_from", "date_to"], "type": "bar", "x": "road", "y": "accidents", "series": "",
            "label": "", "position": "7", "action": "save"}  # fmt: skip
    return {**data, **changes}


@pytest.fixture
def accidents(installed, drop):
    a, b = district_codes()[:2]
    drop("fire_reports", "day.csv", fire_csv([
        ("A1", "traffic_accident", a, "中正路", f"{YESTERDAY} 08:10", 1),
        ("A2", "traffic_accident", b, "中正路", f"{YESTERDAY} 09:10", 0),
        ("A3", "traffic_accident", a, "中山路", f"{YESTERDAY} 10:10", 0),
    ]))  # fmt: skip
    load_now(selectors.access_source_by_code("fire_reports"))


def test_only_supervisors_and_administrators_of_the_agency_may_edit(
    installed, staff, citizen, client_for, client
):
    assert client.get("/analytics/editor/").status_code == 302  # to the login page
    assert client_for(citizen[0]).get("/analytics/editor/").status_code == 403
    assert client_for(staff["clerk_a"]).get("/analytics/editor/").status_code == 403
    assert client_for(staff["clerk_a"]).post("/analytics/editor/charts/new/", chart_post()).status_code == 403

    # a district office's supervisor edits its own agency's dashboards, not the transport department's
    supervisor = client_for(staff["supervisor_a"])
    page = supervisor.get("/analytics/editor/").content.decode()
    assert "Traffic safety hot spots" not in page
    chart = Chart.objects.filter(dashboard__slug="traffic-safety").first()
    assert supervisor.get(f"/analytics/editor/charts/{chart.pk}/").status_code == 404
    assert supervisor.get("/analytics/editor/dashboards/traffic-safety/").status_code == 404
    refused = supervisor.post("/analytics/editor/charts/new/", chart_post())
    assert refused.status_code == 400 and "Select a valid choice" in refused.content.decode()
    assert not Chart.objects.filter(slug="by-road").exists()

    admin = client_for(staff["city_admin"])
    assert "Traffic safety hot spots" in admin.get("/analytics/editor/").content.decode()
    assert admin.get(f"/analytics/editor/charts/{chart.pk}/").status_code == 200
    assert 'id="chart-editor-link"' in admin.get("/analytics/").content.decode()
    assert 'id="chart-editor-link"' not in client_for(staff["clerk_a"]).get("/analytics/").content.decode()


def test_the_service_and_the_api_refuse_a_clerk(installed, staff, client_for):
    dashboard = Dashboard.objects.get(slug="traffic-safety")
    with pytest.raises(PermissionDenied):
        services.chart_save(actor=staff["clerk_a"], dashboard=dashboard, slug="x", title="X", sql=ACCIDENTS_BY_ROAD,
                            spec={"type": "bar", "x": "road", "y": ["accidents"]}, parameters=["date_from", "date_to"])  # fmt: skip
    response = client_for(staff["bureau_clerk"]).post(
        "/api/v1/analytics/dashboards/traffic-safety/charts", content_type="application/json",
        data={"slug": "x", "title": "X", "sql": ACCIDENTS_BY_ROAD, "parameters": ["date_from", "date_to"],
              "spec": {"type": "bar", "x": "road", "y": ["accidents"]}},
    )  # fmt: skip
    assert response.status_code == 403


def test_an_invalid_definition_is_shown_on_the_form_and_not_saved(installed, staff, client_for):
    admin = client_for(staff["city_admin"])

    unknown_column = admin.post(
        "/analytics/editor/charts/new/", chart_post(sql="SELECT rode FROM fire_reports")
    )
    page = unknown_column.content.decode()
    assert unknown_column.status_code == 400
    assert 'id="chart-problems"' in page and "The SQL does not run" in page and "rode" in page

    not_a_select = admin.post("/analytics/editor/charts/new/", chart_post(sql="DROP TABLE fire_reports"))
    assert "The SQL is not allowed" in not_a_select.content.decode()

    undeclared = admin.post("/analytics/editor/charts/new/", chart_post(parameters=["date_from"]))
    assert "parameters used but not declared: date_to" in undeclared.content.decode()

    wrong_spec = admin.post("/analytics/editor/charts/new/", chart_post(y="accidents, deaths"))
    page = wrong_spec.content.decode()
    assert wrong_spec.status_code == 400
    assert "The chart spec is not valid." in page and "Columns not in the query&#x27;s result: deaths" in page
    assert 'id="id_y-error"' in page  # the problem is shown on the field it concerns
    assert not Chart.objects.filter(slug="by-road").exists()


def test_preview_shows_the_rows_and_saves_nothing_then_save_stores_the_chart(accidents, staff, client_for):
    admin = client_for(staff["city_admin"])

    preview = admin.post("/analytics/editor/charts/new/", chart_post(action="preview"))
    page = preview.content.decode()
    assert preview.status_code == 200
    assert 'id="chart-preview-data"' in page and "<td>中正路</td><td>2</td>" in page
    assert "2 rows" in page and not Chart.objects.filter(slug="by-road").exists()

    saved = admin.post("/analytics/editor/charts/new/", chart_post())
    assert saved.status_code == 302 and saved["Location"] == "/analytics/editor/dashboards/traffic-safety/"
    chart = Chart.objects.get(dashboard__slug="traffic-safety", slug="by-road")
    assert chart.spec == {"type": "bar", "x": "road", "y": ["accidents"]}
    assert (chart.parameters, chart.tables, chart.position) == (["date_from", "date_to"], ["fire_reports"], 7)
    assert AuditEvent.objects.filter(action="analytics.chart_saved", object_id=str(chart.pk)).exists()
    dashboard = admin.get("/analytics/d/traffic-safety/").content.decode()
    assert 'data-chart-slug="by-road"' in dashboard and 'id="edit-dashboard"' in dashboard

    # edited: moved to another dashboard with a series column
    edited = admin.post(f"/analytics/editor/charts/{chart.pk}/", chart_post(
        dashboard="fire-prevention", title="Accidents per road", position="1"))  # fmt: skip
    assert edited.status_code == 302
    chart.refresh_from_db()
    assert (chart.dashboard.slug, chart.title, chart.position) == ("fire-prevention", "Accidents per road", 1)


def test_dashboards_are_created_for_the_editors_agency_and_charts_arranged(installed, staff, client_for):
    supervisor = client_for(staff["supervisor_a"])
    form = supervisor.get("/analytics/editor/dashboards/new/").content.decode()
    agency = staff["supervisor_a"].staff_roles.get().agency
    transport = Agency.objects.get(name_en="Department of Transportation")
    # only the agencies the supervisor acts for
    assert f'<option value="{agency.pk}"' in form and f'<option value="{transport.pk}"' not in form
    created = supervisor.post("/analytics/editor/dashboards/new/", {
        "title": "District A operations", "slug": "district-a", "topic": "Operations", "agency": agency.pk,
        "description": "", "method": "", "position": "5",
    })  # fmt: skip
    assert created.status_code == 302
    dashboard = Dashboard.objects.get(slug="district-a")
    assert (dashboard.agency, dashboard.is_public) == (agency, False)
    taken = supervisor.post("/analytics/editor/dashboards/new/", {
        "title": "Again", "slug": "traffic-safety", "topic": "x", "agency": agency.pk, "position": "5"})  # fmt: skip
    assert taken.status_code == 400 and "A dashboard with this slug exists." in taken.content.decode()

    for slug, position in (("first", "1"), ("second", "2")):
        assert supervisor.post("/analytics/editor/charts/new/", chart_post(
            dashboard="district-a", slug=slug, position=position)).status_code == 302  # fmt: skip
    first, second = Chart.objects.filter(dashboard=dashboard).order_by("position")
    arranged = supervisor.post("/analytics/editor/dashboards/district-a/", {
        "action": "arrange", f"position-{first.pk}": "20", f"position-{second.pk}": "10"})  # fmt: skip
    assert arranged.status_code == 302
    assert [c.slug for c in Chart.objects.filter(dashboard=dashboard).order_by("position")] == [
        "second",
        "first",
    ]
    # a city administrator may; a clerk of the same office may not
    assert client_for(staff["city_admin"]).get("/analytics/editor/dashboards/district-a/").status_code == 200
    refused = client_for(staff["clerk_a"]).post("/analytics/editor/dashboards/district-a/", {
        "action": "arrange", f"position-{first.pk}": "1"})  # fmt: skip
    assert refused.status_code == 403
    with pytest.raises(PermissionDenied):
        services.charts_arrange(actor=staff["clerk_b"], dashboard=dashboard, positions={first.pk: 1})
    assert Chart.objects.get(pk=first.pk).position == 20


def test_column_headings_are_set_in_the_editor_and_shown_on_the_dashboard(accidents, staff, client_for):
    admin = client_for(staff["city_admin"])
    malformed = admin.post("/analytics/editor/charts/new/", chart_post(headings="accidents Crashes"))
    assert malformed.status_code == 400 and "Line 1: write column = heading." in malformed.content.decode()
    unknown = admin.post("/analytics/editor/charts/new/", chart_post(headings="deaths = Deaths"))
    page = unknown.content.decode()
    assert unknown.status_code == 400 and 'id="id_headings-error"' in page and "deaths" in page
    assert not Chart.objects.filter(slug="by-road").exists()

    preview = admin.post(
        "/analytics/editor/charts/new/", chart_post(action="preview", headings="accidents = Crashes")
    )
    assert (
        '<th scope="col">Road</th><th scope="col">Crashes</th>' in preview.content.decode()
    )  # glossary, own
    assert (
        admin.post(
            "/analytics/editor/charts/new/", chart_post(headings="\naccidents = Crashes\n")
        ).status_code
        == 302
    )
    chart = Chart.objects.get(slug="by-road")
    assert chart.spec["labels"] == {"accidents": "Crashes"}
    assert (
        "accidents = Crashes</textarea>"
        in admin.get(f"/analytics/editor/charts/{chart.pk}/").content.decode()
    )
    dashboard = admin.get("/analytics/d/traffic-safety/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<th scope="col">Road</th><th scope="col">Crashes</th>' in dashboard
