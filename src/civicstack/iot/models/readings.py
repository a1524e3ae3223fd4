from django.db import models
from django.utils.translation import gettext_lazy as _

from .registry import Sensor


class Reading(models.Model):
    """An accepted measurement. (sensor, measured_at) is unique: a re-sent reading is a duplicate."""

    id = models.BigAutoField(primary_key=True)
    sensor = models.ForeignKey(Sensor, on_delete=models.CASCADE, related_name="readings")
    measured_at = models.DateTimeField()
    value = models.FloatField()
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["sensor", "measured_at"], name="iot_reading_sensor_time")
        ]
        indexes = [models.Index(fields=["measured_at"], name="iot_reading_measured_at")]

    def __str__(self) -> str:
        return f"{self.sensor_id}@{self.measured_at:%Y-%m-%d %H:%M:%S}={self.value:g}"


class QuarantinedReading(models.Model):
    """A reading that failed validation, kept with its reason and the payload as received."""

    class Reason(models.TextChoices):
        MALFORMED = "malformed", _("Malformed payload")
        UNKNOWN_STATION = "unknown_station", _("Unknown station")
        UNKNOWN_QUANTITY = "unknown_quantity", _("Quantity not measured at this station")
        INACTIVE_STATION = "inactive_station", _("Station is inactive")
        NOT_PERMITTED = "not_permitted", _("Station belongs to another agency")
        UNIT_MISMATCH = "unit_mismatch", _("Unit does not match the sensor")
        OUT_OF_RANGE = "out_of_range", _("Value outside the sensor's valid range")
        FUTURE = "future", _("Measured in the future (clock skew)")
        TOO_OLD = "too_old", _("Measured too long ago")
        CONFLICTING_DUPLICATE = "conflicting_duplicate", _("Same time as a stored reading, different value")

    id = models.BigAutoField(primary_key=True)
    received_at = models.DateTimeField(db_index=True)
    source = models.CharField(_("source"), max_length=80)
    reason = models.CharField(_("reason"), max_length=24, choices=Reason.choices, db_index=True)
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    station_code = models.CharField(_("station code"), max_length=80, blank=True, db_index=True)
    quantity = models.CharField(_("quantity"), max_length=80, blank=True)
    payload = models.JSONField(_("payload as received"))

    class Meta:
        ordering = ["-id"]
        verbose_name = _("quarantined reading")
        verbose_name_plural = _("quarantined readings")

    def __str__(self) -> str:
        return f"{self.station_code}/{self.quantity}: {self.reason}"


class IngestTally(models.Model):
    """Counts per day and source of what came in and what became of it, so that duplicates (which
    are not stored twice) are still counted somewhere."""

    day = models.DateField()
    source = models.CharField(max_length=80)
    accepted = models.PositiveBigIntegerField(default=0)
    quarantined = models.PositiveBigIntegerField(default=0)
    duplicates = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-day", "source"]
        constraints = [models.UniqueConstraint(fields=["day", "source"], name="iot_tally_day_source")]

    def __str__(self) -> str:
        return f"{self.day} {self.source}"


class Rollup(models.Model):
    """Hourly (UTC hour) or daily (city-local day) aggregate of a sensor's readings; kept after the
    raw readings are deleted by retention."""

    class Period(models.TextChoices):
        HOUR = "hour", _("Hour")
        DAY = "day", _("Day")

    sensor = models.ForeignKey(Sensor, on_delete=models.CASCADE, related_name="rollups")
    period = models.CharField(max_length=4, choices=Period.choices)
    starts_at = models.DateTimeField()
    count = models.PositiveIntegerField()
    minimum = models.FloatField()
    maximum = models.FloatField()
    mean = models.FloatField()

    class Meta:
        ordering = ["sensor", "period", "starts_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["sensor", "period", "starts_at"], name="iot_rollup_sensor_period_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sensor_id} {self.period} {self.starts_at:%Y-%m-%d %H:%M}"
