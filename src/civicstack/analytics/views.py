"""Pages: the dashboards (public ones without login), CSV export of a chart, and the sources
with their load histories. Thin: the rows come from selectors, already filtered per viewer."""

import csv
from pathlib import Path

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control

from civicstack.core.errors import NotFound, ServiceError
from civicstack.core.selectors import staff_scope

from . import selectors
from .forms import DashboardFilters
from .models import Source

GEOJSON = Path(__file__).parent / "data" / "taoyuan-districts.geojson"


def _user(request: HttpRequest):
    return request.user if request.user.is_authenticated else None


def _is_staff(request: HttpRequest) -> bool:
    return request.user.is_authenticated and staff_scope(request.user).is_staff


def _filters(request: HttpRequest) -> DashboardFilters:
    sources = [(s.table, s.name) for s in selectors.sources()]
    return DashboardFilters(request.GET or None, districts=selectors.district_choices(), sources=sources)


def _values(form: DashboardFilters, declared: list[str]) -> dict:
    cleaned = form.cleaned_data if form.is_bound and form.is_valid() else {}
    return selectors.filters_of(declared, date_from=cleaned.get("date_from"), date_to=cleaned.get("date_to"),
                                district=cleaned.get("district") or "")  # fmt: skip


def index(request: HttpRequest) -> HttpResponse:
    dashboards = selectors.dashboards_visible_to(_user(request))
    return render(request, "analytics/index.html", {"dashboards": dashboards, "is_staff": _is_staff(request)})


def dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    user = _user(request)
    try:
        board = selectors.access_dashboard_by_slug(user, slug)
    except NotFound as error:
        raise Http404(error.message) from error
    form = _filters(request)
    source = form.cleaned_data.get("source") if form.is_bound and form.is_valid() else ""
    viewer = selectors.viewer_for_user(user)
    panels = []
    for chart in selectors.charts_visible_to(user, board):
        if source and source not in chart.tables:
            continue
        values = _values(form, chart.parameters)
        try:
            data, error = selectors.chart_data(chart, viewer, values), ""
        except ServiceError as failure:
            data, error = {"columns": [], "rows": [], "computed_at": None}, failure.message
        computed = parse_datetime(data["computed_at"]) if data.get("computed_at") else None
        panels.append({"chart": chart, "data": {"spec": chart.spec, "columns": data["columns"], "rows": data["rows"]},
                       "columns": data["columns"], "rows": data["rows"][:200], "computed_at": computed,
                       "cached": data.get("cached", False), "error": error,
                       "csv_query": request.GET.urlencode(), "data_id": f"chart-{chart.pk}-data"})  # fmt: skip
    period = _values(form, ["date_from", "date_to"])
    return render(request, "analytics/dashboard.html", {
        "dashboard": board, "form": form, "panels": panels, "period": period, "viewer": viewer,
        "is_staff": _is_staff(request),
    })  # fmt: skip


def chart_csv(request: HttpRequest, chart_id: int) -> HttpResponse:
    user = _user(request)
    try:
        chart = selectors.access_chart_by_id(user, chart_id)
    except NotFound as error:
        raise Http404(error.message) from error
    form = _filters(request)
    try:
        data = selectors.chart_data(chart, selectors.viewer_for_user(user), _values(form, chart.parameters))
    except ServiceError as error:
        return HttpResponse(error.message, status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{chart.dashboard.slug}-{chart.slug}.csv"'
    response.write("\ufeff")  # so Excel in Taiwan opens UTF-8 Chinese correctly
    writer = csv.writer(response)
    writer.writerow(data["columns"])
    writer.writerows(data["rows"])
    return response


def sources(request: HttpRequest) -> HttpResponse:
    if not _is_staff(request):
        raise DjangoPermissionDenied(_("Staff only."))
    latest = selectors.latest_loads()
    rows = [{"source": source, "load": latest.get(source.pk)} for source in selectors.sources()]
    return render(request, "analytics/sources.html", {"rows": rows})


def source_detail(request: HttpRequest, code: str) -> HttpResponse:
    if not _is_staff(request):
        raise DjangoPermissionDenied(_("Staff only."))
    try:
        source = selectors.access_source_by_code(code)
    except NotFound as error:
        raise Http404(error.message) from error
    loads = list(selectors.loads_of(source)[:50])
    return render(request, "analytics/source_detail.html", {
        "source": source, "loads": loads, "latest": loads[0] if loads else None,
        "kinds": dict(Source.Kind.choices),
    })  # fmt: skip


@cache_control(public=True, max_age=86400)
def districts_geojson(request: HttpRequest) -> FileResponse:
    return FileResponse(GEOJSON.open("rb"), content_type="application/geo+json")
