from django.db import models
from django.utils.translation import gettext_lazy as _


class Station(models.Model):
    """A place where the city measures something: a river gauge, an air-quality station, a
    traffic counter. Owned by one agency, whose staff manage it and receive its alerts."""

    class Kind(models.TextChoices):
        WATER_LEVEL = "water_level", _("Water level")
        AIR_QUALITY = "air_quality", _("Air quality")
        WATER_QUALITY = "water_quality", _("Water quality")
        TRAFFIC_FLOW = "traffic_flow", _("Traffic flow")
        STREETLIGHT = "streetlight", _("Smart streetlight")
        RAINFALL = "rainfall", _("Rainfall")

    code = models.CharField(_("station code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, db_index=True)
    district = models.ForeignKey(
        "core.District", verbose_name=_("district"), on_delete=models.PROTECT, related_name="iot_stations"
    )
    agency = models.ForeignKey(
        "core.Agency", verbose_name=_("owner agency"), on_delete=models.PROTECT, related_name="iot_stations"
    )
    latitude = models.FloatField(_("latitude"))
    longitude = models.FloatField(_("longitude"))
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("station")
        verbose_name_plural = _("stations")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


# What a quantity code (as in MQTT topics and payloads) is called on pages and in alerts; a code
# not listed here is shown as it is.
QUANTITY_NAMES = {
    "water_level": _("Water level"), "rainfall": _("Rainfall"), "pm25": _("PM2.5"), "pm10": _("PM10"),
    "o3": _("Ozone"), "no2": _("Nitrogen dioxide"), "co": _("Carbon monoxide"), "so2": _("Sulphur dioxide"),
    "aqi": _("Air quality index"), "temperature": _("Temperature"), "humidity": _("Humidity"),
    "ph": _("pH"), "dissolved_oxygen": _("Dissolved oxygen"), "turbidity": _("Turbidity"),
    "conductivity": _("Conductivity"), "vehicles": _("Vehicles"), "speed": _("Mean speed"),
    "power": _("Power"), "lamp_on": _("Lamp on"),
}  # fmt: skip


class Sensor(models.Model):
    """One quantity measured at a station, with its unit, the range a working instrument can
    report, and the thresholds that open alert episodes (both compared as "value at or above")."""

    station = models.ForeignKey(
        Station, verbose_name=_("station"), on_delete=models.CASCADE, related_name="sensors"
    )
    quantity = models.CharField(_("quantity"), max_length=40)
    unit = models.CharField(_("unit"), max_length=20)
    valid_min = models.FloatField(_("lowest valid value"))
    valid_max = models.FloatField(_("highest valid value"))
    warning_level = models.FloatField(_("warning level"), null=True, blank=True)
    alert_level = models.FloatField(_("alert level"), null=True, blank=True)
    # An episode closes only once readings fall this far below its threshold, so a value
    # hovering at the line does not open and close episodes on every reading.
    hysteresis = models.FloatField(_("hysteresis"), default=0)
    retention_days = models.PositiveIntegerField(_("days raw readings are kept"), null=True, blank=True)

    class Meta:
        ordering = ["station", "quantity"]
        verbose_name = _("sensor")
        verbose_name_plural = _("sensors")
        constraints = [
            models.UniqueConstraint(fields=["station", "quantity"], name="iot_sensor_station_quantity")
        ]

    def __str__(self) -> str:
        return f"{self.station.code}/{self.quantity}"

    @property
    def quantity_name(self) -> str:
        return str(QUANTITY_NAMES.get(self.quantity, self.quantity))

    def thresholds(self) -> list[tuple[str, float]]:
        levels = [("warning", self.warning_level), ("alert", self.alert_level)]
        return [(level, value) for level, value in levels if value is not None]
