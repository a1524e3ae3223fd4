"""Citizen card API: the public function registry and partner list; the citizen app's cards,
applications, eligibility and e-invoice carrier; partners' entitlement checks and enrolments with
API keys scoped per function; and the card desk's review queue, card pages, statistics and
experience events. Thin: parse, check who asks, call selectors/services.

Retrying a POST is safe: lifecycle services are idempotent, and where a service answers a replay
with a conflict (an application already open, an enrolment already made, a decision already
taken), the endpoint answers with the record the first call made instead."""

import datetime
from typing import Literal

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate
from pydantic import Field

from civicstack.core import identity
from civicstack.core import selectors as core_selectors
from civicstack.core import services as core_services
from civicstack.core.api_support import (
    ERROR_RESPONSES,
    USER_AUTH,
    USER_OR_PARTNER_AUTH,
    Pagination,
    PlausibleDateTime,
    require_scope,
    require_staff,
    require_user,
)
from civicstack.core.errors import InvalidInput, NotFound, PermissionDenied
from civicstack.core.identity import mask_name
from civicstack.core.models import Agency, ApiKey, District, Person, User
from civicstack.core.selectors import object_history

from . import eligibility, photos, selectors, services
from .api_money import require_card_desk
from .errors import ApplicationStateConflict, CardStateConflict, InvalidPhoto
from .models import (
    Card,
    CardApplication,
    CardFunction,
    CardPartner,
    EventSignUp,
    ExperienceEvent,
    FunctionEnrolment,
)
from .models.kinds import Channel

router = Router(tags=["card"])

# Literal types rather than the models' TextChoices: OpenAPI names an enum after its class, and
# "Kind" or "State" would collide with other modules' enums of the same name. A test checks that
# each list matches its model's choices.
CardKindName = Literal["general", "student", "senior", "disability", "companion", "mobile", "cobranded"]
PrimaryKindName = Literal["general", "student", "senior", "disability"]
CardStateName = Literal["active", "lost", "damaged", "replaced", "expired", "cancelled"]
CancelReasonName = Literal["death", "moved_out", "holder_request", "no_longer_eligible", "partner"]
ApplicationStateName = Literal["awaiting_payment", "submitted", "approved", "rejected", "withdrawn"]
ApplicationReasonName = Literal["new", "replacement", "type_change"]
ChannelName = Literal["online", "counter", "event", "telecom", "bank"]
StaffChannelName = Literal["counter", "event"]
PartnerKindName = Literal["telecom", "bank", "transit", "employer", "association", "community", "other"]
FunctionCategoryName = Literal[
    "transit", "payment", "identity", "access", "welfare", "leisure", "rewards", "service"
]
EntitlementReason = Literal[
    "", "card_not_usable", "card_kind_not_eligible", "not_yet_available", "not_enrolled"
]
EnrolmentStateName = Literal["active", "revoked"]
SignUpSourceName = Literal["online", "walk_in"]

# The very message selectors.access_card raises: an unknown card, a malformed number and a card the
# caller may not see must answer the same body (so it is not translated here either).
CARD_NOT_FOUND = "no such card"


def payment_page_url(order_number: str) -> str:
    return f"/payments/orders/{order_number}/"


def _aware(moment: datetime.datetime | None) -> datetime.datetime | None:
    """A time sent without an offset is Taipei time (services compare with aware datetimes)."""
    if moment is not None and timezone.is_naive(moment):
        return timezone.make_aware(moment)
    return moment


def _history(obj) -> list[dict]:
    """The audit trail recorded against a card or an application, oldest first."""
    events = object_history(obj)
    return [
        {
            "at": e.created_at,
            "action": e.action,
            "actor": e.actor_username,
            "reason": e.reason,
            "data": e.data,
        }
        for e in events
    ]


def _my_person(user: User) -> Person:
    person = core_selectors.person_of_user(user)
    if person is None:
        raise NotFound(_("No resident record is linked to this login."))
    return person


def _my_card(request: HttpRequest, card_no: str) -> Card:
    """The logged-in citizen's own card; someone else's looks exactly like no card."""
    return selectors.access_own_card(require_user(request), card_no)


def _person_by_identifier(raw: str, *, field: str) -> Person | None:
    try:
        identity.validate(raw)
    except identity.InvalidIdentifier as exc:
        raise InvalidInput(
            _("The ID number is not valid."), details={"field": field, "reason": str(exc)}
        ) from exc
    return Person.objects.filter(id_digest=core_selectors.person_digest(raw)).first()


def _companion_holder(raw: str, *, disclose: bool = False) -> Person | None:
    """The disability-card holder a companion names by ID number. For citizens an unknown number
    becomes an unsaved stand-in without a certificate: the rules then refuse it exactly as they
    refuse any named person who does not qualify, so typing ID numbers reveals nothing."""
    if not raw:
        return None
    holder = _person_by_identifier(raw, field="companion_identifier")
    if holder is None:
        if not disclose:
            return Person(name="")
        raise InvalidInput(
            _("No disability-card holder matches that ID number."), details={"field": "companion_identifier"}
        )
    return holder


def _partner(code: str) -> CardPartner | None:
    if not code:
        return None
    partner = selectors.partners().filter(code=code).first()
    if partner is None:
        raise InvalidInput(_("Unknown telecom or bank."), details={"field": "partner"})
    return partner


def _photo_bytes(upload: UploadedFile | None) -> bytes | None:
    """The uploaded photo, refused before it is read into memory when it is too large."""
    if upload is None:
        return None
    if upload.size is not None and upload.size > photos.MAX_BYTES:
        raise InvalidPhoto(
            _("The photo is %(size)s MB; the limit is 5 MB.") % {"size": round(upload.size / 1048576, 1)},
            details={"field": "photo", "max_bytes": photos.MAX_BYTES},
        )  # fmt: skip
    return upload.read()


# --- public: functions and partners -----------------------------------------------------------


class FunctionOut(Schema):
    code: str
    name_zh: str
    name_en: str
    category: FunctionCategoryName
    category_label: str
    description: str
    card_kinds: list[CardKindName]
    provider_name: str
    requires_enrolment: bool
    issued_per_organisation: bool
    reference_label: str
    available_from: datetime.date | None
    scope: str = Field(description="the API key scope that lets a partner check this function")

    @staticmethod
    def from_function(function: CardFunction) -> dict:
        return {
            "code": function.code, "name_zh": function.name_zh, "name_en": function.name_en,
            "category": function.category, "category_label": str(function.get_category_display()),
            "description": function.description, "card_kinds": function.card_kinds,
            "provider_name": function.provider_name(), "requires_enrolment": function.requires_enrolment,
            "issued_per_organisation": function.issued_per_organisation,
            "reference_label": function.reference_label, "available_from": function.available_from,
            "scope": function.scope,
        }  # fmt: skip


@router.get("/functions", response={200: list[FunctionOut], **ERROR_RESPONSES}, auth=None)
def function_list(request: HttpRequest):
    """Public: the card's functions (the registry of S01), in display order."""
    return [FunctionOut.from_function(function) for function in selectors.functions()]


class PartnerOut(Schema):
    code: str
    name: str
    kind: PartnerKindName


class PartnerFilter(Schema):
    kind: PartnerKindName | None = None


@router.get("/partners", response={200: list[PartnerOut], **ERROR_RESPONSES}, auth=None)
def partner_list(request: HttpRequest, filters: Query[PartnerFilter]):
    """Public: the telecoms (mobile cards), banks (co-branded cards) and other partners."""
    return list(selectors.partners(filters.kind))


# --- entitlements -----------------------------------------------------------------------------


class EnrolmentSummaryOut(Schema):
    issuer: str
    reference: str
    group: str
    valid_from: datetime.date
    valid_until: datetime.date | None
    valid: bool


class EntitlementOut(Schema):
    function: str
    name: str
    name_en: str = ""
    category: FunctionCategoryName | Literal[""] = ""
    entitled: bool
    reason: EntitlementReason = Field(description="why not, when not entitled")
    enrolments: list[EnrolmentSummaryOut]


# --- citizen: my cards ------------------------------------------------------------------------


class MyCardOut(Schema):
    number: str
    formatted_number: str
    kind: CardKindName
    kind_label: str
    state: CardStateName
    state_label: str
    usable: bool
    issued_at: datetime.datetime
    expires_on: datetime.date
    einvoice_carrier: str
    companion_of: str | None = Field(description="masked name of the disability-card holder accompanied")
    partner_name: str | None
    functions: list[EntitlementOut] = Field(description="the functions the card can be used for now")


def _my_card_out(card: Card, functions: list[CardFunction], now: datetime.datetime) -> dict:
    return {
        "number": card.number, "formatted_number": card.formatted_number, "kind": card.kind,
        "kind_label": str(card.get_kind_display()), "state": card.state,
        "state_label": str(card.get_state_display()),
        "usable": card.is_usable_at(now), "issued_at": card.issued_at, "expires_on": card.expires_on,
        "einvoice_carrier": card.einvoice_carrier,
        "companion_of": mask_name(card.companion_for.name) if card.companion_for_id else None,
        "partner_name": card.partner.name if card.partner_id else None,
        "functions": [row for row in selectors.entitlements(card, at=now, only=functions) if row["entitled"]],
    }  # fmt: skip


def _one_card_out(card: Card) -> dict:
    card = selectors.cards_of_person(card.person).get(pk=card.pk)
    return _my_card_out(card, list(selectors.functions()), timezone.now())


@router.get("/me/cards", response={200: list[MyCardOut], **ERROR_RESPONSES}, auth=USER_AUTH)
def my_cards(request: HttpRequest):
    """The logged-in citizen's cards, newest first, each with the functions it can be used for now."""
    user = require_user(request)
    functions, now = list(selectors.functions()), timezone.now()
    return [_my_card_out(card, functions, now) for card in selectors.my_cards(user)]


class ReportLostIn(Schema):
    lost_at: PlausibleDateTime | None = Field(
        None, description="when the holder noticed; uses after it are refused (default: now)"
    )


@router.post("/me/cards/{card_no}/report-lost", response={200: MyCardOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def my_card_report_lost(request: HttpRequest, card_no: str, payload: ReportLostIn | None = None):
    """Block a lost card at once. Reporting again changes nothing."""
    card = _my_card(request, card_no)
    lost_at = _aware(payload.lost_at) if payload else None
    return _one_card_out(services.card_report_lost(actor=request.user, card=card, lost_at=lost_at))


class FeeOut(Schema):
    order_number: str
    amount: int = Field(description="NT$")
    due_date: datetime.date
    state: str
    payment_url: str | None = Field(description="the payment page, while the fee is awaiting payment")


class ApplicationOut(Schema):
    number: str
    kind: CardKindName
    kind_label: str
    reason: ApplicationReasonName
    channel: ChannelName
    state: ApplicationStateName
    state_label: str
    created_at: datetime.datetime
    reviewed_at: datetime.datetime | None
    decision_note: str
    replaces: str | None = Field(description="number of the card replaced or changed")
    card_number: str | None = Field(description="the card issued on approval")
    companion_of: str | None = Field(description="masked name of the disability-card holder accompanied")
    partner_name: str | None
    mobile_number: str
    event_title: str | None
    fee: FeeOut | None


def _application_out(application: CardApplication) -> dict:
    order = application.fee_order
    card = getattr(application, "card", None)
    return {
        "number": application.number, "kind": application.kind,
        "kind_label": str(application.get_kind_display()),
        "reason": application.reason, "channel": application.channel, "state": application.state,
        "state_label": str(application.get_state_display()), "created_at": application.created_at,
        "reviewed_at": application.reviewed_at, "decision_note": application.decision_note,
        "replaces": application.replaces.number if application.replaces_id else None,
        "card_number": card.number if card is not None else None,
        "companion_of": mask_name(application.companion_for.name) if application.companion_for_id else None,
        "partner_name": application.partner.name if application.partner_id else None,
        "mobile_number": application.mobile_number,
        "event_title": application.event.title if application.event_id else None,
        "fee": None if order is None else {
            "order_number": order.number, "amount": order.amount, "due_date": order.due_date,
            "state": order.state,
            "payment_url": payment_page_url(order.number) if order.state == order.State.PENDING else None,
        },
    }  # fmt: skip


def _applications() -> QuerySet[CardApplication]:
    return CardApplication.objects.select_related(
        "person", "person__district", "companion_for", "partner", "replaces", "fee_order", "event",
        "receiving_agency", "card", "submitted_by", "reviewed_by",
    )  # fmt: skip


def _reload(application: CardApplication) -> CardApplication:
    return _applications().get(pk=application.pk)


def _replacing(card: Card, reason: str, kind: str, submit) -> tuple[int, CardApplication]:
    """Submit a replacement or type change; a retry answers 200 with the application already open."""
    try:
        return 201, _reload(submit())
    except ApplicationStateConflict:
        open_one = (
            _applications()
            .filter(replaces=card, reason=reason, kind=kind, state__in=CardApplication.OPEN_STATES)
            .first()
        )
        if open_one is None:
            raise
        return 200, open_one


@router.post("/me/cards/{card_no}/replacement", response={201: ApplicationOut, 200: ApplicationOut,
             **ERROR_RESPONSES}, auth=USER_AUTH)  # fmt: skip
def my_card_replacement(request: HttpRequest, card_no: str):
    """Apply for a new card in place of a lost, damaged or expired one (same type, the photo on file).
    A lost card's replacement has a fee: the answer holds its payment order and payment page; the
    application is reviewed once paid. Asking again answers 200 with the application already open."""
    card = _my_card(request, card_no)
    code, application = _replacing(
        card, CardApplication.Reason.REPLACEMENT, card.kind,
        lambda: services.replacement_request(actor=request.user, card=card),
    )  # fmt: skip
    return Status(code, _application_out(application))


class TypeChangeIn(Schema):
    kind: PrimaryKindName


@router.post("/me/cards/{card_no}/type-change", response={201: ApplicationOut, 200: ApplicationOut,
             **ERROR_RESPONSES}, auth=USER_AUTH)  # fmt: skip
def my_card_type_change(request: HttpRequest, card_no: str, payload: TypeChangeIn):
    """Ask to change the card's type (e.g. general to senior at 65); free of charge. Asking again
    answers 200 with the application already open."""
    card = _my_card(request, card_no)
    code, application = _replacing(
        card, CardApplication.Reason.TYPE_CHANGE, payload.kind,
        lambda: services.type_change_request(actor=request.user, card=card, kind=payload.kind),
    )  # fmt: skip
    return Status(code, _application_out(application))


class CarrierIn(Schema):
    barcode: str = Field(
        min_length=1, max_length=20, description="the e-invoice mobile barcode, e.g. /ABC1234"
    )


@router.put(
    "/me/cards/{card_no}/einvoice-carrier", response={200: MyCardOut, **ERROR_RESPONSES}, auth=USER_AUTH
)
def my_card_carrier_bind(request: HttpRequest, card_no: str, payload: CarrierIn):
    """Use the card as the e-invoice carrier of this mobile barcode (replacing any other)."""
    card = _my_card(request, card_no)
    if card.einvoice_carrier != services.einvoice_barcode_normalize(payload.barcode):
        card = services.einvoice_carrier_bind(actor=request.user, card=card, barcode=payload.barcode)
    return _one_card_out(card)


@router.delete("/me/cards/{card_no}/einvoice-carrier", response={200: MyCardOut, **ERROR_RESPONSES},
               auth=USER_AUTH)  # fmt: skip
def my_card_carrier_unbind(request: HttpRequest, card_no: str):
    """Stop using the card as an e-invoice carrier."""
    card = _my_card(request, card_no)
    return _one_card_out(services.einvoice_carrier_unbind(actor=request.user, card=card))


# --- citizen: applications and eligibility ----------------------------------------------------


@router.get("/me/applications", response={200: list[ApplicationOut], **ERROR_RESPONSES}, auth=USER_AUTH)
def my_applications(request: HttpRequest):
    """The logged-in citizen's card applications, newest first."""
    person = core_selectors.person_of_user(require_user(request))
    if person is None:
        return []
    return [_application_out(application) for application in _applications().filter(person=person)]


class ApplyIn(Schema):
    kind: CardKindName
    companion_identifier: str = Field(
        "", max_length=12, description="companion card: ID number of the disability-card holder accompanied"
    )
    partner: str = Field("", max_length=40, description="mobile and co-branded cards: the partner's code")
    mobile_number: str = Field("", max_length=10, description="mobile card: the SIM's number, 09xxxxxxxx")


@router.post("/me/applications", response={201: ApplicationOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def my_application_submit(request: HttpRequest, payload: Form[ApplyIn], photo: File[UploadedFile] = None):
    """Apply online (multipart form). Printed cards need a photo: a portrait JPEG or PNG of at least
    300 × 400 pixels, at most 5 MB. Refusals are 400 ``not_eligible`` with every finding in
    ``details.findings``, or ``invalid_photo``; an open application of the same type is 409 with
    its number in ``details.application``, so a retried upload never files twice."""
    person = _my_person(require_user(request))
    companion_for = _companion_holder(payload.companion_identifier)
    partner = _partner(payload.partner)
    try:
        application = services.application_submit(
            actor=request.user, person=person, kind=payload.kind, photo=_photo_bytes(photo),
            companion_for=companion_for, partner=partner, mobile_number=payload.mobile_number,
        )  # fmt: skip
    except ApplicationStateConflict as exc:
        open_one = CardApplication.objects.filter(
            person=person, kind=payload.kind, state__in=CardApplication.OPEN_STATES
        ).first()
        if open_one is not None:
            exc.details = {**(exc.details or {}), "application": open_one.number}
        raise
    return Status(201, _application_out(_reload(application)))


def _my_application(request: HttpRequest, number: str) -> CardApplication:
    person = core_selectors.person_of_user(require_user(request))
    application = _applications().filter(person=person, number=number).first() if person else None
    if application is None:
        raise NotFound(_("No such application."))
    return application


def _decide(application: CardApplication, target_state: str, decide) -> CardApplication:
    """Run a decision; when it was already taken (a retry), answer with the application as it is."""
    try:
        decide()
    except ApplicationStateConflict:
        if _reload(application).state != target_state:
            raise
    return _reload(application)


@router.post("/me/applications/{number}/withdraw", response={200: ApplicationOut, **ERROR_RESPONSES},
             auth=USER_AUTH)  # fmt: skip
def my_application_withdraw(request: HttpRequest, number: str):
    """Withdraw an open application (an unpaid replacement fee is cancelled with it)."""
    application = _my_application(request, number)
    application = _decide(
        application, CardApplication.State.WITHDRAWN,
        lambda: services.application_withdraw(actor=request.user, application=application),
    )  # fmt: skip
    return _application_out(application)


class FindingOut(Schema):
    code: str
    ok: bool
    message: str


class EligibilityOut(Schema):
    kind: str
    eligible: bool
    findings: list[FindingOut]


class EligibilityQuery(ApplyIn):
    pass


@router.get("/eligibility", response={200: EligibilityOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def my_eligibility(request: HttpRequest, query: Query[EligibilityQuery]):
    """May the logged-in citizen hold a card of this type? Every rule checked, each explained
    (nothing is disclosed about the disability-card holder a companion names)."""
    person = _my_person(require_user(request))
    result = eligibility.check(
        person, query.kind, day=timezone.localdate(), companion_for=_companion_holder(query.companion_identifier),
        partner=_partner(query.partner), mobile_number=query.mobile_number, detailed=False,
    )  # fmt: skip
    return result.as_dict()


# --- entitlements (holders, card desk and partners) -------------------------------------------


class EntitlementsOut(Schema):
    number: str
    formatted_number: str
    kind: CardKindName
    state: CardStateName
    usable: bool
    expires_on: datetime.date
    checked_at: datetime.datetime
    entitlements: list[EntitlementOut]


class EntitlementsQuery(Schema):
    at: PlausibleDateTime | None = Field(
        None, description="the moment of use (default: now), e.g. an offline reader's"
    )


def _key_organisation(api_key: ApiKey) -> tuple[Agency | None, CardPartner | None]:
    """The organisation a key acts for: its partner, or else the agency that holds it (a school)."""
    partner = selectors.partner_of_key(api_key)
    return (None, partner) if partner is not None else (api_key.agency, None)


@router.get("/cards/{card_no}/entitlements", response={200: EntitlementsOut, **ERROR_RESPONSES},
            auth=USER_OR_PARTNER_AUTH)  # fmt: skip
def card_entitlements(request: HttpRequest, card_no: str, query: Query[EntitlementsQuery]):
    """What a card entitles its holder to, function by function, with the reason when not.

    A partner key (``X-API-Key``) sees only the functions it holds a ``card.function:<code>`` scope
    for (none: 403), and of a function each organisation issues (student ID, door access) only its
    own enrolments. The holder and card desk staff see every function. An unknown card and a card
    the caller may not see answer the same 404."""
    api_key: ApiKey | None = getattr(request, "api_key", None)
    at = _aware(query.at) or timezone.now()
    if api_key is not None:
        only = [function for function in selectors.functions() if function.scope in api_key.scopes]
        if not only:
            raise PermissionDenied(
                _("This API key holds no card function scope."),
                details={"required_scope": "card.function:<code>"},
            )
        card = selectors.card_by_number(card_no)
        if card is None:
            raise NotFound(CARD_NOT_FOUND)
        issuer_agency, issuer_partner = _key_organisation(api_key)
        rows = selectors.entitlements(
            card, at=at, only=only, issuer_agency=issuer_agency, issuer_partner=issuer_partner
        )
    else:
        card = selectors.access_card(require_user(request), card_no)
        rows = selectors.entitlements(card, at=at)
    return {
        "number": card.number, "formatted_number": card.formatted_number, "kind": card.kind,
        "state": card.state, "usable": card.is_usable_at(at), "expires_on": card.expires_on, "checked_at": at,
        "entitlements": rows,
    }  # fmt: skip


# --- enrolments (partners and providing agencies) ---------------------------------------------


class EnrolmentIn(Schema):
    function: str = Field(min_length=1, max_length=40, description="function code, e.g. library")
    reference: str = Field("", max_length=60, description="e.g. the library account or student number")
    group: str = Field("", max_length=60)
    valid_from: datetime.date | None = None
    valid_until: datetime.date | None = None


class EnrolmentOut(Schema):
    id: int
    card_number: str
    function: str
    function_name: str
    issuer: str
    reference: str
    group: str
    valid_from: datetime.date
    valid_until: datetime.date | None
    state: EnrolmentStateName
    created_at: datetime.datetime
    revoked_at: datetime.datetime | None

    @staticmethod
    def from_enrolment(enrolment: FunctionEnrolment) -> dict:
        return {
            "id": enrolment.pk, "card_number": enrolment.card.number, "function": enrolment.function.code,
            "function_name": enrolment.function.name_zh, "issuer": enrolment.issuer_name(),
            "reference": enrolment.reference, "group": enrolment.group, "valid_from": enrolment.valid_from,
            "valid_until": enrolment.valid_until, "state": enrolment.state,
            "created_at": enrolment.created_at,
            "revoked_at": enrolment.revoked_at,
        }  # fmt: skip


def _enrolment_caller(request: HttpRequest, function: CardFunction) -> ApiKey | None:
    """A partner key needs the function's scope (checked before any card is looked up); without a
    key the caller must be staff (the service checks they act for the providing organisation)."""
    api_key = require_scope(request, function.scope)
    if api_key is None:
        require_staff(request)
    return api_key


def _caller_issuers(request: HttpRequest, api_key: ApiKey | None, function: CardFunction) -> dict:
    """The enrolments the caller's organisation issued, as a filter (for answering a retry)."""
    if api_key is not None:
        agency, partner = _key_organisation(api_key)
        return {"issuer_partner": partner} if partner is not None else {"issuer_agency": agency}
    scope = core_selectors.staff_scope(request.user)
    agencies = [core_selectors.acting_agency(request.user)]
    if function.provider_agency_id and scope.acts_for(function.provider_agency_id):
        agencies = [function.provider_agency]
    return {"issuer_partner": None, "issuer_agency__in": [a for a in agencies if a is not None]}


def _enrolment_card(card_no: str) -> Card:
    card = selectors.card_by_number(card_no)
    if card is None:
        raise NotFound(CARD_NOT_FOUND)
    return card


@router.post("/cards/{card_no}/enrolments",
             response={201: EnrolmentOut, 200: EnrolmentOut, **ERROR_RESPONSES},
             auth=USER_OR_PARTNER_AUTH)  # fmt: skip
def enrolment_create(request: HttpRequest, card_no: str, payload: EnrolmentIn):
    """Enrol a card in a function: a partner key with the function's scope, or staff of the
    providing agency (or, for functions each organisation issues, of their own). Sending the same
    enrolment again answers 200 with the one already made."""
    function = selectors.functions().filter(code=payload.function).first()
    if function is None:
        raise InvalidInput(_("Unknown card function."), details={"field": "function"})
    api_key = _enrolment_caller(request, function)
    card = _enrolment_card(card_no)
    actor = None if api_key is not None else request.user
    try:
        enrolment = services.function_enrol(
            card=card, function=function, actor=actor, api_key=api_key, reference=payload.reference,
            group=payload.group, valid_from=payload.valid_from, valid_until=payload.valid_until,
        )  # fmt: skip
    except CardStateConflict:
        same = (
            card.enrolments.filter(
                function=function, state=FunctionEnrolment.State.ACTIVE,
                reference=payload.reference.strip()[:60],
                group=payload.group.strip()[:60], valid_until=payload.valid_until,
                **_caller_issuers(request, api_key, function),
            )
            .select_related("card", "function", "issuer_agency", "issuer_partner")
            .first()
        )  # fmt: skip
        if same is None or (payload.valid_from is not None and same.valid_from != payload.valid_from):
            raise
        return Status(200, EnrolmentOut.from_enrolment(same))
    return Status(201, EnrolmentOut.from_enrolment(enrolment))


@router.delete("/cards/{card_no}/enrolments/{int:enrolment_id}",
               response={200: EnrolmentOut, **ERROR_RESPONSES},
               auth=USER_OR_PARTNER_AUTH)  # fmt: skip
def enrolment_revoke(request: HttpRequest, card_no: str, enrolment_id: int):
    """Revoke an enrolment the caller's organisation made; revoking again changes nothing."""
    api_key: ApiKey | None = getattr(request, "api_key", None)
    if api_key is not None and not any(scope.startswith("card.function:") for scope in api_key.scopes):
        raise PermissionDenied(_("This API key holds no card function scope."))
    card = _enrolment_card(card_no)
    enrolment = (
        card.enrolments.select_related("card", "function", "issuer_agency", "issuer_partner")
        .filter(pk=enrolment_id)
        .first()
    )
    if enrolment is None:
        raise NotFound(_("No such enrolment."))
    api_key = _enrolment_caller(request, enrolment.function)
    actor = None if api_key is not None else request.user
    enrolment = services.function_revoke(enrolment=enrolment, actor=actor, api_key=api_key)
    return EnrolmentOut.from_enrolment(enrolment)


# --- staff: applications ----------------------------------------------------------------------


class HistoryOut(Schema):
    at: datetime.datetime
    action: str
    actor: str
    reason: str
    data: dict


class StaffApplicationOut(ApplicationOut):
    applicant_name: str
    applicant_id_masked: str
    applicant_district: str
    applicant_birth_date: datetime.date
    receiving_agency: str | None
    submitted_by: str | None
    reviewed_by: str | None
    has_photo: bool


class StaffApplicationDetailOut(StaffApplicationOut):
    companion_of_name: str | None
    companion_of_id_masked: str | None
    eligibility: EligibilityOut = Field(description="the rules checked again now, as approval will")
    history: list[HistoryOut]


def _staff_application_out(application: CardApplication) -> dict:
    person = application.person
    return {
        **_application_out(application), "applicant_name": person.name,
        "applicant_id_masked": person.id_masked,
        "applicant_district": person.district.name_zh, "applicant_birth_date": person.birth_date,
        "receiving_agency": application.receiving_agency.name_zh if application.receiving_agency_id else None,
        "submitted_by": application.submitted_by.get_username() if application.submitted_by_id else None,
        "reviewed_by": application.reviewed_by.get_username() if application.reviewed_by_id else None,
        "has_photo": bool(application.photo),
    }  # fmt: skip


def _staff_application_detail(application: CardApplication) -> dict:
    companion = application.companion_for
    result = eligibility.check(
        application.person, application.kind, day=timezone.localdate(), companion_for=companion,
        partner=application.partner, mobile_number=application.mobile_number, replacing=application.replaces,
    )  # fmt: skip
    return {
        **_staff_application_out(application),
        "companion_of_name": companion.name if companion else None,
        "companion_of_id_masked": companion.id_masked if companion else None,
        "eligibility": result.as_dict(), "history": _history(application),
    }  # fmt: skip


def _desk_application(request: HttpRequest, number: str) -> CardApplication:
    application = selectors.access_application_by_number(require_card_desk(request), number)
    return _reload(application)


class ApplicationFilter(Schema):
    state: ApplicationStateName | None = Field(None, description="submitted: the review queue, oldest first")
    kind: CardKindName | None = None
    channel: ChannelName | None = None
    number: str | None = Field(None, max_length=16)


class StaffApplicationPage(Pagination):
    def paginate_queryset(self, queryset, pagination, request, **params):
        page = super().paginate_queryset(queryset, pagination, request, **params)
        page["items"] = [_staff_application_out(application) for application in page["items"]]
        return page


@router.get("/applications", response={200: list[StaffApplicationOut], **ERROR_RESPONSES}, auth=USER_AUTH)
@paginate(StaffApplicationPage)
def application_list(request: HttpRequest, filters: Query[ApplicationFilter]):
    """Card desk: applications of the people they serve, newest first; ``state=submitted`` is the
    review queue, oldest first."""
    user = require_card_desk(request)
    applications = selectors.applications_visible_to(user).select_related(
        "companion_for", "card", "submitted_by", "reviewed_by"
    )
    if filters.state:
        applications = applications.filter(state=filters.state)
        if filters.state == CardApplication.State.SUBMITTED:
            applications = applications.order_by("created_at", "id")
    if filters.kind:
        applications = applications.filter(kind=filters.kind)
    if filters.channel:
        applications = applications.filter(channel=filters.channel)
    if filters.number:
        applications = applications.filter(number=filters.number.strip().upper())
    return applications


class CounterApplicationIn(Schema):
    identifier: str = Field(min_length=10, max_length=12, description="the applicant's ID number")
    kind: CardKindName
    channel: StaffChannelName = "counter"
    event_id: int | None = Field(None, description="the experience event, for the event channel")
    companion_identifier: str = Field("", max_length=12)
    partner: str = Field("", max_length=40)
    mobile_number: str = Field("", max_length=10)


@router.post("/applications", response={201: StaffApplicationDetailOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def application_enter(
    request: HttpRequest, payload: Form[CounterApplicationIn], photo: File[UploadedFile] = None
):
    """Card desk: enter an application taken at a counter or an experience event (multipart form,
    photo as for online applications). The applicant must be someone the clerk may look up."""
    user = require_card_desk(request)
    person = _person_by_identifier(payload.identifier, field="identifier")
    if person is None or not core_selectors.people_visible_to(user).filter(pk=person.pk).exists():
        raise NotFound(_("No resident with that ID number in your area."))
    event = None
    if payload.event_id is not None:
        event = ExperienceEvent.objects.filter(pk=payload.event_id).first()
        if event is None:
            raise InvalidInput(_("No such experience event."), details={"field": "event_id"})
    application = services.application_submit(
        actor=user, person=person, kind=payload.kind, channel=payload.channel, photo=_photo_bytes(photo),
        companion_for=_companion_holder(payload.companion_identifier, disclose=True),
        partner=_partner(payload.partner),
        mobile_number=payload.mobile_number, event=event, receiving_agency=core_selectors.acting_agency(user),
    )  # fmt: skip
    return Status(201, _staff_application_detail(_reload(application)))


@router.get(
    "/applications/{number}", response={200: StaffApplicationDetailOut, **ERROR_RESPONSES}, auth=USER_AUTH
)
def application_detail(request: HttpRequest, number: str):
    """Card desk: one application with the eligibility rules checked again and its history
    (the read is audited)."""
    application = _desk_application(request, number)
    core_services.person_viewed(actor=request.user, person=application.person, channel="api")
    return _staff_application_detail(application)


@router.get("/applications/{number}/photo", response={200: None, **ERROR_RESPONSES}, auth=USER_AUTH)
def application_photo(request: HttpRequest, number: str):
    """Card desk: the application's photo (JPEG), to review before approval (the read is audited)."""
    application = _desk_application(request, number)
    if not application.photo:
        raise NotFound(_("This application has no photo."))
    core_services.person_viewed(actor=request.user, person=application.person, channel="api")
    with application.photo.open("rb") as stored:
        content = stored.read()
    response = HttpResponse(content, content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response


class ApproveIn(Schema):
    note: str = Field("", max_length=1000)


@router.post("/applications/{number}/approve", response={200: StaffApplicationDetailOut, **ERROR_RESPONSES},
             auth=USER_AUTH)  # fmt: skip
def application_approve(request: HttpRequest, number: str, payload: ApproveIn | None = None):
    """Card desk: approve and issue the card (a replacement retires the old card and carries over
    its balance and functions). The rules are checked again: 400 ``not_eligible`` lists what fails.
    Approving again answers with the application as approved."""
    application = _desk_application(request, number)
    application = _decide(
        application, CardApplication.State.APPROVED,
        lambda: services.application_approve(actor=request.user, application=application,
                                             note=payload.note if payload else ""),
    )  # fmt: skip
    return _staff_application_detail(application)


class RejectIn(Schema):
    reason: str = Field(min_length=2, max_length=1000, description="shown to the applicant")


@router.post("/applications/{number}/reject", response={200: StaffApplicationDetailOut, **ERROR_RESPONSES},
             auth=USER_AUTH)  # fmt: skip
def application_reject(request: HttpRequest, number: str, payload: RejectIn):
    """Card desk: reject an open application with the reason the applicant is told."""
    application = _desk_application(request, number)
    application = _decide(
        application, CardApplication.State.REJECTED,
        lambda: services.application_reject(
            actor=request.user, application=application, reason=payload.reason
        ),
    )  # fmt: skip
    return _staff_application_detail(application)


# --- staff: cards -----------------------------------------------------------------------------


class PersonRefOut(Schema):
    name: str
    id_masked: str
    district: str


class StaffCardOut(Schema):
    number: str
    formatted_number: str
    kind: CardKindName
    kind_label: str
    state: CardStateName
    state_label: str
    usable: bool
    channel: ChannelName
    issued_at: datetime.datetime
    expires_on: datetime.date
    blocked_at: datetime.datetime | None
    cancel_reason: str
    einvoice_carrier: str
    district: str = Field(description="the holder's district when the card was issued")
    holder: PersonRefOut
    companion_of: PersonRefOut | None
    partner_name: str | None
    application_number: str | None
    replaces: str | None
    replaced_by: str | None
    event_title: str | None
    enrolments: list[EnrolmentOut]
    history: list[HistoryOut]


def _person_ref(person: Person | None) -> dict | None:
    if person is None:
        return None
    return {"name": person.name, "id_masked": person.id_masked, "district": person.district.name_zh}


def _staff_card_out(card: Card) -> dict:
    card = (
        Card.objects.select_related(
            "person__district", "district", "companion_for__district", "partner", "application", "replaces",
            "replaced_by", "event",
        ).get(pk=card.pk)
    )  # fmt: skip
    enrolments = card.enrolments.select_related(
        "card", "function", "issuer_agency", "issuer_partner"
    ).order_by("-created_at", "-id")
    replaced_by = getattr(card, "replaced_by", None)
    return {
        "number": card.number, "formatted_number": card.formatted_number, "kind": card.kind,
        "kind_label": str(card.get_kind_display()), "state": card.state,
        "state_label": str(card.get_state_display()),
        "usable": card.is_usable_at(timezone.now()), "channel": card.channel, "issued_at": card.issued_at,
        "expires_on": card.expires_on, "blocked_at": card.blocked_at, "cancel_reason": card.cancel_reason,
        "einvoice_carrier": card.einvoice_carrier, "district": card.district.name_zh,
        "holder": _person_ref(card.person), "companion_of": _person_ref(card.companion_for),
        "partner_name": card.partner.name if card.partner_id else None,
        "application_number": card.application.number if card.application_id else None,
        "replaces": card.replaces.number if card.replaces_id else None,
        "replaced_by": replaced_by.number if replaced_by is not None else None,
        "event_title": card.event.title if card.event_id else None,
        "enrolments": [EnrolmentOut.from_enrolment(enrolment) for enrolment in enrolments],
        "history": _history(card),
    }  # fmt: skip


def _desk_card(request: HttpRequest, card_no: str) -> Card:
    return selectors.access_card(require_card_desk(request), card_no)


@router.get("/cards/{card_no}", response={200: StaffCardOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def card_detail(request: HttpRequest, card_no: str):
    """Card desk: a card with its holder, functions and history (the read is audited)."""
    card = _desk_card(request, card_no)
    core_services.person_viewed(actor=request.user, person=card.person, channel="api")
    return _staff_card_out(card)


@router.post("/cards/{card_no}/report-lost", response={200: StaffCardOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def card_report_lost(request: HttpRequest, card_no: str, payload: ReportLostIn | None = None):
    """Card desk: block a card the holder reports lost (by phone or at the counter)."""
    card = _desk_card(request, card_no)
    lost_at = _aware(payload.lost_at) if payload else None
    return _staff_card_out(services.card_report_lost(actor=request.user, card=card, lost_at=lost_at))


@router.post(
    "/cards/{card_no}/report-damaged", response={200: StaffCardOut, **ERROR_RESPONSES}, auth=USER_AUTH
)
def card_report_damaged(request: HttpRequest, card_no: str):
    """Card desk: record a damaged card (its replacement is free of charge)."""
    card = _desk_card(request, card_no)
    return _staff_card_out(services.card_report_damaged(actor=request.user, card=card))


class CancelIn(Schema):
    reason: CancelReasonName
    note: str = Field("", max_length=1000)


@router.post("/cards/{card_no}/cancel", response={200: StaffCardOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def card_cancel(request: HttpRequest, card_no: str, payload: CancelIn):
    """Card desk: close a card for good. Cancelling again for the same reason answers with the card."""
    card = _desk_card(request, card_no)
    try:
        card = services.card_cancel(actor=request.user, card=card, reason=payload.reason, note=payload.note)
    except CardStateConflict:
        card.refresh_from_db(fields=["state", "cancel_reason"])
        if card.state != Card.State.CANCELLED or card.cancel_reason != payload.reason:
            raise
    return _staff_card_out(card)


@router.post("/cards/{card_no}/replacement",
             response={201: StaffApplicationDetailOut, 200: StaffApplicationDetailOut, **ERROR_RESPONSES},
             auth=USER_AUTH)  # fmt: skip
def card_replacement(request: HttpRequest, card_no: str):
    """Card desk: a replacement application taken at the counter (the photo on file is reused)."""
    card = _desk_card(request, card_no)
    code, application = _replacing(
        card, CardApplication.Reason.REPLACEMENT, card.kind,
        lambda: services.replacement_request(
            actor=request.user, card=card, channel=Channel.COUNTER,
            receiving_agency=core_selectors.acting_agency(request.user),
        ),
    )  # fmt: skip
    return Status(code, _staff_application_detail(application))


@router.post("/cards/{card_no}/type-change",
             response={201: StaffApplicationDetailOut, 200: StaffApplicationDetailOut, **ERROR_RESPONSES},
             auth=USER_AUTH)  # fmt: skip
def card_type_change(request: HttpRequest, card_no: str, payload: TypeChangeIn):
    """Card desk: a type change application taken at the counter."""
    card = _desk_card(request, card_no)
    code, application = _replacing(
        card, CardApplication.Reason.TYPE_CHANGE, payload.kind,
        lambda: services.type_change_request(
            actor=request.user, card=card, kind=payload.kind, channel=Channel.COUNTER,
            receiving_agency=core_selectors.acting_agency(request.user),
        ),
    )  # fmt: skip
    return Status(code, _staff_application_detail(application))


# --- staff: statistics ------------------------------------------------------------------------


class DistrictCountsOut(Schema):
    code: str = ""
    district: str
    district_en: str = ""
    counts: dict[str, int]
    total: int


class MonthCountsOut(Schema):
    month: str
    counts: dict[str, int]
    total: int


class CardStatisticsOut(Schema):
    kinds: list[str]
    districts: list[DistrictCountsOut] = Field(description="active cards by the holder's district and type")
    totals: dict[str, int]
    total: int
    since: datetime.date
    months: list[MonthCountsOut] = Field(description="cards issued per month and type, the last 12 months")


def _twelve_months_back(today: datetime.date) -> datetime.date:
    """The first day of the month eleven months before ``today``'s: twelve whole calendar months."""
    month_index = today.year * 12 + today.month - 1 - 11
    return datetime.date(month_index // 12, month_index % 12 + 1, 1)


@router.get("/statistics", response={200: CardStatisticsOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def statistics(request: HttpRequest):
    """Card desk: active cards by type and district, and new cards per month over the last year."""
    require_card_desk(request)
    since = _twelve_months_back(timezone.localdate())
    table = selectors.statistics_by_kind_and_district()
    return {**table, "since": since, "months": selectors.statistics_by_month(since=since)}


# --- staff: experience events -----------------------------------------------------------------


class EventOut(Schema):
    id: int
    title: str
    venue: str
    address: str
    district_code: str
    district_name: str
    starts_on: datetime.date
    ends_on: datetime.date
    organiser_code: str
    organiser_name: str
    capacity: int | None
    description: str

    @staticmethod
    def from_event(event: ExperienceEvent) -> dict:
        return {
            "id": event.pk, "title": event.title, "venue": event.venue, "address": event.address,
            "district_code": event.district.code, "district_name": event.district.name_zh,
            "starts_on": event.starts_on, "ends_on": event.ends_on, "organiser_code": event.organiser.code,
            "organiser_name": event.organiser.name_zh, "capacity": event.capacity,
            "description": event.description,
        }  # fmt: skip


class EventReportRowOut(Schema):
    event_id: int
    title: str
    venue: str
    district_name: str
    starts_on: datetime.date
    ends_on: datetime.date
    signups: int
    participants: int = Field(description="people who signed up and took part")
    visits: int
    cards_issued: int


class EventTotalsOut(Schema):
    signups: int
    participants: int
    visits: int
    cards_issued: int


class EventsReportOut(Schema):
    count: int
    events: list[EventReportRowOut]
    totals: EventTotalsOut


class SignUpOut(Schema):
    id: int
    name: str
    phone_masked: str
    source: SignUpSourceName
    signed_up_at: datetime.datetime
    checked_in_at: datetime.datetime | None

    @staticmethod
    def from_signup(signup: EventSignUp) -> dict:
        phone = signup.phone
        masked = f"{phone[:4]}***{phone[-3:]}" if len(phone) >= 8 else "*" * len(phone)
        return {
            "id": signup.pk, "name": signup.name, "phone_masked": masked, "source": signup.source,
            "signed_up_at": signup.signed_up_at, "checked_in_at": signup.checked_in_at,
        }  # fmt: skip


class EventDetailOut(EventOut):
    report: EventReportRowOut
    signups: list[SignUpOut]


def _events_visible(request: HttpRequest) -> QuerySet[ExperienceEvent]:
    """The card desk sees every event; other staff the events of the agencies they act for."""
    user = request.user
    require_staff(request)
    events = ExperienceEvent.objects.select_related("district", "organiser")
    if selectors.is_card_desk(user):
        return events
    return core_selectors.scope_by_agency(events, user, field="organiser")


def _access_event(request: HttpRequest, event_id: int) -> ExperienceEvent:
    event = _events_visible(request).filter(pk=event_id).first()
    if event is None:
        raise NotFound(_("No such event."))
    return event


def _report_rows(report: dict) -> list[dict]:
    return [
        {
            "event_id": row["event"].pk, "title": row["event"].title, "venue": row["event"].venue,
            "district_name": row["event"].district.name_zh, "starts_on": row["event"].starts_on,
            "ends_on": row["event"].ends_on, "signups": row["signups"], "participants": row["participants"],
            "visits": row["visits"], "cards_issued": row["cards_issued"],
        }
        for row in report["events"]
    ]  # fmt: skip


def _event_detail(event: ExperienceEvent) -> dict:
    [row] = _report_rows(selectors.events_report(ExperienceEvent.objects.filter(pk=event.pk)))
    return {
        **EventOut.from_event(event), "report": row,
        "signups": [SignUpOut.from_signup(signup) for signup in event.signups.order_by("signed_up_at", "id")],
    }  # fmt: skip


class EventPage(Pagination):
    def paginate_queryset(self, queryset, pagination, request, **params):
        page = super().paginate_queryset(queryset, pagination, request, **params)
        page["items"] = [EventOut.from_event(event) for event in page["items"]]
        return page


class EventFilter(Schema):
    starts_from: datetime.date | None = Field(None, description="events ending on or after this day")
    starts_until: datetime.date | None = Field(None, description="events starting on or before this day")


def _filtered_events(request: HttpRequest, filters: EventFilter) -> QuerySet[ExperienceEvent]:
    events = _events_visible(request)
    if filters.starts_from:
        events = events.filter(ends_on__gte=filters.starts_from)
    if filters.starts_until:
        events = events.filter(starts_on__lte=filters.starts_until)
    return events


@router.get("/events", response={200: list[EventOut], **ERROR_RESPONSES}, auth=USER_AUTH)
@paginate(EventPage)
def event_list(request: HttpRequest, filters: Query[EventFilter]):
    """Staff: experience events, latest first (the card desk sees all, organisers their own)."""
    return _filtered_events(request, filters).order_by("-starts_on", "-id")


@router.get("/events/report", response={200: EventsReportOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def events_report(request: HttpRequest, filters: Query[EventFilter]):
    """Staff: per event and in total, sign-ups, participants, visits and cards issued on site."""
    report = selectors.events_report(_filtered_events(request, filters))
    return {"count": report["count"], "events": _report_rows(report), "totals": report["totals"]}


class EventIn(Schema):
    title: str = Field(min_length=1, max_length=120)
    venue: str = Field(min_length=1, max_length=120)
    district: str = Field(min_length=1, max_length=16, description="district code")
    address: str = Field("", max_length=200)
    starts_on: datetime.date
    ends_on: datetime.date
    organiser: str | None = Field(
        None, max_length=20, description="agency code (default: the agency you act for)"
    )
    capacity: int | None = Field(None, ge=1, le=100_000, description="online sign-up places")
    description: str = Field("", max_length=4000)


@router.post("/events", response={201: EventDetailOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def event_create(request: HttpRequest, payload: EventIn):
    """Staff: schedule an experience event organised by an agency they act for."""
    require_staff(request)
    district = District.objects.filter(code=payload.district).first()
    if district is None:
        raise InvalidInput(_("Unknown district."), details={"field": "district"})
    if payload.organiser:
        organiser = Agency.objects.filter(code=payload.organiser).first()
        if organiser is None:
            raise InvalidInput(_("Unknown agency."), details={"field": "organiser"})
    else:
        organiser = core_selectors.acting_agency(request.user)
    event = services.event_create(
        actor=request.user, title=payload.title, venue=payload.venue, district=district,
        starts_on=payload.starts_on, ends_on=payload.ends_on, organiser=organiser, address=payload.address,
        capacity=payload.capacity, description=payload.description,
    )  # fmt: skip
    return Status(201, _event_detail(_access_event(request, event.pk)))


@router.get("/events/{int:event_id}", response={200: EventDetailOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def event_detail(request: HttpRequest, event_id: int):
    """Staff: an event with its figures and sign-ups."""
    return _event_detail(_access_event(request, event_id))


class SignUpIn(Schema):
    name: str = Field(min_length=1, max_length=60)
    phone: str = Field("", max_length=20)
    source: SignUpSourceName = "walk_in"
    checked_in: bool = Field(False, description="a walk-in taking part at once")


@router.post("/events/{int:event_id}/signups", response={201: SignUpOut, 200: SignUpOut, **ERROR_RESPONSES},
             auth=USER_AUTH)  # fmt: skip
def event_sign_up(request: HttpRequest, event_id: int, payload: SignUpIn):
    """Staff: sign someone up (a walk-in on the day, or a sign-up taken by phone). The same name
    and phone sent again answer 200 with the sign-up already made."""
    event = _access_event(request, event_id)
    phone = payload.phone.strip()
    if phone:
        existing = event.signups.filter(name=payload.name.strip(), phone=phone).first()
        if existing is not None:
            return Status(200, SignUpOut.from_signup(existing))
    signup = services.event_sign_up(
        actor=request.user, event=event, name=payload.name, phone=phone, source=payload.source,
        checked_in=payload.checked_in,
    )  # fmt: skip
    return Status(201, SignUpOut.from_signup(signup))


@router.post("/events/{int:event_id}/signups/{int:signup_id}/check-in",
             response={200: SignUpOut, **ERROR_RESPONSES},
             auth=USER_AUTH)  # fmt: skip
def event_check_in(request: HttpRequest, event_id: int, signup_id: int):
    """Staff: mark that a signed-up person took part (again: no change)."""
    event = _access_event(request, event_id)
    signup = event.signups.filter(pk=signup_id).first()
    if signup is None:
        raise NotFound(_("No such sign-up."))
    return SignUpOut.from_signup(services.event_check_in(actor=request.user, signup=signup))


class VisitsIn(Schema):
    visits: int = Field(gt=0, le=100_000)


class VisitsOut(Schema):
    id: int
    counted_at: datetime.datetime
    visits: int
    total_visits: int


@router.post("/events/{int:event_id}/visits", response={201: VisitsOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def event_visits(request: HttpRequest, event_id: int, payload: VisitsIn):
    """Staff: add a visit count (a clicker count for a session or an hour) to the event's stand. With
    an `Idempotency-Key` header, a retry returns the first count instead of adding it again."""
    event = _access_event(request, event_id)
    tally = services.event_visits_record(
        actor=request.user, event=event, visits=payload.visits, key=request.headers.get("Idempotency-Key", "")
    )
    [row] = selectors.events_report(ExperienceEvent.objects.filter(pk=event.pk))["events"]
    return Status(201, {"id": tally.pk, "counted_at": tally.counted_at, "visits": tally.visits,
                        "total_visits": row["visits"]})  # fmt: skip


# Readers, wallet, points and merchants (issue 5) live in api_money.py, under the same prefix.
from .api_money import router as money_router  # noqa: E402 - after this router exists

router.add_router("", money_router)
router.add_router("", "civicstack.card.api_nearby.router")  # parking, charging stations, hospitals
