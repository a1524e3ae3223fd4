from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .registry import Sensor


class AlertEpisode(models.Model):
    """A stretch of time a sensor stayed at or above one of its thresholds. Opening one notifies
    the owner agency's staff once; readings during the episode only update its peak."""

    class Level(models.TextChoices):
        WARNING = "warning", _("Warning")
        ALERT = "alert", _("Alert")

    sensor = models.ForeignKey(
        Sensor, verbose_name=_("sensor"), on_delete=models.CASCADE, related_name="episodes"
    )
    level = models.CharField(_("level"), max_length=8, choices=Level.choices)
    threshold = models.FloatField(_("threshold"))
    opened_at = models.DateTimeField(_("opened at"))
    opened_value = models.FloatField(_("value at opening"))
    peak_value = models.FloatField(_("peak value"))
    peak_at = models.DateTimeField(_("peak at"))
    last_reading_at = models.DateTimeField()
    # Consecutive readings below threshold − hysteresis; the episode closes at CALM_READINGS.
    calm_readings = models.PositiveSmallIntegerField(default=0)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("alert episode")
        verbose_name_plural = _("alert episodes")
        constraints = [
            models.UniqueConstraint(
                fields=["sensor", "level"], condition=Q(closed_at__isnull=True), name="iot_one_open_episode"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sensor_id} {self.level} {self.opened_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None
