"""readings_ingest: validation, quarantine with reasons, duplicates, tallies, alert episodes."""

import datetime

import pytest
from django.utils import timezone

from civicstack.core.errors import PermissionDenied
from civicstack.core.models import AuditEvent, Notification
from civicstack.iot import selectors, services
from civicstack.iot.errors import InvalidStation, StationExists
from civicstack.iot.models import AlertEpisode, IngestTally, QuarantinedReading, Reading

from .conftest import level, minutes_ago

pytestmark = pytest.mark.django_db


def test_good_readings_are_stored_and_readable_through_the_cursor(gauge, air_station):
    at = minutes_ago(10)
    result = services.readings_ingest(source="test", readings=[
        level(2.5, at), level("2.6", at.isoformat().replace("+00:00", "+08:00")),  # another instant
        {"station": "AQ-TY-01", "quantity": "pm25", "value": 35, "unit": "ug/m3", "measured_at": at.timestamp()},
    ])  # fmt: skip
    assert (result.accepted, result.quarantined, result.duplicates, result.alerts_opened) == (3, 0, 0, 0)
    rows, cursor = selectors.readings_after(0)
    assert [r["value"] for r in rows] == [2.5, 2.6, 35.0]
    assert rows[0]["station"] == "WL-NK-01" and rows[0]["kind"] == "water_level" and rows[0]["unit"] == "m"
    assert rows[0]["district"] == gauge.district.code and rows[0]["measured_at"] == at
    assert cursor == rows[-1]["id"]
    assert selectors.readings_after(cursor) == ([], cursor)
    assert selectors.readings_after(0, limit=1)[1] == rows[0]["id"]


def test_bad_readings_are_quarantined_with_their_reason_and_counted(gauge, districts):
    services.station_register(actor=None, code="WL-OFF", name="停用站", kind="water_level", district=districts[0],
                              agency=gauge.agency, latitude=25, longitude=121.3, quantities=[], active=False)  # fmt: skip
    now = timezone.now()
    bad = [
        "not an object",
        level(1.0, minutes_ago(1), station="NOPE"),
        {**level(1.0, minutes_ago(1)), "quantity": "ph"},
        level(1.0, minutes_ago(1), station="WL-OFF"),
        {**level(1.0, minutes_ago(1)), "unit": "cm"},
        level(25.0, minutes_ago(1)),
        level(float("nan"), minutes_ago(1)),
        level(1.0, "2026-01-01T10:00:00"),  # no offset
        level(1.0, "yesterday"),
        level(1.0, now + datetime.timedelta(hours=1)),
        level(1.0, now - datetime.timedelta(days=30)),
    ]
    result = services.readings_ingest(readings=bad, source="test")
    assert (result.accepted, result.quarantined) == (0, 11)
    assert result.reasons == {"malformed": 4, "unknown_station": 1, "unknown_quantity": 1, "inactive_station": 1,
                              "unit_mismatch": 1, "out_of_range": 1, "future": 1, "too_old": 1}  # fmt: skip
    assert Reading.objects.count() == 0
    assert QuarantinedReading.objects.count() == 11
    assert selectors.quarantine_counts() == result.reasons
    row = QuarantinedReading.objects.get(reason="unit_mismatch")
    assert row.station_code == "WL-NK-01" and row.payload["unit"] == "cm" and "expected m" in row.detail
    tally = IngestTally.objects.get(source="test")
    assert (tally.accepted, tally.quarantined) == (0, 11)


def test_duplicates_are_idempotent_and_conflicting_ones_quarantined(gauge):
    at = minutes_ago(5)
    services.readings_ingest(readings=[level(3.0, at)], source="test")
    result = services.readings_ingest(
        readings=[level(3.0, at), level(3.0, at), level(3.5, at)], source="test"
    )
    assert (result.accepted, result.duplicates, result.quarantined) == (0, 2, 1)
    assert result.reasons == {"conflicting_duplicate": 1}
    assert Reading.objects.count() == 1
    tally = IngestTally.objects.get(source="test")
    assert (tally.accepted, tally.duplicates, tally.quarantined) == (1, 2, 1)


def test_a_threshold_crossing_alerts_once_per_episode(gauge, staff, make_user, districts):
    from civicstack.core.services import staff_role_grant

    owner_clerk = make_user("river_clerk")
    staff_role_grant(actor=None, user=owner_clerk, agency=gauge.agency, role="clerk")
    values = [
        4.0,
        5.2,
        5.6,
        6.1,
        5.1,
        4.8,
        4.6,
        4.5,
        4.4,
        4.3,
        5.4,
    ]  # crossing, hovering, calm ×3+, new crossing
    start = minutes_ago(60)
    readings = [level(v, start + datetime.timedelta(minutes=5 * i)) for i, v in enumerate(values)]

    first = services.readings_ingest(readings=readings[:6], source="test")
    assert first.alerts_opened == 1
    episode = AlertEpisode.objects.get()
    assert (episode.level, episode.opened_value, episode.peak_value, episode.is_open) == (
        "warning",
        5.2,
        6.1,
        True,
    )
    # 5.1 and 4.8 are within the 0.3 hysteresis band or the first calm reading: still open
    again = services.readings_ingest(readings=readings[6:10], source="test")
    assert again.alerts_opened == 0
    episode.refresh_from_db()
    assert episode.closed_at == readings[8]["measured_at"]  # 4.6, 4.5, 4.4: three calm readings
    new = services.readings_ingest(readings=readings[10:], source="test")
    assert new.alerts_opened == 1
    assert AlertEpisode.objects.filter(closed_at__isnull=True).count() == 1

    # the owner agency's staff (district A office: clerk_a, supervisor_a, agency_admin_a, river_clerk)
    # got one notification per episode; district B's clerk none
    assert Notification.objects.filter(recipient=owner_clerk).count() == 2
    assert Notification.objects.filter(recipient=staff["clerk_b"]).count() == 0
    note = Notification.objects.filter(recipient=owner_clerk).order_by("id").first()
    assert note.subject.startswith("Warning: Water level at 南崁溪 南崁橋 reached 5.2 m")
    assert AuditEvent.objects.filter(action="iot.alert_opened").count() == 2
    assert AuditEvent.objects.filter(action="iot.alert_closed").count() == 1


def test_alert_level_opens_its_own_episode_and_a_late_reading_moves_its_start_without_reopening(gauge):
    start = minutes_ago(30)
    result = services.readings_ingest(readings=[level(7.5, start), level(6.0, start + datetime.timedelta(minutes=5))],
                                      source="test")  # fmt: skip
    assert result.alerts_opened == 2  # warning and alert levels
    assert set(AlertEpisode.objects.values_list("level", flat=True)) == {"warning", "alert"}
    late = services.readings_ingest(
        readings=[level(9.0, start - datetime.timedelta(minutes=5))], source="test"
    )
    # not a new episode and no new notification, but where the open one really began
    assert late.alerts_opened == 0 and AlertEpisode.objects.count() == 2
    episode = AlertEpisode.objects.get(level="alert")
    assert (episode.opened_value, episode.peak_value) == (9.0, 9.0)
    assert episode.opened_at == start - datetime.timedelta(minutes=5)


def test_readings_arriving_out_of_order_give_the_episode_they_give_in_order(gauge):
    """Two receivers of one shared subscription flush in any order: the episode must not care."""
    start = minutes_ago(60)
    series = [4.2, 5.3, 5.8, 6.4, 5.9, 6.1]
    readings = [level(v, start + datetime.timedelta(minutes=i)) for i, v in enumerate(series)]
    batches = [[readings[0], readings[2], readings[4], readings[5]], [readings[1], readings[3]]]
    opened = sum(services.readings_ingest(readings=batch, source="test").alerts_opened for batch in batches)
    assert opened == 1
    episode = AlertEpisode.objects.get()
    assert (episode.opened_value, episode.opened_at) == (5.3, readings[1]["measured_at"])
    assert (episode.peak_value, episode.peak_at) == (6.4, readings[3]["measured_at"])
    assert episode.last_reading_at == readings[5]["measured_at"]


def test_a_late_reading_from_before_a_calm_spell_does_not_move_the_open_episode(gauge):
    start = minutes_ago(60)
    at = [start + datetime.timedelta(minutes=i) for i in range(6)]
    services.readings_ingest(readings=[level(v, t) for v, t in zip([3.0, 3.1, 3.0, 5.6], at[1:5], strict=True)],
                             source="test")  # fmt: skip
    services.readings_ingest(readings=[level(5.9, at[0])], source="test")  # before three calm readings
    episode = AlertEpisode.objects.get()
    assert (episode.opened_value, episode.opened_at, episode.peak_value) == (5.6, at[4], 5.6)


def test_station_registry_rules(gauge, staff, districts):
    with pytest.raises(StationExists):
        services.station_register(actor=None, code="WL-NK-01", name="x", kind="water_level", district=districts[0],
                                  agency=gauge.agency, latitude=25, longitude=121, quantities=[])  # fmt: skip
    with pytest.raises(InvalidStation):
        services.station_register(actor=None, code="X-1", name="x", kind="volcano", district=districts[0],
                                  agency=gauge.agency, latitude=25, longitude=121, quantities=[])  # fmt: skip
    with pytest.raises(InvalidStation):
        services.station_register(actor=None, code="X-2", name="x", kind="water_level", district=districts[0],
                                  agency=gauge.agency, latitude=25, longitude=121,
                                  quantities=[{"quantity": "w", "unit": "m", "valid_min": 0, "valid_max": 5,
                                               "warning_level": 9}])  # fmt: skip
    with pytest.raises(PermissionDenied):  # district B's clerk does not manage district A's gauges
        services.station_update(actor=staff["clerk_b"], station=gauge, name="renamed")
    services.station_update(actor=staff["clerk_a"], station=gauge, name="renamed")
    sensor = services.sensor_configure(actor=staff["clerk_a"], station=gauge, quantity="water_level", unit="m",
                                       valid_min=0, valid_max=20, warning_level=4.0)  # fmt: skip
    assert sensor.warning_level == 4.0 and gauge.sensors.count() == 1
    assert AuditEvent.objects.filter(action="iot.station_updated").count() == 1
