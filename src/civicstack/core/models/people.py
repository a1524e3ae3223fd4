from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from .places import District, Village


class User(AbstractUser):
    """A login: a citizen (linked to a Person) or a staff member (with StaffRoles), or both."""

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")


class Household(models.Model):
    """A household registration (戶): the people registered at one address."""

    number = models.CharField(_("household number"), max_length=20, unique=True)
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="households")
    village = models.ForeignKey(Village, null=True, blank=True, on_delete=models.PROTECT)
    address = models.CharField(_("address"), max_length=200)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")

    def __str__(self) -> str:
        return self.number


class Person(models.Model):
    """A citizen or resident in the people registry.

    The identification number is stored only encrypted (``id_ciphertext``) and as a keyed hash
    (``id_digest``) for exact lookup; ``id_masked`` is what pages, logs and lists show.
    """

    class IdKind(models.TextChoices):
        NATIONAL_ID = "national_id", _("National ID")
        RESIDENT_CERTIFICATE = "resident_certificate", _("Resident certificate")

    class Sex(models.TextChoices):
        MALE = "M", _("Male")
        FEMALE = "F", _("Female")

    class IncomeStatus(models.TextChoices):
        GENERAL = "general", _("General")
        MID_LOW = "mid_low", _("Mid-low income")
        LOW = "low", _("Low income")

    class DisabilityLevel(models.TextChoices):
        NONE = "", _("None")
        MILD = "mild", _("Mild")
        MODERATE = "moderate", _("Moderate")
        SEVERE = "severe", _("Severe")
        PROFOUND = "profound", _("Profound")

    class Relationship(models.TextChoices):
        HEAD = "head", _("Head of household")
        SPOUSE = "spouse", _("Spouse")
        CHILD = "child", _("Child")
        PARENT = "parent", _("Parent")
        GRANDCHILD = "grandchild", _("Grandchild")
        SIBLING = "sibling", _("Sibling")
        OTHER = "other", _("Other")

    id_kind = models.CharField(_("identification kind"), max_length=24, choices=IdKind.choices)
    id_ciphertext = models.BinaryField(editable=False)
    id_digest = models.CharField(max_length=64, unique=True, editable=False)
    id_masked = models.CharField(_("identification number"), max_length=10, editable=False)

    name = models.CharField(_("name"), max_length=60)
    birth_date = models.DateField(_("birth date"))
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    district = models.ForeignKey(
        District, verbose_name=_("household registration district"), on_delete=models.PROTECT,
        related_name="residents",
    )  # fmt: skip
    village = models.ForeignKey(
        Village, verbose_name=_("village"), null=True, blank=True, on_delete=models.PROTECT
    )
    address = models.CharField(_("registered address"), max_length=200, blank=True)
    registered_since = models.DateField(_("registered in the city since"), null=True, blank=True)
    household = models.ForeignKey(
        Household, verbose_name=_("household"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="members",
    )  # fmt: skip
    relationship = models.CharField(
        _("relationship to head of household"), max_length=12, choices=Relationship.choices, blank=True
    )
    phone = models.CharField(_("mobile phone"), max_length=20, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)

    income_status = models.CharField(
        _("income status"), max_length=10, choices=IncomeStatus.choices, default=IncomeStatus.GENERAL
    )
    disability_level = models.CharField(
        _("disability certificate level"), max_length=10, choices=DisabilityLevel.choices, blank=True
    )
    indigenous = models.BooleanField(_("indigenous status"), default=False)
    deceased_on = models.DateField(_("deceased on"), null=True, blank=True)
    moved_out_on = models.DateField(_("moved out of the city on"), null=True, blank=True)

    user = models.OneToOneField(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="person")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        indexes = [models.Index(fields=["district", "name"]), models.Index(fields=["birth_date"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.id_masked})"

    @property
    def has_disability_certificate(self) -> bool:
        return bool(self.disability_level)
