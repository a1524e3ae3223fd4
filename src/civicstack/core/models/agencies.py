from django.db import models
from django.utils.translation import gettext_lazy as _

from .places import BilingualNameMixin, District


class Agency(BilingualNameMixin, models.Model):
    """A government body of the city: the city government, its agencies, offices and schools."""

    class Kind(models.TextChoices):
        CITY_GOVERNMENT = "city_government", _("City government")
        FIRST_LEVEL = "first_level", _("First-level agency")
        SECOND_LEVEL = "second_level", _("Second-level agency")
        DISTRICT_OFFICE = "district_office", _("District office")
        HOUSEHOLD_REGISTRATION_OFFICE = "household_registration_office", _("Household registration office")
        LAND_OFFICE = "land_office", _("Land office")
        HEALTH_CENTRE = "health_centre", _("Health centre")
        SCHOOL = "school", _("School")

    code = models.CharField(_("agency code"), max_length=20, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=40, choices=Kind.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent agency"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="children",
    )  # fmt: skip
    district = models.ForeignKey(
        District, verbose_name=_("district"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="agencies",
        help_text=_("Set for agencies that serve one district; empty for citywide agencies."),
    )  # fmt: skip
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        indexes = [models.Index(fields=["kind"]), models.Index(fields=["district"])]

    def __str__(self) -> str:
        return self.name


class AgencyContact(models.Model):
    """A row of an agency's contact table: unit, title, person, phone and fax."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="contacts")
    unit = models.CharField(_("unit"), max_length=100)
    title = models.CharField(_("title"), max_length=100)
    name = models.CharField(_("name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=60, blank=True)
    fax = models.CharField(_("fax"), max_length=60, blank=True)
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["agency", "sort_order", "id"]
        verbose_name = _("agency contact")
        verbose_name_plural = _("agency contacts")

    def __str__(self) -> str:
        return f"{self.unit} {self.title} {self.name}".strip()
