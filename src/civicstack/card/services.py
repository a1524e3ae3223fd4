"""Writes of the card module: the function registry, applications and their review, issuing,
the card lifecycle (lost, damaged, replaced, type change, expired, cancelled), function
enrolments, the e-invoice carrier and experience events. Each runs in one transaction with its
audit event; other modules call these only."""

import datetime
import json
import re
import secrets
from pathlib import Path

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicstack.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from civicstack.core.models import Agency, ApiKey, Person, User
from civicstack.core.selectors import person_of_user, staff_scope
from civicstack.core.services import audit_record, notification_send
from civicstack.payments import services as payments
from civicstack.payments.models import PaymentOrder

from . import card_number, eligibility, photos, points, rules, selectors
from .errors import ApplicationStateConflict, CardStateConflict, InvalidPhoto, NotEligible
from .hospital import hospital_appointment_book, hospital_appointment_cancel  # noqa: F401 - service API
from .merchants import (  # noqa: F401 - the merchant services are part of this module's service API
    card_qr_token,
    charge_card_qr,
    merchant_refund,
    merchant_register,
    offer_save,
    pay_by_merchant_qr,
    settlement_report,
)
from .models import (
    BenefitRule,
    Card,
    CardApplication,
    CardFunction,
    CardPartner,
    EventSignUp,
    EventVisitTally,
    ExperienceEvent,
    FunctionEnrolment,
    Reader,
)  # fmt: skip
from .models.kinds import CardKind, Channel
from .nearby import nearby_load  # noqa: F401 - part of this module's service API
from .points import (  # noqa: F401 - the bonus points services are part of this module's service API
    points_earn,
    points_earn_for_day,
    points_expire,
    points_receipt,
    points_redeem,
    points_seal_days,
    points_verify_receipt,
    points_verify_seals,
)
from .purses import MAX_STORED_VALUE, card_purse, purse_code

REGISTRY_FILE = Path(__file__).with_name("registry.json")
SOURCE_TYPE = "card.application"
AUTOLOAD_AMOUNT = 500  # a new co-branded card tops itself up by NT$500 when a use needs it
REPLACEMENT_FEE = 100  # NT$ for a card reported lost; a damaged card is replaced free of charge
FEE_PAYMENT_DAYS = 14
EINVOICE_BARCODE = re.compile(r"^/[0-9A-Z.+\-]{7}$")  # the Ministry of Finance's mobile barcode
PRINTED_KINDS = (CardKind.GENERAL, CardKind.STUDENT, CardKind.SENIOR, CardKind.DISABILITY, CardKind.COMPANION)

ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    Card.State.ACTIVE: {Card.State.LOST, Card.State.DAMAGED, Card.State.REPLACED, Card.State.EXPIRED,
                        Card.State.CANCELLED},
    # A card reported damaged still works until its replacement is issued; a lost one never again.
    Card.State.DAMAGED: {Card.State.LOST, Card.State.REPLACED, Card.State.CANCELLED},
    Card.State.LOST: {Card.State.REPLACED, Card.State.CANCELLED},
    Card.State.EXPIRED: {Card.State.REPLACED, Card.State.CANCELLED},
    Card.State.REPLACED: set(),
    Card.State.CANCELLED: set(),
}  # fmt: skip


# --- the function registry --------------------------------------------------------------------


@transaction.atomic
def registry_sync(path: Path = REGISTRY_FILE) -> int:
    """Load the partners and the 31 functions from the shipped registry, linking providing agencies
    by code. Idempotent: run after migrations and whenever the city profile is (re)loaded."""
    data = json.loads(path.read_text(encoding="utf-8"))
    partners = {}
    for row in data["partners"]:
        partners[row["code"]], _created = CardPartner.objects.update_or_create(
            code=row["code"], defaults={"name": row["name"], "kind": row["kind"]}
        )
    agencies = dict(Agency.objects.values_list("code", "pk"))
    for row in data["functions"]:
        provider = row.get("provider") or ""
        kind, _sep, code = provider.partition(":")
        unknown_kinds = set(row["card_kinds"]) - set(CardKind.values)
        if unknown_kinds:
            raise InvalidInput(f"function {row['code']}: unknown card kinds {sorted(unknown_kinds)}")
        CardFunction.objects.update_or_create(
            code=row["code"],
            defaults={
                "name_zh": row["name_zh"], "name_en": row["name_en"], "category": row["category"],
                "description": row.get("description", ""), "card_kinds": row["card_kinds"],
                "provider_agency_id": agencies.get(code) if kind == "agency" else None,
                "provider_partner": partners.get(code) if kind == "partner" else None,
                "requires_enrolment": row.get("requires_enrolment", False),
                "issued_per_organisation": row.get("issued_per_organisation", False),
                "reference_label": row.get("reference_label", ""),
                "available_from": row.get("available_from"), "sort_order": row.get("sort_order", 0),
            },
        )  # fmt: skip
    return len(data["functions"])


def function_scopes() -> dict[str, str]:
    """API key scopes, one a function: ``card.function:library`` lets a library check library cards;
    ``card.taps:upload`` lets an operator's readers upload their taps."""
    data = json.loads(REGISTRY_FILE.read_text(encoding="utf-8"))
    scopes = {
        f"card.function:{row['code']}": f"Check cards for the function {row['name_en']}"
        for row in data["functions"]
    }
    scopes["card.taps:upload"] = "Upload card taps from the operator's readers"
    return scopes


@transaction.atomic
def partner_create(*, actor: User | None, code: str, name: str, kind: str) -> CardPartner:
    if kind not in CardPartner.Kind.values:
        raise InvalidInput(f"unknown partner kind {kind!r}")
    if actor is not None and not selectors.is_card_desk(actor):
        raise PermissionDenied("card desk staff only")
    partner, _created = CardPartner.objects.update_or_create(code=code, defaults={"name": name, "kind": kind})
    audit_record(actor=actor, action="card.partner.saved", obj=partner, data={"kind": kind})
    return partner


# --- ledger purses ----------------------------------------------------------------------------


def _carry_over_purses(old: Card, new: Card, actor) -> dict:
    """Move what the old card holds to the new one; keyed by the old card, so it happens once."""
    from civicstack.payments.models import Account

    moved = {}
    carried_points = points.points_carry_over(
        old=old, new=new, actor=actor
    )  # logged in the sealed points log
    if carried_points:
        moved["POINT"] = carried_points
    for unit in ("TWD", "WELFARE"):
        account = Account.objects.filter(code=purse_code(old.number, unit)).first()
        if account is None or account.available <= 0:
            continue
        target = card_purse(new, unit)
        result = payments.transfer_create(
            request=payments.TransferRequest(
                idempotency_key=f"card:{old.number}:carry:{unit}", debit_account=account.code,
                credit_account=target.code, amount=account.available, reference=new.number,
                memo=f"replacement of {old.number}",
            ),
            actor=actor,
        )  # fmt: skip
        if result.status == "failed":
            raise CardStateConflict(f"could not carry over the {unit} balance: {result.error}")
        moved[unit] = account.available
    return moved


# --- applications -----------------------------------------------------------------------------


def _application_number() -> str:
    return f"CA{timezone.localdate():%y%m%d}{secrets.randbelow(10**8):08d}"


def _require_desk(actor: User | None) -> None:
    if actor is not None and not selectors.is_card_desk(actor):
        raise PermissionDenied("card desk staff only")


def _require_self_or_desk(actor: User | None, person: Person) -> bool:
    """True when the actor is card desk staff (or the system); citizens act only for themselves."""
    if actor is None or selectors.is_card_desk(actor):
        return True
    own = person_of_user(actor)
    if own is None or own.pk != person.pk:
        raise NotFound("no such person")
    return False


def _notify(person: Person, subject: str, body: str, url: str = "/card/") -> None:
    if person.user_id:
        notification_send(recipient=person.user, subject=subject, body=body, url=url)


@transaction.atomic
def application_submit(
    *, actor: User | None, person: Person, kind: str, channel: str = Channel.ONLINE, photo: bytes | None = None,
    companion_for: Person | None = None, partner: CardPartner | None = None, mobile_number: str = "",
    event: ExperienceEvent | None = None, receiving_agency: Agency | None = None,
) -> CardApplication:  # fmt: skip
    """A new card. Eligibility is checked now and again at approval: the registry may change between."""
    is_desk = _require_self_or_desk(actor, person)
    if channel not in Channel.values:
        raise InvalidInput(f"unknown channel {channel!r}", details={"field": "channel"})
    if not is_desk and channel != Channel.ONLINE:
        raise PermissionDenied("citizens apply online; counters and events are staff channels")
    if channel == Channel.EVENT and event is None:
        raise InvalidInput("name the experience event", details={"field": "event"})
    result = eligibility.check(
        person, kind, day=timezone.localdate(), companion_for=companion_for, partner=partner,
        mobile_number=mobile_number, detailed=is_desk,
    )  # fmt: skip
    # Check the photo too before answering, so the applicant learns everything in one round.
    stored_photo, photo_error = None, None
    if kind in PRINTED_KINDS:
        try:
            stored_photo = photos.validated_photo(photo or b"")
        except InvalidPhoto as exc:
            photo_error = exc
    if not result.eligible:
        details = {"field": "kind", **result.as_dict()}
        if photo_error is not None:
            details["photo"] = photo_error.message
        raise NotEligible(" ".join(f.message for f in result.refusals), details=details)
    if photo_error is not None:
        raise photo_error
    application = CardApplication(
        number=_application_number(), person=person, kind=kind, channel=channel, companion_for=companion_for,
        partner=partner, mobile_number=mobile_number if kind == CardKind.MOBILE else "", event=event,
        receiving_agency=receiving_agency, submitted_by=actor if actor and actor.pk else None,
    )  # fmt: skip
    if stored_photo is not None:
        application.photo.save(stored_photo.name, stored_photo, save=False)
    try:
        with transaction.atomic():
            application.save(force_insert=True)
    except IntegrityError as exc:
        raise ApplicationStateConflict(
            _("You already have an open application for this card type."), details={"field": "kind"}
        ) from exc
    audit_record(
        actor=actor, action="card.application.submitted", obj=application, agency=receiving_agency,
        data={"kind": kind, "channel": channel, "number": application.number},
    )  # fmt: skip
    _notify(
        person, _("Card application received"),
        _("We received your application %(number)s for a %(kind)s.")
        % {"number": application.number, "kind": application.get_kind_display()},
    )  # fmt: skip
    return application


def _lock_application(application: CardApplication) -> CardApplication:
    return (
        CardApplication.objects.select_for_update(of=("self",))
        .select_related("person", "replaces")
        .get(pk=application.pk)
    )


def _lock_card(card: Card) -> Card:
    return Card.objects.select_for_update(of=("self",)).select_related("person").get(pk=card.pk)


def _transition(card: Card, state: str) -> str:
    if state not in ALLOWED_TRANSITIONS[card.state]:
        raise CardStateConflict(
            f"card {card.number} is {card.state}; it cannot become {state}",
            details={"state": card.state, "requested": state},
        )
    previous, card.state = card.state, state
    if state != Card.State.ACTIVE and state != Card.State.DAMAGED and card.blocked_at is None:
        card.blocked_at = timezone.now()
    return previous


def _new_card(application: CardApplication, actor) -> Card:
    person = application.person
    issued = timezone.now()
    for _attempt in range(5):
        number = card_number.generate(application.kind)
        if not Card.objects.filter(number=number).exists():
            break
    else:
        raise CardStateConflict("could not allocate a card number; try again")
    card = Card(
        number=number, kind=application.kind, person=person, district_id=person.district_id,
        channel=application.channel, companion_for=application.companion_for, partner=application.partner,
        application=application, event=application.event, issued_at=issued, replaces=application.replaces,
        expires_on=eligibility.valid_until(
            application.kind, person, timezone.localtime(issued).date(), application.companion_for
        ),
    )  # fmt: skip
    if card.kind == CardKind.COBRANDED:
        card.autoload_amount = AUTOLOAD_AMOUNT
    try:
        with transaction.atomic():
            card.save(force_insert=True)
    except IntegrityError as exc:
        raise CardStateConflict(_("The applicant already holds an active card of this type.")) from exc
    return card


@transaction.atomic
def application_approve(*, actor: User | None, application: CardApplication, note: str = "") -> Card:
    """Approve and issue: a replacement or type change retires the old card and carries over its
    balance, points, functions and e-invoice carrier in the same transaction."""
    _require_desk(actor)
    application = _lock_application(application)
    if application.state != CardApplication.State.SUBMITTED:
        raise ApplicationStateConflict(
            f"application {application.number} is {application.state}", details={"state": application.state}
        )
    old = _lock_card(application.replaces) if application.replaces_id else None
    result = eligibility.check(
        application.person, application.kind, day=timezone.localdate(), companion_for=application.companion_for,
        partner=application.partner, mobile_number=application.mobile_number, replacing=old,
    )  # fmt: skip
    if not result.eligible:
        raise NotEligible(" ".join(f.message for f in result.refusals), details=result.as_dict())
    carried: dict = {}
    if old is not None:
        previous = _transition(old, Card.State.REPLACED)
        old.save(update_fields=["state", "blocked_at", "updated_at"])
        audit_record(actor=actor, action="card.card.replaced", obj=old, data={"from": previous})
    card = _new_card(application, actor)
    if old is not None:
        carried["balances"] = _carry_over_purses(old, card, actor)
        carried["functions"], carried["dropped_functions"] = _carry_over_enrolments(old, card, actor)
        if old.einvoice_carrier:
            card.einvoice_carrier = old.einvoice_carrier
            card.save(update_fields=["einvoice_carrier", "updated_at"])
    application.state = CardApplication.State.APPROVED
    application.reviewed_by = actor if actor and actor.pk else None
    application.reviewed_at = timezone.now()
    application.decision_note = note
    application.save(update_fields=["state", "reviewed_by", "reviewed_at", "decision_note", "updated_at"])
    audit_record(
        actor=actor, action="card.card.issued", obj=card,
        data={"kind": card.kind, "application": application.number, "replaces": old.number if old else "",
              **carried},
    )  # fmt: skip
    _notify(
        application.person, _("Your card is issued"),
        _("Your %(kind)s %(number)s is issued and valid until %(until)s.")
        % {"kind": card.get_kind_display(), "number": card.formatted_number, "until": card.expires_on},
    )  # fmt: skip
    return card


def _carry_over_enrolments(old: Card, new: Card, actor) -> tuple[list[str], list[str]]:
    carried, dropped = [], []
    for enrolment in old.enrolments.filter(state=FunctionEnrolment.State.ACTIVE).select_related("function"):
        if new.kind in enrolment.function.card_kinds:
            FunctionEnrolment.objects.create(
                card=new, function=enrolment.function, issuer_agency=enrolment.issuer_agency,
                issuer_partner=enrolment.issuer_partner, issuer_key=enrolment.issuer_key,
                reference=enrolment.reference, group=enrolment.group, valid_from=enrolment.valid_from,
                valid_until=enrolment.valid_until, created_by=actor if actor and actor.pk else None,
            )  # fmt: skip
            carried.append(enrolment.function.code)
        else:  # e.g. a student ID does not move to the general card a graduate changes to
            dropped.append(enrolment.function.code)
        enrolment.state, enrolment.revoked_at = FunctionEnrolment.State.REVOKED, timezone.now()
        enrolment.save(update_fields=["state", "revoked_at"])
    return carried, dropped


@transaction.atomic
def application_reject(*, actor: User | None, application: CardApplication, reason: str) -> CardApplication:
    _require_desk(actor)
    if not (reason or "").strip():
        raise InvalidInput(_("Give the applicant the reason for the rejection."), details={"field": "reason"})
    application = _lock_application(application)
    if application.state not in CardApplication.OPEN_STATES:
        raise ApplicationStateConflict(f"application {application.number} is {application.state}")
    _withdraw_fee_order(application, actor, "application rejected")
    application.state = CardApplication.State.REJECTED
    application.reviewed_by = actor if actor and actor.pk else None
    application.reviewed_at, application.decision_note = timezone.now(), reason.strip()
    application.save(update_fields=["state", "reviewed_by", "reviewed_at", "decision_note", "updated_at"])
    audit_record(actor=actor, action="card.application.rejected", obj=application, reason=reason.strip())
    _notify(
        application.person, _("Card application not approved"),
        _("Application %(number)s was not approved: %(reason)s")
        % {"number": application.number, "reason": reason.strip()},
    )  # fmt: skip
    return application


@transaction.atomic
def application_withdraw(*, actor: User | None, application: CardApplication) -> CardApplication:
    _require_self_or_desk(actor, application.person)
    application = _lock_application(application)
    if application.state not in CardApplication.OPEN_STATES:
        raise ApplicationStateConflict(f"application {application.number} is {application.state}")
    _withdraw_fee_order(application, actor, "application withdrawn")
    application.state = CardApplication.State.WITHDRAWN
    application.save(update_fields=["state", "updated_at"])
    audit_record(actor=actor, action="card.application.withdrawn", obj=application)
    return application


def _withdraw_fee_order(application: CardApplication, actor, reason: str) -> None:
    order = application.fee_order
    if order is not None and order.state in (PaymentOrder.State.CREATED, PaymentOrder.State.PENDING,
                                             PaymentOrder.State.EXPIRED):  # fmt: skip
        payments.payment_order_cancel(actor=actor, order=order, reason=reason)


def handle_order_paid(order: PaymentOrder) -> None:
    """The replacement fee is paid (any channel): the application joins the review queue."""
    application = CardApplication.objects.select_for_update().filter(fee_order=order).first()
    if application is None or application.state != CardApplication.State.AWAITING_PAYMENT:
        return
    application.state = CardApplication.State.SUBMITTED
    application.save(update_fields=["state", "updated_at"])
    audit_record(
        actor=None, action="card.application.fee_paid", obj=application, data={"order": order.number}
    )


# --- lifecycle --------------------------------------------------------------------------------


@transaction.atomic
def card_report_lost(*, actor: User | None, card: Card, lost_at: datetime.datetime | None = None) -> Card:
    """Blocks the card at once. ``lost_at`` (when the holder noticed) may be earlier than now: uses
    uploaded later by offline readers after that moment are refused too."""
    _require_self_or_desk(actor, card.person)
    card = _lock_card(card)
    if card.state == Card.State.LOST:
        return card  # reporting twice changes nothing
    now = timezone.now()
    if lost_at is not None and timezone.is_naive(lost_at):
        lost_at = timezone.make_aware(lost_at)  # a time without an offset is the city's local time
    if lost_at is not None and lost_at > now:
        raise InvalidInput("the loss cannot be in the future", details={"field": "lost_at"})
    if lost_at is not None and lost_at < card.issued_at:
        lost_at = card.issued_at  # lost before it was issued means: never trust any use of it
    previous = _transition(card, Card.State.LOST)
    card.blocked_at = min(lost_at or now, card.blocked_at or now)
    card.save(update_fields=["state", "blocked_at", "updated_at"])
    audit_record(
        actor=actor, action="card.card.reported_lost", obj=card,
        data={"from": previous, "blocked_at": card.blocked_at.isoformat()},
    )  # fmt: skip
    _notify(
        card.person, _("Card blocked"),
        _("Card %(number)s is reported lost and blocked. Apply for a replacement to keep its balance and functions.")
        % {"number": card.formatted_number},
    )  # fmt: skip
    return card


@transaction.atomic
def card_report_damaged(*, actor: User | None, card: Card) -> Card:
    _require_self_or_desk(actor, card.person)
    card = _lock_card(card)
    if card.state == Card.State.DAMAGED:
        return card
    previous = _transition(card, Card.State.DAMAGED)
    card.save(update_fields=["state", "updated_at"])
    audit_record(actor=actor, action="card.card.reported_damaged", obj=card, data={"from": previous})
    return card


@transaction.atomic
def replacement_request(
    *, actor: User | None, card: Card, channel: str = Channel.ONLINE, photo: bytes | None = None,
    receiving_agency: Agency | None = None,
) -> CardApplication:  # fmt: skip
    """A new card of the same kind for a lost, damaged, expired or worn (still active) one. A lost
    card's replacement costs REPLACEMENT_FEE, paid through a payment order before review; the others
    are free (a worn card is the city's to replace; a damaged one keeps working until then)."""
    is_desk = _require_self_or_desk(actor, card.person)
    if not is_desk and channel != Channel.ONLINE:
        raise PermissionDenied("citizens apply online")
    card = _lock_card(card)
    if card.state not in (Card.State.LOST, Card.State.DAMAGED, Card.State.EXPIRED, Card.State.ACTIVE):
        raise CardStateConflict(_("This card can no longer be replaced."), details={"state": card.state})
    if card.kind in (CardKind.MOBILE, CardKind.COBRANDED):
        raise CardStateConflict(_("Mobile and co-branded cards are replaced by the telecom or bank."))
    return _replacing_application(
        actor=actor, card=card, kind=card.kind, reason=CardApplication.Reason.REPLACEMENT, channel=channel,
        photo=photo, receiving_agency=receiving_agency, fee=REPLACEMENT_FEE if card.state == Card.State.LOST else 0,
    )  # fmt: skip


@transaction.atomic
def type_change_request(
    *, actor: User | None, card: Card, kind: str, channel: str = Channel.ONLINE, photo: bytes | None = None,
    receiving_agency: Agency | None = None,
) -> CardApplication:  # fmt: skip
    """E.g. a general card holder who turns 65 asks for a senior card; no fee."""
    is_desk = _require_self_or_desk(actor, card.person)
    if not is_desk and channel != Channel.ONLINE:
        raise PermissionDenied("citizens apply online")
    card = _lock_card(card)
    if card.state != Card.State.ACTIVE or kind == card.kind:
        raise CardStateConflict(
            _("Only an active card can change to another type."), details={"state": card.state}
        )
    if kind not in eligibility.PRIMARY_KINDS or card.kind not in eligibility.PRIMARY_KINDS:
        raise InvalidInput(_("Only general, student, senior and disability cards change type."))
    return _replacing_application(
        actor=actor, card=card, kind=kind, reason=CardApplication.Reason.TYPE_CHANGE, channel=channel,
        photo=photo, receiving_agency=receiving_agency, fee=0,
    )  # fmt: skip


def _replacing_application(
    *, actor, card: Card, kind: str, reason: str, channel: str, photo: bytes | None,
    receiving_agency: Agency | None, fee: int,
) -> CardApplication:  # fmt: skip
    result = eligibility.check(
        card.person, kind, day=timezone.localdate(), companion_for=card.companion_for, partner=card.partner,
        replacing=card,
    )  # fmt: skip
    if not result.eligible:
        raise NotEligible(" ".join(f.message for f in result.refusals), details=result.as_dict())
    application = CardApplication(
        number=_application_number(), person=card.person, kind=kind, reason=reason, channel=channel,
        companion_for=card.companion_for, partner=card.partner, replaces=card, receiving_agency=receiving_agency,
        submitted_by=actor if actor and actor.pk else None,
        state=CardApplication.State.AWAITING_PAYMENT if fee else CardApplication.State.SUBMITTED,
    )  # fmt: skip
    if photo:
        stored = photos.validated_photo(photo)
        application.photo.save(stored.name, stored, save=False)
    elif card.application_id and card.application.photo:
        application.photo = card.application.photo.name  # the photo on file is printed again
    try:
        with transaction.atomic():
            application.save(force_insert=True)
    except IntegrityError as exc:
        raise ApplicationStateConflict(_("There is already an open application for this card type.")) from exc
    if fee:
        agency = selectors.issuing_agency()
        if agency is None:
            raise InvalidInput("the card issuing agency is not in the city profile")
        order = payments.payment_order_create(
            actor=actor, payee_agency=agency,
            items=[payments.OrderItemInput(description=f"市民卡補發工本費 {card.number}", amount=fee)],
            due_date=timezone.localdate() + datetime.timedelta(days=FEE_PAYMENT_DAYS), payer_name=card.person.name,
            payer_person=card.person, source_type=SOURCE_TYPE, source_id=str(application.pk),
            reference=application.number,
        )  # fmt: skip
        payments.payment_order_issue(actor=actor, order=order)
        application.fee_order = order
        application.save(update_fields=["fee_order"])
    audit_record(
        actor=actor, action="card.application.submitted", obj=application, agency=receiving_agency,
        data={"kind": kind, "reason": reason, "replaces": card.number, "fee": fee},
    )  # fmt: skip
    return application


@transaction.atomic
def card_cancel(*, actor: User | None, card: Card, reason: str, note: str = "") -> Card:
    """Close a card for good (the holder died, moved away, asked, is no longer eligible). What is
    left of its stored value moves to the refunds payable account, owed to the holder (or the
    estate) and paid out at a counter; welfare and bonus points end with the card."""
    if reason not in Card.CancelReason.values:
        raise InvalidInput(f"unknown cancellation reason {reason!r}", details={"field": "reason"})
    if reason == Card.CancelReason.HOLDER_REQUEST:
        _require_self_or_desk(actor, card.person)
    else:
        _require_desk(actor)
    card = _lock_card(card)
    previous = _transition(card, Card.State.CANCELLED)
    card.cancel_reason = reason
    card.save(update_fields=["state", "blocked_at", "cancel_reason", "updated_at"])
    card.enrolments.filter(state=FunctionEnrolment.State.ACTIVE).update(
        state=FunctionEnrolment.State.REVOKED, revoked_at=timezone.now()
    )
    refundable = _refund_on_cancel(card, actor)
    audit_record(actor=actor, action="card.card.cancelled", obj=card, reason=note,
                 data={"from": previous, "reason": reason, "refundable": refundable})  # fmt: skip
    if refundable:
        _notify(
            card.person, _("Card closed: stored value to be refunded"),
            _("Card %(number)s is closed. Its stored value of NT$%(amount)s will be refunded at any district office.")
            % {"number": card.formatted_number, "amount": refundable},
        )  # fmt: skip
    return card


REFUNDS_PAYABLE = "card:refunds:payable"


def _refund_on_cancel(card: Card, actor) -> int:
    purse = purse_code(card.number, "TWD")
    held = payments.accounts_available_for_update([purse]).get(purse, 0)
    if held <= 0:
        return 0
    payments.account_get_or_create(code=REFUNDS_PAYABLE, name="stored value owed to holders of closed cards")
    result = payments.transfer_create(
        request=payments.TransferRequest(idempotency_key=f"card:{card.number}:refund", debit_account=purse,
                                         credit_account=REFUNDS_PAYABLE, amount=held, reference=card.number,
                                         memo=f"card closed ({card.cancel_reason}): refund owed"),
        actor=actor,
    )  # fmt: skip
    if result.status == "failed":
        raise CardStateConflict(f"could not set the refund aside: {result.error}")
    return held


def cards_sweep(*, today: datetime.date | None = None) -> dict:
    """The nightly job: expire cards past their date, cancel the cards of holders the registry shows
    as deceased or moved out. Each card in its own transaction, so one failure stops nothing else."""
    today = today or timezone.localdate()
    counts = {"expired": 0, "cancelled_death": 0, "cancelled_moved_out": 0}
    live = Card.objects.filter(state__in=[Card.State.ACTIVE, Card.State.DAMAGED, Card.State.LOST])
    for card in live.filter(person__deceased_on__lte=today).iterator():
        card_cancel(actor=None, card=card, reason=Card.CancelReason.DEATH)
        counts["cancelled_death"] += 1
    moved = live.filter(person__moved_out_on__lte=today).exclude(kind__in=[CardKind.STUDENT, CardKind.MOBILE])
    for card in moved.iterator():  # students and mobile-card holders may live outside the city
        card_cancel(actor=None, card=card, reason=Card.CancelReason.MOVED_OUT)
        counts["cancelled_moved_out"] += 1
    for card in Card.objects.filter(state=Card.State.ACTIVE, expires_on__lt=today).iterator():
        with transaction.atomic():
            locked = _lock_card(card)
            if locked.state == Card.State.ACTIVE:
                _transition(locked, Card.State.EXPIRED)
                locked.save(update_fields=["state", "blocked_at", "updated_at"])
                audit_record(actor=None, action="card.card.expired", obj=locked)
                counts["expired"] += 1
    return counts


# --- functions --------------------------------------------------------------------------------


def _issuer_key(agency: Agency | None, partner: CardPartner | None) -> str:
    if partner is not None:
        return f"partner:{partner.code}"
    return f"agency:{agency.code}" if agency is not None else ""


def _check_enrolling_party(
    function: CardFunction, *, actor: User | None, api_key: ApiKey | None,
) -> tuple[Agency | None, CardPartner | None]:  # fmt: skip
    """Who enrols decides the issuer: a partner's key enrols for that partner; staff enrol for the
    agency they act for, which must provide the function (or issue it per organisation)."""
    if api_key is not None:
        if function.scope not in api_key.scopes:
            raise PermissionDenied(f"this API key lacks the scope {function.scope}")
        partner = selectors.partner_of_key(api_key)
        if partner is not None:
            if not function.issued_per_organisation and function.provider_partner_id != partner.pk:
                raise PermissionDenied("this partner does not provide the function")
            return None, partner
        agency = api_key.agency
    elif actor is not None:
        scope = staff_scope(actor)
        if not scope.is_staff:
            raise PermissionDenied("staff of the providing organisation enrol cards")
        candidates = [function.provider_agency_id] if function.provider_agency_id else []
        agency = None
        if function.provider_agency_id and scope.acts_for(function.provider_agency_id):
            agency = function.provider_agency
        elif function.issued_per_organisation:
            from civicstack.core.selectors import acting_agency

            agency = acting_agency(actor)
        if agency is None:
            raise PermissionDenied("you do not act for the agency that provides this function",
                                   details={"provider": candidates})  # fmt: skip
        return agency, None
    else:
        return function.provider_agency, function.provider_partner
    if not function.issued_per_organisation and function.provider_agency_id != agency.pk:
        raise PermissionDenied("this key's agency does not provide the function")
    return agency, None


@transaction.atomic
def function_enrol(
    *, card: Card, function: CardFunction, actor: User | None = None, api_key: ApiKey | None = None,
    reference: str = "", group: str = "", valid_from: datetime.date | None = None,
    valid_until: datetime.date | None = None,
) -> FunctionEnrolment:  # fmt: skip
    """Link the card to a function: a library account, a school's student ID, an employer's staff ID."""
    agency, partner = _check_enrolling_party(function, actor=actor, api_key=api_key)
    card = _lock_card(card)
    if card.state != Card.State.ACTIVE:
        raise CardStateConflict(_("Only an active card can be enrolled."), details={"state": card.state})
    if card.kind not in function.card_kinds:
        raise InvalidInput(
            _("A %(kind)s cannot hold the function %(function)s.")
            % {"kind": card.get_kind_display(), "function": function.name_zh},
            details={"card_kind": card.kind, "allowed": function.card_kinds},
        )  # fmt: skip
    valid_from = valid_from or timezone.localdate()
    if valid_until is not None and valid_until < valid_from:
        raise InvalidInput(_("The end date is before the start date."), details={"field": "valid_until"})
    if function.reference_label and not reference.strip():
        raise InvalidInput(
            _("Give the %(label)s.") % {"label": function.reference_label}, details={"field": "reference"}
        )
    enrolment = FunctionEnrolment(
        card=card, function=function, issuer_agency=agency, issuer_partner=partner,
        issuer_key=_issuer_key(agency, partner), reference=reference.strip()[:60], group=group.strip()[:60],
        valid_from=valid_from, valid_until=valid_until, created_by=actor if actor and actor.pk else None,
    )  # fmt: skip
    try:
        with transaction.atomic():
            enrolment.save(force_insert=True)
    except IntegrityError as exc:
        raise CardStateConflict(
            _("The card is already enrolled in this function by this organisation.")
        ) from exc
    audit_record(
        actor=actor, action="card.function.enrolled", obj=card, agency=agency,
        data={"function": function.code, "issuer": enrolment.issuer_key,
              "api_key": api_key.prefix if api_key else ""},
    )  # fmt: skip
    return enrolment


@transaction.atomic
def function_revoke(
    *, enrolment: FunctionEnrolment, actor: User | None = None, api_key: ApiKey | None = None
) -> FunctionEnrolment:
    agency, partner = _check_enrolling_party(enrolment.function, actor=actor, api_key=api_key)
    if (actor is not None or api_key is not None) and enrolment.issuer_key != _issuer_key(agency, partner):
        raise NotFound("no such enrolment")
    if enrolment.state == FunctionEnrolment.State.ACTIVE:
        enrolment.state, enrolment.revoked_at = FunctionEnrolment.State.REVOKED, timezone.now()
        enrolment.save(update_fields=["state", "revoked_at"])
        audit_record(actor=actor, action="card.function.revoked", obj=enrolment.card,
                     data={"function": enrolment.function.code, "issuer": enrolment.issuer_key})  # fmt: skip
    return enrolment


def einvoice_barcode_normalize(barcode: str) -> str:
    value = (barcode or "").strip().upper()
    if not EINVOICE_BARCODE.match(value):
        raise InvalidInput(
            _("An e-invoice mobile barcode is / followed by 7 characters of 0-9, A-Z, '.', '+' or '-'."),
            details={"field": "barcode"},
        )  # fmt: skip
    return value


@transaction.atomic
def einvoice_carrier_bind(*, actor: User | None, card: Card, barcode: str) -> Card:
    """Bind the card as the holder's e-invoice carrier (a citizen does it for his own card)."""
    _require_self_or_desk(actor, card.person)
    barcode = einvoice_barcode_normalize(barcode)
    card = _lock_card(card)
    if card.state != Card.State.ACTIVE:
        raise CardStateConflict(_("Only an active card can be a carrier."), details={"state": card.state})
    function = CardFunction.objects.get(code="einvoice_carrier")
    card.enrolments.filter(function=function, state=FunctionEnrolment.State.ACTIVE).update(
        state=FunctionEnrolment.State.REVOKED, revoked_at=timezone.now()
    )
    FunctionEnrolment.objects.create(
        card=card, function=function, issuer_agency=function.provider_agency,
        issuer_key=_issuer_key(function.provider_agency, None), reference=barcode,
        valid_from=timezone.localdate(), created_by=actor if actor and actor.pk else None,
    )  # fmt: skip
    card.einvoice_carrier = barcode
    card.save(update_fields=["einvoice_carrier", "updated_at"])
    audit_record(actor=actor, action="card.einvoice_carrier.bound", obj=card)
    return card


@transaction.atomic
def einvoice_carrier_unbind(*, actor: User | None, card: Card) -> Card:
    _require_self_or_desk(actor, card.person)
    card = _lock_card(card)
    card.enrolments.filter(function__code="einvoice_carrier", state=FunctionEnrolment.State.ACTIVE).update(
        state=FunctionEnrolment.State.REVOKED, revoked_at=timezone.now()
    )
    if card.einvoice_carrier:
        card.einvoice_carrier = ""
        card.save(update_fields=["einvoice_carrier", "updated_at"])
        audit_record(actor=actor, action="card.einvoice_carrier.unbound", obj=card)
    return card


# --- experience events ------------------------------------------------------------------------


def _require_event_staff(actor: User | None, event: ExperienceEvent) -> None:
    if actor is not None and not (
        staff_scope(actor).acts_for(event.organiser_id) or selectors.is_card_desk(actor)
    ):
        raise PermissionDenied("staff of the organiser or the card desk only")


@transaction.atomic
def event_create(
    *, actor: User | None, title: str, venue: str, district, starts_on: datetime.date, ends_on: datetime.date,
    organiser: Agency, address: str = "", capacity: int | None = None, description: str = "",
) -> ExperienceEvent:  # fmt: skip
    if actor is not None and not staff_scope(actor).acts_for(organiser.pk):
        raise PermissionDenied("you do not act for the organiser")
    if not title.strip() or not venue.strip():
        raise InvalidInput(_("An event needs a title and a venue."))
    if ends_on < starts_on:
        raise InvalidInput(_("The last day is before the first day."), details={"field": "ends_on"})
    event = ExperienceEvent.objects.create(
        title=title.strip(), venue=venue.strip(), district=district, address=address.strip(), starts_on=starts_on,
        ends_on=ends_on, organiser=organiser, capacity=capacity, description=description,
    )  # fmt: skip
    audit_record(actor=actor, action="card.event.created", obj=event, agency=organiser)
    return event


@transaction.atomic
def event_sign_up(
    *, actor: User | None, event: ExperienceEvent, name: str, phone: str = "", person: Person | None = None,
    source: str = EventSignUp.Source.ONLINE, checked_in: bool = False,
) -> EventSignUp:  # fmt: skip
    """Online sign-ups by citizens (their own person) or walk-ins entered by staff on the day."""
    if source == EventSignUp.Source.WALK_IN:
        _require_event_staff(actor, event)
    if not (name or "").strip():
        raise InvalidInput(_("Give a name."), details={"field": "name"})
    locked = ExperienceEvent.objects.select_for_update().get(pk=event.pk)
    if locked.capacity is not None and source == EventSignUp.Source.ONLINE:
        if locked.signups.filter(source=EventSignUp.Source.ONLINE).count() >= locked.capacity:
            raise ApplicationStateConflict(_("The event is full."))
    signup = EventSignUp.objects.create(
        event=locked, name=name.strip()[:60], phone=(phone or "").strip()[:20], person=person, source=source,
        checked_in_at=timezone.now() if checked_in else None,
    )  # fmt: skip
    return signup


@transaction.atomic
def event_check_in(*, actor: User | None, signup: EventSignUp) -> EventSignUp:
    _require_event_staff(actor, signup.event)
    updated = EventSignUp.objects.filter(pk=signup.pk, checked_in_at__isnull=True).update(
        checked_in_at=timezone.now()
    )
    signup.refresh_from_db()
    if updated:
        audit_record(
            actor=actor, action="card.event.checked_in", obj=signup.event, data={"signup": signup.pk}
        )
    return signup


@transaction.atomic
def event_visits_record(
    *, actor: User | None, event: ExperienceEvent, visits: int, key: str = ""
) -> EventVisitTally:
    """Add a visit count. With a ``key`` (the page's form token, an API Idempotency-Key) a repeat
    of the same count returns the first one; the same key with another number is refused."""
    _require_event_staff(actor, event)
    if not isinstance(visits, int) or isinstance(visits, bool) or not 0 < visits <= 100_000:
        raise InvalidInput(_("Visits are a whole number between 1 and 100,000."), details={"field": "visits"})
    key = (key or "").strip()
    if len(key) > 80:
        raise InvalidInput("the key is at most 80 characters", details={"field": "key"})

    def replay() -> EventVisitTally | None:
        first = EventVisitTally.objects.filter(event=event, key=key).first() if key else None
        if first is not None and first.visits != visits:
            raise Conflict(_("This count was already recorded with another number."),
                           details={"visits": first.visits})  # fmt: skip
        return first

    if (first := replay()) is not None:
        return first
    try:
        with transaction.atomic():
            tally = EventVisitTally.objects.create(
                event=event, visits=visits, recorded_by=actor if actor and actor.pk else None, key=key
            )
            audit_record(actor=actor, action="card.event.visits_recorded", obj=event, data={"visits": visits})
    except IntegrityError:  # the same key at the same moment: the other request recorded it
        return replay()
    return tally


# --- readers, rules and taps (card use) -------------------------------------------------------

AUTOLOAD_AMOUNTS = (0, 500, 1000)  # what a co-branded card's holder may choose for 自動加值 (0: off)
WELFARE_ISSUED = "card:welfare:issued"
WELFARE_LAPSED = "card:welfare:lapsed"


@transaction.atomic
def reader_register(
    *, actor: User | None, code: str, kind: str, api_key: ApiKey, functions: list[str],
    operator_partner: CardPartner | None = None, operator_agency: Agency | None = None, district=None,
    location: str = "",
) -> Reader:  # fmt: skip
    _require_desk(actor)
    if kind not in Reader.Kind.values:
        raise InvalidInput(f"unknown reader kind {kind!r}", details={"field": "kind"})
    if (operator_partner is None) == (operator_agency is None):
        raise InvalidInput("a reader belongs to one operator: a partner or an agency")
    unknown = sorted(set(functions) - set(CardFunction.objects.values_list("code", flat=True)))
    if unknown:
        raise InvalidInput(f"unknown functions: {', '.join(unknown)}", details={"field": "functions"})
    if "card.taps:upload" not in api_key.scopes:
        raise InvalidInput("the reader's key needs the scope card.taps:upload", details={"field": "api_key"})
    reader, _created = Reader.objects.update_or_create(
        code=code,
        defaults={"kind": kind, "api_key": api_key, "functions": sorted(set(functions)),
                  "operator_partner": operator_partner, "operator_agency": operator_agency,
                  "district": district, "location": location},
    )  # fmt: skip
    audit_record(actor=actor, action="card.reader.registered", obj=reader, data={"kind": kind})
    return reader


@transaction.atomic
def rule_save(
    *, actor: User | None, code: str, name: str, kind: str, function: CardFunction, params: dict,
    effective_from: datetime.date, effective_until: datetime.date | None = None, card_kinds: list[str] | None = None,
    priority: int = 100, is_active: bool = True,
) -> BenefitRule:  # fmt: skip
    """Create or change a benefit rule; its parameters are checked against its kind."""
    _require_desk(actor)
    try:
        params = rules.validate_params(kind, params)
    except ValueError as exc:
        raise InvalidInput(
            _("Rule parameters: %(problem)s") % {"problem": exc}, details={"field": "params"}
        ) from exc
    card_kinds = sorted(set(card_kinds or []))
    unknown = sorted(set(card_kinds) - set(CardKind.values))
    if unknown:
        raise InvalidInput(f"unknown card kinds: {', '.join(unknown)}", details={"field": "card_kinds"})
    if effective_until is not None and effective_until < effective_from:
        raise InvalidInput(_("A rule cannot end before it starts."), details={"field": "effective_until"})
    rule, created = BenefitRule.objects.update_or_create(
        code=code,
        defaults={"name": name, "kind": kind, "function": function, "params": params, "card_kinds": card_kinds,
                  "effective_from": effective_from, "effective_until": effective_until, "priority": priority,
                  "is_active": is_active, "created_by": actor if actor and actor.pk else None},
    )  # fmt: skip
    audit_record(actor=actor, action="card.rule.saved", obj=rule,
                 data={"created": created, "kind": kind, "params": params,
                       "effective_from": effective_from.isoformat()})  # fmt: skip
    return rule


def taps_settle(*, api_key: ApiKey, taps: list) -> list:
    """Settle a reader batch; see card/settlement.py."""
    from . import settlement  # imported here: settlement imports this module

    return settlement.taps_settle(api_key=api_key, taps=taps)


@transaction.atomic
def wallet_top_up(
    *, actor: User | None, card: Card, amount: int, channel: str, idempotency_key: str, reference: str = ""
) -> int:
    """Add stored value at a counter or a partner (cash or card received there). Retrying with the
    same key changes nothing. Returns the new balance."""
    from civicstack.payments.models import Account

    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= MAX_STORED_VALUE:
        raise InvalidInput(
            _("A top-up is a whole number of NT$ from 1 to %(max)s.") % {"max": MAX_STORED_VALUE}
        )
    if not (idempotency_key or "").strip():
        raise InvalidInput(_("An Idempotency-Key is required for payments."))
    _require_desk(actor)
    card = _lock_card(card)
    if not card.is_usable_at(timezone.now()):
        raise CardStateConflict(_("This card cannot be topped up."), details={"state": card.state})
    purse = card_purse(card, "TWD")
    locked = payments.accounts_available_for_update([purse.code])
    if locked[purse.code] + amount > MAX_STORED_VALUE:
        raise InvalidInput(
            _("The balance may not exceed NT$%(max)s.") % {"max": MAX_STORED_VALUE},
            details={"balance": locked[purse.code], "max": MAX_STORED_VALUE},
        )  # fmt: skip
    source = payments.clearing_account(channel)
    result = payments.transfer_create(
        request=payments.TransferRequest(
            idempotency_key=f"card-topup:{idempotency_key.strip()}"[:120], debit_account=source.code,
            credit_account=purse.code, amount=amount, reference=card.number, memo=f"top-up {channel} {reference}"[:200],
        ),
        actor=actor,
    )  # fmt: skip
    if result.status == "failed":
        raise InvalidInput(f"top-up refused: {result.error}", details={"ledger": result.error})
    if result.status == "created":
        audit_record(
            actor=actor, action="card.wallet.topped_up", obj=card, data={"amount": amount, "channel": channel}
        )
    return Account.objects.get(code=purse.code).balance


def welfare_points_month(*, month: datetime.date) -> dict:
    """Lapse what is left of last month's welfare points and grant this month's (the
    ``monthly_points`` rule in force: 800 a month, 1,000 in 復興區). Keys carry the card and the
    month, so running it twice changes nothing."""
    from civicstack.payments.models import Transfer

    first = month.replace(day=1)
    previous = (first - datetime.timedelta(days=1)).replace(day=1)
    rule = (
        BenefitRule.objects.filter(
            kind=BenefitRule.Kind.MONTHLY_POINTS, is_active=True, effective_from__lte=first
        )
        .exclude(effective_until__lt=first)
        .order_by("-effective_from", "priority")
        .first()
    )
    counts = {"granted": 0, "lapsed": 0, "points_granted": 0, "points_lapsed": 0}
    if rule is None:
        return counts
    issued = payments.account_get_or_create(code=WELFARE_ISSUED, name="welfare points issued", unit="WELFARE")
    lapsed = payments.account_get_or_create(code=WELFARE_LAPSED, name="welfare points lapsed", unit="WELFARE")
    kinds = rule.card_kinds or list(CardKind.values)
    cards = Card.objects.filter(kind__in=kinds, state=Card.State.ACTIVE).select_related("district", "person")
    for start in range(0, cards.count() + 1, 2000):
        chunk = list(cards.order_by("pk")[start : start + 2000])
        if not chunk:
            break
        grant_keys = {f"welfare:{c.number}:{first:%Y-%m}:grant": c for c in chunk}
        done = set(
            Transfer.objects.filter(idempotency_key__in=grant_keys).values_list("idempotency_key", flat=True)
        )
        chunk = [
            card for key, card in grant_keys.items() if key not in done
        ]  # already granted: nothing to do
        with transaction.atomic():
            codes = [purse_code(c.number, "WELFARE") for c in chunk]
            available = payments.accounts_available_for_update(codes)
            requests = []
            for card in chunk:
                code = purse_code(card.number, "WELFARE")
                left = available.get(code, 0)
                if left > 0:
                    requests.append(payments.TransferRequest(
                        idempotency_key=f"welfare:{card.number}:{previous:%Y-%m}:lapse", debit_account=code,
                        credit_account=lapsed.code, amount=left, memo=f"unused points of {previous:%Y-%m}",
                    ))  # fmt: skip
                points = rule.params.get("district_points", {}).get(card.district.code, rule.params["points"])
                if code not in available:
                    card_purse(card, "WELFARE")
                requests.append(payments.TransferRequest(
                    idempotency_key=f"welfare:{card.number}:{first:%Y-%m}:grant", debit_account=issued.code,
                    credit_account=code, amount=points, memo=f"welfare points {first:%Y-%m}",
                ))  # fmt: skip
            for result, request in zip(payments.transfers_create(requests=requests), requests, strict=True):
                if result.status == "created":
                    kind = "lapsed" if request.idempotency_key.endswith(":lapse") else "granted"
                    counts[kind] += 1
                    counts[f"points_{kind}"] += request.amount
    return counts


@transaction.atomic
def autoload_set(*, actor: User | None, card: Card, amount: int) -> Card:
    """The holder of a co-branded card turns automatic top-up off or chooses its amount."""
    _require_self_or_desk(actor, card.person)
    if card.kind != CardKind.COBRANDED:
        raise InvalidInput(_("Only a co-branded credit card tops itself up."))
    if amount not in AUTOLOAD_AMOUNTS:
        raise InvalidInput(_("Choose 0 (off), 500 or 1,000."), details={"allowed": list(AUTOLOAD_AMOUNTS)})
    card = _lock_card(card)
    if card.autoload_amount != amount:
        card.autoload_amount = amount
        card.save(update_fields=["autoload_amount", "updated_at"])
        audit_record(actor=actor, action="card.wallet.autoload_set", obj=card, data={"amount": amount})
    return card
