from django.db import models
from django.utils.translation import gettext_lazy as _


class BusinessItem(models.Model):
    """A kind of fee or fine an agency collects (業務項目): what statute it rests on and how much."""

    class Kind(models.TextChoices):
        FEE = "fee", _("Fee")
        FINE = "fine", _("Fine")

    agency = models.ForeignKey(
        "core.Agency", verbose_name=_("agency"), on_delete=models.PROTECT, related_name="fine_items"
    )
    code = models.CharField(_("item code"), max_length=20)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=4, choices=Kind.choices)
    statute = models.CharField(_("statute"), max_length=120, blank=True)
    article = models.CharField(_("article"), max_length=60, blank=True)
    default_amount = models.PositiveIntegerField(_("default amount (NT$)"))
    min_amount = models.PositiveIntegerField(_("minimum amount (NT$)"))
    max_amount = models.PositiveIntegerField(_("maximum amount (NT$)"))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["agency", "code"]
        verbose_name = _("business item")
        verbose_name_plural = _("business items")
        constraints = [
            models.UniqueConstraint(fields=["agency", "code"], name="fines_item_unique_agency_code"),
            models.CheckConstraint(
                condition=models.Q(min_amount__gt=0)
                & models.Q(min_amount__lte=models.F("default_amount"))
                & models.Q(default_amount__lte=models.F("max_amount")),
                name="fines_item_amounts_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def legal_basis(self) -> str:
        return f"{self.statute} {self.article}".strip()
