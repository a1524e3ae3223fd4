"""Writes of the iot module: the station registry, ingestion of readings (MQTT listener and HTTP
batch upload share ``readings_ingest``), alert episodes, and the rollup/retention run.

Ingestion validates every reading; a reading that fails goes to the quarantine table with its
reason, an exact re-send is counted as a duplicate, and nothing is dropped without a count.
Machine ingestion is not audited per batch (the listener writes several batches a second and
the audit chain serialises writers); HTTP uploads, registry changes, alert episodes and rollup
runs are.
"""

import datetime
import math
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Avg, Count, F, Max, Min
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from civicstack.core.errors import PermissionDenied
from civicstack.core.models import Agency, ApiKey, District, StaffRole, User
from civicstack.core.selectors import staff_scope
from civicstack.core.services import audit_record, notification_send

from .errors import BatchTooLarge, InvalidStation, StationExists
from .models import AlertEpisode, IngestTally, QuarantinedReading, Reading, Rollup, Sensor, Station

UPLOAD_SCOPE = "iot.readings:write"
MAX_CLOCK_SKEW = datetime.timedelta(minutes=5)  # a reading "from the future" beyond this is a bad clock
MAX_READING_AGE = datetime.timedelta(days=7)  # older readings are refused (and never land in purged days)
RAW_RETENTION_DAYS = 30  # default when a sensor sets none; must exceed MAX_READING_AGE
CALM_READINGS = 3  # consecutive readings below threshold − hysteresis that close an episode
MAX_UPLOAD_READINGS = 10_000
Reason = QuarantinedReading.Reason


@dataclass
class IngestResult:
    accepted: int = 0
    quarantined: int = 0
    duplicates: int = 0
    alerts_opened: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # quarantine reason → count


# --- registry ---------------------------------------------------------------------------------


def _check_agency_rights(actor: User | None, agency: Agency) -> None:
    if actor is not None and not staff_scope(actor).acts_for(agency.pk):
        raise PermissionDenied(_("You may not manage stations of this agency."))


def _resolve(model, value, label: str):
    if isinstance(value, model):
        return value
    found = model.objects.filter(code=value).first()
    if found is None:
        raise InvalidStation(_("Unknown %(label)s %(code)s.") % {"label": label, "code": value})
    return found


SENSOR_FIELDS = (
    "unit",
    "valid_min",
    "valid_max",
    "warning_level",
    "alert_level",
    "hysteresis",
    "retention_days",
)


def _sensor_values(spec: dict) -> dict:
    values = {name: spec[name] for name in SENSOR_FIELDS if name in spec}
    if not spec.get("quantity") or not values.get("unit"):
        raise InvalidStation(_("Every sensor needs a quantity and a unit."), details={"sensor": spec})
    if "valid_min" not in values or "valid_max" not in values or values["valid_min"] >= values["valid_max"]:
        raise InvalidStation(
            _("A sensor's valid range needs a minimum below its maximum."), details={"sensor": spec}
        )
    for level in ("warning_level", "alert_level"):
        threshold = values.get(level)
        if threshold is not None and not values["valid_min"] <= threshold <= values["valid_max"]:
            raise InvalidStation(_("Thresholds must lie within the valid range."), details={"sensor": spec})
    if values.get("hysteresis", 0) < 0:
        raise InvalidStation(_("Hysteresis cannot be negative."), details={"sensor": spec})
    return values


@transaction.atomic
def station_register(
    *, actor: User | None, code: str, name: str, kind: str, district: District | str, agency: Agency | str,
    latitude: float, longitude: float, quantities: list[dict], active: bool = True,
) -> Station:  # fmt: skip
    """Register a station with its sensors. ``quantities``: dicts of quantity, unit, valid_min,
    valid_max and optionally warning_level, alert_level, hysteresis, retention_days.
    ``district`` and ``agency`` may be given as instances or codes."""
    district = _resolve(District, district, _("district"))
    agency = _resolve(Agency, agency, _("agency"))
    _check_agency_rights(actor, agency)
    if kind not in Station.Kind.values:
        raise InvalidStation(
            _("Unknown station kind %(kind)s.") % {"kind": kind}, details={"known": Station.Kind.values}
        )
    if not code or not code.replace("-", "").replace("_", "").isalnum() or "/" in code:
        raise InvalidStation(_("A station code is letters, digits, hyphens and underscores."))
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise InvalidStation(_("Latitude or longitude out of range."))
    if Station.objects.filter(code=code).exists():
        raise StationExists(_("A station with code %(code)s already exists.") % {"code": code})
    station = Station.objects.create(
        code=code, name=name, kind=kind, district=district, agency=agency, latitude=latitude,
        longitude=longitude, active=active,
    )  # fmt: skip
    seen = set()
    for spec in quantities:
        values = _sensor_values(spec)
        if spec["quantity"] in seen:
            raise InvalidStation(_("Quantity %(quantity)s is listed twice.") % {"quantity": spec["quantity"]})
        seen.add(spec["quantity"])
        Sensor.objects.create(station=station, quantity=spec["quantity"], **values)
    audit_record(actor=actor, action="iot.station_registered", obj=station, agency=agency,
                 data={"code": code, "quantities": sorted(seen)})  # fmt: skip
    return station


STATION_FIELDS = ("name", "kind", "district", "agency", "latitude", "longitude", "active")


@transaction.atomic
def station_update(*, actor: User | None, station: Station, **changes) -> Station:
    unknown = set(changes) - set(STATION_FIELDS)
    if unknown:
        raise InvalidStation(
            _("Unknown station fields: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    _check_agency_rights(actor, station.agency)
    if "agency" in changes:
        changes["agency"] = _resolve(Agency, changes["agency"], _("agency"))
        _check_agency_rights(actor, changes["agency"])
    if "district" in changes:
        changes["district"] = _resolve(District, changes["district"], _("district"))
    if "kind" in changes and changes["kind"] not in Station.Kind.values:
        raise InvalidStation(_("Unknown station kind %(kind)s.") % {"kind": changes["kind"]})
    for name, value in changes.items():
        setattr(station, name, value)
    station.save()
    audit_record(actor=actor, action="iot.station_updated", obj=station, agency=station.agency,
                 data={name: str(getattr(value, "code", value)) for name, value in changes.items()})  # fmt: skip
    return station


@transaction.atomic
def sensor_configure(*, actor: User | None, station: Station, quantity: str, **spec) -> Sensor:
    """Add a sensor to a station or change its unit, range, thresholds or retention."""
    _check_agency_rights(actor, station.agency)
    values = _sensor_values({"quantity": quantity, **spec})
    sensor, created = Sensor.objects.update_or_create(station=station, quantity=quantity, defaults=values)
    audit_record(actor=actor, action="iot.sensor_configured", obj=sensor, agency=station.agency,
                 data={"created": created, **{k: v for k, v in values.items()}})  # fmt: skip
    return sensor


# --- ingestion --------------------------------------------------------------------------------


def normalize_unit(unit: str) -> str:
    """Spellings of one unit compare equal: µg/m³, μg/m3, ug/m3; °C, degC."""
    text = str(unit).strip().lower().replace(" ", "")
    for old, new in (("µ", "u"), ("μ", "u"), ("³", "3"), ("²", "2"), ("°", "deg"), ("℃", "degc")):
        text = text.replace(old, new)
    return text


def _parse_time(value) -> datetime.datetime | None:
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = parse_datetime(value.strip())
        except ValueError:
            return None
    elif isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        try:  # Unix seconds, as many loggers send
            return datetime.datetime.fromtimestamp(value, tz=datetime.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    else:
        return None
    if moment is None or timezone.is_naive(moment):
        return None  # a reading without an offset cannot be placed in time
    return moment.astimezone(datetime.UTC)


def _parse_value(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


@dataclass
class _Candidate:
    sensor: Sensor
    measured_at: datetime.datetime
    value: float
    payload: dict


def _json_safe(value):
    """What can be stored in a JSON column: NaN/Infinity and other types become text."""
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return str(value)[:200]


def _payload_of(reading) -> dict:
    return _json_safe(reading) if isinstance(reading, dict) else {"raw": str(reading)[:500]}


def readings_ingest(*, readings: list[dict], source: str) -> IngestResult:
    """Validate and store a batch of readings; quarantine the bad ones; open alert episodes.

    Each reading: {"station": code, "quantity": str, "value": float, "unit": str,
    "measured_at": aware datetime or ISO 8601 string with offset (or Unix seconds)}.
    One transaction; a few queries per batch whatever its size.
    """
    return _ingest(readings=readings, source=source, allowed_agency_ids=None)


@transaction.atomic
def _ingest(*, readings: list, source: str, allowed_agency_ids: set[int] | None) -> IngestResult:
    now = timezone.now()
    result = IngestResult()
    quarantine: list[QuarantinedReading] = []
    source = source[:80]

    def reject(reading, reason: str, detail: str = "") -> None:
        payload = _payload_of(reading)
        quarantine.append(QuarantinedReading(
            received_at=now, source=source, reason=reason, detail=detail[:200],
            station_code=str(payload.get("station", ""))[:80], quantity=str(payload.get("quantity", ""))[:80],
            payload=payload,
        ))  # fmt: skip

    codes = {r["station"] for r in readings if isinstance(r, dict) and isinstance(r.get("station"), str)}
    sensors: dict[tuple[str, str], Sensor] = {}
    stations: dict[str, Station] = {}
    if codes:
        for sensor in Sensor.objects.select_related("station").filter(station__code__any_of=codes):
            sensors[(sensor.station.code, sensor.quantity)] = sensor
            stations[sensor.station.code] = sensor.station
        for station in Station.objects.filter(code__any_of=codes - set(stations)):
            stations[station.code] = station

    candidates: list[_Candidate] = []
    for reading in readings:
        if not isinstance(reading, dict):
            reject(reading, Reason.MALFORMED, "not a reading object")
            continue
        station = stations.get(reading.get("station")) if isinstance(reading.get("station"), str) else None
        if station is None:
            reject(reading, Reason.UNKNOWN_STATION)
            continue
        if allowed_agency_ids is not None and station.agency_id not in allowed_agency_ids:
            reject(reading, Reason.NOT_PERMITTED)
            continue
        if not station.active:
            reject(reading, Reason.INACTIVE_STATION)
            continue
        sensor = sensors.get((station.code, reading.get("quantity")))
        if sensor is None:
            reject(reading, Reason.UNKNOWN_QUANTITY)
            continue
        value, measured_at = _parse_value(reading.get("value")), _parse_time(reading.get("measured_at"))
        if value is None:
            reject(reading, Reason.MALFORMED, "value is not a finite number")
            continue
        if measured_at is None:
            reject(reading, Reason.MALFORMED, "measured_at is not a date-time with a UTC offset")
            continue
        if normalize_unit(reading.get("unit", "")) != normalize_unit(sensor.unit):
            reject(reading, Reason.UNIT_MISMATCH, f"expected {sensor.unit}")
            continue
        if not sensor.valid_min <= value <= sensor.valid_max:
            reject(reading, Reason.OUT_OF_RANGE, f"valid {sensor.valid_min:g}..{sensor.valid_max:g}")
            continue
        if measured_at > now + MAX_CLOCK_SKEW:
            reject(reading, Reason.FUTURE, f"{(measured_at - now).total_seconds():.0f} s ahead")
            continue
        if measured_at < now - MAX_READING_AGE:
            reject(reading, Reason.TOO_OLD)
            continue
        candidates.append(_Candidate(sensor, measured_at, value, reading))

    fresh = _drop_duplicates(candidates, result, reject)
    _insert_readings(fresh, now)
    result.accepted = len(fresh)
    QuarantinedReading.objects.bulk_create(quarantine, batch_size=1000)
    result.quarantined = len(quarantine)
    for row in quarantine:
        result.reasons[row.reason] = result.reasons.get(row.reason, 0) + 1
    _tally(now, source, result)
    result.alerts_opened = _track_alerts(fresh)
    return result


def _insert_readings(fresh: list[_Candidate], now: datetime.datetime) -> None:
    """Store the new readings. A concurrent batch may have stored the same reading since the
    duplicate check: the unique index keeps the first and this batch goes on (docs/iot.md, gaps).

    On PostgreSQL: COPY into a session-local staging table, then one INSERT … ON CONFLICT DO
    NOTHING. Building a multi-row INSERT was three quarters of a 2,000-reading batch's time."""
    if not fresh:
        return
    if connection.vendor != "postgresql":
        Reading.objects.bulk_create(
            [Reading(sensor=c.sensor, measured_at=c.measured_at, value=c.value, received_at=now) for c in fresh],
            batch_size=5000, ignore_conflicts=True,
        )  # fmt: skip
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS iot_reading_incoming "
            "(sensor_id bigint, measured_at timestamptz, value double precision) ON COMMIT DELETE ROWS"
        )
        with cursor.cursor.copy(
            "COPY iot_reading_incoming (sensor_id, measured_at, value) FROM STDIN"
        ) as copy:
            for c in fresh:
                copy.write_row((c.sensor.pk, c.measured_at, c.value))
        cursor.execute(
            "INSERT INTO iot_reading (sensor_id, measured_at, value, received_at) "
            "SELECT sensor_id, measured_at, value, %s FROM iot_reading_incoming ON CONFLICT DO NOTHING",
            [now],
        )
        cursor.execute("TRUNCATE iot_reading_incoming")


def _drop_duplicates(candidates: list[_Candidate], result: IngestResult, reject) -> list[_Candidate]:
    """Readings already stored (or twice in the batch) with the same value are duplicates, counted
    and not stored again; with a different value they are quarantined."""
    if not candidates:
        return []
    times = [c.measured_at for c in candidates]
    stored = dict(
        ((sensor_id, measured_at), value)
        for sensor_id, measured_at, value in Reading.objects.filter(
            sensor_id__any_of={c.sensor.pk for c in candidates}, measured_at__gte=min(times), measured_at__lte=max(times)
        ).values_list("sensor_id", "measured_at", "value")
    )  # fmt: skip
    fresh = []
    for candidate in candidates:
        key = (candidate.sensor.pk, candidate.measured_at)
        if key in stored:
            if stored[key] == candidate.value:
                result.duplicates += 1
            else:
                reject(candidate.payload, Reason.CONFLICTING_DUPLICATE, f"stored value {stored[key]:g}")
            continue
        stored[key] = candidate.value
        fresh.append(candidate)
    return fresh


def _tally(now: datetime.datetime, source: str, result: IngestResult) -> None:
    if not (result.accepted or result.quarantined or result.duplicates):
        return
    day = timezone.localdate(now)
    IngestTally.objects.get_or_create(day=day, source=source)
    IngestTally.objects.filter(day=day, source=source).update(
        accepted=F("accepted") + result.accepted, quarantined=F("quarantined") + result.quarantined,
        duplicates=F("duplicates") + result.duplicates,
    )  # fmt: skip


def _track_alerts(fresh: list[_Candidate]) -> int:
    """Walk each thresholded sensor's new readings in time order: a reading at or above a
    threshold with no open episode opens one (and notifies); CALM_READINGS readings in a row
    below threshold − hysteresis close it.

    Readings arrive out of order (receivers share one subscription; stations resend after an
    outage). A late reading never opens, closes or re-notifies, but it still belongs to the open
    episode's history: inside the episode it can raise the peak, and just before it, above the
    threshold with nothing calm stored in between, it is where the episode really began."""
    by_sensor: dict[int, list[_Candidate]] = defaultdict(list)
    for candidate in fresh:
        if candidate.sensor.warning_level is not None or candidate.sensor.alert_level is not None:
            by_sensor[candidate.sensor.pk].append(candidate)
    if not by_sensor:
        return 0
    open_episodes = {
        (e.sensor_id, e.level): e
        for e in AlertEpisode.objects.select_for_update().filter(
            sensor_id__in=list(by_sensor), closed_at__isnull=True
        )
    }
    opened, touched = 0, set()
    for sensor_id, items in by_sensor.items():
        items.sort(key=lambda c: c.measured_at)
        sensor = items[0].sensor
        for level, threshold in sensor.thresholds():
            for item in items:
                episode = open_episodes.get((sensor_id, level))
                if episode is None:
                    if item.value >= threshold:
                        open_episodes[(sensor_id, level)] = _episode_open(sensor, level, threshold, item)
                        opened += 1
                    continue
                if item.measured_at <= episode.last_reading_at:
                    if _late_reading_moves(episode, sensor, threshold, item):
                        touched.add(episode.pk)
                    continue
                episode.last_reading_at = item.measured_at
                if item.value >= threshold - sensor.hysteresis:
                    episode.calm_readings = 0
                    if item.value > episode.peak_value:
                        episode.peak_value, episode.peak_at = item.value, item.measured_at
                else:
                    episode.calm_readings += 1
                    if episode.calm_readings >= CALM_READINGS:
                        episode.closed_at = item.measured_at
                        episode.save()
                        audit_record(actor=None, action="iot.alert_closed", obj=episode, agency=sensor.station.agency,
                                     data={"peak": episode.peak_value})  # fmt: skip
                        del open_episodes[(sensor_id, level)]
                        touched.discard(episode.pk)
                        continue
                touched.add(episode.pk)
    to_save = [e for e in open_episodes.values() if e.pk in touched]
    AlertEpisode.objects.bulk_update(
        to_save, ["opened_at", "opened_value", "last_reading_at", "calm_readings", "peak_value", "peak_at"]
    )
    return opened


def _late_reading_moves(episode: AlertEpisode, sensor: Sensor, threshold: float, item: _Candidate) -> bool:
    """Fold a reading older than the episode's last into it; True when the episode changed."""
    if item.measured_at >= episode.opened_at:
        if item.value > episode.peak_value:
            episode.peak_value, episode.peak_at = item.value, item.measured_at
            return True
        return False
    if item.value < threshold:
        return False
    # Replayed in order, the stored readings between this one and the opening must not hold
    # CALM_READINGS calm ones in a row, else this reading belonged to an earlier episode.
    between = (
        Reading.objects.filter(
            sensor=sensor, measured_at__gt=item.measured_at, measured_at__lt=episode.opened_at
        )
        .order_by("measured_at")
        .values_list("value", flat=True)
    )
    calm_run = 0
    for value in between.iterator():
        calm_run = calm_run + 1 if value < threshold - sensor.hysteresis else 0
        if calm_run >= CALM_READINGS:
            return False
    episode.opened_at, episode.opened_value = item.measured_at, item.value
    if item.value > episode.peak_value:
        episode.peak_value, episode.peak_at = item.value, item.measured_at
    return True


def _episode_open(sensor: Sensor, level: str, threshold: float, item: _Candidate) -> AlertEpisode:
    station = sensor.station
    episode = AlertEpisode.objects.create(
        sensor=sensor, level=level, threshold=threshold, opened_at=item.measured_at, opened_value=item.value,
        peak_value=item.value, peak_at=item.measured_at, last_reading_at=item.measured_at,
    )  # fmt: skip
    audit_record(actor=None, action="iot.alert_opened", obj=episode, agency=station.agency,
                 data={"station": station.code, "quantity": sensor.quantity, "level": level, "value": item.value})  # fmt: skip
    level_label = AlertEpisode.Level(level).label
    subject = _("%(level)s: %(quantity)s at %(station)s reached %(value)s %(unit)s") % {
        "level": level_label, "quantity": sensor.quantity_name, "station": station.name,
        "value": f"{item.value:g}", "unit": sensor.unit,
    }  # fmt: skip
    body = _(
        "%(quantity)s at station %(code)s (%(station)s) measured %(value)s %(unit)s at %(time)s, at or above "
        "the %(level)s threshold of %(threshold)s %(unit)s. You will not be notified again until the "
        "value has fallen back and crosses the threshold anew."
    ) % {
        "quantity": sensor.quantity_name, "code": station.code, "station": station.name, "value": f"{item.value:g}",
        "unit": sensor.unit, "time": timezone.localtime(item.measured_at).strftime("%Y-%m-%d %H:%M"),
        "level": level_label.lower(), "threshold": f"{threshold:g}",
    }  # fmt: skip
    recipients = User.objects.filter(
        id__in=StaffRole.objects.filter(agency_id=station.agency_id).values("user_id"), is_active=True
    )
    for user in recipients:
        notification_send(recipient=user, subject=subject, body=body, url=f"/iot/stations/{station.code}/")
    return episode


@transaction.atomic
def readings_upload(
    *, readings: list, actor: User | None = None, api_key: ApiKey | None = None
) -> IngestResult:
    """HTTP batch upload: a partner key may send readings of its agency's stations only, staff
    of the stations their agencies own; others' readings are quarantined as not permitted."""
    if len(readings) > MAX_UPLOAD_READINGS:
        raise BatchTooLarge(
            _("At most %(max)s readings per upload.") % {"max": MAX_UPLOAD_READINGS},
            details={"max": MAX_UPLOAD_READINGS, "received": len(readings)},
        )
    if api_key is not None:
        allowed, source = {api_key.agency_id}, f"http:key:{api_key.prefix}"
    else:
        scope = staff_scope(actor)
        if not scope.is_staff:
            raise PermissionDenied(_("Only staff or agency API keys may upload readings."))
        allowed, source = (
            (None if scope.all_agencies else set(scope.agency_ids)),
            f"http:user:{actor.username}",
        )
    result = _ingest(readings=readings, source=source, allowed_agency_ids=allowed)
    audit_record(
        actor=actor, action="iot.readings_uploaded", object_type="iot.reading", object_id=source,
        agency=api_key.agency if api_key is not None else None,
        data={"accepted": result.accepted, "quarantined": result.quarantined, "duplicates": result.duplicates},
    )  # fmt: skip
    return result


# --- rollup and retention ---------------------------------------------------------------------


@dataclass
class RollupResult:
    hourly: int
    daily: int
    deleted: int


def _local_midnight(moment: datetime.datetime) -> datetime.datetime:
    local = timezone.localtime(moment)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


@transaction.atomic
def rollup_run(
    *, actor: User | None = None, now: datetime.datetime | None = None, full: bool = False
) -> RollupResult:
    """Recompute hourly and daily aggregates of complete periods from the raw readings, then
    delete raw readings older than each sensor's retention (cut at a local midnight).

    Idempotent: aggregates are recomputed and overwritten, never added to. Only periods that
    still have raw readings are recomputed; since readings older than MAX_READING_AGE are
    refused and retention cuts whole days, those periods always have all of their readings.
    Without ``full`` only the last MAX_READING_AGE + 1 days are recomputed (late readings land
    there); the first run, or ``full``, covers everything.
    """
    now = now or timezone.now()
    hour_end = now.replace(minute=0, second=0, microsecond=0)
    day_end = _local_midnight(now)
    since = (
        None
        if full or not Rollup.objects.exists()
        else _local_midnight(now - MAX_READING_AGE - datetime.timedelta(days=1))
    )
    counts = {}
    for period, trunc, end in (
        (Rollup.Period.HOUR, TruncHour("measured_at", tzinfo=datetime.UTC), hour_end),
        (Rollup.Period.DAY, TruncDay("measured_at", tzinfo=timezone.get_current_timezone()), day_end),
    ):
        raw = Reading.objects.filter(measured_at__lt=end)
        if since is not None:
            raw = raw.filter(measured_at__gte=since)
        rows = (
            raw.annotate(starts_at=trunc).values("sensor_id", "starts_at")
            .annotate(count=Count("id"), minimum=Min("value"), maximum=Max("value"), mean=Avg("value"))
            .order_by()
        )  # fmt: skip
        rollups = [Rollup(period=period, **row) for row in rows]
        Rollup.objects.bulk_create(
            rollups, batch_size=2000, update_conflicts=True, unique_fields=["sensor", "period", "starts_at"],
            update_fields=["count", "minimum", "maximum", "mean"],
        )  # fmt: skip
        counts[period] = len(rollups)
    deleted = 0
    by_retention: dict[int, list[int]] = defaultdict(list)
    for sensor_id, days in Sensor.objects.values_list("id", "retention_days"):
        by_retention[days or RAW_RETENTION_DAYS].append(sensor_id)
    for days, sensor_ids in by_retention.items():
        cutoff = _local_midnight(now - datetime.timedelta(days=max(days, MAX_READING_AGE.days + 1)))
        deleted += Reading.objects.filter(sensor_id__in=sensor_ids, measured_at__lt=cutoff).delete()[0]
    audit_record(actor=actor, action="iot.rollup_run", object_type="iot.rollup", object_id=now.isoformat(),
                 data={"hourly": counts["hour"], "daily": counts["day"], "deleted": deleted})  # fmt: skip
    return RollupResult(hourly=counts["hour"], daily=counts["day"], deleted=deleted)
