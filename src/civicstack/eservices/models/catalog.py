from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ServiceItem(models.Model):
    """An application item (申辦項目) of the catalog: what can be applied for, where, and how."""

    class CrossDistrict(models.TextChoices):
        NOT_ALLOWED = "not_allowed", _("Only at the office of the applicant's district")
        RECEIVE_AND_TRANSFER = "transfer", _("Any district office receives; the competent office handles it")
        HANDLE_ANYWHERE = "anywhere", _("Any district office receives and handles it")

    class Channel(models.TextChoices):
        ONLINE = "online", _("Online")
        COUNTER = "counter", _("At a counter only")
        CONVENIENCE_STORE = "store", _("Online or at a convenience store")

    agency = models.ForeignKey(
        "core.Agency", verbose_name=_("agency"), on_delete=models.PROTECT, related_name="service_items"
    )
    code = models.CharField(_("item code"), max_length=24, unique=True)
    name = models.CharField(_("name"), max_length=120)
    category = models.CharField(_("category"), max_length=40, db_index=True)
    description = models.TextField(_("description"), blank=True)
    eligibility = models.TextField(_("who may apply"), blank=True)
    required_documents = models.TextField(_("required documents"), blank=True)
    fee = models.PositiveIntegerField(_("fee (NT$)"), default=0)
    time_limit_days = models.PositiveSmallIntegerField(_("legal time limit (working days)"))
    # Blank: the item's own agency handles every case. Otherwise the office of this kind in the
    # competent district (the applicant's household registration district) handles it.
    office_kind = models.CharField(_("handled by offices of kind"), max_length=40, blank=True)
    cross_district = models.CharField(
        _("cross-district filing"),
        max_length=12,
        choices=CrossDistrict.choices,
        default=CrossDistrict.NOT_ALLOWED,
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices, default=Channel.ONLINE)
    search_tokens = models.TextField(editable=False, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["agency", "code"]
        verbose_name = _("service item")
        verbose_name_plural = _("service items")
        indexes = [models.Index(fields=["agency", "category"], name="eserv_item_agency_category")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def applies_online(self) -> bool:
        return self.channel != self.Channel.COUNTER


class BlankForm(models.Model):
    """A downloadable blank form of an item (PDF, ODT or DOCX), to print and hand in."""

    item = models.ForeignKey(ServiceItem, on_delete=models.CASCADE, related_name="blank_forms")
    title = models.CharField(_("title"), max_length=120)
    file = models.FileField(_("file"), upload_to="eservices/forms/")
    content_type = models.CharField(_("type"), max_length=80)
    size = models.PositiveIntegerField(_("size (bytes)"))

    class Meta:
        ordering = ["item", "id"]
        verbose_name = _("blank form")
        verbose_name_plural = _("blank forms")

    def __str__(self) -> str:
        return self.title


class FormDefinition(models.Model):
    """One version of an item's online form: a JSON Schema (2020-12) and its layout.

    A published version is never edited: a change is a new version, and an application keeps the
    version it was filled in with.
    """

    item = models.ForeignKey(ServiceItem, on_delete=models.CASCADE, related_name="form_versions")
    version = models.PositiveIntegerField(_("version"))
    schema = models.JSONField(_("JSON Schema"))
    layout = models.JSONField(_("layout"), default=dict)
    is_published = models.BooleanField(_("published"), default=False)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "-version"]
        verbose_name = _("form version")
        verbose_name_plural = _("form versions")
        constraints = [
            models.UniqueConstraint(fields=["item", "version"], name="eserv_form_unique_item_version")
        ]

    def __str__(self) -> str:
        return f"{self.item.code} v{self.version}"
