from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PointsEntry(models.Model):
    """One movement of bonus points (紅利積點) on a card. The balance lives on the ledger; this is
    the public, tamper-evident log: each day's entries are sealed under a Merkle root (PointsSeal),
    and the holder's receipt proves an entry is in it."""

    class Kind(models.TextChoices):
        EARN = "earn", _("Earned")
        REDEEM = "redeem", _("Redeemed")
        EXPIRE = "expire", _("Expired")
        CARRY_OUT = "carry_out", _("Moved to the replacement card")
        CARRY_IN = "carry_in", _("Moved from the replaced card")

    card = models.ForeignKey("card.Card", on_delete=models.PROTECT, related_name="points_entries")
    card_number = models.CharField(_("card number"), max_length=16)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    delta = models.BigIntegerField(_("points (+ earned, − spent)"))
    reason = models.CharField(_("reason"), max_length=120)
    key = models.CharField(max_length=120, unique=True, help_text="idempotency key: a retry adds nothing")
    created_at = models.DateTimeField(_("at"), default=timezone.now)
    day = models.DateField(_("day"), db_index=True)
    leaf = models.CharField(max_length=64, editable=False)

    class Meta:
        ordering = ["id"]
        verbose_name = _("bonus points entry")
        verbose_name_plural = _("bonus points entries")
        indexes = [models.Index(fields=["card", "created_at"], name="card_points_card_time")]

    def __str__(self) -> str:
        return f"{self.card_number} {self.delta:+d}"


class PointsSeal(models.Model):
    """The Merkle root (RFC 6962) over one day's entries in id order, published for anyone."""

    day = models.DateField(_("day"), unique=True)
    size = models.PositiveIntegerField(_("entries"))
    root = models.CharField(_("Merkle root"), max_length=64)
    sealed_at = models.DateTimeField(_("sealed at"), default=timezone.now)

    class Meta:
        ordering = ["-day"]
        verbose_name = _("bonus points seal")
        verbose_name_plural = _("bonus points seals")

    def __str__(self) -> str:
        return f"{self.day} {self.root[:12]}…"
