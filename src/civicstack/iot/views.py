"""City sensors pages: the station list with latest values and open alerts (public: river levels
and air quality are public information), a station page with 48-hour charts, and the staff
data-quality page (what came in, what was quarantined and why). Thin: parse, call selectors, render."""

import datetime

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from civicstack.core.errors import NotFound
from civicstack.core.models import District
from civicstack.core.selectors import staff_scope

from . import charts, selectors
from .models import QuarantinedReading, Station

CHART_HOURS = 48


def station_list(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    kind = kind if kind in Station.Kind.values else ""
    district = request.GET.get("district", "")[:16]
    stations = selectors.stations(kind=kind, district=district, q=request.GET.get("q", "")[:60])
    page = Paginator(stations, 40).get_page(request.GET.get("page"))
    latest = selectors.latest_by_station([s.pk for s in page.object_list])
    rows = [{"station": s, "sensors": latest.get(s.pk, [])} for s in page.object_list]
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "iot/stations.html", {
        "page": page, "rows": rows, "kinds": Station.Kind.choices, "kind": kind, "district": district,
        "districts": District.objects.all(), "open_episodes": selectors.episodes(open_only=True)[:20],
        "is_staff": staff_scope(request.user).is_staff, "params": params.urlencode(),
    })  # fmt: skip


def station_detail(request: HttpRequest, code: str) -> HttpResponse:
    try:
        station = selectors.access_station_by_code(code)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    since = timezone.now() - datetime.timedelta(hours=CHART_HOURS)
    sensors = []
    for row in selectors.latest_values(station):
        sensor = row["sensor"]
        chart = charts.line_chart(selectors.series(sensor, since=since), thresholds=sensor.thresholds(),
                                  unit=sensor.unit, label=f"{station.name} {sensor.quantity_name}")  # fmt: skip
        sensors.append({"sensor": sensor, "latest": row["latest"], "chart": chart})
    return render(request, "iot/station.html", {
        "station": station, "sensors": sensors, "episodes": selectors.episodes(station=station)[:20],
        "hours": CHART_HOURS,
    })  # fmt: skip


@login_required
def data_quality(request: HttpRequest) -> HttpResponse:
    if not staff_scope(request.user).is_staff:
        raise DjangoPermissionDenied
    reason = request.GET.get("reason", "")
    reason = reason if reason in QuarantinedReading.Reason.values else ""
    counts = selectors.quarantine_counts(since=timezone.now() - datetime.timedelta(days=7))
    labels = dict(QuarantinedReading.Reason.choices)
    return render(request, "iot/quality.html", {
        "tallies": selectors.ingest_tallies(days=7), "reason": reason, "reasons": QuarantinedReading.Reason.choices,
        "counts": sorted(((labels[r], n) for r, n in counts.items()), key=lambda pair: -pair[1]),
        "quarantined": selectors.quarantine(reason=reason)[:100],
    })  # fmt: skip
