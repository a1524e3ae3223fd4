"""Fixtures of the iot tests: a river gauge with warning/alert levels owned by district A's office,
an air-quality station of the same office, and the English locale for message assertions."""

import datetime

import pytest
from django.utils import timezone, translation

from civicstack.core.models import Agency
from civicstack.iot import services


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    # the shared staff fixture makes six logins; Argon2 per login is most of these tests' setup time
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with translation.override("en"):
        yield


def office_of(district) -> Agency:
    return Agency.objects.get(kind=Agency.Kind.DISTRICT_OFFICE, district=district)


WATER_LEVEL = {"quantity": "water_level", "unit": "m", "valid_min": 0, "valid_max": 20,
               "warning_level": 5.0, "alert_level": 7.0, "hysteresis": 0.3}  # fmt: skip


@pytest.fixture
def gauge(db, districts):
    return services.station_register(
        actor=None, code="WL-NK-01", name="南崁溪 南崁橋", kind="water_level", district=districts[0],
        agency=office_of(districts[0]), latitude=25.05, longitude=121.29, quantities=[WATER_LEVEL],
    )  # fmt: skip


@pytest.fixture
def air_station(db, districts):
    return services.station_register(
        actor=None, code="AQ-TY-01", name="桃園空品站", kind="air_quality", district=districts[0].code,
        agency=office_of(districts[0]).code, latitude=24.99, longitude=121.31,
        quantities=[{"quantity": "pm25", "unit": "µg/m³", "valid_min": 0, "valid_max": 1000},
                    {"quantity": "temperature", "unit": "°C", "valid_min": -20, "valid_max": 60}],
    )  # fmt: skip


def minutes_ago(n: float) -> datetime.datetime:
    return timezone.now().replace(microsecond=0) - datetime.timedelta(minutes=n)


def level(value, at, station="WL-NK-01") -> dict:
    return {"station": station, "quantity": "water_level", "value": value, "unit": "m", "measured_at": at}
