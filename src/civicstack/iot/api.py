"""City sensors API: the public station registry and readings, the HTTP batch upload (partner
key with ``iot.readings:write`` for the key's agency's stations, or staff), and the staff views
of alert episodes and the quarantine. Thin: parse, call selectors/services, shape the answer."""

import datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema
from ninja.pagination import paginate
from pydantic import Field

from civicstack.core.api_support import (
    ERROR_RESPONSES,
    USER_AUTH,
    USER_OR_PARTNER_AUTH,
    Pagination,
    PlausibleDateTime,
    require_scope,
    require_staff,
)  # fmt: skip
from civicstack.core.errors import InvalidInput, NotFound

from . import selectors, services
from .models import AlertEpisode, QuarantinedReading, Station

router = Router(tags=["iot"])

StationKind = Literal[
    "", "water_level", "air_quality", "water_quality", "traffic_flow", "streetlight", "rainfall"
]
MAX_SERIES_POINTS = 10_000


class SensorOut(Schema):
    quantity: str
    unit: str
    valid_min: float
    valid_max: float
    warning_level: float | None
    alert_level: float | None
    latest_value: float | None = None
    latest_at: datetime.datetime | None = None


class StationOut(Schema):
    code: str
    name: str
    kind: str
    district: str = Field(description="district code")
    district_name: str
    agency: str = Field(description="owner agency code")
    latitude: float
    longitude: float
    active: bool
    open_alerts: int = 0

    @staticmethod
    def of(station: Station) -> "StationOut":
        return StationOut(code=station.code, name=station.name, kind=station.kind, district=station.district.code,
                          district_name=station.district.name, agency=station.agency.code, latitude=station.latitude,
                          longitude=station.longitude, active=station.active,
                          open_alerts=getattr(station, "open_alerts", 0))  # fmt: skip


class StationDetailOut(StationOut):
    sensors: list[SensorOut]


class StationFilter(Schema):
    kind: StationKind = ""
    district: str = Field("", max_length=16, description="district code")
    q: str = Field("", max_length=60, description="part of the code or name")


@router.get("/stations", response={200: list[StationOut], **ERROR_RESPONSES}, auth=None)
@paginate(Pagination)
def station_list(request: HttpRequest, filters: Query[StationFilter]):
    """Public: the sensor stations, by district then code."""
    return [
        StationOut.of(s)
        for s in selectors.stations(kind=filters.kind, district=filters.district, q=filters.q)
    ]


@router.get("/stations/{code}", response={200: StationDetailOut, **ERROR_RESPONSES}, auth=None)
def station_detail(request: HttpRequest, code: str):
    """Public: one station with each sensor's thresholds and newest reading."""
    station = selectors.access_station_by_code(code)
    sensors = []
    for row in selectors.latest_values(station):
        sensor, latest = row["sensor"], row["latest"] or {}
        sensors.append(SensorOut(quantity=sensor.quantity, unit=sensor.unit, valid_min=sensor.valid_min,
                                 valid_max=sensor.valid_max, warning_level=sensor.warning_level,
                                 alert_level=sensor.alert_level, latest_value=latest.get("value"),
                                 latest_at=latest.get("measured_at")))  # fmt: skip
    base = StationOut.of(station).model_dump()
    base["open_alerts"] = selectors.episodes(open_only=True, station=station).count()
    return StationDetailOut(**base, sensors=sensors)


class SeriesQuery(Schema):
    quantity: str = Field(..., max_length=40)
    since: PlausibleDateTime | None = Field(None, description="default: 24 hours ago")
    until: PlausibleDateTime | None = None


class PointOut(Schema):
    measured_at: datetime.datetime
    value: float


class SeriesOut(Schema):
    station: str
    quantity: str
    unit: str
    points: list[PointOut] = Field(description="raw readings, or hourly means once the raw ones are purged")


@router.get("/stations/{code}/readings", response={200: SeriesOut, **ERROR_RESPONSES}, auth=None)
def station_readings(request: HttpRequest, code: str, query: Query[SeriesQuery]):
    """Public: one quantity's readings over a time window (at most 10,000 points)."""
    station = selectors.access_station_by_code(code)
    sensor = station.sensors.filter(quantity=query.quantity).first()
    if sensor is None:
        raise NotFound("this station does not measure that quantity")
    since = query.since or timezone.now() - datetime.timedelta(days=1)
    if query.until is not None and query.until <= since:
        raise InvalidInput("until must be after since")
    points = selectors.series(sensor, since=since, until=query.until)[:MAX_SERIES_POINTS]
    return SeriesOut(station=station.code, quantity=sensor.quantity, unit=sensor.unit,
                     points=[PointOut(measured_at=t, value=v) for t, v in points])  # fmt: skip


class BatchIn(Schema):
    readings: list[Any] = Field(
        ..., description="each {station, quantity, value, unit, measured_at (ISO 8601 with offset, or Unix seconds)}; "
        "items that fail validation are quarantined, not refused"
    )  # fmt: skip


class IngestOut(Schema):
    accepted: int
    quarantined: int
    duplicates: int
    alerts_opened: int
    quarantine_reasons: dict[str, int]


@router.post("/readings/batch", response={200: IngestOut, **ERROR_RESPONSES}, auth=USER_OR_PARTNER_AUTH)
def readings_batch(request: HttpRequest, body: BatchIn):
    """Upload up to 10,000 readings at once: an agency's API key (scope ``iot.readings:write``) for
    that agency's stations, or staff for their agencies' stations. Re-sending is safe: readings
    already stored are counted as duplicates."""
    api_key = require_scope(request, services.UPLOAD_SCOPE)
    actor = None
    if api_key is None:
        require_staff(request)
        actor = request.user
    result = services.readings_upload(readings=body.readings, actor=actor, api_key=api_key)
    return IngestOut(accepted=result.accepted, quarantined=result.quarantined, duplicates=result.duplicates,
                     alerts_opened=result.alerts_opened, quarantine_reasons=result.reasons)  # fmt: skip


class EpisodeOut(Schema):
    id: int
    station: str
    station_name: str
    district: str
    quantity: str
    unit: str
    level: str
    threshold: float
    opened_at: datetime.datetime
    opened_value: float
    peak_value: float
    peak_at: datetime.datetime
    closed_at: datetime.datetime | None

    @staticmethod
    def of(e: AlertEpisode) -> "EpisodeOut":
        s = e.sensor
        return EpisodeOut(id=e.pk, station=s.station.code, station_name=s.station.name,
                          district=s.station.district.code, quantity=s.quantity, unit=s.unit, level=e.level,
                          threshold=e.threshold, opened_at=e.opened_at, opened_value=e.opened_value,
                          peak_value=e.peak_value, peak_at=e.peak_at, closed_at=e.closed_at)  # fmt: skip


class EpisodeFilter(Schema):
    open: bool = Field(False, description="only episodes still open")


@router.get("/alerts", response={200: list[EpisodeOut], **ERROR_RESPONSES}, auth=USER_AUTH)
@paginate(Pagination)
def alert_list(request: HttpRequest, filters: Query[EpisodeFilter]):
    """Staff: alert episodes, newest first."""
    require_staff(request)
    return [EpisodeOut.of(e) for e in selectors.episodes(open_only=filters.open)[:2000]]


class QuarantinedOut(Schema):
    id: int
    received_at: datetime.datetime
    source: str
    reason: str
    detail: str
    station_code: str
    quantity: str
    payload: Any


class QuarantineFilter(Schema):
    reason: Literal[tuple(["", *QuarantinedReading.Reason.values])] = ""  # type: ignore[valid-type]
    station: str = Field("", max_length=80)


@router.get("/quarantine", response={200: list[QuarantinedOut], **ERROR_RESPONSES}, auth=USER_AUTH)
@paginate(Pagination)
def quarantine_list(request: HttpRequest, filters: Query[QuarantineFilter]):
    """Staff: readings that failed validation, newest first, with the payload as received."""
    require_staff(request)
    return selectors.quarantine(reason=filters.reason, station_code=filters.station)


@router.get("/quarantine/counts", response={200: dict[str, int], **ERROR_RESPONSES}, auth=USER_AUTH)
def quarantine_counts(request: HttpRequest, days: int = Query(7, ge=1, le=366)):
    """Staff: quarantined readings per reason over the last ``days`` days."""
    require_staff(request)
    return selectors.quarantine_counts(since=timezone.now() - datetime.timedelta(days=days))
