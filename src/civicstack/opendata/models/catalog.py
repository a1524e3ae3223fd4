"""The catalog: datasets and their resources with the national portal's (data.gov.tw) metadata.

Organizations are the city's agencies (core.Agency): a dataset's 提供機關 is its ``agency``.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from civicstack.core.models import Agency

# 服務分類 of the national portal: stored as the portal's own label so that CSV import/export
# round-trips without a mapping table.
CATEGORIES = [
    "生育保健", "出生及收養", "求學及進修", "服兵役", "求職及就業", "開創事業", "婚姻", "投資理財",
    "休閒旅遊", "交通及通訊", "就醫", "購屋及遷徙", "選舉及投票", "生活安全及品質", "退休",
    "老年安養", "生命禮儀", "公共資訊",
]  # fmt: skip


class UpdateFrequency(models.TextChoices):
    """更新頻率, with the national portal's label as the display value."""

    REALTIME = "realtime", "即時"
    DAILY = "daily", "每1日"
    WEEKLY = "weekly", "每1週"
    MONTHLY = "monthly", "每1月"
    QUARTERLY = "quarterly", "每3月"
    YEARLY = "yearly", "每1年"
    IRREGULAR = "irregular", "不定期更新"


class License(models.TextChoices):
    """授權方式: the id is CKAN's ``license_id``; the label the national portal's wording."""

    GOV_TW_OPEN_1 = "gov-tw-open-1", "政府資料開放授權條款-第1版"
    CC_BY_4 = "cc-by-4.0", "創用CC 姓名標示 4.0"
    CC_ZERO = "cc-zero", "創用CC0 1.0"
    OTHER = "other-closed", "其他"


LICENSE_URLS = {
    License.GOV_TW_OPEN_1: "https://data.gov.tw/license",
    License.CC_BY_4: "https://creativecommons.org/licenses/by/4.0/",
    License.CC_ZERO: "https://creativecommons.org/publicdomain/zero/1.0/",
    License.OTHER: "",
}
OPEN_LICENSES = {License.GOV_TW_OPEN_1, License.CC_BY_4, License.CC_ZERO}


class Group(models.Model):
    """A theme (CKAN group) that collects datasets across agencies, e.g. 交通 or 環境."""

    name = models.SlugField(_("name"), max_length=100, unique=True)
    title = models.CharField(_("title"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("group")
        verbose_name_plural = _("groups")

    def __str__(self) -> str:
        return self.title


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class Dataset(models.Model):
    """資料集. Draft: only its agency sees it; private: its agency's staff and API users acting
    for the agency; public: everyone, harvested by DCAT and the CKAN API."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PRIVATE = "private", _("Private")
        PUBLIC = "public", _("Public")

    class Fee(models.TextChoices):
        FREE = "free", "免費"
        PAID = "paid", "付費"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.SlugField(_("URL name"), max_length=100, unique=True, allow_unicode=False)
    title = models.CharField(_("title (資料集名稱)"), max_length=300)
    title_en = models.CharField(_("title (English)"), max_length=300, blank=True)
    agency = models.ForeignKey(
        Agency,
        verbose_name=_("providing agency (提供機關)"),
        on_delete=models.PROTECT,
        related_name="datasets",
    )
    category = models.CharField(
        _("service category (服務分類)"),
        max_length=20,
        choices=[(c, c) for c in CATEGORIES],
        default="公共資訊",
    )
    notes = models.TextField(_("description (資料集描述)"), blank=True)
    field_description = models.TextField(_("main fields (主要欄位說明)"), blank=True)
    update_frequency = models.CharField(
        _("update frequency (更新頻率)"), max_length=20, choices=UpdateFrequency.choices,
        default=UpdateFrequency.IRREGULAR,
    )  # fmt: skip
    license = models.CharField(
        _("licence (授權方式)"), max_length=30, choices=License.choices, default=License.GOV_TW_OPEN_1
    )
    fee = models.CharField(_("fee (計費方式)"), max_length=10, choices=Fee.choices, default=Fee.FREE)
    contact_name = models.CharField(_("contact person (聯絡人)"), max_length=100, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=60, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    published_on = models.DateField(_("published on (上架日期)"), null=True, blank=True)
    metadata_modified = models.DateTimeField(_("metadata updated (詮釋資料更新時間)"))
    encoding = models.CharField(_("encoding (編碼格式)"), max_length=30, default="UTF-8")
    related_url = models.URLField(_("related URL (相關網址)"), blank=True)
    remarks = models.TextField(_("remarks (備註)"), blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    tags = models.ManyToManyField(Tag, blank=True, related_name="datasets")
    groups = models.ManyToManyField(Group, blank=True, related_name="datasets")
    # Lower-cased title, description, tags and agency: what ``q`` searches.
    search_text = models.TextField(editable=False, default="")
    # Cached from the resources by the services that change them: the best resource's stars.
    stars = models.PositiveSmallIntegerField(_("openness stars"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-metadata_modified"]
        verbose_name = _("dataset")
        verbose_name_plural = _("datasets")
        indexes = [
            models.Index(fields=["state", "-metadata_modified"], name="opendata_ds_state_modified"),
            models.Index(fields=["agency", "state"], name="opendata_ds_agency_state"),
            models.Index(fields=["category"], name="opendata_ds_category"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def license_url(self) -> str:
        return LICENSE_URLS.get(self.license, "")

    @property
    def is_public(self) -> bool:
        return self.state == self.State.PUBLIC


class Resource(models.Model):
    """A file of a dataset, uploaded or linked. Tabular ones are loaded into the datastore."""

    class Format(models.TextChoices):
        CSV = "CSV"
        JSON = "JSON"
        XML = "XML"
        XLSX = "XLSX"
        ODS = "ODS"
        GEOJSON = "GeoJSON"
        KML = "KML"
        RDF = "RDF"
        PDF = "PDF"
        OTHER = "OTHER"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="resources")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(_("name"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    format = models.CharField(_("format"), max_length=10, choices=Format.choices)
    url = models.URLField(_("link"), max_length=1000, blank=True, help_text=_("For linked resources."))
    file = models.FileField(_("file"), upload_to="opendata/%Y/%m/", blank=True, max_length=300)
    mimetype = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(_("size in bytes"), null=True, blank=True)
    encoding = models.CharField(_("detected encoding"), max_length=30, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    datastore_active = models.BooleanField(default=False)
    # [{"id": "欄位", "type": "text|int|numeric|bool"}] in table order.
    datastore_fields = models.JSONField(default=list, blank=True)
    datastore_row_count = models.PositiveIntegerField(default=0)
    # Points, lines and polygons of a geodata resource, for the map preview (GeoJSON geometries).
    geometry_preview = models.JSONField(default=list, blank=True)
    refresh_url = models.URLField(_("refresh from URL"), max_length=1000, blank=True)
    # Or from another module of the platform (services.register_internal_source), e.g. "card.parking_lots".
    internal_source = models.CharField(_("refresh from a platform module"), max_length=60, blank=True)
    refresh_every_hours = models.PositiveIntegerField(_("refresh every (hours)"), null=True, blank=True)
    next_refresh_at = models.DateTimeField(null=True, blank=True)
    link_checked_at = models.DateTimeField(null=True, blank=True)
    link_ok = models.BooleanField(null=True)
    stars = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    last_modified = models.DateTimeField()

    class Meta:
        ordering = ["dataset", "position", "created_at"]
        verbose_name = _("resource")
        verbose_name_plural = _("resources")
        indexes = [models.Index(fields=["next_refresh_at"], name="opendata_res_next_refresh")]

    def __str__(self) -> str:
        return self.name


class ResourceUpdate(models.Model):
    """One load of a resource (upload, link or scheduled refresh): the history shown on its page,
    including schema drift (fields added or removed against the previous load)."""

    class Source(models.TextChoices):
        UPLOAD = "upload", _("Upload")
        LINK = "link", _("Link")
        REFRESH = "refresh", _("Scheduled refresh")

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="updates")
    source = models.CharField(max_length=10, choices=Source.choices)
    succeeded = models.BooleanField(default=True)
    message = models.TextField(blank=True)
    row_count = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    fields_added = models.JSONField(default=list, blank=True)
    fields_removed = models.JSONField(default=list, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("resource update")
        verbose_name_plural = _("resource updates")

    def __str__(self) -> str:
        return f"{self.resource_id} {self.source} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def schema_drifted(self) -> bool:
        return bool(self.fields_added or self.fields_removed)
