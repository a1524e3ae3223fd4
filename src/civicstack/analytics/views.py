"""Pages: the dashboards (public ones without login), CSV export of a chart, the sources with
their load histories, and the staff chart editor (charts and dashboards, with a preview). Thin:
the rows come from selectors, already filtered per viewer; saving goes through services."""

import csv
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control

from civicstack.core.errors import NotFound, PermissionDenied, ServiceError
from civicstack.core.selectors import staff_scope

from . import selectors, services
from .forms import PARAMETER_CHOICES, ChartForm, DashboardFilters, DashboardForm
from .models import Chart, Source

GEOJSON = Path(__file__).parent / "data" / "taoyuan-districts.geojson"


def _user(request: HttpRequest):
    return request.user if request.user.is_authenticated else None


def _is_staff(request: HttpRequest) -> bool:
    return request.user.is_authenticated and staff_scope(request.user).is_staff


def _filters(request: HttpRequest) -> DashboardFilters:
    sources = [(s.table, s.name) for s in selectors.sources()]
    period = selectors.filters_of(["date_from", "date_to"])  # shown in the date inputs until one is chosen
    return DashboardFilters(
        request.GET or None, initial=period, districts=selectors.district_choices(), sources=sources
    )


def _values(form: DashboardFilters, declared: list[str]) -> dict:
    cleaned = form.cleaned_data if form.is_bound and form.is_valid() else {}
    return selectors.filters_of(declared, date_from=cleaned.get("date_from"), date_to=cleaned.get("date_to"),
                                district=cleaned.get("district") or "")  # fmt: skip


def index(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    dashboards = selectors.dashboards_visible_to(user)
    return render(request, "analytics/index.html", {"dashboards": dashboards, "is_staff": _is_staff(request),
                                                    "may_edit": selectors.may_edit_charts(user)})  # fmt: skip


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
            data, error = {"columns": [], "labels": {}, "rows": [], "computed_at": None}, failure.message
        computed = parse_datetime(data["computed_at"]) if data.get("computed_at") else None
        panels.append({"chart": chart, "data": {"spec": chart.spec, "columns": data["columns"], "rows": data["rows"],
                                                "labels": data["labels"]},
                       "headings": list(data["labels"].values()), "rows": data["rows"][:200], "computed_at": computed,
                       "cached": data.get("cached", False), "error": error,
                       "csv_query": request.GET.urlencode(), "data_id": f"chart-{chart.pk}-data"})  # fmt: skip
    period = _values(form, ["date_from", "date_to"])
    return render(request, "analytics/dashboard.html", {
        "dashboard": board, "form": form, "panels": panels, "period": period, "viewer": viewer,
        "is_staff": _is_staff(request), "may_edit": selectors.may_edit_charts_of(user, board.agency_id),
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


# --- the chart editor (staff with a chart editor role) ------------------------------------------


def _require_chart_editor(request: HttpRequest) -> None:
    if not selectors.may_edit_charts(request.user):
        raise DjangoPermissionDenied(_("Supervisors and administrators edit charts."))


def _problems(form, error: ServiceError) -> list[str]:
    """A refusal's details, attached to the field they concern when there is one."""
    problems = [error.message]
    details = error.details if isinstance(error.details, dict) else {}
    for key, text in details.items():
        field = {"columns": "y", "labels": "headings"}.get(key, key)
        if field in form.fields:
            form.add_error(field, str(text))
        else:
            problems.append(f"{key}: {text}")
    return problems


@login_required
def editor(request: HttpRequest) -> HttpResponse:
    _require_chart_editor(request)
    dashboards = selectors.dashboards_editable_by(request.user).prefetch_related("charts")
    return render(request, "analytics/editor.html", {"dashboards": dashboards})


@login_required
def chart_edit(request: HttpRequest, chart_id: int | None = None) -> HttpResponse:
    _require_chart_editor(request)
    try:
        chart = selectors.access_editable_chart_by_id(request.user, chart_id) if chart_id else None
    except NotFound as error:
        raise Http404(error.message) from error
    dashboards = selectors.dashboards_editable_by(request.user)
    options = {"dashboards": dashboards, "chart_types": Chart.Type.choices}
    initial = ChartForm.initial_of(chart) if chart else {
        "dashboard": request.GET.get("dashboard"), "parameters": [name for name, _label in PARAMETER_CHOICES],
        "type": Chart.Type.BAR, "position": 100,
    }  # fmt: skip
    form = ChartForm(request.POST or None, initial=initial, **options)
    problems, preview = [], None
    if request.method == "POST" and form.is_valid():
        data, spec = form.cleaned_data, form.spec()
        parameters = [name for name, _label in PARAMETER_CHOICES if name in data["parameters"]]
        try:
            if request.POST.get("action") == "preview":
                values = selectors.filters_of(parameters)
                result = services.chart_preview(viewer=selectors.viewer_for_user(request.user), sql=data["sql"],
                                                spec=spec, parameters=parameters, values=values)  # fmt: skip
                labels = selectors.column_labels(spec, result["columns"])
                preview = {"data": {"spec": spec, "columns": result["columns"], "rows": result["rows"], "labels": labels},
                           "headings": list(labels.values()), "rows": result["rows"][:50], "total": len(result["rows"]),
                           "period": selectors.filters_of(["date_from", "date_to"])}  # fmt: skip
            else:
                saved = services.chart_save(
                    actor=request.user, dashboard=data["dashboard"], slug=data["slug"], title=data["title"],
                    sql=data["sql"], spec=spec, parameters=parameters, is_public=data["is_public"],
                    position=data["position"], chart=chart,
                )  # fmt: skip
                messages.success(request, _("The chart was saved."))
                return redirect("analytics:dashboard_edit", slug=saved.dashboard.slug)
        except PermissionDenied as error:
            raise DjangoPermissionDenied(error.message) from error
        except ServiceError as error:
            problems = _problems(form, error)
    return render(request, "analytics/chart_form.html", {
        "form": form, "chart": chart, "problems": problems, "preview": preview,
        "tables": sorted(selectors.warehouse_tables()),
    }, status=400 if problems or form.errors else 200)  # fmt: skip


@login_required
def dashboard_edit(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    _require_chart_editor(request)
    try:
        board = selectors.access_editable_dashboard_by_slug(request.user, slug) if slug else None
    except NotFound as error:
        raise Http404(error.message) from error
    agencies = selectors.agencies_for_dashboards(request.user)
    initial = {"position": 100}
    if board:
        initial = {name: getattr(board, name) for name in ("title", "slug", "topic", "description", "method",
                                                           "is_public", "position")} | {"agency": board.agency}  # fmt: skip
    charts = list(board.charts.all()) if board else []
    if request.method == "POST" and board and request.POST.get("action") == "arrange":
        positions = {}
        for item in charts:
            raw = request.POST.get(f"position-{item.pk}", "")
            if raw.strip().isdigit():
                positions[item.pk] = int(raw)
        try:
            services.charts_arrange(actor=request.user, dashboard=board, positions=positions)
        except PermissionDenied as error:
            raise DjangoPermissionDenied(error.message) from error
        messages.success(request, _("The order of the charts was saved."))
        return redirect("analytics:dashboard_edit", slug=board.slug)
    form = DashboardForm(request.POST or None, initial=initial, agencies=agencies, editing=board is not None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if board is None and selectors.dashboard_slug_taken(data["slug"]):
            form.add_error("slug", _("A dashboard with this slug exists."))
        else:
            try:
                saved = services.dashboard_save(
                    actor=request.user, slug=board.slug if board else data["slug"], title=data["title"],
                    topic=data["topic"], agency=data["agency"], description=data["description"],
                    method=data["method"], is_public=data["is_public"], position=data["position"],
                )  # fmt: skip
            except PermissionDenied as error:
                raise DjangoPermissionDenied(error.message) from error
            messages.success(request, _("The dashboard was saved."))
            return redirect("analytics:dashboard_edit", slug=saved.slug)
    context = {"form": form, "dashboard": board, "charts": charts}
    return render(request, "analytics/dashboard_form.html", context, status=400 if form.errors else 200)
