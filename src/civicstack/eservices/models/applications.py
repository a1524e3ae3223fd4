from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .catalog import FormDefinition, ServiceItem


class Application(models.Model):
    """A citizen's application; once submitted it is a case of the handling office."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        RECEIVED = "received", pgettext_lazy("application state", "Received")
        IN_REVIEW = "in_review", _("In review")
        SUPPLEMENT_REQUESTED = "supplement", _("Supplement requested")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        COMPLETED = "completed", _("Completed")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    number = models.CharField(_("receipt number"), max_length=14, unique=True)
    item = models.ForeignKey(
        ServiceItem, verbose_name=_("item"), on_delete=models.PROTECT, related_name="applications"
    )
    form = models.ForeignKey(
        FormDefinition, verbose_name=_("form version"), on_delete=models.PROTECT, related_name="applications"
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("applicant"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="eservice_applications", help_text=_("Empty for applications filed at a counter."),
    )  # fmt: skip
    applicant_person = models.ForeignKey(
        "core.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="eservice_applications"
    )
    applicant_name = models.CharField(_("applicant name"), max_length=60)
    data = models.JSONField(_("answers"), default=dict)
    prefill_consent = models.BooleanField(_("consented to prefill from the registry"), default=False)
    receiving_office = models.ForeignKey(
        "core.Agency", verbose_name=_("receiving office"), on_delete=models.PROTECT, related_name="+"
    )
    handling_office = models.ForeignKey(
        "core.Agency", verbose_name=_("handling office"), on_delete=models.PROTECT, related_name="+"
    )
    is_cross_district = models.BooleanField(_("cross-district"), default=False)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assigned to"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    # Working days left when a supplement was requested: the clock stops until the citizen answers.
    paused_working_days = models.PositiveSmallIntegerField(null=True, blank=True)
    supplement_request = models.TextField(_("supplement requested"), blank=True)
    decision_reason = models.TextField(_("reason"), blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    fee = models.PositiveIntegerField(_("fee (NT$)"), default=0)
    payment_order = models.OneToOneField(
        "payments.PaymentOrder", verbose_name=_("payment order"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="eservice_application",
    )  # fmt: skip
    fee_paid_at = models.DateTimeField(_("fee paid at"), null=True, blank=True)
    pickup_code = models.CharField(_("pickup code"), max_length=8, unique=True, null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # A default rather than auto_now_add, so bulk-loaded historical cases keep their dates.
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        indexes = [
            models.Index(fields=["handling_office", "state", "due_date"], name="eserv_app_handling"),
            models.Index(fields=["receiving_office", "state", "due_date"], name="eserv_app_receiving"),
            models.Index(fields=["applicant", "created_at"], name="eserv_app_applicant"),
            models.Index(fields=["state", "due_date"], name="eserv_app_state_due"),
            models.Index(fields=["item", "submitted_at"], name="eserv_app_item_submitted"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


OPEN_STATES = (
    Application.State.SUBMITTED,
    Application.State.RECEIVED,
    Application.State.IN_REVIEW,
    Application.State.SUPPLEMENT_REQUESTED,
)


class ApplicationEvent(models.Model):
    """One step of an application's timeline, as the citizen and staff see it. The same change is
    also in the hash-chained core audit log (``eservices.application.*``)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=40)
    from_state = models.CharField(max_length=10, blank=True)
    to_state = models.CharField(max_length=10, blank=True)
    note = models.TextField(blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["application", "created_at", "id"]
        verbose_name = _("application event")
        verbose_name_plural = _("application events")

    def __str__(self) -> str:
        return f"{self.application_id} {self.action}"


class Attachment(models.Model):
    """A file the citizen attached to a form field (a PDF, JPEG or PNG, size-limited per field)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="attachments")
    field = models.CharField(_("form field"), max_length=60)
    file = models.FileField(_("file"), upload_to="eservices/attachments/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=40)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64)
    is_supplement = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["application", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.original_name
