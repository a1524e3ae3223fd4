"""The demo generator: stations in every district, a typhoon day that opened and closed alerts,
and exactly one alert still open at the end."""

import pytest

from civicstack.core.models import District
from civicstack.iot import demo
from civicstack.iot.models import AlertEpisode, QuarantinedReading, Station

pytestmark = pytest.mark.django_db


def test_small_demo():
    made = demo.generate(scale="small")
    assert made["stations"] == Station.objects.count() == 8 + 2 * District.objects.count()
    assert set(Station.objects.values_list("district", flat=True)) == set(
        District.objects.values_list("id", flat=True)
    )
    open_alerts = AlertEpisode.objects.filter(closed_at__isnull=True)
    assert [e.sensor.station.code for e in open_alerts] == ["WL-DH-01"]
    assert (
        AlertEpisode.objects.filter(closed_at__isnull=False, sensor__station__kind="water_level").count() >= 4
    )
    assert QuarantinedReading.objects.count() == 3
    assert demo.generate(scale="small") == {"stations": made["stations"]}  # a second run adds nothing
