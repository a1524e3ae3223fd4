from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Benefit(models.Model):
    """A benefit or subsidy of the catalog (福利補助項目); who qualifies is in its rule versions."""

    class Category(models.TextChoices):
        SENIOR = "senior", _("Seniors")
        CHILDBIRTH = "childbirth", _("Childbirth")
        CHILDCARE = "childcare", _("Childcare")
        DISABILITY = "disability", _("Disability")
        LOW_INCOME = "low_income", _("Low income")
        HOUSING = "housing", _("Housing")
        EDUCATION = "education", _("Education")
        EMPLOYMENT = "employment", _("Employment")
        INDIGENOUS = "indigenous", _("Indigenous peoples")
        VETERANS = "veterans", _("Veterans")
        HEALTH = "health", _("Health")
        FAMILY = "family", _("Families")

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    agency = models.ForeignKey("core.Agency", verbose_name=_("agency"), on_delete=models.PROTECT,
                               related_name="benefits")  # fmt: skip
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    summary = models.TextField(_("what it is"), blank=True)
    amount = models.PositiveIntegerField(_("amount (NT$)"), null=True, blank=True)
    amount_text = models.CharField(_("what is given"), max_length=200, blank=True)
    how_to_apply = models.TextField(_("how to apply"), blank=True)
    eservices_item_code = models.CharField(_("online application item code"), max_length=40, blank=True)
    legal_basis = models.CharField(_("legal basis"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("benefit")
        verbose_name_plural = _("benefits")
        indexes = [models.Index(fields=["agency", "category"])]

    def __str__(self) -> str:
        return self.name


class BenefitRule(models.Model):
    """One version of a benefit's eligibility rule (docs/welfare.md: the rule format); the version
    in effect on a day is the one with the latest ``effective_from`` not after it. Versions are
    never edited: a change is a new version."""

    benefit = models.ForeignKey(Benefit, on_delete=models.CASCADE, related_name="rules")
    effective_from = models.DateField(_("in effect from"))
    condition = models.JSONField(_("eligibility condition"))
    note = models.CharField(_("what changed"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["benefit", "-effective_from"]
        verbose_name = _("eligibility rule version")
        verbose_name_plural = _("eligibility rule versions")
        constraints = [
            models.UniqueConstraint(
                fields=["benefit", "effective_from"], name="welfare_rule_one_version_a_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.benefit.code} @ {self.effective_from}"


class Consent(models.Model):
    """A citizen's consent: to use their registry data in the interview, and to be told of benefits
    they newly qualify for (proactive matching). Withdrawing sets both off; the audit trail keeps
    the history."""

    person = models.OneToOneField("core.Person", on_delete=models.CASCADE, related_name="welfare_consent")
    use_registry = models.BooleanField(_("use my registry data"), default=False)
    proactive = models.BooleanField(_("tell me of benefits I qualify for"), default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("welfare consent")
        verbose_name_plural = _("welfare consents")

    def __str__(self) -> str:
        return f"consent of person {self.person_id}"


class Interview(models.Model):
    """An adaptive interview: the registry facts used (with consent) and the citizen's answers in
    the order given, so the citizen can go back."""

    token = models.CharField(max_length=43, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")  # fmt: skip
    registry_facts = models.JSONField(default=dict, blank=True)
    answers = models.JSONField(default=dict, blank=True)
    answer_order = models.JSONField(default=list, blank=True)
    evaluated_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("interview")
        verbose_name_plural = _("interviews")

    def __str__(self) -> str:
        return f"interview {self.pk}"

    def facts(self) -> dict:
        return {**self.registry_facts, **self.answers}


class BenefitNotice(models.Model):
    """A proactive notice sent to a person about a benefit: one per (person, benefit), ever."""

    person = models.ForeignKey("core.Person", on_delete=models.CASCADE, related_name="+")
    benefit = models.ForeignKey(Benefit, on_delete=models.CASCADE, related_name="notices")
    notified_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("benefit notice")
        verbose_name_plural = _("benefit notices")
        constraints = [models.UniqueConstraint(fields=["person", "benefit"], name="welfare_notice_once")]

    def __str__(self) -> str:
        return f"notice of {self.benefit_id} to {self.person_id}"
