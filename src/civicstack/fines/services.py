"""Writes of the fines module: the business-item catalog, issuing cases, notices, payment,
overdue reminders, transfer to enforcement and cancellation. Each runs in a transaction and
writes its audit event (the case history) in that transaction; other modules call these only."""

import datetime
import unicodedata
from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from civicstack.core import business_number, identity
from civicstack.core.crypto import lookup_digest
from civicstack.core.errors import InvalidInput, NotFound, PermissionDenied
from civicstack.core.models import Agency, Person, StaffRole, User
from civicstack.core.selectors import person_digest, staff_scope
from civicstack.core.services import audit_record, notification_send
from civicstack.payments import services as payments
from civicstack.payments.models import PaymentOrder

from . import case_number
from .errors import AmountOutOfRange, CaseStateConflict, InvalidDocument
from .models import BusinessItem, CaseDocument, FineCase

PAYER_LOOKUP_PURPOSE = "fines-payer"
SOURCE_TYPE = "fines.case"
DEFAULT_PAYMENT_DAYS = 30
LATE_PAYMENT_DAYS = 7  # a fresh order for an overdue case is payable for this long
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024

State = FineCase.State
# An expired order is withdrawn with its case too, so a late payment cannot land on a cancelled case.
PAYABLE_OR_EXPIRED = (PaymentOrder.State.CREATED, PaymentOrder.State.PENDING, PaymentOrder.State.EXPIRED)

ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    State.ISSUED: {State.NOTIFIED, State.PAID, State.CANCELLED},
    State.NOTIFIED: {State.PAID, State.OVERDUE, State.CANCELLED},
    State.OVERDUE: {State.PAID, State.TRANSFERRED, State.CANCELLED},
    # Money can still arrive for a case with the enforcement agency (a late store payment).
    State.TRANSFERRED: {State.PAID},
    State.PAID: set(),
    State.CANCELLED: set(),
}


# --- identifiers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PayerIdentifier:
    kind: str  # FineCase.PayerKind
    number: str  # normalized national ID / resident certificate number, or 統一編號


def parse_payer_identifier(raw: str) -> PayerIdentifier:
    """A national ID or resident certificate number (a person), or an 8-digit 統一編號 (a company)."""
    folded = unicodedata.normalize("NFKC", raw or "").strip().replace(" ", "").replace("-", "")
    if folded.isascii() and folded.isdigit():
        try:
            return PayerIdentifier(
                FineCase.PayerKind.COMPANY, business_number.validate_business_number(folded)
            )
        except ValueError as exc:
            raise InvalidInput(f"unified business number: {exc}", details={"field": "identifier"}) from exc
    try:
        number, _kind = identity.validate(folded)
    except identity.InvalidIdentifier as exc:
        raise InvalidInput(
            f"identification number or unified business number: {exc}", details={"field": "identifier"}
        ) from exc
    return PayerIdentifier(FineCase.PayerKind.PERSON, number)


def payer_digest(identifier: PayerIdentifier) -> str:
    """Keyed hash of the payer's identifier, for the public lookup (never the number itself)."""
    return lookup_digest(f"{identifier.kind}:{identifier.number}", purpose=PAYER_LOOKUP_PURPOSE)


def normalize_name(name: str) -> str:
    return unicodedata.normalize("NFKC", name or "").strip().replace(" ", "").replace("\u3000", "")


# --- access checks ----------------------------------------------------------------------------

ITEM_MANAGERS = (StaffRole.Role.SUPERVISOR, StaffRole.Role.AGENCY_ADMIN, StaffRole.Role.CITY_ADMIN)


def _require_acts_for(actor: User | None, agency_id: int) -> None:
    """``actor=None`` is the system itself (demo data, the remind command, payment callbacks)."""
    if actor is not None and not staff_scope(actor).acts_for(agency_id):
        raise PermissionDenied("you do not act for this agency")


def _transition(case: FineCase, state: str) -> str:
    if state not in ALLOWED_TRANSITIONS[case.state]:
        raise CaseStateConflict(
            f"case {case.number} is {case.state}; it cannot become {state}",
            details={"state": case.state, "requested": state},
        )
    previous, case.state = case.state, state
    return previous


def _lock(case: FineCase) -> FineCase:
    """Lock the case row, then read it with its order in a second statement. One locking query with
    the join would, after waiting for another writer, see the new case row but not the order that
    writer inserted (PostgreSQL re-checks only the locked table), and make a second order."""
    FineCase.objects.select_for_update().filter(pk=case.pk).values_list("pk").get()
    return FineCase.objects.select_related("item", "agency", "payment_order").get(pk=case.pk)


# --- catalog ----------------------------------------------------------------------------------


def _check_amounts(default_amount: int, min_amount: int, max_amount: int) -> None:
    for value in (default_amount, min_amount, max_amount):
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise InvalidInput("amounts are positive whole numbers of NT$")
    if not min_amount <= default_amount <= max_amount:
        raise InvalidInput("amounts must satisfy minimum ≤ default ≤ maximum")


@transaction.atomic
def item_create(
    *, actor: User | None, agency: Agency, code: str, name: str, kind: str, default_amount: int,
    min_amount: int | None = None, max_amount: int | None = None, statute: str = "", article: str = "",
    is_active: bool = True,
) -> BusinessItem:  # fmt: skip
    if actor is not None:
        scope = staff_scope(actor)
        if not (scope.acts_for(agency.pk) and scope.has_role(*ITEM_MANAGERS)):
            raise PermissionDenied("only supervisors and administrators of the agency manage its items")
    code, name = code.strip(), name.strip()
    if not code or not name:
        raise InvalidInput("an item needs a code and a name")
    if kind not in BusinessItem.Kind.values:
        raise InvalidInput("kind must be fee or fine", details={"field": "kind"})
    min_amount = default_amount if min_amount is None else min_amount
    max_amount = default_amount if max_amount is None else max_amount
    _check_amounts(default_amount, min_amount, max_amount)
    if BusinessItem.objects.filter(agency=agency, code=code).exists():
        raise CaseStateConflict(f"the agency already has an item {code}", code="item_exists")
    item = BusinessItem.objects.create(
        agency=agency, code=code, name=name, kind=kind, statute=statute.strip(), article=article.strip(),
        default_amount=default_amount, min_amount=min_amount, max_amount=max_amount, is_active=is_active,
    )  # fmt: skip
    audit_record(actor=actor, action="fines.item.created", obj=item, agency=agency,
                 data={"code": code, "kind": kind, "amounts": [min_amount, default_amount, max_amount]})  # fmt: skip
    return item


ITEM_EDITABLE_FIELDS = {
    "name",
    "statute",
    "article",
    "default_amount",
    "min_amount",
    "max_amount",
    "is_active",
}


@transaction.atomic
def item_update(*, actor: User | None, item: BusinessItem, **changes) -> BusinessItem:
    """Change an item; cases already issued keep the statute and amount they were issued with."""
    unknown = set(changes) - ITEM_EDITABLE_FIELDS
    if unknown:
        raise InvalidInput(f"cannot change {', '.join(sorted(unknown))}")
    if actor is not None:
        scope = staff_scope(actor)
        if not (scope.acts_for(item.agency_id) and scope.has_role(*ITEM_MANAGERS)):
            raise PermissionDenied("only supervisors and administrators of the agency manage its items")
    item = BusinessItem.objects.select_for_update(of=("self",)).get(pk=item.pk)
    changed = [name for name, value in changes.items() if getattr(item, name) != value]
    for name in changed:
        setattr(item, name, changes[name])
    _check_amounts(item.default_amount, item.min_amount, item.max_amount)
    if changed:
        item.save(update_fields=[*changed, "updated_at"])
        audit_record(actor=actor, action="fines.item.updated", obj=item, agency=item.agency,
                     data={name: changes[name] for name in changed})  # fmt: skip
    return item


# --- issuing ----------------------------------------------------------------------------------


@dataclass
class CaseInput:
    item: BusinessItem
    payer_identifier: str
    payer_name: str
    amount: int | None = None  # the item's default when not given
    due_date: datetime.date | None = None  # 30 days from today when not given
    facts: str = ""


def _new_case_number() -> str:
    for _ in range(8):
        number = case_number.generate()
        if not FineCase.objects.filter(number=number).exists():
            return number
    raise CaseStateConflict("could not draw a free case number; try again")  # 31^11 numbers: never


def _order_items(case: FineCase) -> list[payments.OrderItemInput]:
    basis = f" ({case.statute} {case.article})".rstrip() if case.statute else ""
    return [payments.OrderItemInput(description=f"{case.item.name}{basis}"[:200], amount=case.amount)]


def _create_order(*, actor: User | None, case: FineCase, due_date: datetime.date) -> PaymentOrder:
    return payments.payment_order_create(
        actor=actor, payee_agency=case.agency, items=_order_items(case), due_date=due_date,
        payer_name=case.payer_name, payer_person=case.payer_person, payer_company_ban=case.payer_company_ban,
        source_type=SOURCE_TYPE, source_id=str(case.pk), reference=case.number,
    )  # fmt: skip


@transaction.atomic
def case_issue(*, actor: User | None, data: CaseInput) -> FineCase:
    """Issue a case to a person (by national ID: a registered resident or just a name and number)
    or a company (by 統一編號), with its payment order (state created until the notice goes out)."""
    item = data.item
    _require_acts_for(actor, item.agency_id)
    if not item.is_active:
        raise InvalidInput("this business item is no longer in use", details={"field": "item"})
    payer = parse_payer_identifier(data.payer_identifier)
    name = normalize_name(data.payer_name)
    if not name:
        raise InvalidInput("the payer's name is required", details={"field": "payer_name"})
    if len(name) > 120:
        raise InvalidInput("the payer's name is too long", details={"field": "payer_name"})
    person = None
    if payer.kind == FineCase.PayerKind.PERSON:
        person = Person.objects.filter(id_digest=person_digest(payer.number)).first()
        if person is not None and normalize_name(person.name) != name:
            raise InvalidInput(
                "the name does not match the registered resident with this number",
                details={"field": "payer_name"},
            )
    amount = item.default_amount if data.amount is None else data.amount
    if (
        not isinstance(amount, int)
        or isinstance(amount, bool)
        or not item.min_amount <= amount <= item.max_amount
    ):
        raise AmountOutOfRange(
            f"the amount must be between NT${item.min_amount:,} and NT${item.max_amount:,} for this item",
            details={"field": "amount", "min": item.min_amount, "max": item.max_amount},
        )
    today = timezone.localdate()
    due_date = data.due_date or today + datetime.timedelta(days=DEFAULT_PAYMENT_DAYS)
    if due_date < today:
        raise InvalidInput("the due date is in the past", details={"field": "due_date"})
    case = FineCase.objects.create(
        number=_new_case_number(), agency_id=item.agency_id, item=item, kind=item.kind, payer_kind=payer.kind,
        payer_person=person,
        payer_company_ban=payer.number if payer.kind == FineCase.PayerKind.COMPANY else "",
        payer_name=name,
        payer_identifier_masked=identity.mask(payer.number) if payer.kind == FineCase.PayerKind.PERSON else "",
        payer_lookup_digest=payer_digest(payer), statute=item.statute, article=item.article,
        facts=data.facts.strip(), amount=amount, due_date=due_date, issued_by=actor,
    )  # fmt: skip
    case.payment_order = _create_order(actor=actor, case=case, due_date=due_date)
    case.save(update_fields=["payment_order", "updated_at"])
    audit_record(
        actor=actor, action="fines.case.issued", obj=case, agency=case.agency,
        data={"number": case.number, "item": item.code, "kind": case.kind, "payer_kind": payer.kind,
              "amount": amount, "due_date": due_date.isoformat(), "order": case.payment_order.number},
    )  # fmt: skip
    return case


def _payer_user(case: FineCase) -> User | None:
    if case.payer_person_id is None:
        return None
    user = case.payer_person.user
    return user if user is not None and user.is_active else None


def _order_url(case: FineCase) -> str:
    return f"/payments/orders/{case.payment_order.number}/" if case.payment_order_id else "/fines/lookup/"


@transaction.atomic
def case_send_notice(*, actor: User | None, case: FineCase) -> FineCase:
    """The payment notice goes out: the order awaits payment, and a payer with a login gets it in
    their inbox (and by e-mail). Sending again re-sends it without changing the state."""
    case = _lock(case)
    _require_acts_for(actor, case.agency_id)
    if case.state not in (State.ISSUED, State.NOTIFIED, State.OVERDUE):
        raise CaseStateConflict(f"case {case.number} is {case.state}; no notice can be sent")
    _ensure_payable_order(actor=actor, case=case)
    first = case.state == State.ISSUED
    if first:
        _transition(case, State.NOTIFIED)
        case.notified_at = timezone.now()
        case.save(update_fields=["state", "notified_at", "updated_at"])
    user = _payer_user(case)
    if user is not None:
        notification_send(
            recipient=user,
            subject=f"繳款通知 Payment notice {case.number}",
            body=(f"{case.agency.name_zh}:{case.item.name} NT${case.amount:,},"
                  f"繳費期限 {case.due_date:%Y-%m-%d}。Amount NT${case.amount:,}, due {case.due_date:%Y-%m-%d}."),
            url=_order_url(case),
        )  # fmt: skip
    audit_record(
        actor=actor, action="fines.case.notified" if first else "fines.case.notice_resent", obj=case,
        agency=case.agency, data={"order": case.payment_order.number, "in_app": user is not None},
    )  # fmt: skip
    return case


def _ensure_payable_order(*, actor: User | None, case: FineCase) -> PaymentOrder:
    """The case's order if it can still be paid (issued if needed), else a fresh one: an overdue
    case whose order expired gets a new order due in a week; the expired one stays as it was."""
    order = case.payment_order
    if order is not None and order.is_payable:
        if order.state == PaymentOrder.State.CREATED:
            case.payment_order = order = payments.payment_order_issue(actor=actor, order=order)
        return order
    today = timezone.localdate()
    due = max(case.due_date, today + datetime.timedelta(days=LATE_PAYMENT_DAYS))
    previous = order.number if order is not None else ""
    order = _create_order(actor=actor, case=case, due_date=due)
    order = payments.payment_order_issue(actor=actor, order=order)
    case.payment_order = order
    case.save(update_fields=["payment_order", "updated_at"])
    audit_record(actor=actor, action="fines.case.order_reissued", obj=case, agency=case.agency,
                 data={"order": order.number, "previous_order": previous, "due_date": due.isoformat()})  # fmt: skip
    return order


@transaction.atomic
def case_payment_order_ensure(*, case: FineCase) -> PaymentOrder:
    """For the public "pay" button: the case's payable order, created or issued as needed.
    Idempotent: asking again returns the same order."""
    case = _lock(case)
    if not case.is_payable:
        raise CaseStateConflict(f"case {case.number} is {case.get_state_display()}; nothing to pay",
                                details={"state": case.state})  # fmt: skip
    return _ensure_payable_order(actor=None, case=case)


# --- payment ----------------------------------------------------------------------------------


def handle_order_paid(order: PaymentOrder) -> None:
    """payments calls this inside the settlement's transaction. It never refuses: the money has
    arrived, so an unexpected state is recorded for staff to act on (e.g. refund a double payment)."""
    case = (
        FineCase.objects.select_for_update(of=("self",)).select_related("agency").filter(pk=int(order.source_id)).first()
        if order.source_id.isdigit() else None
    )  # fmt: skip
    if case is None:
        audit_record(actor=None, action="fines.case.payment_unmatched", object_type="fines.finecase",
                     object_id=order.source_id, agency=order.payee_agency, data={"order": order.number})  # fmt: skip
        return
    data = {"order": order.number, "channel": order.channel, "amount": order.paid_amount}
    if State.PAID not in ALLOWED_TRANSITIONS[case.state]:
        audit_record(actor=None, action="fines.case.payment_unexpected", obj=case, agency=case.agency,
                     data={**data, "state": case.state})  # fmt: skip
        return
    previous = _transition(case, State.PAID)
    case.paid_at = order.paid_at or timezone.now()
    case.save(update_fields=["state", "paid_at", "updated_at"])
    audit_record(actor=None, action="fines.case.paid", obj=case, agency=case.agency,
                 data={**data, "previous_state": previous})  # fmt: skip


# --- overdue and reminders --------------------------------------------------------------------


@dataclass(frozen=True)
class OverdueRun:
    marked_overdue: int
    reminders_sent: int


def cases_mark_overdue(*, today: datetime.date | None = None, batch_size: int = 500) -> OverdueRun:
    """Cases whose notice went out and whose due date has passed become overdue, and the payer gets
    one reminder. Idempotent: a case already overdue is not touched again, so running it twice a
    day sends nothing twice. Each batch is its own transaction, locked in primary-key order."""
    today = today or timezone.localdate()
    marked = reminders = 0
    while True:
        with transaction.atomic():
            batch = list(
                FineCase.objects.select_for_update(of=("self",))
                .filter(state=State.NOTIFIED, due_date__lt=today)
                .select_related("agency", "item", "payer_person__user", "payment_order")
                .order_by("id")[:batch_size]
            )
            if not batch:
                break
            now = timezone.now()
            for case in batch:
                _transition(case, State.OVERDUE)
                user = _payer_user(case) if case.reminded_at is None else None
                if user is not None:
                    notification_send(
                        recipient=user,
                        subject=f"逾期催繳 Overdue reminder {case.number}",
                        body=(f"{case.agency.name_zh}:{case.item.name} NT${case.amount:,} 已逾繳費期限 "
                              f"{case.due_date:%Y-%m-%d},請儘速繳納。The payment was due on "
                              f"{case.due_date:%Y-%m-%d}; please pay as soon as possible."),
                        url=f"/fines/lookup/?case_number={case.number}",
                    )  # fmt: skip
                    reminders += 1
                if case.reminded_at is None:
                    case.reminded_at = now
                case.save(update_fields=["state", "reminded_at", "updated_at"])
                audit_record(actor=None, action="fines.case.overdue", obj=case, agency=case.agency,
                             data={"due_date": case.due_date.isoformat(), "reminded_in_app": user is not None})  # fmt: skip
                marked += 1
    return OverdueRun(marked, reminders)


# --- enforcement and cancellation -------------------------------------------------------------


def case_history(case: FineCase) -> list[dict]:
    from .selectors import case_events  # selectors import services' constants; keep the cycle lazy

    return [
        {"at": event.created_at.isoformat(), "action": event.action, "actor": event.actor_username}
        for event in case_events(case)
    ]


@transaction.atomic
def case_transfer_to_enforcement(*, actor: User | None, case: FineCase, reason: str) -> FineCase:
    """Transfer an unpaid, overdue fine to the Administrative Enforcement Agency (移送行政執行).
    Fees are not enforced this way. The transfer event carries the case history up to now."""
    if not reason.strip():
        raise InvalidInput("a reason is required", details={"field": "reason"})
    case = _lock(case)
    _require_acts_for(actor, case.agency_id)
    if case.kind != BusinessItem.Kind.FINE:
        raise CaseStateConflict("only fines are transferred to enforcement, not fees", code="not_a_fine")
    if case.state != State.OVERDUE:
        raise CaseStateConflict(
            f"only overdue fines are transferred; case {case.number} is {case.state}",
            details={"state": case.state},
        )
    history = case_history(case)
    _transition(case, State.TRANSFERRED)
    case.enforcement_transferred_at = timezone.now()
    case.closing_reason = reason.strip()
    case.save(update_fields=["state", "enforcement_transferred_at", "closing_reason", "updated_at"])
    audit_record(
        actor=actor, action="fines.case.transferred_to_enforcement", obj=case, agency=case.agency,
        reason=reason.strip(),
        data={"amount": case.amount, "due_date": case.due_date.isoformat(), "statute": case.statute,
              "article": case.article, "order": case.payment_order.number if case.payment_order_id else "",
              "history": history},
    )  # fmt: skip
    return case


@transaction.atomic
def case_cancel(*, actor: User | None, case: FineCase, reason: str) -> FineCase:
    """Cancel a case (e.g. issued in error, or the decision was revoked), and its payment order."""
    if not reason.strip():
        raise InvalidInput("a reason is required", details={"field": "reason"})
    case = _lock(case)
    _require_acts_for(actor, case.agency_id)
    previous = _transition(case, State.CANCELLED)
    order = case.payment_order
    if order is not None and order.state in PAYABLE_OR_EXPIRED:
        case.payment_order = payments.payment_order_cancel(actor=actor, order=order, reason=reason.strip())
    # An expired order cannot be cancelled in payments; a late payment on it is recorded on the
    # case as fines.case.payment_unexpected for staff to refund.
    case.closing_reason = reason.strip()
    case.save(update_fields=["state", "closing_reason", "updated_at"])
    audit_record(actor=actor, action="fines.case.cancelled", obj=case, agency=case.agency,
                 reason=reason.strip(), data={"previous_state": previous})  # fmt: skip
    return case


# --- documents --------------------------------------------------------------------------------

_SIGNATURES = (
    (b"%PDF-", CaseDocument.ContentType.PDF, {".pdf"}),
    (b"\xff\xd8\xff", CaseDocument.ContentType.JPEG, {".jpg", ".jpeg"}),
    (b"\x89PNG\r\n\x1a\n", CaseDocument.ContentType.PNG, {".png"}),
)


@transaction.atomic
def case_document_add(
    *, actor: User | None, case: FineCase, upload: UploadedFile, description: str = ""
) -> CaseDocument:
    """Attach a PDF, JPEG or PNG of at most 10 MB; the type is read from the file's first bytes,
    not trusted from the browser, and must agree with the file name's extension."""
    _require_acts_for(actor, case.agency_id)
    if upload.size is None or upload.size == 0:
        raise InvalidDocument("the file is empty")
    if upload.size > MAX_DOCUMENT_BYTES:
        raise InvalidDocument("the file is larger than 10 MB", details={"max_bytes": MAX_DOCUMENT_BYTES})
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    name = (upload.name or "document").rsplit("/", 1)[-1][-200:]
    extension = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    for signature, content_type, extensions in _SIGNATURES:
        if head.startswith(signature):
            if extension not in extensions:
                raise InvalidDocument(
                    f"the file is a {content_type.label} but is named {extension or 'without extension'}"
                )
            break
    else:
        raise InvalidDocument("only PDF, JPEG and PNG files are accepted")
    document = CaseDocument(case=case, original_name=name, content_type=content_type, size=upload.size,
                            description=description.strip()[:200], uploaded_by=actor)  # fmt: skip
    document.file.save(f"{case.number}{extension}", upload, save=False)
    try:
        document.save()
    except IntegrityError as exc:  # pragma: no cover - only a vanished case gets here
        raise NotFound("case not found") from exc
    audit_record(actor=actor, action="fines.case.document_added", obj=case, agency=case.agency,
                 data={"document": document.pk, "type": content_type, "size": upload.size})  # fmt: skip
    return document
