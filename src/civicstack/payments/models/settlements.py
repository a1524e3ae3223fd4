from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SettlementImport(models.Model):
    """One settlement file imported for reconciliation, with the outcome of every line.

    The file's SHA-256 is unique: importing the same file again returns this record and settles
    nothing twice. ``report`` keeps every line (matched, duplicate, unknown, amount mismatch,
    unreadable) so nothing in the file is ever lost from view.
    """

    filename = models.CharField(_("file name"), max_length=200)
    format = models.CharField(_("format"), max_length=20)
    sha256 = models.CharField(max_length=64, unique=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    matched = models.PositiveIntegerField(default=0)
    duplicate = models.PositiveIntegerField(default=0)
    unknown = models.PositiveIntegerField(default=0)
    amount_mismatch = models.PositiveIntegerField(default=0)
    unreadable = models.PositiveIntegerField(default=0)
    matched_amount = models.BigIntegerField(default=0)
    report = models.JSONField(default=list)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("settlement import")
        verbose_name_plural = _("settlement imports")

    def __str__(self) -> str:
        return f"{self.filename} ({self.created_at:%Y-%m-%d})"

    @property
    def lines(self) -> int:
        return self.matched + self.duplicate + self.unknown + self.amount_mismatch + self.unreadable
