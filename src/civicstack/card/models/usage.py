from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Reader(models.Model):
    """A card reader (bus validator, metro gate, bike dock, library desk, pool turnstile, taxi meter,
    parking meter, door, meeting sign-in, merchant terminal). It belongs to an operator and uploads
    its taps in batches with its operator's API key; it may work offline for days."""

    class Kind(models.TextChoices):
        BUS = "bus", _("Bus validator")
        METRO_GATE = "metro_gate", _("Metro gate")
        BIKE_DOCK = "bike_dock", _("Bike dock")
        LIBRARY = "library", _("Library desk")
        SPORTS_CENTRE = "sports_centre", _("Sports centre")
        SWIMMING_POOL = "swimming_pool", _("Swimming pool")
        TAXI_METER = "taxi_meter", _("Taxi meter")
        PARKING = "parking", _("Parking meter")
        DOOR = "door", _("Door")
        MEETING_SIGNIN = "meeting_signin", _("Meeting sign-in")
        MERCHANT_TERMINAL = "merchant_terminal", _("Merchant terminal")

    code = models.SlugField(_("reader code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    operator_partner = models.ForeignKey(
        "card.CardPartner", verbose_name=_("operator (partner)"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="readers",
    )  # fmt: skip
    operator_agency = models.ForeignKey(
        "core.Agency", verbose_name=_("operator (agency)"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="card_readers",
    )  # fmt: skip
    api_key = models.ForeignKey(
        "core.ApiKey", verbose_name=_("upload key"), on_delete=models.PROTECT, related_name="card_readers"
    )
    functions = models.JSONField(_("functions it serves"), default=list)
    district = models.ForeignKey("core.District", null=True, blank=True, on_delete=models.PROTECT)
    location = models.CharField(_("location or route"), max_length=120, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("card reader")
        verbose_name_plural = _("card readers")

    def __str__(self) -> str:
        return self.code

    @property
    def operator_code(self) -> str:
        if self.operator_partner_id:
            return f"partner:{self.operator_partner.code}"
        return f"agency:{self.operator_agency.code}" if self.operator_agency_id else "city"


class BenefitRule(models.Model):
    """A benefit as data (see card/rules.py for the kinds and their parameters): adding one, or
    changing a fare discount from a date, needs no code change."""

    class Kind(models.TextChoices):
        NTH_USE_FREE = "nth_use_free", _("Every nth use in a day free")
        PERCENT_OFF = "percent_off", _("Percentage off")
        AMOUNT_OFF = "amount_off", _("Amount off")
        PAY_WITH_POINTS = "pay_with_points", _("Pay with welfare points")
        MONTHLY_POINTS = "monthly_points", _("Monthly welfare points")
        EARN_POINTS = "earn_points", _("Bonus points for uses")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    function = models.ForeignKey(
        "card.CardFunction", verbose_name=_("function"), on_delete=models.PROTECT, related_name="rules"
    )
    card_kinds = models.JSONField(_("card kinds (empty: all)"), default=list, blank=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    effective_from = models.DateField(_("in force from"))
    effective_until = models.DateField(_("in force until"), null=True, blank=True)
    priority = models.PositiveIntegerField(_("priority"), default=100)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["function", "priority", "code"]
        verbose_name = _("benefit rule")
        verbose_name_plural = _("benefit rules")

    def __str__(self) -> str:
        return self.name


class Tap(models.Model):
    """One card use as a reader recorded it, with what it cost, from which purse, and which rules
    decided that, or why it was refused. ``(reader, tap_id)`` is unique, so a batch uploaded twice
    changes nothing the second time."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")

    # No index of their own: the unique (reader, tap_id) and (card, tapped_at) indexes lead with
    # them, and every index is written once per tap (hundreds of thousands a day).
    reader = models.ForeignKey(Reader, on_delete=models.PROTECT, related_name="taps", db_index=False)
    tap_id = models.CharField(_("reader's tap id"), max_length=64)
    card = models.ForeignKey(
        "card.Card", null=True, blank=True, on_delete=models.PROTECT, related_name="taps", db_index=False
    )
    card_number = models.CharField(_("card number as read"), max_length=20)
    function = models.CharField(_("function"), max_length=40)
    tapped_at = models.DateTimeField(_("tapped at"))
    fare = models.PositiveIntegerField(_("fare or amount (NT$)"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices)
    reason = models.CharField(_("reason"), max_length=30, blank=True)
    from_value = models.PositiveIntegerField(_("paid from stored value (NT$)"), default=0)
    from_points = models.PositiveIntegerField(_("paid with welfare points"), default=0)
    autoloaded = models.PositiveIntegerField(_("automatic top-up before this use (NT$)"), default=0)
    rules = models.JSONField(_("rules applied"), default=list, blank=True)
    # A use of a card after it was reported lost: refused, and shown to staff as a possible misuse.
    flagged = models.BooleanField(_("flagged"), default=False)
    batch = models.CharField(_("batch"), max_length=32)
    received_at = models.DateTimeField(_("received at"))

    class Meta:
        ordering = ["-tapped_at", "-id"]
        verbose_name = _("card use")
        verbose_name_plural = _("card uses")
        constraints = [
            models.UniqueConstraint(fields=["reader", "tap_id"], name="card_tap_unique_per_reader")
        ]
        indexes = [
            models.Index(fields=["card", "tapped_at"], name="card_tap_card_time"),
            models.Index(fields=["flagged"], name="card_tap_flagged", condition=models.Q(flagged=True)),
        ]

    def __str__(self) -> str:
        return f"{self.reader_id}:{self.tap_id}"
