from django.db import models
from django.utils.translation import gettext_lazy as _

from .catalog import Dataset


class UsageMonthly(models.Model):
    """Page views, downloads and API calls of a dataset in a month: written in batches from the
    in-process counters (opendata.usage), never once per request."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="usage")
    month = models.DateField()  # first day of the month
    views = models.PositiveBigIntegerField(default=0)
    downloads = models.PositiveBigIntegerField(default=0)
    api_calls = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-month"]
        verbose_name = _("monthly usage")
        verbose_name_plural = _("monthly usage")
        constraints = [
            models.UniqueConstraint(fields=["dataset", "month"], name="opendata_usage_unique_month")
        ]

    def __str__(self) -> str:
        return f"{self.dataset_id} {self.month:%Y-%m}"
