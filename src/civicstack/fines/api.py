"""Fines and fees API: the public lookup and "pay" endpoints, and the staff endpoints for the
item catalog, cases, statistics and the Excel export. Thin: parse, call selectors/services."""

import datetime
from typing import Literal

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate
from pydantic import Field

from civicstack.core import services as core_services
from civicstack.core.api_support import ERROR_RESPONSES, USER_AUTH, Pagination, require_staff
from civicstack.core.errors import InvalidInput, NotFound
from civicstack.core.identity import mask_name
from civicstack.core.models import Agency

from . import selectors, services
from .export import MAX_EXPORT_ROWS, cases_workbook
from .models import BusinessItem, FineCase
from .throttle import LOOKUP_RATE, LookupThrottle

router = Router(tags=["fines"])

# Literal types rather than the models' TextChoices: OpenAPI names an enum after its class, and
# "Kind" or "State" would collide with other modules' enums of the same name.
ItemKind = Literal["fee", "fine"]
CaseState = Literal["issued", "notified", "paid", "overdue", "transferred", "cancelled"]
PayerKind = Literal["person", "company"]


PUBLIC_THROTTLE = [LookupThrottle(LOOKUP_RATE)]


def payment_page_url(order_number: str) -> str:
    return f"/payments/orders/{order_number}/"


def payment_notice_url(order_number: str) -> str:
    return f"/payments/orders/{order_number}/notice.pdf"


# --- public -----------------------------------------------------------------------------------


class PublicCaseOut(Schema):
    number: str
    agency_name: str
    item_name: str
    kind: str
    statute: str
    article: str
    payer_name_masked: str
    amount: int = Field(description="NT$")
    due_date: datetime.date
    state: str
    state_label: str
    payable: bool
    order_number: str | None
    payment_url: str | None
    notice_url: str | None

    @staticmethod
    def from_case(case: FineCase) -> "PublicCaseOut":
        order = case.payment_order
        # Only an order already sent out is linked; the "pay" endpoint issues one on demand.
        linked = order is not None and order.is_payable and order.state == order.State.PENDING
        return PublicCaseOut(
            number=case.number, agency_name=case.agency.name, item_name=case.item.name, kind=case.kind,
            statute=case.statute, article=case.article, payer_name_masked=mask_name(case.payer_name),
            amount=case.amount, due_date=case.due_date, state=case.state, state_label=str(case.get_state_display()),
            payable=case.is_payable, order_number=order.number if linked else None,
            payment_url=payment_page_url(order.number) if linked else None,
            notice_url=payment_notice_url(order.number) if linked else None,
        )  # fmt: skip


class LookupOut(Schema):
    cases: list[PublicCaseOut]


class LookupQuery(Schema):
    case_number: str | None = Field(None, max_length=20, description="the 12-character case number")
    name: str | None = Field(None, max_length=120, description="payer's name (with identifier)")
    identifier: str | None = Field(
        None, max_length=14, description="payer's national ID, resident certificate number or 統一編號"
    )


@router.get("/lookup", response={200: LookupOut, 429: dict, **ERROR_RESPONSES}, auth=None,
            throttle=PUBLIC_THROTTLE)  # fmt: skip
def lookup(request: HttpRequest, query: Query[LookupQuery]):
    """Public: a case by its number, or a payer's cases by name **and** national ID / 統一編號.
    A name alone is refused (400). No match and a wrong identifier both answer 404. Payer names
    are masked. Limited to 30 requests a minute per address."""
    if query.case_number:
        case = selectors.public_case_by_number(query.case_number)
        cases = [case] if case is not None else []
    elif query.name or query.identifier:
        cases = selectors.public_cases_by_payer(query.name or "", query.identifier or "")
    else:
        raise InvalidInput(
            "give a case number, or the payer's name and national ID / unified business number"
        )
    if not cases:
        raise NotFound("no case matches what you entered")
    return {"cases": [PublicCaseOut.from_case(case) for case in cases]}


class PaymentOrderOut(Schema):
    case_number: str
    order_number: str
    amount: int
    due_date: datetime.date
    state: str
    payment_url: str
    notice_url: str


@router.post("/cases/{number}/payment-order", response={200: PaymentOrderOut, 429: dict, **ERROR_RESPONSES},
             auth=None, throttle=PUBLIC_THROTTLE)  # fmt: skip
def case_payment_order(request: HttpRequest, number: str):
    """Public, with the case number: the payment order to pay the case with (created or issued as
    needed; asking again returns the same order). 409 when the case is paid, cancelled or with the
    enforcement agency."""
    case = selectors.public_case_by_number(number)
    if case is None:
        raise NotFound("no case matches what you entered")
    order = services.case_payment_order_ensure(case=case)
    return {
        "case_number": case.number, "order_number": order.number, "amount": order.amount,
        "due_date": order.due_date, "state": order.state, "payment_url": payment_page_url(order.number),
        "notice_url": payment_notice_url(order.number),
    }  # fmt: skip


# --- staff: items -----------------------------------------------------------------------------


class ItemOut(Schema):
    id: int
    agency_code: str
    code: str
    name: str
    kind: str
    statute: str
    article: str
    default_amount: int
    min_amount: int
    max_amount: int
    is_active: bool

    @staticmethod
    def resolve_agency_code(item: BusinessItem) -> str:
        return item.agency.code


class ItemFilter(Schema):
    agency: str | None = Field(None, max_length=20, description="agency code")
    kind: ItemKind | None = None
    active: bool | None = None
    q: str | None = Field(None, max_length=60, description="part of the name or code")


@router.get("/items", response={200: list[ItemOut], **ERROR_RESPONSES}, auth=USER_AUTH)
@paginate(Pagination)
def item_list(request: HttpRequest, filters: Query[ItemFilter]):
    """Staff: the business items of the agencies they act for."""
    require_staff(request)
    items = selectors.items_visible_to_staff(request.user).order_by("agency__code", "code")
    if filters.agency:
        items = items.filter(agency__code=filters.agency)
    if filters.kind:
        items = items.filter(kind=filters.kind)
    if filters.active is not None:
        items = items.filter(is_active=filters.active)
    if filters.q:
        items = items.filter(name__icontains=filters.q) | items.filter(code__icontains=filters.q)
    return items


class ItemIn(Schema):
    agency_code: str = Field(max_length=20)
    code: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1, max_length=120)
    kind: ItemKind
    statute: str = Field("", max_length=120)
    article: str = Field("", max_length=60)
    default_amount: int = Field(gt=0, le=100_000_000)
    min_amount: int | None = Field(None, gt=0, le=100_000_000)
    max_amount: int | None = Field(None, gt=0, le=100_000_000)


@router.post("/items", response={201: ItemOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def item_create(request: HttpRequest, payload: ItemIn):
    """Supervisors and administrators: add an item to their agency's catalog."""
    scope = require_staff(request)
    agency = Agency.objects.filter(code=payload.agency_code).first()
    if agency is None or not scope.acts_for(agency.pk):
        raise NotFound("agency not found")
    item = services.item_create(actor=request.user, agency=agency, **payload.dict(exclude={"agency_code"}))
    return Status(201, item)


class ItemPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=120)
    statute: str | None = Field(None, max_length=120)
    article: str | None = Field(None, max_length=60)
    default_amount: int | None = Field(None, gt=0, le=100_000_000)
    min_amount: int | None = Field(None, gt=0, le=100_000_000)
    max_amount: int | None = Field(None, gt=0, le=100_000_000)
    is_active: bool | None = None


@router.patch("/items/{int:item_id}", response={200: ItemOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def item_update(request: HttpRequest, item_id: int, payload: ItemPatch):
    """Supervisors and administrators: change an item (issued cases keep what they were issued with)."""
    require_staff(request)
    item = selectors.access_item(request.user, item_id)
    return services.item_update(actor=request.user, item=item, **payload.dict(exclude_none=True))


# --- staff: cases -----------------------------------------------------------------------------


class CaseOut(Schema):
    number: str
    agency_code: str
    agency_name: str
    item_code: str
    item_name: str
    kind: str
    payer_kind: str
    payer_name: str
    payer_identifier: str = Field(description="統一編號, or the masked national ID (A12****789)")
    statute: str
    article: str
    amount: int
    due_date: datetime.date
    state: str
    order_number: str | None
    order_state: str | None
    created_at: datetime.datetime
    paid_at: datetime.datetime | None

    @staticmethod
    def from_case(case: FineCase) -> dict:
        order = case.payment_order
        return {
            "number": case.number, "agency_code": case.agency.code, "agency_name": case.agency.name,
            "item_code": case.item.code, "item_name": case.item.name, "kind": case.kind,
            "payer_kind": case.payer_kind, "payer_name": case.payer_name,
            "payer_identifier": case.payer_company_ban or case.payer_identifier_masked,
            "statute": case.statute, "article": case.article, "amount": case.amount,
            "due_date": case.due_date, "state": case.state,
            "order_number": order.number if order else None, "order_state": order.state if order else None,
            "created_at": case.created_at, "paid_at": case.paid_at,
        }  # fmt: skip


class HistoryOut(Schema):
    at: datetime.datetime
    action: str
    actor: str
    reason: str
    data: dict


class DocumentOut(Schema):
    id: int
    original_name: str
    content_type: str
    size: int
    description: str
    created_at: datetime.datetime


class CaseDetailOut(CaseOut):
    facts: str
    notified_at: datetime.datetime | None
    reminded_at: datetime.datetime | None
    enforcement_transferred_at: datetime.datetime | None
    closing_reason: str
    history: list[HistoryOut]
    documents: list[DocumentOut]


def _case_detail(case: FineCase) -> dict:
    return {
        **CaseOut.from_case(case), "facts": case.facts, "notified_at": case.notified_at,
        "reminded_at": case.reminded_at, "enforcement_transferred_at": case.enforcement_transferred_at,
        "closing_reason": case.closing_reason,
        "history": [
            {"at": e.created_at, "action": e.action, "actor": e.actor_username, "reason": e.reason, "data": e.data}
            for e in selectors.case_events(case)
        ],
        "documents": list(case.documents.all()),
    }  # fmt: skip


class CaseFilterIn(Schema):
    state: CaseState | None = None
    kind: ItemKind | None = None
    item: str | None = Field(None, max_length=20, description="item code")
    agency: str | None = Field(None, max_length=20, description="agency code")
    payer_kind: PayerKind | None = None
    number: str | None = Field(None, max_length=20, description="case number")
    issued_from: datetime.date | None = None
    issued_to: datetime.date | None = None
    due_before: datetime.date | None = None

    def to_filter(self) -> selectors.CaseFilter:
        return selectors.CaseFilter(
            state=self.state, kind=self.kind, item_code=self.item, agency_code=self.agency,
            payer_kind=self.payer_kind, number=self.number, issued_from=self.issued_from,
            issued_to=self.issued_to, due_before=self.due_before,
        )  # fmt: skip


class CasePage(Pagination):
    def paginate_queryset(self, queryset, pagination, request, **params):
        page = super().paginate_queryset(queryset, pagination, request, **params)
        page["items"] = [CaseOut.from_case(case) for case in page["items"]]
        return page


@router.get("/cases", response={200: list[CaseOut], **ERROR_RESPONSES}, auth=USER_AUTH)
@paginate(CasePage)
def case_list(request: HttpRequest, filters: Query[CaseFilterIn]):
    """Staff: cases of the agencies they act for, newest first, with filters."""
    require_staff(request)
    return selectors.cases_filtered(request.user, filters.to_filter())


@router.get("/cases/export.xlsx", response={200: None, **ERROR_RESPONSES}, auth=USER_AUTH)
def case_export(request: HttpRequest, filters: Query[CaseFilterIn]):
    """Staff: the filtered case list as an Excel workbook (at most 100,000 rows; audited)."""
    require_staff(request)
    cases = selectors.cases_filtered(request.user, filters.to_filter())
    count = cases.count()
    if count > MAX_EXPORT_ROWS:
        raise InvalidInput(f"{count:,} cases match; narrow the filters to at most {MAX_EXPORT_ROWS:,}",
                           details={"count": count, "max": MAX_EXPORT_ROWS})  # fmt: skip
    content = cases_workbook(cases)
    core_services.audit_record(actor=request.user, action="fines.cases.exported", object_type="fines.finecase",
                               data={"filters": filters.dict(exclude_none=True, mode="json"), "rows": count})  # fmt: skip
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = 'attachment; filename="fines-cases.xlsx"'
    return response


class CaseIn(Schema):
    item_id: int
    payer_identifier: str = Field(min_length=8, max_length=14, description="national ID or 統一編號")
    payer_name: str = Field(min_length=1, max_length=120)
    amount: int | None = Field(None, gt=0, le=100_000_000, description="NT$; the item's default if omitted")
    due_date: datetime.date | None = None
    facts: str = Field("", max_length=4000)


@router.post("/cases", response={201: CaseDetailOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def case_issue(request: HttpRequest, payload: CaseIn):
    """Staff: issue a case (with its payment order) under one of their agency's items."""
    require_staff(request)
    item = selectors.access_item(request.user, payload.item_id)
    case = services.case_issue(
        actor=request.user,
        data=services.CaseInput(item=item, **payload.dict(exclude={"item_id"})),
    )
    return Status(201, _case_detail(case))


@router.get("/cases/{number}", response={200: CaseDetailOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def case_detail(request: HttpRequest, number: str):
    """Staff: one case with its history (the audit trail of the case) and documents."""
    require_staff(request)
    return _case_detail(selectors.access_case_by_number(request.user, number))


@router.post("/cases/{number}/notice", response={200: CaseDetailOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def case_notice(request: HttpRequest, number: str):
    """Staff: send (or re-send) the payment notice; the order becomes payable."""
    require_staff(request)
    case = selectors.access_case_by_number(request.user, number)
    return _case_detail(services.case_send_notice(actor=request.user, case=case))


class ReasonIn(Schema):
    reason: str = Field(min_length=2, max_length=1000)


@router.post("/cases/{number}/cancel", response={200: CaseDetailOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def case_cancel(request: HttpRequest, number: str, payload: ReasonIn):
    """Staff: cancel an unpaid case and its payment order, with a reason."""
    require_staff(request)
    case = selectors.access_case_by_number(request.user, number)
    return _case_detail(services.case_cancel(actor=request.user, case=case, reason=payload.reason))


@router.post("/cases/{number}/enforcement", response={200: CaseDetailOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def case_enforcement(request: HttpRequest, number: str, payload: ReasonIn):
    """Staff: transfer an overdue fine to administrative enforcement (移送行政執行), with a reason."""
    require_staff(request)
    case = selectors.access_case_by_number(request.user, number)
    return _case_detail(
        services.case_transfer_to_enforcement(actor=request.user, case=case, reason=payload.reason)
    )


@router.post("/cases/{number}/documents", response={201: DocumentOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def case_document_add(
    request: HttpRequest, number: str, file: File[UploadedFile], description: Form[str] = ""
):
    """Staff: attach a PDF, JPEG or PNG (at most 10 MB) to a case."""
    require_staff(request)
    case = selectors.access_case_by_number(request.user, number)
    document = services.case_document_add(actor=request.user, case=case, upload=file, description=description)
    return Status(201, document)


# --- staff: statistics ------------------------------------------------------------------------


class StatisticsRow(Schema):
    key: str
    label: str
    issued_count: int
    issued_amount: int
    paid_count: int
    paid_amount: int
    overdue_count: int
    overdue_amount: int
    cancelled_count: int


class StatisticsOut(Schema):
    group_by: str
    rows: list[StatisticsRow]
    totals: StatisticsRow


class StatisticsQuery(CaseFilterIn):
    group_by: str = Field("agency", pattern="^(agency|item|month)$")


@router.get("/statistics", response={200: StatisticsOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def statistics(request: HttpRequest, query: Query[StatisticsQuery]):
    """Staff: counts and NT$ amounts of issued (not cancelled), paid and overdue (incl. transferred)
    cases per agency, item or month of issue, over the agencies they act for."""
    require_staff(request)
    rows = selectors.case_statistics(request.user, group_by=query.group_by, filters=query.to_filter())
    numbers = [k for k in StatisticsRow.model_fields if k not in ("key", "label")]
    totals = {"key": "total", "label": _("Total"), **{k: sum(row[k] for row in rows) for k in numbers}}
    return {"group_by": query.group_by, "rows": rows, "totals": totals}
