"""Writes of the payments module: ledger accounts and transfers, payment orders and their
settlement through every channel. Other modules call these, never the models."""

import datetime
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from civicstack.core.identity import mask_name
from civicstack.core.models import Agency, Person
from civicstack.core.services import audit_record

from . import channels_config, ledger, selectors
from .channels import gateway as gateway_channel
from .channels import notice_pdf, settlement
from .errors import OrderStateConflict, PaymentRefused
from .lock_objects import order_for_update
from .models import Account, PaymentOrder, PaymentOrderItem, SettlementImport, Transfer

TransferRequest = ledger.TransferRequest
TransferResult = ledger.TransferResult

# --- accounts ---------------------------------------------------------------------------------

CLEARING_ACCOUNTS = {
    PaymentOrder.Channel.CONVENIENCE_STORE: "clearing:convenience_store",
    PaymentOrder.Channel.VIRTUAL_ACCOUNT: "clearing:virtual_account",
    PaymentOrder.Channel.CARD_GATEWAY: "clearing:card_gateway",
    PaymentOrder.Channel.COUNTER: "clearing:counter",
}


def account_get_or_create(
    *, code: str, name: str, unit: str = Account.Unit.TWD, agency: Agency | None = None, person: Person | None = None,
    debits_must_not_exceed_credits: bool = False, credits_must_not_exceed_debits: bool = False,
) -> Account:  # fmt: skip
    try:
        with transaction.atomic():
            account, _ = Account.objects.get_or_create(
                code=code,
                defaults={
                    "name": name, "unit": unit, "agency": agency, "person": person,
                    "debits_must_not_exceed_credits": debits_must_not_exceed_credits,
                    "credits_must_not_exceed_debits": credits_must_not_exceed_debits,
                },
            )  # fmt: skip
    except IntegrityError:  # created concurrently
        account = Account.objects.get(code=code)
    return account


def agency_revenue_account(agency: Agency) -> Account:
    return account_get_or_create(
        code=f"agency:{agency.code}:revenue", name=f"{agency.name_zh} 收入", agency=agency
    )


def clearing_account(channel: str) -> Account:
    return account_get_or_create(code=CLEARING_ACCOUNTS[channel], name=f"clearing: {channel}")


def wallet_account(person: Person, unit: str = Account.Unit.TWD) -> Account:
    """A citizen's purse (e-wallet in NT$, or points): it can never go below zero."""
    code = selectors.wallet_code(person.pk, unit)
    return account_get_or_create(
        code=code, name=f"{person.name} {code.rsplit(':', 1)[1]}", unit=unit, person=person,
        debits_must_not_exceed_credits=True,
    )  # fmt: skip


# --- transfers --------------------------------------------------------------------------------


def accounts_available_for_update(codes, *, skip_locked: bool = False) -> dict[str, int]:
    """Lock the accounts (in id order, for the rest of the caller's transaction) and return what
    each can pay now. A module that prices many uses against balances (card taps) locks first, so
    a concurrent batch for the same card waits instead of pricing against a stale balance. With
    ``skip_locked``, accounts another transaction holds are left out instead of waited for (on
    PostgreSQL; SQLite has one writer at a time and leaves none out)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock accounts inside a transaction")
    available = F("credits_posted") - F("debits_posted") - F("debits_pending")
    rows = (
        Account.objects.select_for_update(skip_locked=skip_locked)
        .filter(code__any_of=set(codes))
        .order_by("id")  # the same order as every other locker: no deadlocks
        .values_list("code", available)
    )
    return dict(rows)


def accounts_existing(codes) -> set[str]:
    """Which of these account codes exist (no lock): with ``accounts_available_for_update(...,
    skip_locked=True)`` it tells the accounts another transaction holds from those never opened."""
    return set(Account.objects.filter(code__any_of=set(codes)).values_list("code", flat=True))


def transfers_create(*, requests: list[TransferRequest], actor=None) -> list[TransferResult]:
    """Apply a batch atomically; see ``ledger.apply_batch``. Replays return the first outcome."""
    return ledger.apply_batch(requests, actor=actor)


def transfer_create(*, request: TransferRequest, actor=None) -> TransferResult:
    return ledger.apply_batch([request], actor=actor)[0]


# --- payment orders ---------------------------------------------------------------------------

ALLOWED_TRANSITIONS = {
    PaymentOrder.State.CREATED: {PaymentOrder.State.PENDING, PaymentOrder.State.PAID, PaymentOrder.State.CANCELLED,
                                 PaymentOrder.State.EXPIRED},
    PaymentOrder.State.PENDING: {PaymentOrder.State.PAID, PaymentOrder.State.CANCELLED, PaymentOrder.State.EXPIRED},
    PaymentOrder.State.PAID: {PaymentOrder.State.REFUNDED},
    # A late payment is still money received; an expired bill can also be withdrawn.
    PaymentOrder.State.EXPIRED: {PaymentOrder.State.PAID, PaymentOrder.State.CANCELLED},
    PaymentOrder.State.CANCELLED: set(),
    PaymentOrder.State.REFUNDED: set(),
}  # fmt: skip

_paid_handlers: dict[str, Callable[[PaymentOrder], None]] = {}


def register_paid_handler(source_type: str, handler: Callable[[PaymentOrder], None]) -> None:
    """A module that creates orders (e.g. fines) is told, inside the same transaction, when one is
    paid. Registered from the module's AppConfig.ready(); explicit, not a Django signal."""
    _paid_handlers[source_type] = handler


@dataclass(frozen=True)
class OrderItemInput:
    description: str
    amount: int


def _new_order_number(today: datetime.date) -> str:
    # 16 digits, so the number is also the convenience-store bill number (BC2): yymmdd + 10 random.
    return f"{today:%y%m%d}{secrets.randbelow(10**10):010d}"


def _transition(order: PaymentOrder, state: str) -> None:
    if state not in ALLOWED_TRANSITIONS[order.state]:
        raise OrderStateConflict(
            f"order {order.number} is {order.state}; it cannot become {state}",
            details={"state": order.state, "requested": state},
        )
    order.state = state


@transaction.atomic
def payment_order_create(
    *, actor, payee_agency: Agency, items: list[OrderItemInput], due_date: datetime.date, payer_name: str,
    payer_person: Person | None = None, payer_company_ban: str = "", source_type: str = "", source_id: str = "",
    reference: str = "",
) -> PaymentOrder:  # fmt: skip
    if not items:
        raise PaymentRefused("an order needs at least one item")
    for item in items:
        if not isinstance(item.amount, int) or isinstance(item.amount, bool) or item.amount <= 0:
            raise PaymentRefused("every item amount must be a positive whole number of NT$")
        if not item.description.strip():
            raise PaymentRefused("every item needs a description")
    if not payer_name.strip():
        raise PaymentRefused("the payer's name is required")
    total = sum(item.amount for item in items)
    for _ in range(5):
        number = _new_order_number(timezone.localdate())
        if not PaymentOrder.objects.filter(number=number).exists():
            break
    else:  # five collisions in 10^10 numbers a day: something is wrong, do not guess on
        raise OrderStateConflict("could not allocate a payment order number; try again")
    order = PaymentOrder.objects.create(
        number=number, payee_agency=payee_agency, payer_person=payer_person, payer_company_ban=payer_company_ban,
        payer_name=payer_name.strip(), amount=total, due_date=due_date, source_type=source_type,
        source_id=str(source_id), reference=reference,
    )  # fmt: skip
    PaymentOrderItem.objects.bulk_create(
        PaymentOrderItem(order=order, description=item.description.strip(), amount=item.amount)
        for item in items
    )
    # The order's own ATM account: a transfer of the wrong amount into it is caught by its check digit.
    order.virtual_account = channels_config.virtual_account_rule().make(
        serial=order.pk, amount=total, due_date=due_date
    )
    order.save(update_fields=["virtual_account"])
    audit_record(actor=actor, action="payment_order.created", obj=order, agency=payee_agency,
                 data={"amount": total, "source": f"{source_type}:{source_id}"})  # fmt: skip
    return order


@transaction.atomic
def payment_order_issue(*, actor, order: PaymentOrder) -> PaymentOrder:
    """The notice has gone out (printed, e-mailed, shown in the app): the order awaits payment."""
    order = order_for_update(PaymentOrder.objects, pk=order.pk)
    if order.state == PaymentOrder.State.PENDING:
        return order
    _transition(order, PaymentOrder.State.PENDING)
    order.save(update_fields=["state", "updated_at"])
    audit_record(actor=actor, action="payment_order.issued", obj=order, agency=order.payee_agency)
    return order


@transaction.atomic
def payment_order_cancel(*, actor, order: PaymentOrder, reason: str) -> PaymentOrder:
    if not reason.strip():
        raise PaymentRefused("a reason is required to cancel an order")
    order = order_for_update(PaymentOrder.objects, pk=order.pk)
    _transition(order, PaymentOrder.State.CANCELLED)
    order.save(update_fields=["state", "updated_at"])
    audit_record(
        actor=actor, action="payment_order.cancelled", obj=order, agency=order.payee_agency, reason=reason
    )
    return order


@transaction.atomic
def payment_orders_expire(*, today: datetime.date | None = None) -> int:
    """Orders past their due date and still unpaid become expired (a late payment is still accepted)."""
    today = today or timezone.localdate()
    expired = 0
    for order in (
        PaymentOrder.objects.select_for_update()
        .filter(state__in=[PaymentOrder.State.CREATED, PaymentOrder.State.PENDING], due_date__lt=today)
        .order_by("id")
    ):
        order.state = PaymentOrder.State.EXPIRED
        order.save(update_fields=["state", "updated_at"])
        audit_record(actor=None, action="payment_order.expired", obj=order, agency=order.payee_agency)
        expired += 1
    return expired


@transaction.atomic
def payment_order_settle(
    *, actor, order_number: str, channel: str, amount: int, paid_at: datetime.datetime | None = None,
    external_reference: str = "", debit_account: Account | None = None,
) -> PaymentOrder:  # fmt: skip
    """Record money received for an order: post it to the ledger and mark the order paid.

    Idempotent: settling an order already paid through the same channel and reference returns
    it unchanged. The ledger transfer's key is derived from the order, so it can never post twice.
    """
    order = order_for_update(PaymentOrder.objects.select_related("payee_agency"), number=order_number)
    if order is None:
        raise PaymentRefused(f"no payment order {order_number}")
    if order.state == PaymentOrder.State.PAID:
        if order.channel == channel and order.external_reference == external_reference:
            return order
        raise OrderStateConflict(f"order {order.number} is already paid", details={"channel": order.channel})
    if amount != order.amount:
        raise PaymentRefused(
            f"amount {amount} does not match the order's {order.amount}", details={"expected": order.amount}
        )
    _transition(order, PaymentOrder.State.PAID)
    source = debit_account or clearing_account(channel)
    result = ledger.apply_batch(
        [
            TransferRequest(
                idempotency_key=f"order:{order.number}:paid", debit_account=source.code,
                credit_account=agency_revenue_account(order.payee_agency).code, amount=amount,
                reference=order.number, memo=f"{channel} {external_reference}"[:200],
            )
        ],
        actor=actor,
    )[0]  # fmt: skip
    if result.status == "failed":
        raise PaymentRefused(f"payment could not be posted: {result.error}", details={"ledger": result.error})
    order.channel, order.paid_amount = channel, amount
    order.paid_at = paid_at or timezone.now()
    order.external_reference = external_reference[:120]
    order.save(
        update_fields=["state", "channel", "paid_amount", "paid_at", "external_reference", "updated_at"]
    )
    audit_record(actor=actor, action="payment_order.paid", obj=order, agency=order.payee_agency,
                 data={"channel": channel, "amount": amount, "transfer": result.transfer_id})  # fmt: skip
    handler = _paid_handlers.get(order.source_type)
    if handler is not None:
        handler(order)
    return order


def payment_order_pay_from_wallet(*, actor, order_number: str, person: Person) -> PaymentOrder:
    """A citizen pays from their card's e-wallet: refused, with nothing moved, if it holds too little."""
    amount = PaymentOrder.objects.filter(number=order_number).values_list("amount", flat=True).first()
    if amount is None:
        raise PaymentRefused(f"no payment order {order_number}")
    return payment_order_settle(
        actor=actor, order_number=order_number, channel=PaymentOrder.Channel.E_WALLET, amount=amount,
        external_reference=f"wallet:{person.pk}", debit_account=wallet_account(person),
    )  # fmt: skip


@transaction.atomic
def payment_order_refund(*, actor, order: PaymentOrder, reason: str) -> PaymentOrder:
    """Refund by reversal: a new transfer back to where the money came from, never an edit."""
    if not reason.strip():
        raise PaymentRefused("a reason is required to refund")
    order = order_for_update(PaymentOrder.objects.select_related("payee_agency"), pk=order.pk)
    _transition(order, PaymentOrder.State.REFUNDED)
    paid = Transfer.objects.select_related("debit_account", "credit_account").get(
        idempotency_key=f"order:{order.number}:paid"
    )
    result = ledger.apply_batch(
        [
            TransferRequest(
                idempotency_key=f"order:{order.number}:refund", debit_account=paid.credit_account.code,
                credit_account=paid.debit_account.code, amount=paid.amount, reverses_key=paid.idempotency_key,
                reference=order.number, memo=reason[:200],
            )
        ],
        actor=actor,
    )[0]  # fmt: skip
    if result.status == "failed":
        raise PaymentRefused(f"refund could not be posted: {result.error}")
    order.save(update_fields=["state", "updated_at"])
    audit_record(
        actor=actor, action="payment_order.refunded", obj=order, agency=order.payee_agency, reason=reason
    )
    return order


# --- channels ---------------------------------------------------------------------------------


def payment_notice_pdf(*, order: PaymentOrder, city_name: str) -> bytes:
    notice = notice_pdf.PaymentNotice(
        city_name=city_name, agency_name=order.payee_agency.name_zh, payer_name=mask_name(order.payer_name),
        order_number=order.number, items=[(item.description, item.amount) for item in order.items.all()],
        total=order.amount, due_date=order.due_date, barcodes=channels_config.store_barcodes(order),
        virtual_account=order.virtual_account or None,
        payment_url=f"{settings.PUBLIC_BASE_URL}/payments/orders/{order.number}/", issued_on=timezone.localdate(),
    )  # fmt: skip
    return notice_pdf.render_payment_notice(notice)


def payment_order_start_checkout(*, actor, order: PaymentOrder) -> gateway_channel.Checkout:
    """Send the payer to the card gateway; the gateway's signed notification settles the order."""
    if not order.is_payable:
        raise OrderStateConflict(f"order {order.number} is {order.state}", details={"state": order.state})
    if order.state == PaymentOrder.State.CREATED:
        payment_order_issue(actor=actor, order=order)
    base = settings.PUBLIC_BASE_URL
    return channels_config.card_gateway().start_checkout(
        order_number=order.number, amount=order.amount, description=f"{order.payee_agency.name_zh} {order.number}",
        return_url=f"{base}/payments/orders/{order.number}/", notify_url=f"{base}/api/v1/payments/gateway/notify",
    )  # fmt: skip


def gateway_notification_receive(*, body: bytes, headers) -> PaymentOrder | None:
    """Verify and apply a gateway callback. Replays (gateways retry) change nothing."""
    try:
        notification = channels_config.card_gateway().parse_notification(body=body, headers=headers)
    except gateway_channel.InvalidNotification as exc:
        raise PaymentRefused(f"gateway notification refused: {exc}") from exc
    if notification.status != "paid":
        return None
    return payment_order_settle(
        actor=None, order_number=notification.order_number, channel=PaymentOrder.Channel.CARD_GATEWAY,
        amount=notification.amount, paid_at=notification.paid_at, external_reference=notification.gateway_reference,
    )  # fmt: skip


def _order_ref(reference: str) -> settlement.OrderRef | None:
    order = (
        PaymentOrder.objects.filter(number=reference).first()
        or PaymentOrder.objects.filter(virtual_account=reference).first()
    )
    if order is None:
        return None
    return settlement.OrderRef(
        number=order.number, reference=reference, amount=order.amount, state=order.state
    )


def _line_report(bucket: str, line, reason: str, order_number: str = "") -> dict:
    return {
        "bucket": bucket, "line": line.line_number, "reference": getattr(line, "reference", ""),
        "amount": getattr(line, "amount", None), "order": order_number, "reason": reason, "raw": line.raw[:200],
    }  # fmt: skip


def settlement_import(*, actor, data: bytes, format: str, filename: str) -> SettlementImport:  # noqa: A002
    """Reconcile a collection agent's or bank's settlement file: every matched line settles its
    order; duplicates, unknown references, amount mismatches and unreadable lines are kept in the
    report for a clerk to follow up. Importing the same file twice returns the first import."""
    if len(data) > settings.PAYMENTS_MAX_SETTLEMENT_FILE_BYTES:
        raise PaymentRefused("the settlement file is too large")
    digest = hashlib.sha256(data).hexdigest()
    previous = SettlementImport.objects.filter(sha256=digest).first()
    if previous is not None:
        return previous
    try:
        parsed = settlement.parse_settlement(data, format=format)
    except settlement.UnknownFormat as exc:
        raise PaymentRefused(str(exc), details={"formats": ["store-fixed", "csv"]}) from exc
    result = settlement.match_settlement(parsed.lines, _order_ref)
    report = [_line_report("unreadable", error, error.reason) for error in parsed.errors]
    counts = {"duplicate": 0, "unknown": 0, "amount_mismatch": 0, "unreadable": len(parsed.errors)}
    matched = matched_amount = 0
    with transaction.atomic():
        record = SettlementImport.objects.create(
            filename=filename[:200], format=format, sha256=digest, imported_by=actor
        )
        for bucket in ("duplicate", "unknown", "amount_mismatch"):
            for item in getattr(result, bucket):
                counts[bucket] += 1
                report.append(
                    _line_report(bucket, item.line, item.reason, item.order.number if item.order else "")
                )
        for item in result.matched:
            channel = (
                PaymentOrder.Channel.VIRTUAL_ACCOUNT
                if item.line.reference != item.order.number
                else PaymentOrder.Channel.CONVENIENCE_STORE
            )
            try:
                with transaction.atomic():
                    payment_order_settle(
                        actor=actor, order_number=item.order.number, channel=channel, amount=item.line.amount,
                        paid_at=item.line.paid_at, external_reference=f"settlement:{record.pk}:{item.line.line_number}",
                    )  # fmt: skip
            except (PaymentRefused, OrderStateConflict) as exc:
                # Money arrived for an order that cannot take it (e.g. cancelled): keep it visible.
                counts["duplicate"] += 1
                report.append(_line_report("duplicate", item.line, exc.message, item.order.number))
                continue
            matched += 1
            matched_amount += item.line.amount
            report.append(_line_report("matched", item.line, "settled", item.order.number))
        report.sort(key=lambda row: row["line"])
        record.matched, record.matched_amount, record.report = matched, matched_amount, report
        for bucket, count in counts.items():
            setattr(record, bucket, count)
        record.save()
        audit_record(actor=actor, action="settlement.imported", obj=record,
                     data={"matched": matched, **counts, "amount": matched_amount})  # fmt: skip
    return record
