from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CardPartner(models.Model):
    """An organisation outside the city government that issues cards or provides a function:
    a telecom (mobile cards), a bank (co-branded cards), an employer, a farmers' association,
    a community (door access), a transit operator."""

    class Kind(models.TextChoices):
        TELECOM = "telecom", _("Telecom")
        BANK = "bank", _("Bank")
        TRANSIT = "transit", _("Transit operator")
        EMPLOYER = "employer", _("Employer")
        ASSOCIATION = "association", _("Association")
        COMMUNITY = "community", _("Community")
        OTHER = "other", _("Other")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    # The partner's systems call the card API with these keys; they act as this partner.
    api_keys = models.ManyToManyField("core.ApiKey", blank=True, related_name="card_partners")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["kind", "code"]
        verbose_name = _("card partner")
        verbose_name_plural = _("card partners")

    def __str__(self) -> str:
        return self.name


class CardFunction(models.Model):
    """One of the card's functions (S01 lists 31): which card kinds may hold it, who provides it
    and whether a card must be enrolled (a library account linked, a student ID issued) to use it."""

    class Category(models.TextChoices):
        TRANSIT = "transit", _("Transport")
        PAYMENT = "payment", _("Payment")
        IDENTITY = "identity", _("Identity and membership")
        ACCESS = "access", _("Access and sign-in")
        WELFARE = "welfare", _("Welfare")
        LEISURE = "leisure", _("Culture, sport and leisure")
        REWARDS = "rewards", _("Offers and rewards")
        SERVICE = "service", _("City services")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=60)
    name_en = models.CharField(_("name (English)"), max_length=100)
    category = models.CharField(_("category"), max_length=12, choices=Category.choices)
    description = models.TextField(_("description"), blank=True)
    card_kinds = models.JSONField(_("card kinds that may hold it"), default=list)
    provider_agency = models.ForeignKey(
        "core.Agency", verbose_name=_("providing agency"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="card_functions",
    )  # fmt: skip
    provider_partner = models.ForeignKey(
        CardPartner, verbose_name=_("providing partner"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="functions",
    )  # fmt: skip
    requires_enrolment = models.BooleanField(
        _("needs enrolment"), default=False,
        help_text=_("The card must be enrolled (an account linked, a membership issued) before use."),
    )  # fmt: skip
    # Student ID, employee ID, door access…: each school, employer or community enrols its own
    # people, and sees only its own enrolments.
    issued_per_organisation = models.BooleanField(_("issued by each organisation"), default=False)
    reference_label = models.CharField(
        _("reference label"), max_length=60, blank=True, help_text=_("e.g. library account number")
    )
    available_from = models.DateField(_("available from"), null=True, blank=True)
    sort_order = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("card function")
        verbose_name_plural = _("card functions")

    def __str__(self) -> str:
        return self.name_zh

    @property
    def scope(self) -> str:
        """The partner API key scope that lets a key check this function on cards."""
        return f"card.function:{self.code}"

    def provider_name(self) -> str:
        if self.provider_partner_id:
            return self.provider_partner.name
        return self.provider_agency.name_zh if self.provider_agency_id else ""


class FunctionEnrolment(models.Model):
    """A card enrolled in a function: a linked library account, a school's student ID, an
    employer's staff ID, a community's door-access group. Membership certificates carry their
    issuing organisation and validity dates."""

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        REVOKED = "revoked", _("Revoked")

    card = models.ForeignKey("card.Card", on_delete=models.CASCADE, related_name="enrolments")
    function = models.ForeignKey(CardFunction, on_delete=models.PROTECT, related_name="enrolments")
    issuer_agency = models.ForeignKey(
        "core.Agency", verbose_name=_("issuing agency"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="card_enrolments",
    )  # fmt: skip
    issuer_partner = models.ForeignKey(
        CardPartner, verbose_name=_("issuing partner"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="enrolments",
    )  # fmt: skip
    # "agency:<code>", "partner:<code>" or "" (the function's provider): one active enrolment each.
    issuer_key = models.CharField(max_length=60, editable=False)
    reference = models.CharField(_("reference"), max_length=60, blank=True)
    group = models.CharField(_("group"), max_length=60, blank=True, help_text=_("e.g. a door-access group"))
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.ACTIVE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("function enrolment")
        verbose_name_plural = _("function enrolments")
        indexes = [models.Index(fields=["function", "issuer_agency", "state"], name="card_enrol_fn_agency")]
        constraints = [
            models.UniqueConstraint(
                fields=["card", "function", "issuer_key"],
                condition=models.Q(state="active"),
                name="card_enrolment_one_active_per_issuer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.card_id} · {self.function.code}"

    def issuer_name(self) -> str:
        if self.issuer_partner_id:
            return self.issuer_partner.name
        if self.issuer_agency_id:
            return self.issuer_agency.name_zh
        return self.function.provider_name()

    def is_valid_on(self, day) -> bool:
        return (
            self.state == self.State.ACTIVE
            and self.valid_from <= day
            and (self.valid_until is None or self.valid_until >= day)
        )
