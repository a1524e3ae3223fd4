"""Analytics tables: data sources and their loads, dashboards and charts defined as data, curated
datasets served to other agencies, and the per-key daily quotas of those datasets.

The warehouse rows themselves are not here: they are Parquet files under ``WAREHOUSE_DIR``
(see warehouse.py); these tables only describe and audit them.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Source(models.Model):
    """One of the city's data feeds, with the schema its rows must follow and how it is fetched."""

    class Kind(models.TextChoices):
        FILE_CSV = "file_csv", _("File drop (CSV)")
        FILE_JSON = "file_json", _("File drop (JSON)")
        FILE_XLSX = "file_xlsx", _("File drop (XLSX)")
        HTTP = "http", _("HTTP pull")
        MQTT = "mqtt", _("MQTT sensors (via IoT)")
        MODULE = "module", _("Platform module")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    table = models.SlugField(_("warehouse table"), max_length=40, unique=True)
    # [{"name": "district", "type": "VARCHAR", "required": true}, ...]; DuckDB type names.
    schema = models.JSONField(_("schema"), default=list)
    # The columns that identify a row (["lot_id", "observed_at"]): a row whose key the warehouse
    # already holds for this source is skipped and counted as a duplicate, never stored twice.
    natural_key = models.JSONField(_("natural key"), default=list, blank=True)
    options = models.JSONField(_("connector options"), default=dict, blank=True)
    every_minutes = models.PositiveIntegerField(_("load every (minutes)"), default=60)
    agency = models.ForeignKey("core.Agency", verbose_name=_("owner agency"), on_delete=models.PROTECT)
    # Rows only the owner agency (and the agencies above it, and city administrators) may see.
    restricted_to_agency = models.BooleanField(_("visible to the owner agency only"), default=False)
    cursor = models.BigIntegerField(_("incremental cursor"), default=0)
    next_load_at = models.DateTimeField(_("next load at"), null=True, blank=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("data source")
        verbose_name_plural = _("data sources")

    def __str__(self) -> str:
        return self.name


class Load(models.Model):
    """One run of a source's connector: what came in, what was kept, what was rejected and why."""

    class Status(models.TextChoices):
        OK = "ok", _("Loaded")
        PARTIAL = "partial", _("Loaded with rejected rows")
        EMPTY = "empty", _("Nothing new")
        FAILED = "failed", _("Failed")

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="loads")
    started_at = models.DateTimeField(_("started at"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices)
    origin = models.CharField(_("origin"), max_length=255, blank=True)
    rows_in = models.PositiveIntegerField(_("rows read"), default=0)
    rows_loaded = models.PositiveIntegerField(_("rows loaded"), default=0)
    rows_rejected = models.PositiveIntegerField(_("rows rejected"), default=0)
    # Rows whose natural key the warehouse already held (a feed re-delivering what it sent before).
    duplicates_skipped = models.PositiveIntegerField(_("duplicates skipped"), default=0)
    rejected_by_reason = models.JSONField(_("rejected rows by reason"), default=dict, blank=True)
    rejected_samples = models.JSONField(_("rejected row samples"), default=list, blank=True)
    # {"new": [...], "missing": [...], "retyped": [{"column", "declared", "found"}]}
    drift = models.JSONField(_("schema drift"), default=dict, blank=True)
    quality = models.JSONField(_("data-quality report"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    parquet_file = models.CharField(_("Parquet file"), max_length=255, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("load")
        verbose_name_plural = _("loads")

    def __str__(self) -> str:
        return f"{self.source} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def has_drift(self) -> bool:
        return any(self.drift.get(key) for key in ("new", "missing", "retyped"))


class Dashboard(models.Model):
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    title = models.CharField(_("title"), max_length=120)
    topic = models.CharField(_("topic"), max_length=60)
    description = models.TextField(_("description"), blank=True)
    method = models.TextField(_("method"), blank=True)
    agency = models.ForeignKey("core.Agency", verbose_name=_("owner agency"), on_delete=models.PROTECT)
    is_public = models.BooleanField(_("public"), default=False)
    position = models.PositiveIntegerField(_("position"), default=100)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "slug"]
        verbose_name = _("dashboard")
        verbose_name_plural = _("dashboards")

    def __str__(self) -> str:
        return self.title


class Chart(models.Model):
    """A chart as data: SQL over warehouse tables with named parameters, and how to draw it."""

    class Type(models.TextChoices):
        LINE = "line", _("Time series")
        BAR = "bar", _("Bars")
        MAP = "map", _("District map")
        TABLE = "table", _("Table")

    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="charts")
    slug = models.SlugField(_("slug"), max_length=60)
    title = models.CharField(_("title"), max_length=160)
    sql = models.TextField(_("SQL"))
    parameters = models.JSONField(_("parameters"), default=list, blank=True)
    spec = models.JSONField(_("chart spec"), default=dict)
    tables = models.JSONField(_("tables read"), default=list, blank=True)
    is_public = models.BooleanField(_("public figure"), default=False)
    position = models.PositiveIntegerField(_("position"), default=100)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["dashboard", "position", "id"]
        verbose_name = _("chart")
        verbose_name_plural = _("charts")
        constraints = [
            models.UniqueConstraint(fields=["dashboard", "slug"], name="analytics_chart_slug_unique")
        ]

    def __str__(self) -> str:
        return self.title


class CuratedDataset(models.Model):
    """A dataset served to other agencies at ``/api/v1/analytics/datasets/<code>``."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    title = models.CharField(_("title"), max_length=160)
    description = models.TextField(_("description"), blank=True)
    sql = models.TextField(_("SQL"))
    tables = models.JSONField(_("tables read"), default=list, blank=True)
    agency = models.ForeignKey("core.Agency", verbose_name=_("owner agency"), on_delete=models.PROTECT)
    is_open_data = models.BooleanField(_("publishable as open data"), default=False)
    opendata_name = models.CharField(_("open data dataset"), max_length=100, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("curated dataset")
        verbose_name_plural = _("curated datasets")

    def __str__(self) -> str:
        return self.title


class ApiKeyQuota(models.Model):
    """A key's daily request allowance on the dataset endpoints (keys without one get the default)."""

    api_key = models.OneToOneField("core.ApiKey", on_delete=models.CASCADE, related_name="analytics_quota")
    daily_limit = models.PositiveIntegerField(_("requests per day"))

    class Meta:
        verbose_name = _("API key quota")
        verbose_name_plural = _("API key quotas")

    def __str__(self) -> str:
        return f"{self.api_key} {self.daily_limit}/day"


class ApiKeyUsage(models.Model):
    """Requests of a key per day, when no Redis is configured to count them."""

    api_key = models.ForeignKey("core.ApiKey", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    requests = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "day"], name="analytics_key_usage_per_day")]

    def __str__(self) -> str:
        return f"{self.api_key} {self.day}: {self.requests}"


DEFAULT_DAILY_QUOTA = getattr(settings, "ANALYTICS_DEFAULT_DAILY_QUOTA", 1000)
