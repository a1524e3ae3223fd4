"""civicstack iot rollup: hourly/daily aggregates, retention, idempotence."""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from civicstack.iot import services
from civicstack.iot.models import Reading, Rollup

pytestmark = pytest.mark.django_db


def test_rollup_aggregates_and_purges_old_raw_readings_idempotently(gauge):
    sensor = gauge.sensors.get()
    now = timezone.now()
    base = now.replace(minute=0, second=0, microsecond=0) - datetime.timedelta(hours=3)
    # readings older than the ingest window are history loaded directly (as a migration from an
    # older system would); 40 days back is beyond the 30-day retention
    old = base - datetime.timedelta(days=40)
    Reading.objects.bulk_create(
        [Reading(sensor=sensor, measured_at=old + datetime.timedelta(minutes=10 * i), value=1.0 + i, received_at=now)
         for i in range(3)]
        + [Reading(sensor=sensor, measured_at=base + datetime.timedelta(minutes=15 * i), value=v, received_at=now)
           for i, v in enumerate([2.0, 4.0, 3.0, 3.0, 6.0])]
    )  # fmt: skip
    first = services.rollup_run(now=now)
    assert first.deleted == 3
    hour = Rollup.objects.get(sensor=sensor, period="hour", starts_at=base)
    assert (hour.count, hour.minimum, hour.maximum, hour.mean) == (4, 2.0, 4.0, 3.0)
    old_hour = Rollup.objects.get(sensor=sensor, period="hour", starts_at=old)
    assert (old_hour.count, old_hour.mean) == (3, 2.0)  # aggregated before the raw rows went
    assert Reading.objects.count() == 5
    # daily rollups cover complete city-local days only: the old day, not today
    old_day = timezone.localtime(old).replace(hour=0, minute=0, second=0, microsecond=0)
    assert Rollup.objects.get(sensor=sensor, period="day", starts_at=old_day).count == 3

    before = sorted(Rollup.objects.values_list("period", "starts_at", "count", "mean"))
    call_command("iot", "rollup")
    call_command("iot", "rollup")
    assert sorted(Rollup.objects.values_list("period", "starts_at", "count", "mean")) == before
    assert Rollup.objects.get(sensor=sensor, period="hour", starts_at=old).count == 3
