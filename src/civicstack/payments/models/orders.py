from django.db import models
from django.utils.translation import gettext_lazy as _


class PaymentOrder(models.Model):
    """A bill: what a payer owes an agency, payable through any channel until it is settled."""

    class State(models.TextChoices):
        CREATED = "created", _("Created")
        PENDING = "pending", _("Awaiting payment")
        PAID = "paid", _("Paid")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")
        REFUNDED = "refunded", _("Refunded")

    class Channel(models.TextChoices):
        CONVENIENCE_STORE = "convenience_store", _("Convenience store")
        VIRTUAL_ACCOUNT = "virtual_account", _("Bank transfer (virtual account)")
        E_WALLET = "e_wallet", _("Citizen card e-wallet")
        CARD_GATEWAY = "card_gateway", _("Online card payment")
        COUNTER = "counter", _("Agency counter")

    number = models.CharField(_("order number"), max_length=16, unique=True)
    payee_agency = models.ForeignKey(
        "core.Agency", verbose_name=_("payee agency"), on_delete=models.PROTECT, related_name="payment_orders"
    )
    payer_person = models.ForeignKey(
        "core.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="payment_orders"
    )
    payer_company_ban = models.CharField(_("payer business number"), max_length=8, blank=True)
    payer_name = models.CharField(_("payer name"), max_length=120)
    amount = models.BigIntegerField(_("amount (NT$)"))
    due_date = models.DateField(_("due date"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.CREATED)
    source_type = models.CharField(max_length=40, blank=True, help_text="e.g. fines.case")
    source_id = models.CharField(max_length=40, blank=True)
    reference = models.CharField(_("reference"), max_length=120, blank=True)
    virtual_account = models.CharField(_("virtual account"), max_length=20, blank=True, db_index=True)
    channel = models.CharField(_("paid through"), max_length=20, choices=Channel.choices, blank=True)
    paid_amount = models.BigIntegerField(null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    external_reference = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("payment order")
        verbose_name_plural = _("payment orders")
        indexes = [
            models.Index(fields=["payer_person", "state"]),
            models.Index(fields=["payee_agency", "state"]),
            models.Index(fields=["source_type", "source_id"]),
            models.Index(fields=["state", "due_date"]),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payments_order_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.number} NT${self.amount:,}"

    @property
    def is_payable(self) -> bool:
        return self.state in (self.State.CREATED, self.State.PENDING)


class PaymentOrderItem(models.Model):
    order = models.ForeignKey(PaymentOrder, on_delete=models.CASCADE, related_name="items")
    description = models.CharField(_("description"), max_length=200)
    amount = models.BigIntegerField(_("amount (NT$)"))

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payments_item_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.description} NT${self.amount:,}"
