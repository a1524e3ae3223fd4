"""Payments API: orders and their payment options, e-wallet and card payment, the gateway's
callback, settlement imports, and the ledger's batch transfer endpoint for partners."""

import datetime

from django.http import HttpRequest
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile
from pydantic import Field

from civicstack.core.api_support import (
    ERROR_RESPONSES,
    USER_AUTH,
    USER_OR_PARTNER_AUTH,
    require_scope,
    require_user,
)
from civicstack.core.errors import NotFound, PermissionDenied
from civicstack.core.identity import mask_name
from civicstack.core.selectors import person_of_user, staff_scope
from civicstack.core.services import register_api_key_scopes

from . import channels_config, selectors, services
from .ledger import MAX_BATCH, TransferRequest
from .models import Transfer

router = Router(tags=["payments"])

register_api_key_scopes({"payments.transfers:write": "Post ledger transfers (card readers, partner systems)"})


class OrderItemOut(Schema):
    description: str
    amount: int


class StoreBarcodesOut(Schema):
    bc1: str
    bc2: str
    bc3: str


class OrderOut(Schema):
    number: str
    payee_agency_code: str
    payee_agency_name: str
    payer_name: str
    amount: int
    due_date: datetime.date
    state: str
    channel: str
    paid_at: datetime.datetime | None
    items: list[OrderItemOut]
    virtual_account: str | None
    store_barcodes: StoreBarcodesOut | None
    notice_pdf_url: str
    payment_page_url: str


def order_out(order) -> dict:
    barcodes = channels_config.store_barcodes(order) if order.is_payable else None
    return {
        "number": order.number, "payee_agency_code": order.payee_agency.code,
        "payee_agency_name": order.payee_agency.name, "payer_name": mask_name(order.payer_name),
        "amount": order.amount, "due_date": order.due_date, "state": order.state, "channel": order.channel,
        "paid_at": order.paid_at, "items": list(order.items.all()),
        "virtual_account": order.virtual_account or None,
        "store_barcodes": {"bc1": barcodes.bc1, "bc2": barcodes.bc2, "bc3": barcodes.bc3} if barcodes else None,
        "notice_pdf_url": f"/payments/orders/{order.number}/notice.pdf",
        "payment_page_url": f"/payments/orders/{order.number}/",
    }  # fmt: skip


def _order(number: str):
    order = selectors.order_by_number(number)
    if order is None:
        raise NotFound("payment order not found")
    return order


@router.get("/orders/{number}", response={200: OrderOut, **ERROR_RESPONSES}, auth=None)
def order_detail(request: HttpRequest, number: str):
    """An order by the number printed on its notice (the payer's name is masked)."""
    return order_out(_order(number))


@router.get("/my/orders", response={200: list[OrderOut], **ERROR_RESPONSES}, auth=USER_AUTH)
def my_orders(request: HttpRequest):
    return [order_out(order) for order in selectors.orders_of_user(require_user(request))[:200]]


class CheckoutOut(Schema):
    redirect_url: str
    gateway_reference: str


@router.post("/orders/{number}/checkout", response={200: CheckoutOut, **ERROR_RESPONSES}, auth=None)
def order_checkout(request: HttpRequest, number: str):
    """Start an online card payment; send the payer to ``redirect_url``."""
    order = _order(number)
    checkout = services.payment_order_start_checkout(actor=None, order=order)
    separator = "&" if "?" in checkout.redirect_url else "?"
    return {"redirect_url": f"{checkout.redirect_url}{separator}order={order.number}",
            "gateway_reference": checkout.gateway_reference}  # fmt: skip


@router.post("/orders/{number}/wallet", response={200: OrderOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def order_pay_wallet(request: HttpRequest, number: str):
    """Pay from the logged-in citizen's e-wallet; refused with nothing moved if it holds too little."""
    person = person_of_user(require_user(request))
    if person is None:
        raise PermissionDenied("this login has no resident record, so no e-wallet")
    order = services.payment_order_pay_from_wallet(actor=request.user, order_number=_order(number).number,
                                                   person=person)  # fmt: skip
    return order_out(selectors.order_by_number(order.number))


class AckOut(Schema):
    ok: bool
    order_state: str | None


@router.post("/gateway/notify", response={200: AckOut, **ERROR_RESPONSES}, auth=None)
def gateway_notify(request: HttpRequest):
    """The card gateway's signed server-to-server notification. Safe to retry."""
    order = services.gateway_notification_receive(body=request.body, headers=request.headers)
    return {"ok": True, "order_state": order.state if order else None}


class SettlementOut(Schema):
    id: int
    filename: str
    format: str
    created_at: datetime.datetime
    matched: int
    matched_amount: int
    duplicate: int
    unknown: int
    amount_mismatch: int
    unreadable: int
    report: list[dict]


@router.post("/settlements", response={200: SettlementOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def settlement_import(request: HttpRequest, format: Form[str], file: File[UploadedFile]):  # noqa: A002
    """Import a settlement file (``store-fixed`` or ``csv``; see docs/payments-formats.md) and
    reconcile it. Re-importing the same file returns the first import."""
    if not selectors.can_reconcile(require_user(request)):
        raise PermissionDenied(
            "only city administrators and reconciliation staff may import settlement files"
        )
    return services.settlement_import(
        actor=request.user, data=file.read(), format=format, filename=file.name or ""
    )


@router.get(
    "/settlements/{int:settlement_id}", response={200: SettlementOut, **ERROR_RESPONSES}, auth=USER_AUTH
)
def settlement_detail(request: HttpRequest, settlement_id: int):
    if not selectors.can_reconcile(require_user(request)):
        raise NotFound("settlement import not found")
    record = selectors.settlement_by_id(settlement_id)
    if record is None:
        raise NotFound("settlement import not found")
    return record


class TransferIn(Schema):
    idempotency_key: str = Field(min_length=1, max_length=120)
    debit_account: str = Field("", max_length=80)
    credit_account: str = Field("", max_length=80)
    amount: int = Field(0, ge=0, le=10**12)
    kind: Transfer.Kind = Transfer.Kind.POSTED
    pending_key: str = Field("", max_length=120)
    timeout_seconds: int | None = Field(None, ge=1, le=90 * 24 * 3600)
    reverses_key: str = Field("", max_length=120)
    linked: bool = False
    reference: str = Field("", max_length=80)
    memo: str = Field("", max_length=200)


class TransferBatchIn(Schema):
    transfers: list[TransferIn] = Field(min_length=1, max_length=MAX_BATCH)


class TransferResultOut(Schema):
    idempotency_key: str
    status: str
    error: str
    transfer_id: int | None


@router.post(
    "/transfers", response={200: list[TransferResultOut], **ERROR_RESPONSES}, auth=USER_OR_PARTNER_AUTH
)
def transfers_create(request: HttpRequest, payload: TransferBatchIn):
    """Post a batch of ledger transfers atomically (partners with ``payments.transfers:write``, or
    city administrators). Each transfer's ``idempotency_key`` makes retries safe: a replay answers
    ``exists`` and moves nothing. ``linked`` chains a transfer with the next: both or neither."""
    api_key = require_scope(request, "payments.transfers:write")
    if api_key is None and not staff_scope(require_user(request)).has_role("city_admin"):
        raise PermissionDenied(
            "only partners with payments.transfers:write and city administrators post transfers"
        )
    requests = [TransferRequest(**item.dict()) for item in payload.transfers]
    return services.transfers_create(requests=requests, actor=None if api_key else request.user)


class AccountOut(Schema):
    code: str
    name: str
    unit: str
    balance: int
    available: int
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int


@router.get("/accounts/{code}", response={200: AccountOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def account_detail(request: HttpRequest, code: str):
    """A ledger account: the holder's own purse, or any account for city administrators."""
    account = selectors.access_account_by_code(require_user(request), code)
    return account
