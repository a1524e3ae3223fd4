"""Reads of the iot module. Stations and their readings are not personal data: staff see every
station (an emergency centre needs the neighbouring district's river too); what a user may
change is decided in services (the owner agency)."""

import datetime

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from civicstack.core.errors import NotFound

from .models import AlertEpisode, IngestTally, QuarantinedReading, Reading, Rollup, Sensor, Station


def readings_after(cursor: int, *, limit: int = 50_000) -> tuple[list[dict], int]:
    """Accepted readings with id > cursor, oldest first; each dict: id, station, kind, quantity,
    district (district code), measured_at (aware datetime), value (float), unit. Returns (rows,
    new_cursor) where new_cursor is the last id returned (or cursor when none).

    Ids follow insert order, which is commit order for one writer (the listener); with several
    concurrent writers a consumer should stay a few seconds behind the newest id."""
    rows = list(
        Reading.objects.filter(id__gt=cursor).order_by("id")
        .values_list("id", "sensor__station__code", "sensor__station__kind", "sensor__quantity",
                     "sensor__station__district__code", "measured_at", "value", "sensor__unit")[:limit]
    )  # fmt: skip
    keys = ("id", "station", "kind", "quantity", "district", "measured_at", "value", "unit")
    found = [dict(zip(keys, row, strict=True)) for row in rows]
    return found, (found[-1]["id"] if found else cursor)


def stations(*, kind: str = "", district: str = "", q: str = "") -> QuerySet[Station]:
    found = Station.objects.select_related("district", "agency").annotate(
        open_alerts=Count("sensors__episodes", filter=Q(sensors__episodes__closed_at__isnull=True))
    )
    if kind:
        found = found.filter(kind=kind)
    if district:
        found = found.filter(district__code=district)
    if q:
        found = found.filter(Q(code__icontains=q) | Q(name__icontains=q))
    return found.order_by("district__sort_order", "code")


def access_station_by_code(code: str) -> Station:
    station = Station.objects.select_related("district", "agency").filter(code=code).first()
    if station is None:
        raise NotFound("no such station")
    return station


def latest_values(station: Station) -> list[dict]:
    """Each sensor of the station with its newest reading (or None)."""
    found = []
    for sensor in station.sensors.all():
        latest = sensor.readings.order_by("-measured_at").values("measured_at", "value").first()
        found.append({"sensor": sensor, "latest": latest})
    return found


def series(
    sensor: Sensor, *, since: datetime.datetime, until: datetime.datetime | None = None
) -> list[tuple]:
    """(measured_at, value) of the raw readings, or of the hourly rollups once raw ones are purged."""
    until = until or timezone.now()
    raw = list(sensor.readings.filter(measured_at__gte=since, measured_at__lt=until)
               .order_by("measured_at").values_list("measured_at", "value"))  # fmt: skip
    if raw:
        return raw
    return list(sensor.rollups.filter(period=Rollup.Period.HOUR, starts_at__gte=since, starts_at__lt=until)
                .order_by("starts_at").values_list("starts_at", "mean"))  # fmt: skip


def episodes(*, open_only: bool = False, station: Station | None = None) -> QuerySet[AlertEpisode]:
    found = AlertEpisode.objects.select_related("sensor__station__district", "sensor__station__agency")
    if open_only:
        found = found.filter(closed_at__isnull=True)
    if station is not None:
        found = found.filter(sensor__station=station)
    return found.order_by("-opened_at")


def quarantine(*, reason: str = "", station_code: str = "") -> QuerySet[QuarantinedReading]:
    found = QuarantinedReading.objects.all()
    if reason:
        found = found.filter(reason=reason)
    if station_code:
        found = found.filter(station_code=station_code)
    return found.order_by("-id")


def quarantine_counts(*, since: datetime.datetime | None = None) -> dict[str, int]:
    found = QuarantinedReading.objects.all()
    if since is not None:
        found = found.filter(received_at__gte=since)
    return dict(found.values_list("reason").annotate(n=Count("id")).order_by())


def ingest_tallies(*, days: int = 7) -> QuerySet[IngestTally]:
    return IngestTally.objects.filter(day__gte=timezone.localdate() - datetime.timedelta(days=days - 1))


def rollups(sensor: Sensor, *, period: str, since: datetime.datetime) -> QuerySet[Rollup]:
    return sensor.rollups.filter(period=period, starts_at__gte=since).order_by("starts_at")


def latest_by_station(station_ids: list[int]) -> dict[int, list[dict]]:
    """Each station's sensors with their newest value, in one query (a subquery per sensor row,
    answered from the (sensor, measured_at) unique index)."""
    newest = Reading.objects.filter(sensor=OuterRef("pk")).order_by("-measured_at")
    found: dict[int, list[dict]] = {}
    for sensor in Sensor.objects.filter(station_id__in=station_ids).annotate(
        latest_value=Subquery(newest.values("value")[:1]), latest_at=Subquery(newest.values("measured_at")[:1])
    ).prefetch_related(Prefetch("episodes", queryset=AlertEpisode.objects.filter(closed_at__isnull=True),
                                to_attr="open_episodes")):  # fmt: skip
        found.setdefault(sensor.station_id, []).append(
            {"sensor": sensor, "value": sensor.latest_value, "at": sensor.latest_at,
             "level": max((e.level for e in sensor.open_episodes), default="", key=["warning", "alert"].index)}
        )  # fmt: skip
    return found
