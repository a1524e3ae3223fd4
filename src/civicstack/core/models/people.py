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
    disability_certificate_expires_on = models.DateField(
        _("disability certificate valid until"), null=True, blank=True,
        help_text=_("Empty for a certificate without an expiry date."),
    )  # fmt: skip
    disability_needs_companion = models.BooleanField(
        _("certificate notes that a companion is needed"), default=False
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

    def disability_certificate_valid_on(self, day) -> bool:
        expires = self.disability_certificate_expires_on
        return bool(self.disability_level) and (expires is None or expires >= day)

    def is_resident_on(self, day) -> bool:
        """Registered in the city and alive on ``day``."""
        return (self.deceased_on is None or self.deceased_on > day) and (
            self.moved_out_on is None or self.moved_out_on > day
        )


class SchoolEnrolment(models.Model):
    """A person's enrolment at a school: a city school (an Agency) or another school, e.g. a
    college in the city that the city does not run. Card eligibility and welfare rules read it."""

    class Level(models.TextChoices):
        ELEMENTARY = "elementary", _("Elementary school")
        JUNIOR_HIGH = "junior_high", _("Junior high school")
        SENIOR_HIGH = "senior_high", _("Senior high or vocational school")
        COLLEGE = "college", _("College or university")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="school_enrolments")
    school = models.ForeignKey(
        "core.Agency", verbose_name=_("school (city agency)"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="enrolments",
    )  # fmt: skip
    school_name = models.CharField(_("school name"), max_length=120)
    level = models.CharField(_("level"), max_length=12, choices=Level.choices)
    in_city = models.BooleanField(_("school is in the city"), default=True)
    student_number = models.CharField(_("student number"), max_length=30, blank=True)
    enrolled_on = models.DateField(_("enrolled on"))
    ends_on = models.DateField(_("enrolment ends on"), null=True, blank=True)

    class Meta:
        verbose_name = _("school enrolment")
        verbose_name_plural = _("school enrolments")
        indexes = [models.Index(fields=["school", "ends_on"])]

    def __str__(self) -> str:
        return f"{self.school_name} {self.student_number}".strip()

    def is_current_on(self, day) -> bool:
        return self.enrolled_on <= day and (self.ends_on is None or self.ends_on >= day)
