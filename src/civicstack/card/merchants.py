"""Partner merchants (特約商店): registry, offers, and payment from the card's stored value by QR
code in either direction, refunds, and the merchant's settlement report. Money moves on the
ledger from the card's purse to the merchant's account in the same transaction as the payment row."""

import datetime
import hmac

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from civicstack.core import business_number
from civicstack.core.crypto import mac
from civicstack.core.errors import InvalidInput, NotFound, PermissionDenied
from civicstack.core.services import audit_record
from civicstack.payments import services as payments

from . import points
from .errors import CardStateConflict
from .models import Card, Merchant, MerchantOffer, MerchantPayment
from .purses import purse_code

QR_WINDOW_SECONDS = 60  # a card QR code is good for this long (and the window before, for clock skew)
QR_PURPOSE = "card-qr"
MAX_PAYMENT = 10_000
POINTS_PER_NT100 = 1


def merchant_account(merchant: Merchant) -> str:
    code = f"merchant:{merchant.code}:TWD"
    payments.account_get_or_create(code=code, name=f"{merchant.name} card sales")
    return code


@transaction.atomic
def merchant_register(
    *, actor, code: str, name: str, business_no: str, category: str, district, address: str,
    latitude=None, longitude=None, phone: str = "", api_key=None,
) -> Merchant:  # fmt: skip
    try:
        business_no = business_number.validate_business_number(business_no)
    except ValueError as exc:
        raise InvalidInput(f"unified business number: {exc}", details={"field": "business_number"}) from exc
    if category not in Merchant.Category.values:
        raise InvalidInput(f"unknown category {category!r}", details={"field": "category"})
    for value, low, high, field in (
        (latitude, 21.5, 26.5, "latitude"),
        (longitude, 119.0, 122.5, "longitude"),
    ):
        if value is not None and not low <= float(value) <= high:
            raise InvalidInput(f"{field} is outside Taiwan", details={"field": field})
    merchant, _created = Merchant.objects.update_or_create(
        code=code,
        defaults={"name": name, "business_number": business_no, "category": category, "district": district,
                  "address": address, "latitude": latitude, "longitude": longitude, "phone": phone,
                  "api_key": api_key},
    )  # fmt: skip
    audit_record(actor=actor, action="card.merchant.saved", obj=merchant, data={"category": category})
    return merchant


def _offer_params(kind: str, params: dict) -> dict:
    def whole(name, low=1, high=None):
        value = params.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < low or (high and value > high):
            raise InvalidInput(
                f"offer parameter {name} must be a whole number from {low}" + (f" to {high}" if high else "")
            )
        return value

    if kind == MerchantOffer.Kind.SPEND_AND_SAVE:
        threshold, off = whole("threshold"), whole("off")
        if off >= threshold:
            raise InvalidInput("the saving must be less than the spend")
        return {"threshold": threshold, "off": off}
    if kind == MerchantOffer.Kind.PERCENT_OFF:
        return {
            "percent": whole("percent", 1, 50),
            "max_off": whole("max_off") if "max_off" in params else None,
        }
    if kind == MerchantOffer.Kind.POINTS_MULTIPLIER:
        return {"multiplier": whole("multiplier", 2, 10)}
    if kind == MerchantOffer.Kind.SPECIAL_PRICE:
        price, list_price = whole("price"), whole("list_price")
        if price >= list_price or not str(params.get("item", "")).strip():
            raise InvalidInput("a special price names its item and is below the list price")
        return {"item": str(params["item"]).strip()[:60], "price": price, "list_price": list_price}
    raise InvalidInput(f"unknown offer kind {kind!r}")


@transaction.atomic
def offer_save(
    *, actor, merchant: Merchant, kind: str, title: str, params: dict, valid_from: datetime.date,
    valid_until: datetime.date | None = None,
) -> MerchantOffer:  # fmt: skip
    """The report's offers go up to 50% off; a larger one is refused as a likely typo."""
    params = _offer_params(kind, params or {})
    if valid_until is not None and valid_until < valid_from:
        raise InvalidInput("an offer cannot end before it starts")
    offer = MerchantOffer.objects.create(merchant=merchant, kind=kind, title=title.strip()[:120], params=params,
                                         valid_from=valid_from, valid_until=valid_until)  # fmt: skip
    audit_record(
        actor=actor, action="card.merchant.offer_saved", obj=merchant, data={"kind": kind, "params": params}
    )
    return offer


def best_offer(merchant: Merchant, amount: int, day: datetime.date) -> tuple[MerchantOffer | None, int, int]:
    """(the offer giving the largest discount, the discount, the points multiplier) for a payment."""
    chosen, discount, multiplier = None, 0, 1
    for offer in merchant.offers.filter(is_active=True):
        if not offer.is_valid_on(day):
            continue
        p = offer.params
        if offer.kind == MerchantOffer.Kind.SPEND_AND_SAVE and amount >= p["threshold"]:
            off = p["off"]
        elif offer.kind == MerchantOffer.Kind.PERCENT_OFF:
            off = amount * p["percent"] // 100
            off = min(off, p["max_off"]) if p.get("max_off") else off
        else:
            if offer.kind == MerchantOffer.Kind.POINTS_MULTIPLIER:
                multiplier = max(multiplier, p["multiplier"])
            continue
        if off > discount:
            chosen, discount = offer, off
    return chosen, discount, multiplier


# --- the card's dynamic QR code ---------------------------------------------------------------


def card_qr_token(card: Card, *, now: datetime.datetime | None = None) -> str:
    """What the app shows for a merchant to scan: the card, a time window and a MAC over both.
    A photographed code is useless a minute later."""
    window = int((now or timezone.now()).timestamp()) // QR_WINDOW_SECONDS
    body = f"{card.number}.{window}"
    return f"CQ1.{body}.{mac(body.encode(), purpose=QR_PURPOSE)[:20]}"


def card_from_qr_token(token: str, *, now: datetime.datetime | None = None) -> Card:
    try:
        marker, number, window, tag = (token or "").strip().split(".")
        window_no = int(window)
    except ValueError as exc:
        raise InvalidInput(_("This is not a citizen card QR code."), details={"field": "token"}) from exc
    body = f"{number}.{window}"
    current = int((now or timezone.now()).timestamp()) // QR_WINDOW_SECONDS
    if marker != "CQ1" or not hmac.compare_digest(tag, mac(body.encode(), purpose=QR_PURPOSE)[:20]):
        raise InvalidInput(_("This is not a citizen card QR code."), details={"field": "token"})
    if window_no not in (current, current - 1):
        raise InvalidInput(
            _("The card QR code has expired; ask the holder to show a fresh one."), details={"field": "token"}
        )
    card = Card.objects.select_related("person").filter(number=number).first()
    if card is None:
        raise NotFound("no such card")
    return card


# --- payments ---------------------------------------------------------------------------------


def _pay(
    *, card: Card, merchant: Merchant, amount: int, key: str, method: str, actor=None
) -> MerchantPayment:
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= MAX_PAYMENT:
        raise InvalidInput(
            f"the amount is a whole number of NT$ from 1 to {MAX_PAYMENT}", details={"field": "amount"}
        )
    if not (key or "").strip():
        raise InvalidInput(_("An Idempotency-Key is required for payments."))
    key = f"{merchant.code}:{key.strip()}"[:120]
    existing = MerchantPayment.objects.filter(key=key).first()
    if existing is not None:
        if (existing.card_id, existing.amount) != (card.pk, amount):
            raise InvalidInput(_("This Idempotency-Key was used for another payment."))
        return existing
    if not merchant.is_active:
        raise CardStateConflict(_("The merchant is not accepting card payments."))
    now = timezone.now()
    if not card.is_usable_at(now):
        raise CardStateConflict(_("This card cannot pay."), details={"state": card.state})
    offer, discount, multiplier = best_offer(merchant, amount, timezone.localtime(now).date())
    paid = amount - discount
    purse = purse_code(card.number, "TWD")
    available = payments.accounts_available_for_update([purse]).get(purse, 0)
    if available < paid:
        raise InvalidInput(_("The card's balance is too low."), details={"available": available, "due": paid})
    result = payments.transfer_create(
        request=payments.TransferRequest(idempotency_key=f"mpay:{key}"[:120], debit_account=purse,
                                         credit_account=merchant_account(merchant), amount=paid,
                                         reference=merchant.code, memo=f"{method} {amount}-{discount}"),
        actor=actor,
    )  # fmt: skip
    if result.status == "failed":
        raise InvalidInput(f"payment refused: {result.error}", details={"ledger": result.error})
    earned = paid // 100 * POINTS_PER_NT100 * multiplier
    try:
        with transaction.atomic():
            payment = MerchantPayment.objects.create(
                merchant=merchant, card=card, method=method, amount=amount, discount=discount, paid=paid,
                offer=offer, points_earned=earned, key=key, created_at=now,
            )  # fmt: skip
    except IntegrityError:  # the same key concurrently; the ledger transfer above was its replay
        return MerchantPayment.objects.get(key=key)
    if earned:
        points.points_earn(
            card=card, points=earned, reason=f"{merchant.name} NT${paid}", key=f"mpay:{payment.pk}"
        )
    return payment


@transaction.atomic
def pay_by_merchant_qr(*, actor, card: Card, merchant_code: str, amount: int, key: str) -> MerchantPayment:
    """The holder scanned the merchant's QR code in the app and confirmed the amount."""
    if card.person.user_id != getattr(actor, "pk", None):
        raise NotFound("no such card")
    merchant = Merchant.objects.filter(code=merchant_code).first()
    if merchant is None:
        raise NotFound("no such merchant")
    return _pay(card=card, merchant=merchant, amount=amount, key=key, method=MerchantPayment.Method.MERCHANT_QR,
                actor=actor)  # fmt: skip


@transaction.atomic
def charge_card_qr(*, api_key, token: str, amount: int, key: str) -> MerchantPayment:
    """The merchant's terminal scanned the card's QR code shown in the app."""
    merchant = Merchant.objects.filter(api_key=api_key).first()
    if merchant is None:
        raise PermissionDenied("this key belongs to no merchant")
    card = card_from_qr_token(token)
    return _pay(card=card, merchant=merchant, amount=amount, key=key, method=MerchantPayment.Method.CARD_QR)


@transaction.atomic
def merchant_refund(*, api_key, payment: MerchantPayment, key: str) -> MerchantPayment:
    """Give the whole payment back to the card (the merchant's own key only; once)."""
    if payment.merchant.api_key_id != getattr(api_key, "pk", None):
        raise NotFound("no such payment")
    if payment.method == MerchantPayment.Method.REFUND:
        raise InvalidInput("a refund cannot be refunded")
    done = payment.refunds.first()
    if done is not None:
        return done
    result = payments.transfer_create(
        request=payments.TransferRequest(
            idempotency_key=f"mrefund:{payment.key}"[:120], debit_account=merchant_account(payment.merchant),
            credit_account=purse_code(payment.card.number, "TWD"), amount=payment.paid,
            reverses_key=f"mpay:{payment.key}"[:120], reference=payment.merchant.code, memo="refund",
        )
    )  # fmt: skip
    if result.status == "failed":
        raise InvalidInput(f"refund refused: {result.error}", details={"ledger": result.error})
    refund = MerchantPayment.objects.create(
        merchant=payment.merchant, card=payment.card, method=MerchantPayment.Method.REFUND, amount=payment.amount,
        discount=payment.discount, paid=payment.paid, refund_of=payment, key=f"refund:{payment.key}"[:120],
    )  # fmt: skip
    if payment.points_earned:
        held = payments.accounts_available_for_update([purse_code(payment.card.number, "POINT")])
        take = min(payment.points_earned, held.get(purse_code(payment.card.number, "POINT"), 0))
        if take:
            points.points_redeem(card=payment.card, points=take, reason="refund", key=f"mrefund:{payment.pk}")
    return refund


def settlement_report(merchant: Merchant, *, start: datetime.date, end: datetime.date) -> list[dict]:
    """What the city owes the merchant, day by day: sales, discounts given, refunds, net."""
    rows = (
        MerchantPayment.objects.filter(
            merchant=merchant, created_at__date__gte=start, created_at__date__lte=end
        )
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(
            payments=Count("id", filter=~Q(method=MerchantPayment.Method.REFUND)),
            gross=Sum("amount", filter=~Q(method=MerchantPayment.Method.REFUND), default=0),
            discounts=Sum("discount", filter=~Q(method=MerchantPayment.Method.REFUND), default=0),
            received=Sum("paid", filter=~Q(method=MerchantPayment.Method.REFUND), default=0),
            refunds=Sum("paid", filter=Q(method=MerchantPayment.Method.REFUND), default=0),
        )
        .order_by("day")
    )
    return [{**row, "net": row["received"] - row["refunds"]} for row in rows]
