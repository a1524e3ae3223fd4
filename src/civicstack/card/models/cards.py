from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .kinds import PRIMARY_KINDS, CardKind, Channel


class CardApplication(models.Model):
    """An application for a card: filed online by the citizen, entered by a clerk at a counter or
    an experience event, or passed on by a telecom or bank. Staff review it; approval issues the card.

    A replacement (lost or damaged card) or a type change (a general card holder turns 65) is an
    application too, pointing at the card it replaces; a replacement fee is paid first."""

    class Reason(models.TextChoices):
        NEW = "new", _("New card")
        REPLACEMENT = "replacement", _("Replacement")
        TYPE_CHANGE = "type_change", _("Change of card type")

    class State(models.TextChoices):
        AWAITING_PAYMENT = "awaiting_payment", _("Awaiting fee payment")
        SUBMITTED = "submitted", _("Submitted")
        APPROVED = "approved", _("Approved, card issued")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    OPEN_STATES = (State.AWAITING_PAYMENT, State.SUBMITTED)

    number = models.CharField(_("application number"), max_length=16, unique=True)
    person = models.ForeignKey(
        "core.Person", verbose_name=_("applicant"), on_delete=models.PROTECT, related_name="card_applications"
    )
    kind = models.CharField(_("card kind"), max_length=12, choices=CardKind.choices)
    reason = models.CharField(_("reason"), max_length=12, choices=Reason.choices, default=Reason.NEW)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.SUBMITTED)
    photo = models.FileField(_("photo"), upload_to="card/photos/%Y/%m/", blank=True)
    companion_for = models.ForeignKey(
        "core.Person", verbose_name=_("companion of"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="companion_card_applications",
    )  # fmt: skip
    partner = models.ForeignKey(
        "card.CardPartner", verbose_name=_("telecom or bank"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="applications",
    )  # fmt: skip
    mobile_number = models.CharField(_("mobile number"), max_length=10, blank=True)
    replaces = models.ForeignKey(
        "card.Card", verbose_name=_("replaces card"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="replacement_applications",
    )  # fmt: skip
    event = models.ForeignKey(
        "card.ExperienceEvent", verbose_name=_("experience event"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="applications",
    )  # fmt: skip
    receiving_agency = models.ForeignKey(
        "core.Agency", verbose_name=_("received at"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="card_applications",
    )  # fmt: skip
    fee_order = models.OneToOneField(
        "payments.PaymentOrder", verbose_name=_("fee payment order"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="card_application",
    )  # fmt: skip
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    decision_note = models.TextField(_("reason for the decision"), blank=True)
    created_at = models.DateTimeField(_("submitted at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("card application")
        verbose_name_plural = _("card applications")
        indexes = [models.Index(fields=["state", "created_at"], name="card_app_state_created")]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "kind"], condition=Q(state__in=["awaiting_payment", "submitted"]),
                name="card_application_one_open_per_kind",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES


class Card(models.Model):
    """An issued card. Its history is the core audit trail of ``card.card.*`` events."""

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        LOST = "lost", _("Reported lost")
        DAMAGED = "damaged", _("Reported damaged")
        REPLACED = "replaced", _("Replaced")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")

    class CancelReason(models.TextChoices):
        DEATH = "death", _("Holder died")
        MOVED_OUT = "moved_out", _("Holder moved out of the city")
        HOLDER_REQUEST = "holder_request", _("Holder's request")
        NO_LONGER_ELIGIBLE = "no_longer_eligible", _("No longer eligible")
        PARTNER = "partner", _("Closed by the telecom or bank")

    number = models.CharField(_("card number"), max_length=16, unique=True)
    kind = models.CharField(_("card kind"), max_length=12, choices=CardKind.choices)
    person = models.ForeignKey(
        "core.Person", verbose_name=_("holder"), on_delete=models.PROTECT, related_name="cards"
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.ACTIVE)
    # The holder's district when issued: statistics by district stay stable when people move.
    district = models.ForeignKey(
        "core.District", verbose_name=_("district"), on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    companion_for = models.ForeignKey(
        "core.Person", verbose_name=_("companion of"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="companion_cards",
    )  # fmt: skip
    partner = models.ForeignKey(
        "card.CardPartner", verbose_name=_("telecom or bank"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="cards",
    )  # fmt: skip
    replaces = models.OneToOneField(
        "self", verbose_name=_("replaces card"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="replaced_by",
    )  # fmt: skip
    application = models.OneToOneField(
        CardApplication, null=True, blank=True, on_delete=models.PROTECT, related_name="card"
    )
    event = models.ForeignKey(
        "card.ExperienceEvent", null=True, blank=True, on_delete=models.PROTECT, related_name="cards"
    )
    einvoice_carrier = models.CharField(_("e-invoice mobile barcode"), max_length=8, blank=True)
    # Co-branded credit cards top themselves up from the credit line (自動加值) when a use would
    # exceed the stored value: by this amount, as often as needed up to the purse's ceiling.
    autoload_amount = models.PositiveIntegerField(_("automatic top-up (NT$, 0: off)"), default=0)
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    expires_on = models.DateField(_("valid until"))
    # When the card stopped being usable (lost, damaged, replaced, cancelled): readers refuse any
    # use after this moment, even one uploaded later from an offline reader.
    blocked_at = models.DateTimeField(_("blocked at"), null=True, blank=True)
    cancel_reason = models.CharField(
        _("cancellation reason"), max_length=20, choices=CancelReason.choices, blank=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        verbose_name = _("citizen card")
        verbose_name_plural = _("citizen cards")
        indexes = [
            models.Index(fields=["person", "state"], name="card_person_state"),
            models.Index(fields=["kind", "district"], name="card_kind_district"),
            models.Index(fields=["issued_at"], name="card_issued_at"),
        ]
        constraints = [
            # One valid card of a kind, one physical citizen card, one companion card per holder.
            models.UniqueConstraint(
                fields=["person", "kind"], condition=Q(state="active"), name="card_one_active_per_kind"
            ),
            models.UniqueConstraint(
                fields=["person"], condition=Q(state="active", kind__in=[k.value for k in PRIMARY_KINDS]),
                name="card_one_active_primary",
            ),
            models.UniqueConstraint(
                fields=["companion_for"], condition=Q(state="active", kind="companion"),
                name="card_one_active_companion_per_holder",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.number

    @property
    def formatted_number(self) -> str:
        return " ".join(self.number[i : i + 4] for i in range(0, len(self.number), 4))

    def is_usable_at(self, moment, tz=None) -> bool:
        """Was the card good for a use at ``moment``? From its issue until it was blocked (lost,
        replaced, cancelled, expired: ``blocked_at`` is set on each), and not past its date. A use an
        offline reader recorded before the card was reported lost is good; one after it never is.
        A card reported damaged still works until its replacement is issued."""
        return card_usable_at(self, moment, tz)


def card_usable_at(card, moment, tz=None) -> bool:
    """``Card.is_usable_at`` for anything with the card's ``issued_at``, ``expires_on``,
    ``blocked_at`` and ``state`` (the tap batch path reads cards as plain rows)."""
    local = moment.astimezone(tz) if tz is not None else timezone.localtime(moment)
    if moment < card.issued_at or local.date() > card.expires_on:
        return False
    if card.blocked_at is not None:
        return moment < card.blocked_at
    return card.state in (Card.State.ACTIVE, Card.State.DAMAGED)
