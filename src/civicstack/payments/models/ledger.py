"""The double-entry ledger, after TigerBeetle's model: accounts keep four running totals
(debits/credits, pending/posted) updated in the same transaction as the transfers that move
them, and a transfer is never edited: mistakes are reversed by new transfers."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Account(models.Model):
    class Unit(models.TextChoices):
        TWD = "TWD", _("New Taiwan dollars")
        POINT = "POINT", _("Points")
        WELFARE = "WELFARE", _("Welfare points")

    code = models.CharField(_("code"), max_length=80, unique=True)
    name = models.CharField(_("name"), max_length=200)
    unit = models.CharField(_("unit"), max_length=8, choices=Unit.choices, default=Unit.TWD)
    agency = models.ForeignKey(
        "core.Agency", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_accounts"
    )
    person = models.ForeignKey(
        "core.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_accounts"
    )
    # A holder's purse may not go below zero; a clearing account may not receive more than it paid out.
    debits_must_not_exceed_credits = models.BooleanField(default=False)
    credits_must_not_exceed_debits = models.BooleanField(default=False)
    debits_pending = models.BigIntegerField(default=0)
    debits_posted = models.BigIntegerField(default=0)
    credits_pending = models.BigIntegerField(default=0)
    credits_posted = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        constraints = [
            # The database itself refuses an overdraft, whatever code path tries one.
            models.CheckConstraint(
                condition=Q(debits_must_not_exceed_credits=False)
                | Q(debits_posted__lte=F("credits_posted") - F("debits_pending")),
                name="payments_account_debits_within_credits",
            ),
            models.CheckConstraint(
                condition=Q(credits_must_not_exceed_debits=False)
                | Q(credits_posted__lte=F("debits_posted") - F("credits_pending")),
                name="payments_account_credits_within_debits",
            ),
            models.CheckConstraint(
                condition=Q(debits_pending__gte=0)
                & Q(debits_posted__gte=0)
                & Q(credits_pending__gte=0)
                & Q(credits_posted__gte=0),
                name="payments_account_totals_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"

    @property
    def balance(self) -> int:
        """Posted credits less posted debits: what a purse holds, what an agency has received."""
        return self.credits_posted - self.debits_posted

    @property
    def available(self) -> int:
        """The balance less what pending debits have reserved."""
        return self.credits_posted - self.debits_posted - self.debits_pending


class Transfer(models.Model):
    class Kind(models.TextChoices):
        POSTED = "posted", _("Posted")
        PENDING = "pending", _("Pending (reserved)")
        POST_PENDING = "post_pending", _("Posting of a pending transfer")
        VOID_PENDING = "void_pending", _("Voiding of a pending transfer")
        EXPIRE_PENDING = "expire_pending", _("Expiry of a pending transfer")

    class State(models.TextChoices):
        NONE = "", _("—")
        PENDING = "pending", _("Pending")
        POSTED = "posted", _("Posted")
        VOIDED = "voided", _("Voided")
        EXPIRED = "expired", _("Expired")

    # Unique through Meta.constraints: a unique field also gets a second, LIKE-pattern index on
    # PostgreSQL that no query uses, written once per transfer (thousands per card-tap batch).
    idempotency_key = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    debit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="debits")
    credit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="credits")
    amount = models.BigIntegerField()
    # Only pending transfers have a state; post/void/expire records point at their pending transfer.
    state = models.CharField(max_length=8, choices=State.choices, blank=True, default="")
    # The nullable links are indexed only where set (Meta.indexes): almost every transfer has none.
    pending_transfer = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="resolutions", db_index=False
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    reverses = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversals", db_index=False
    )
    linked_group = models.CharField(max_length=40, blank=True)
    reference = models.CharField(max_length=80, blank=True)  # indexed in Meta.indexes (no LIKE index)
    memo = models.CharField(max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("ledger transfer")
        verbose_name_plural = _("ledger transfers")
        indexes = [
            models.Index(
                fields=["state", "expires_at"],
                name="payments_transfer_pending_idx",
                condition=Q(state="pending"),
            ),
            models.Index(fields=["reference"], name="payments_transfer_reference"),
            models.Index(
                fields=["pending_transfer"],
                name="payments_transfer_pending_of",
                condition=Q(pending_transfer__isnull=False),
            ),
            models.Index(
                fields=["reverses"], name="payments_transfer_reverses", condition=Q(reverses__isnull=False)
            ),
            models.Index(fields=["actor"], name="payments_transfer_actor", condition=Q(actor__isnull=False)),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key"], name="payments_transfer_idempotency_key_unique"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_transfer_amount_positive"),
            models.CheckConstraint(
                condition=~Q(debit_account=F("credit_account")), name="payments_transfer_two_accounts"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.idempotency_key}: {self.amount} {self.debit_account_id}→{self.credit_account_id}"
