"""Citizen card API, part 2 (mounted by api.py under the same /api/v1/card/): readers' tap
batches, the e-wallet and its statement, bonus points with receipts and the public Merkle roots,
partner merchants and QR payment, and the desk's top-ups, ledger, reader registry and rule editor.

Money-moving calls take an ``Idempotency-Key`` header: a retry with the same key changes nothing."""

import datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja.pagination import paginate
from pydantic import Field

from civicstack.core.api_support import (
    ERROR_RESPONSES,
    USER_AUTH,
    Pagination,
    PartnerKey,
    PlausibleDateTime,
    require_scope,
    require_staff,
    require_user,
)  # fmt: skip
from civicstack.core.errors import InvalidInput, NotFound, PermissionDenied
from civicstack.core.models import District, User

from . import selectors, services, settlement
from .models import CardFunction, CardPartner, MerchantPayment, PointsEntry

router = Router(tags=["card"])
PARTNER_AUTH = [PartnerKey()]
ReaderKindName = Literal[
    "bus", "metro_gate", "bike_dock", "library", "sports_centre", "swimming_pool", "taxi_meter", "parking", "door",
    "meeting_signin", "merchant_terminal",
]  # fmt: skip
RuleKindName = Literal[
    "nth_use_free", "percent_off", "amount_off", "pay_with_points", "monthly_points", "earn_points"
]
MerchantCategoryName = Literal["food", "retail", "market", "leisure", "health", "services", "transport"]
TopUpChannelName = Literal["counter", "convenience_store", "card_gateway"]


def _idempotency_key(request: HttpRequest) -> str:
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if not key or len(key) > 80:
        raise InvalidInput(_("Send an Idempotency-Key header (1 to 80 characters) with every payment."))
    return key


def require_card_desk(request: HttpRequest) -> User:
    """Card desk staff (shared with api.py's endpoints)."""
    require_staff(request)
    if not selectors.is_card_desk(request.user):
        raise PermissionDenied(_("Card desk staff only."))
    return request.user


def _my_card(request: HttpRequest, card_no: str):
    return selectors.access_own_card(require_user(request), card_no)


# --- readers' tap batches ---------------------------------------------------------------------


class TapIn(Schema):
    reader: str = Field(max_length=40)
    tap_id: str = Field(
        min_length=1, max_length=64, description="unique per reader; a replay changes nothing"
    )
    card_number: str = Field(max_length=24)
    tapped_at: PlausibleDateTime
    fare: int = Field(ge=0, le=100_000, description="the fare or price before benefits, NT$")
    function: str = Field(max_length=40, description="a card function code, e.g. bus_bogo, metro_discount")


class TapBatchIn(Schema):
    taps: list[TapIn] = Field(min_length=1, max_length=settlement.MAX_TAPS)


class TapResultOut(Schema):
    reader: str
    tap_id: str
    status: Literal["accepted", "rejected"]
    reason: str = Field(
        description="blocked_card, insufficient_funds, duplicate, unknown_card, not_entitled, …"
    )
    from_value: int
    from_points: int
    rules: list[dict[str, Any]]
    flagged: bool
    duplicate: bool
    autoloaded: int = Field(description="NT$ topped up from a co-branded card's credit line before this use")


class TapBatchOut(Schema):
    accepted: int
    rejected: int
    duplicates: int
    results: list[TapResultOut]


@router.post("/taps/batch", response={200: TapBatchOut, **ERROR_RESPONSES}, auth=PARTNER_AUTH)
def taps_batch(request: HttpRequest, payload: TapBatchIn):
    """Up to 5,000 taps from an operator's readers (key scope ``card.taps:upload``). One result a tap,
    in the order sent; uploading the same batch again returns the same results and moves nothing."""
    api_key = require_scope(request, "card.taps:upload")
    taps = [settlement.TapIn(**tap.dict()) for tap in payload.taps]
    results = services.taps_settle(api_key=api_key, taps=taps)
    return {
        "accepted": sum(r.status == "accepted" and not r.duplicate for r in results),
        "rejected": sum(r.status == "rejected" and not r.duplicate for r in results),
        "duplicates": sum(r.duplicate for r in results),
        "results": [r.__dict__ for r in results],
    }


# --- the citizen's wallet, points and QR ------------------------------------------------------


class BalancesOut(Schema):
    stored_value: int = Field(description="NT$")
    welfare_points: int
    bonus_points: int


class StatementLineOut(Schema):
    at: datetime.datetime
    amount: int = Field(description="+ in, − out")
    counterparty: str
    reference: str
    memo: str
    reversal: bool


class UseOut(Schema):
    tapped_at: datetime.datetime
    reader: str
    function: str
    fare: int
    status: str
    reason: str
    from_value: int
    from_points: int
    rules: list[dict[str, Any]]


class WalletOut(Schema):
    card_number: str
    balances: BalancesOut
    max_stored_value: int
    statement: list[StatementLineOut]
    uses: list[UseOut]


def _use_out(tap) -> dict:
    return {"tapped_at": tap.tapped_at, "reader": tap.reader.code, "function": tap.function, "fare": tap.fare,
            "status": tap.status, "reason": tap.reason, "from_value": tap.from_value,
            "from_points": tap.from_points, "rules": tap.rules}  # fmt: skip


@router.get("/me/cards/{card_no}/wallet", response={200: WalletOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def my_wallet(request: HttpRequest, card_no: str):
    """Balances, the stored value's last 50 movements and the last 50 uses, each with its reason."""
    card = _my_card(request, card_no)
    return {"card_number": card.number, "balances": selectors.card_balances(card),
            "max_stored_value": services.MAX_STORED_VALUE, "statement": selectors.card_statement(card, limit=50),
            "uses": [_use_out(t) for t in selectors.card_uses(card)[:50]]}  # fmt: skip


class PointsEntryOut(Schema):
    id: int
    at: datetime.datetime
    kind: str
    delta: int
    reason: str
    day: datetime.date


class PointsOut(Schema):
    balance: int
    entries: list[PointsEntryOut]


@router.get("/me/cards/{card_no}/points", response={200: PointsOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def my_points(request: HttpRequest, card_no: str):
    """The card's bonus points balance and its last 100 entries (earned, redeemed, expired, moved)."""
    card = _my_card(request, card_no)
    entries = [{"id": e.id, "at": e.created_at, "kind": e.kind, "delta": e.delta, "reason": e.reason, "day": e.day}
               for e in selectors.points_entries(card)[:100]]  # fmt: skip
    return {"balance": selectors.card_balances(card)["bonus_points"], "entries": entries}


class ReceiptOut(Schema):
    entry: dict[str, Any]
    day: str
    sealed: bool
    index: int | None = None
    size: int | None = None
    root: str | None = None
    proof: list[str] | None = None


@router.get("/me/points/{entry_id}/receipt", response={200: ReceiptOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def my_points_receipt(request: HttpRequest, entry_id: int):
    """The receipt for one entry: keep it, and check it any time against the published root of its
    day (``civicstack card points-verify --receipt FILE`` or any RFC 6962 tool). Unsealed until the
    day ends."""
    user = require_user(request)
    entry = PointsEntry.objects.select_related("card__person").filter(pk=entry_id).first()
    if entry is None or entry.card.person.user_id != user.pk:
        raise NotFound("no such entry")
    return services.points_receipt(entry)


class SealOut(Schema):
    day: datetime.date
    size: int
    root: str
    sealed_at: datetime.datetime


@router.get("/points/roots", response={200: list[SealOut], **ERROR_RESPONSES}, auth=None)
@paginate(Pagination)
def points_roots(request: HttpRequest):
    """The published Merkle root of every sealed day of the bonus points log, newest first."""
    return selectors.points_seals()


class QrOut(Schema):
    token: str
    valid_seconds: int


@router.get("/me/cards/{card_no}/qr", response={200: QrOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def my_card_qr(request: HttpRequest, card_no: str):
    """The code the app shows for a merchant to scan; good for about a minute."""
    card = _my_card(request, card_no)
    if not card.is_usable_at(timezone.now()):
        raise InvalidInput(_("This card cannot pay."))
    return {"token": services.card_qr_token(card), "valid_seconds": 60}


class AutoloadIn(Schema):
    amount: Literal[0, 500, 1000] = Field(description="NT$ a top-up; 0 turns automatic top-up off")


class AutoloadOut(Schema):
    card_number: str
    autoload_amount: int


@router.put("/me/cards/{card_no}/autoload", response={200: AutoloadOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def my_autoload(request: HttpRequest, card_no: str, payload: AutoloadIn):
    """A co-branded card's automatic top-up (自動加值) from its credit line: off, NT$500 or NT$1,000."""
    card = services.autoload_set(actor=request.user, card=_my_card(request, card_no), amount=payload.amount)
    return {"card_number": card.number, "autoload_amount": card.autoload_amount}


class MerchantPayIn(Schema):
    merchant: str = Field(max_length=30, description="the merchant code from the merchant's QR code")
    amount: int = Field(gt=0, le=10_000, description="NT$, before the merchant's offer")


class MerchantPaymentOut(Schema):
    id: int
    merchant: str
    merchant_name: str
    method: str
    amount: int
    discount: int
    paid: int
    offer: str | None
    points_earned: int
    created_at: datetime.datetime


def _payment_out(p: MerchantPayment) -> dict:
    return {"id": p.id, "merchant": p.merchant.code, "merchant_name": p.merchant.name, "method": p.method,
            "amount": p.amount, "discount": p.discount, "paid": p.paid, "offer": p.offer.title if p.offer_id else None,
            "points_earned": p.points_earned, "created_at": p.created_at}  # fmt: skip


@router.post("/me/cards/{card_no}/merchant-payments", response={200: MerchantPaymentOut, **ERROR_RESPONSES},
             auth=USER_AUTH)  # fmt: skip
def pay_merchant(request: HttpRequest, card_no: str, payload: MerchantPayIn):
    """Pay a merchant whose QR code the holder scanned; the best offer applies. Idempotency-Key required."""
    card = _my_card(request, card_no)
    payment = services.pay_by_merchant_qr(actor=request.user, card=card, merchant_code=payload.merchant,
                                          amount=payload.amount, key=_idempotency_key(request))  # fmt: skip
    return _payment_out(payment)


# --- merchants --------------------------------------------------------------------------------


class OfferOut(Schema):
    kind: str
    title: str
    params: dict[str, Any]
    valid_from: datetime.date
    valid_until: datetime.date | None


class MerchantOut(Schema):
    code: str
    name: str
    category: str
    district: str
    address: str
    latitude: float | None
    longitude: float | None
    phone: str
    offers: list[OfferOut]


class MerchantFilter(Schema):
    category: MerchantCategoryName | None = None
    district: str | None = Field(None, max_length=10, description="district code")
    q: str | None = Field(None, max_length=60)


@router.get("/merchants", response={200: list[MerchantOut], **ERROR_RESPONSES}, auth=None)
@paginate(Pagination)
def merchants_list(request: HttpRequest, filters: Query[MerchantFilter]):
    """Partner merchants (public markets included) with their current offers, for the app's map."""
    today = timezone.localdate()
    found = selectors.merchants(category=filters.category or "", district_code=filters.district or "",
                                q=filters.q or "")  # fmt: skip
    return [
        {"code": m.code, "name": m.name, "category": m.category, "district": m.district.name_zh, "address": m.address,
         "latitude": float(m.latitude) if m.latitude is not None else None,
         "longitude": float(m.longitude) if m.longitude is not None else None, "phone": m.phone,
         "offers": [o for o in m.offers.all() if o.is_valid_on(today)]}
        for m in found
    ]  # fmt: skip


class CardChargeIn(Schema):
    token: str = Field(max_length=80, description="the card QR code shown in the holder's app")
    amount: int = Field(gt=0, le=10_000)


def _merchant_key(request: HttpRequest):
    api_key = getattr(request, "api_key", None)
    if api_key is None:
        raise PermissionDenied(_("Merchant terminals call this with their API key."))
    return api_key


@router.post("/merchant/charges", response={200: MerchantPaymentOut, **ERROR_RESPONSES}, auth=PARTNER_AUTH)
def merchant_charge(request: HttpRequest, payload: CardChargeIn):
    """A merchant terminal charges the card whose QR code it scanned. Idempotency-Key required."""
    payment = services.charge_card_qr(api_key=_merchant_key(request), token=payload.token, amount=payload.amount,
                                      key=_idempotency_key(request))  # fmt: skip
    return _payment_out(payment)


@router.post("/merchant/payments/{payment_id}/refund", response={200: MerchantPaymentOut, **ERROR_RESPONSES},
             auth=PARTNER_AUTH)  # fmt: skip
def merchant_refund(request: HttpRequest, payment_id: int):
    """The merchant gives a whole payment back to the card (its own payments only; once)."""
    payment = MerchantPayment.objects.select_related("merchant", "card").filter(pk=payment_id).first()
    if payment is None:
        raise NotFound("no such payment")
    refund = services.merchant_refund(
        api_key=_merchant_key(request), payment=payment, key=_idempotency_key(request)
    )
    return _payment_out(refund)


class SettlementDayOut(Schema):
    day: datetime.date
    payments: int
    gross: int
    discounts: int
    received: int
    refunds: int
    net: int


@router.get(
    "/merchant/settlement", response={200: list[SettlementDayOut], **ERROR_RESPONSES}, auth=PARTNER_AUTH
)
def merchant_settlement(request: HttpRequest, start: datetime.date, end: datetime.date):
    """The merchant's own sales by day: what the city pays out."""
    from .models import Merchant

    merchant = Merchant.objects.filter(api_key=_merchant_key(request)).first()
    if merchant is None:
        raise PermissionDenied(_("This key belongs to no merchant."))
    if end < start or (end - start).days > 366:
        raise InvalidInput(_("Ask for at most a year, start before end."))
    return services.settlement_report(merchant, start=start, end=end)


# --- the desk: top-ups, ledger, readers, rules ------------------------------------------------


class TopUpIn(Schema):
    amount: int = Field(gt=0, le=10_000)
    channel: TopUpChannelName = "counter"


class TopUpOut(Schema):
    card_number: str
    balance: int


@router.post("/cards/{card_no}/top-up", response={200: TopUpOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def card_top_up(request: HttpRequest, card_no: str, payload: TopUpIn):
    """Cash or card received at a counter: credit the stored value (at most NT$10,000 held)."""
    user = require_card_desk(request)
    card = selectors.access_card(user, card_no)
    balance = services.wallet_top_up(actor=user, card=card, amount=payload.amount, channel=payload.channel,
                                     idempotency_key=_idempotency_key(request))  # fmt: skip
    return {"card_number": card.number, "balance": balance}


Unit = Literal["TWD", "WELFARE", "POINT"]


@router.get(
    "/cards/{card_no}/ledger", response={200: list[StatementLineOut], **ERROR_RESPONSES}, auth=USER_AUTH
)
def card_ledger(request: HttpRequest, card_no: str, unit: Unit = "TWD"):
    """Any card's purse movements with the reason for each entry (desk staff)."""
    card = selectors.access_card(require_card_desk(request), card_no)
    return selectors.card_statement(card, unit=unit, limit=200)


class ReaderIn(Schema):
    code: str = Field(pattern=r"^[a-z0-9-]{3,40}$")
    kind: ReaderKindName
    api_key_prefix: str = Field(max_length=12, description="the prefix of the operator's upload key")
    functions: list[str] = Field(min_length=1, max_length=10)
    operator_partner: str | None = Field(None, description="partner code")
    operator_agency: str | None = Field(None, description="agency code")
    district: str | None = None
    location: str = Field("", max_length=120)


class ReaderOut(Schema):
    code: str
    kind: str
    functions: list[str]
    operator: str
    location: str
    is_active: bool


def _reader_out(r) -> dict:
    return {"code": r.code, "kind": r.kind, "functions": r.functions, "operator": r.operator_code,
            "location": r.location, "is_active": r.is_active}  # fmt: skip


@router.get("/readers", response={200: list[ReaderOut], **ERROR_RESPONSES}, auth=USER_AUTH)
@paginate(Pagination)
def readers_list(request: HttpRequest):
    """Card desk: the registered readers and their operators."""
    require_card_desk(request)
    return [_reader_out(r) for r in selectors.readers()]


@router.post("/readers", response={200: ReaderOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def readers_register(request: HttpRequest, payload: ReaderIn):
    """Card desk: register (or change) a reader, bound to its operator's upload key."""
    from civicstack.core.models import Agency, ApiKey

    user = require_card_desk(request)
    key = ApiKey.objects.filter(prefix=payload.api_key_prefix).first()
    if key is None:
        raise InvalidInput(_("No API key has that prefix."), details={"field": "api_key_prefix"})
    partner = (
        CardPartner.objects.filter(code=payload.operator_partner).first()
        if payload.operator_partner
        else None
    )
    agency = Agency.objects.filter(code=payload.operator_agency).first() if payload.operator_agency else None
    district = District.objects.filter(code=payload.district).first() if payload.district else None
    reader = services.reader_register(actor=user, code=payload.code, kind=payload.kind, api_key=key,
                                      functions=payload.functions, operator_partner=partner, operator_agency=agency,
                                      district=district, location=payload.location)  # fmt: skip
    return _reader_out(reader)


class RuleIn(Schema):
    code: str = Field(pattern=r"^[a-z0-9-]{3,40}$")
    name: str = Field(min_length=1, max_length=120)
    kind: RuleKindName
    function: str
    card_kinds: list[str] = []
    params: dict[str, Any] = {}
    effective_from: datetime.date
    effective_until: datetime.date | None = None
    priority: int = Field(100, ge=0, le=10_000)
    is_active: bool = True


class RuleOut(Schema):
    code: str
    name: str
    kind: str
    function: str
    card_kinds: list[str]
    params: dict[str, Any]
    effective_from: datetime.date
    effective_until: datetime.date | None
    priority: int
    is_active: bool


def _rule_out(r) -> dict:
    return {"code": r.code, "name": r.name, "kind": r.kind, "function": r.function.code, "card_kinds": r.card_kinds,
            "params": r.params, "effective_from": r.effective_from, "effective_until": r.effective_until,
            "priority": r.priority, "is_active": r.is_active}  # fmt: skip


@router.get("/rules", response={200: list[RuleOut], **ERROR_RESPONSES}, auth=USER_AUTH)
def rules_list(request: HttpRequest):
    """Card desk: every benefit rule, in force or not."""
    require_card_desk(request)
    return [_rule_out(r) for r in selectors.benefit_rules()]


@router.post("/rules", response={200: RuleOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def rules_save(request: HttpRequest, payload: RuleIn):
    """Add or change a benefit rule; takes effect on its date with no code change."""
    user = require_card_desk(request)
    function = CardFunction.objects.filter(code=payload.function).first()
    if function is None:
        raise InvalidInput(_("Unknown function."), details={"field": "function"})
    rule = services.rule_save(actor=user, code=payload.code, name=payload.name, kind=payload.kind, function=function,
                              params=payload.params, effective_from=payload.effective_from,
                              effective_until=payload.effective_until, card_kinds=payload.card_kinds,
                              priority=payload.priority, is_active=payload.is_active)  # fmt: skip
    return _rule_out(rule)


class PreviewIn(Schema):
    card_number: str
    function: str
    fare: int = Field(ge=0, le=100_000)
    at: PlausibleDateTime | None = None


class PreviewOut(Schema):
    fare: int
    due: int
    from_points: int
    from_value: int
    rules: list[dict[str, Any]]
    refusal: str


@router.post("/rules/preview", response={200: PreviewOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def rules_preview(request: HttpRequest, payload: PreviewIn):
    """What this tap would cost this card now, by the rules in force; nothing is charged."""
    card = selectors.access_card(require_card_desk(request), payload.card_number)
    charge = settlement.price_preview(card=card, function=payload.function, fare=payload.fare, at=payload.at)
    return {"fare": charge.fare, "due": charge.due, "from_points": charge.from_points,
            "from_value": charge.from_value, "rules": charge.applied, "refusal": charge.refusal}  # fmt: skip


@router.get("/uses/flagged", response={200: list[UseOut], **ERROR_RESPONSES}, auth=USER_AUTH)
@paginate(Pagination)
def flagged_uses(request: HttpRequest):
    """Uses of cards after they were reported lost: possible misuse to follow up."""
    return [_use_out(t) for t in selectors.flagged_uses(require_card_desk(request))]
