from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .catalog import BusinessItem


class FineCase(models.Model):
    """One fee or fine owed by a person or a company, with its payment order.

    The case's history is the core audit trail filtered by this object (``fines.case.*`` events),
    so it is append-only and tamper-evident like every other record of state changes.
    """

    class State(models.TextChoices):
        ISSUED = "issued", _("Issued")
        NOTIFIED = "notified", _("Notice sent")
        PAID = "paid", _("Paid")
        OVERDUE = "overdue", _("Overdue")
        TRANSFERRED = "transferred", _("Transferred to enforcement")
        CANCELLED = "cancelled", _("Cancelled")

    class PayerKind(models.TextChoices):
        PERSON = "person", _("Person")
        COMPANY = "company", _("Company")

    number = models.CharField(_("case number"), max_length=12, unique=True)
    agency = models.ForeignKey(
        "core.Agency", verbose_name=_("agency"), on_delete=models.PROTECT, related_name="fine_cases"
    )
    item = models.ForeignKey(
        BusinessItem, verbose_name=_("business item"), on_delete=models.PROTECT, related_name="cases"
    )
    kind = models.CharField(_("kind"), max_length=4, choices=BusinessItem.Kind.choices)
    payer_kind = models.CharField(_("payer kind"), max_length=8, choices=PayerKind.choices)
    payer_person = models.ForeignKey(
        "core.Person", verbose_name=_("payer (registered resident)"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="fine_cases",
    )  # fmt: skip
    payer_company_ban = models.CharField(_("payer unified business number"), max_length=8, blank=True)
    payer_name = models.CharField(_("payer name"), max_length=120)
    payer_identifier_masked = models.CharField(_("payer identification number"), max_length=10, blank=True)
    payer_lookup_digest = models.CharField(max_length=64, editable=False)
    statute = models.CharField(_("statute"), max_length=120, blank=True)
    article = models.CharField(_("article"), max_length=60, blank=True)
    facts = models.TextField(_("facts of the case"), blank=True)
    amount = models.PositiveIntegerField(_("amount (NT$)"))
    due_date = models.DateField(_("due date"))
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.ISSUED)
    payment_order = models.OneToOneField(
        "payments.PaymentOrder", verbose_name=_("payment order"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="fine_case",
    )  # fmt: skip
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notified_at = models.DateTimeField(_("notice sent at"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminder sent at"), null=True, blank=True)
    enforcement_transferred_at = models.DateTimeField(
        _("transferred to enforcement at"), null=True, blank=True
    )
    closing_reason = models.TextField(_("reason (cancellation or enforcement)"), blank=True)
    # A default rather than auto_now_add, so bulk-loaded historical cases keep their dates.
    created_at = models.DateTimeField(_("issued at"), default=timezone.now, editable=False, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("fine or fee case")
        verbose_name_plural = _("fine and fee cases")
        indexes = [
            models.Index(fields=["payer_lookup_digest"], name="fines_case_payer_digest"),
            models.Index(fields=["agency", "state"], name="fines_case_agency_state"),
            models.Index(fields=["agency", "created_at"], name="fines_case_agency_created"),
            models.Index(fields=["state", "due_date"], name="fines_case_state_due"),
            models.Index(fields=["item", "state"], name="fines_case_item_state"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="fines_case_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_payable(self) -> bool:
        return self.state in (self.State.ISSUED, self.State.NOTIFIED, self.State.OVERDUE)


class CaseDocument(models.Model):
    """Evidence or correspondence attached to a case: a PDF, JPEG or PNG of at most 10 MB."""

    class ContentType(models.TextChoices):
        PDF = "application/pdf", "PDF"
        JPEG = "image/jpeg", "JPEG"
        PNG = "image/png", "PNG"

    case = models.ForeignKey(FineCase, on_delete=models.CASCADE, related_name="documents")
    file = models.FileField(_("file"), upload_to="fines/documents/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=20, choices=ContentType.choices)
    size = models.PositiveIntegerField(_("size (bytes)"))
    description = models.CharField(_("description"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case", "id"]
        verbose_name = _("case document")
        verbose_name_plural = _("case documents")

    def __str__(self) -> str:
        return self.original_name
