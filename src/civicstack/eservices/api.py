"""Online applications API: the public catalog, the citizen's applications (draft, attach, submit,
supplement, withdraw, receipt), the staff inbox and workflow, statistics, and the kiosk endpoints
for convenience stores (partner key with the ``eservices.kiosk`` scope). Thin: parse, call
selectors/services, shape the answer."""

import datetime
import json
import math
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field

from civicstack.core.api_support import (
    ERROR_RESPONSES,
    USER_AUTH,
    USER_OR_PARTNER_AUTH,
    require_scope,
    require_staff,
    require_user,
)  # fmt: skip
from civicstack.core.city_profile import city_name
from civicstack.core.errors import InvalidInput, NotFound, PermissionDenied
from civicstack.core.identity import mask_name
from civicstack.core.models import Agency, User

from . import selectors, services
from .models import Application, ServiceItem
from .receipt import render_receipt

router = Router(tags=["eservices"])

StaffAction = Literal["receive", "review", "request_supplement", "approve", "reject", "complete"]
ApplicationState = Literal["draft", "submitted", "received", "in_review", "supplement", "approved", "rejected",
                           "completed", "withdrawn"]  # fmt: skip


# --- catalog ----------------------------------------------------------------------------------


class ItemOut(Schema):
    code: str
    name: str
    agency_code: str
    agency_name: str
    category: str
    description: str
    fee: int = Field(description="NT$")
    time_limit_days: int = Field(description="legal time limit in working days")
    cross_district: str
    channel: str
    applies_online: bool

    @staticmethod
    def of(item: ServiceItem) -> "ItemOut":
        return ItemOut(code=item.code, name=item.name, agency_code=item.agency.code, agency_name=item.agency.name,
                       category=item.category, description=item.description, fee=item.fee,
                       time_limit_days=item.time_limit_days, cross_district=item.cross_district, channel=item.channel,
                       applies_online=item.applies_online)  # fmt: skip


class OfficeOut(Schema):
    code: str
    name: str


class BlankFormOut(Schema):
    title: str
    url: str
    content_type: str
    size: int


class FormOut(Schema):
    version: int
    answers_schema: dict = Field(description="JSON Schema (draft 2020-12) of the answers")
    layout: dict
    published_at: datetime.datetime | None


class ItemDetailOut(ItemOut):
    eligibility: str
    required_documents: str
    receiving_offices: list[OfficeOut]
    blank_forms: list[BlankFormOut]
    form: FormOut | None


class CatalogQuery(Schema):
    q: str = Field("", max_length=100, description="words to search for (Chinese is segmented)")
    agency: str = Field("", max_length=20, description="agency code")
    category: str = Field("", max_length=40)
    channel: Literal["", "online", "counter", "store"] = ""


@router.get("/items", response={200: list[ItemOut], **ERROR_RESPONSES}, auth=None)
def item_list(request: HttpRequest, query: Query[CatalogQuery]):
    """Public: the catalog, searched by words (segmented with jieba, ranked by BM25) and filtered."""
    agency_id = None
    if query.agency:
        agency_id = Agency.objects.filter(code=query.agency).values_list("id", flat=True).first()
        if agency_id is None:
            raise NotFound("no such agency")
    items = selectors.catalog_search(
        query=query.q, agency_id=agency_id, category=query.category, channel=query.channel
    )
    return [ItemOut.of(item) for item in items[:200]]


def _form_out(form) -> FormOut | None:
    if form is None:
        return None
    return FormOut(
        version=form.version, answers_schema=form.schema, layout=form.layout, published_at=form.published_at
    )


@router.get("/items/{code}", response={200: ItemDetailOut, **ERROR_RESPONSES}, auth=None)
def item_detail(request: HttpRequest, code: str):
    """Public: an item with its current form (JSON Schema and layout), blank forms and the offices
    that receive it (every district office when it may be filed across districts)."""
    item = selectors.item_by_code(code)
    offices = services.receiving_offices(item, None) if item.office_kind and item.cross_district != "not_allowed" else (
        [] if item.office_kind else [item.agency])  # fmt: skip
    return ItemDetailOut(
        **ItemOut.of(item).dict(), eligibility=item.eligibility, required_documents=item.required_documents,
        receiving_offices=[OfficeOut(code=o.code, name=o.name) for o in offices],
        blank_forms=[BlankFormOut(title=b.title, url=b.file.url, content_type=b.content_type, size=b.size)
                     for b in item.blank_forms.all()],
        form=_form_out(services.current_form(item)),
    )  # fmt: skip


class FormIn(Schema):
    answers_schema: dict = Field(description="JSON Schema (draft 2020-12) of the answers")
    layout: dict
    publish: bool = True


@router.post("/items/{code}/forms", response={201: FormOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def form_create(request: HttpRequest, code: str, payload: FormIn):
    """Supervisors and administrators of the item's agency: a new version of its form. Applications
    already made keep their version."""
    require_staff(request)
    form = services.form_definition_create(actor=request.user, item=selectors.item_by_code(code),
                                           schema=payload.answers_schema, layout=payload.layout, publish=payload.publish)  # fmt: skip
    return Status(201, _form_out(form))


# --- applications -------------------------------------------------------------------------------


class EventOut(Schema):
    at: datetime.datetime
    action: str
    from_state: str
    to_state: str
    note: str
    by: str


class ApplicationOut(Schema):
    number: str
    item_code: str
    item_name: str
    state: ApplicationState
    state_label: str
    form_version: int
    receiving_office: OfficeOut
    handling_office: OfficeOut
    is_cross_district: bool
    submitted_at: datetime.datetime | None
    due_date: datetime.date | None
    fee: int
    fee_paid: bool
    payment_order_number: str | None
    pickup_code: str | None
    supplement_request: str
    decision_reason: str

    @staticmethod
    def of(a: Application) -> "ApplicationOut":
        return ApplicationOut(
            number=a.number, item_code=a.item.code, item_name=a.item.name, state=a.state,
            state_label=str(a.get_state_display()), form_version=a.form.version,
            receiving_office=OfficeOut(code=a.receiving_office.code, name=a.receiving_office.name),
            handling_office=OfficeOut(code=a.handling_office.code, name=a.handling_office.name),
            is_cross_district=a.is_cross_district, submitted_at=a.submitted_at, due_date=a.due_date, fee=a.fee,
            fee_paid=a.fee_paid_at is not None, payment_order_number=a.payment_order.number if a.payment_order_id else None,
            pickup_code=a.pickup_code, supplement_request=a.supplement_request, decision_reason=a.decision_reason,
        )  # fmt: skip


class ApplicationDetailOut(ApplicationOut):
    answers: dict[str, Any]
    timeline: list[EventOut]


def _detail(a: Application) -> ApplicationDetailOut:
    events = [EventOut(at=e.created_at, action=e.action, from_state=e.from_state, to_state=e.to_state, note=e.note,
                       by=e.actor_label) for e in selectors.timeline(a)]  # fmt: skip
    return ApplicationDetailOut(**ApplicationOut.of(a).dict(), answers=a.data, timeline=events)


class DraftIn(Schema):
    item_code: str = Field(max_length=24)
    answers: dict[str, Any] = Field(default_factory=dict)
    receiving_office: str | None = Field(
        None, max_length=20, description="agency code; default: the competent office"
    )
    prefill_consent: bool = False


def _office(code: str | None) -> Agency | None:
    if not code:
        return None
    office = Agency.objects.filter(code=code).first()
    if office is None:
        raise InvalidInput("no such office", details={"field": "receiving_office"})
    return office


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(25, ge=1, le=200)


class ApplicationPageOut(Schema):
    items: list[ApplicationOut]
    count: int
    page: int
    page_size: int
    pages: int


def _page(queryset, query: PageQuery) -> tuple[list, int]:
    start = (query.page - 1) * query.page_size
    return list(queryset[start : start + query.page_size]), queryset.count()


@router.get("/applications", response={200: ApplicationPageOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def my_applications(request: HttpRequest, query: Query[PageQuery]):
    """The caller's own applications, newest first (drafts included)."""
    rows, count = _page(
        selectors.applications_of_citizen(require_user(request)).select_related("form", "payment_order"),
        query,
    )
    return ApplicationPageOut(items=[ApplicationOut.of(a) for a in rows], count=count, page=query.page,
                              page_size=query.page_size, pages=math.ceil(count / query.page_size))  # fmt: skip


@router.post("/applications", response={201: ApplicationDetailOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def draft_create(request: HttpRequest, payload: DraftIn):
    """Start a draft with the item's current form version. Answers given are validated; missing ones
    may follow. Attach files with ``POST .../attachments/{field}``; then ``POST .../submit``."""
    user = require_user(request)
    application = services.application_draft_save(
        actor=user, item=selectors.item_by_code(payload.item_code), answers=payload.answers,
        receiving_office=_office(payload.receiving_office), prefill_consent=payload.prefill_consent,
    )  # fmt: skip
    return Status(201, _detail(application))


class DraftUpdateIn(Schema):
    answers: dict[str, Any]
    receiving_office: str | None = Field(None, max_length=20)


@router.put("/applications/{number}", response={200: ApplicationDetailOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def draft_update(request: HttpRequest, number: str, payload: DraftUpdateIn):
    """Replace a draft's answers (resume it later from any device)."""
    user = require_user(request)
    application = selectors.access_application_for_citizen(user, number)
    application = services.application_draft_save(
        actor=user, item=application.item, application=application, answers=payload.answers,
        receiving_office=_office(payload.receiving_office) or application.receiving_office,
    )  # fmt: skip
    return _detail(application)


def _non_attachment_answers(application: Application) -> dict:
    return {k: v for k, v in application.data.items() if not str(v).startswith("attachment:")}


@router.post("/applications/{number}/attachments/{field}", response={200: ApplicationDetailOut, **ERROR_RESPONSES},
             auth=USER_AUTH)  # fmt: skip
def attachment_add(request: HttpRequest, number: str, field: str, file: File[UploadedFile]):
    """Attach a file to a draft's attachment field (type read from the bytes; size limit per field)."""
    user = require_user(request)
    application = selectors.access_application_for_citizen(user, number)
    application = services.application_draft_save(
        actor=user, item=application.item, application=application, answers=_non_attachment_answers(application),
        files={field: file}, receiving_office=application.receiving_office,
    )  # fmt: skip
    return _detail(application)


@router.post(
    "/applications/{number}/submit", response={200: ApplicationDetailOut, **ERROR_RESPONSES}, auth=USER_AUTH
)
def application_submit(request: HttpRequest, number: str):
    """Submit a complete draft: the case goes to its handling office. Retrying is safe."""
    user = require_user(request)
    return _detail(
        services.application_submit(
            actor=user, application=selectors.access_application_for_citizen(user, number)
        )
    )


@router.post("/applications/{number}/supplement", response={200: ApplicationDetailOut, **ERROR_RESPONSES},
             auth=USER_AUTH)  # fmt: skip
def application_supplement(request: HttpRequest, number: str, note: Form[str] = "", answers: Form[str] = "{}",
                           field: Form[str] = "", file: File[UploadedFile] | None = None):  # fmt: skip
    """Answer a supplement request (multipart): changed ``answers`` as a JSON object, a ``note``, and
    optionally one ``file`` for the attachment ``field``."""
    user = require_user(request)
    try:
        changed = json.loads(answers or "{}")
    except ValueError as exc:
        raise InvalidInput("answers must be a JSON object", details={"field": "answers"}) from exc
    if not isinstance(changed, dict):
        raise InvalidInput("answers must be a JSON object", details={"field": "answers"})
    files = {field: file} if file is not None and field else {}
    application = services.application_supplement(actor=user, application=selectors.access_application_for_citizen(user, number),
                                                  answers=changed, files=files, note=note)  # fmt: skip
    return _detail(application)


class ReasonIn(Schema):
    reason: str = Field("", max_length=2000)


@router.post(
    "/applications/{number}/withdraw", response={200: ApplicationDetailOut, **ERROR_RESPONSES}, auth=USER_AUTH
)
def application_withdraw(request: HttpRequest, number: str, payload: ReasonIn):
    user = require_user(request)
    return _detail(services.application_withdraw(actor=user, application=selectors.access_application_for_citizen(user, number),
                                                 reason=payload.reason))  # fmt: skip


def _citizen_or_staff(request: HttpRequest, number: str) -> Application:
    user = require_user(request)
    try:
        return selectors.access_application_for_citizen(user, number)
    except NotFound:
        return selectors.access_application_for_staff(user, number)


@router.get("/applications/{number}", response={200: ApplicationDetailOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def application_detail(request: HttpRequest, number: str):
    """One application with its answers and timeline: the applicant's own, or a case of the caller's office."""
    return _detail(_citizen_or_staff(request, number))


@router.get("/applications/{number}/receipt.pdf", response={200: None, **ERROR_RESPONSES}, auth=USER_AUTH)
def application_receipt(request: HttpRequest, number: str):
    """The receipt as a PDF (after submission)."""
    application = _citizen_or_staff(request, number)
    if application.submitted_at is None:
        raise NotFound("a draft has no receipt")
    response = HttpResponse(
        render_receipt(application, city_name=city_name("zh-hant")), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'inline; filename="{application.number}.pdf"'
    return response


# --- staff --------------------------------------------------------------------------------------


class CaseOut(ApplicationOut):
    applicant_name_masked: str
    assigned_to: str | None
    sla: str

    @staticmethod
    def of(a: Application) -> "CaseOut":
        return CaseOut(**ApplicationOut.of(a).dict(), applicant_name_masked=mask_name(a.applicant_name),
                       assigned_to=a.assigned_to.get_username() if a.assigned_to_id else None, sla=selectors.sla(a))  # fmt: skip


class InboxQuery(Schema):
    state: ApplicationState | Literal[""] = ""
    office: str = Field("", max_length=20, description="agency code (received or handled there)")
    item: str = Field("", max_length=24, description="item code")
    assigned: Literal["", "me", "nobody"] = ""
    overdue: bool = False
    cross_district: bool | None = None


def inbox_filter(query: InboxQuery) -> selectors.InboxFilter:
    office_id = (
        Agency.objects.filter(code=query.office).values_list("id", flat=True).first()
        if query.office
        else None
    )
    item_id = (
        ServiceItem.objects.filter(code=query.item).values_list("id", flat=True).first()
        if query.item
        else None
    )
    if (query.office and office_id is None) or (query.item and item_id is None):
        raise InvalidInput("unknown office or item code")
    return selectors.InboxFilter(state=query.state, office_id=office_id, item_id=item_id, assigned=query.assigned,
                                 overdue=query.overdue, cross_district=query.cross_district)  # fmt: skip


class InboxPageOut(Schema):
    items: list[CaseOut]
    count: int
    page: int
    page_size: int
    pages: int


@router.get("/staff/inbox", response={200: InboxPageOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def staff_inbox(request: HttpRequest, query: Query[InboxQuery], page: Query[PageQuery]):
    """Cases the caller's offices received or handle: open ones by default, earliest deadline first,
    each with its SLA colour (on_time, due_soon, overdue, paused)."""
    require_staff(request)
    rows, count = selectors.inbox_page(
        request.user, inbox_filter(query), page=page.page, page_size=page.page_size
    )
    return InboxPageOut(
        items=[CaseOut.of(a) for a in rows],
        count=count,
        page=page.page,
        page_size=page.page_size,
        pages=math.ceil(count / page.page_size),
    )


class TransitionIn(Schema):
    action: StaffAction
    reason: str = Field("", max_length=2000)


@router.post(
    "/staff/applications/{number}/transition", response={200: CaseOut, **ERROR_RESPONSES}, auth=USER_AUTH
)
def staff_transition(request: HttpRequest, number: str, payload: TransitionIn):
    """A workflow step; ``request_supplement`` and ``reject`` need a reason. 409 when the state does not allow it."""
    require_staff(request)
    application = selectors.access_application_for_staff(request.user, number)
    return CaseOut.of(services.application_transition(actor=request.user, application=application,
                                                      action=payload.action, reason=payload.reason))  # fmt: skip


class BulkIn(Schema):
    numbers: list[str] = Field(min_length=1, max_length=200)
    action: StaffAction | Literal["assign"]
    assignee: str | None = Field(None, description="username, for assign")
    reason: str = Field("", max_length=2000)


class BulkOut(Schema):
    done: list[str]
    refused: dict[str, str]


def _assignee(username: str | None) -> User | None:
    if not username:
        return None
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise InvalidInput("no such staff member", details={"field": "assignee"})
    return user


@router.post("/staff/bulk", response={200: BulkOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def staff_bulk(request: HttpRequest, payload: BulkIn):
    """One action on many cases; each case succeeds or is refused on its own, with the reason."""
    require_staff(request)
    result = services.applications_bulk(actor=request.user, numbers=payload.numbers, action=payload.action,
                                        assignee=_assignee(payload.assignee), reason=payload.reason)  # fmt: skip
    return BulkOut(done=result.done, refused=result.refused)


class CountRow(Schema):
    key: str
    label: str
    count: int
    cross_district: int = 0


class StatisticsOut(Schema):
    total: int
    cross_district: int
    cross_district_share: float
    overdue_open: int
    by_item: list[CountRow]
    by_office: list[CountRow]
    by_month: list[CountRow]


@router.get("/staff/statistics", response={200: StatisticsOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def staff_statistics(request: HttpRequest, since: datetime.date | None = None):
    """Counts of the caller's offices' cases by item, handling office and month, and the share filed across districts."""
    require_staff(request)
    stats = selectors.statistics(request.user, since=since)
    return StatisticsOut(
        total=stats.total, cross_district=stats.cross_district, cross_district_share=round(stats.cross_district_share, 4),
        overdue_open=stats.overdue_open,
        by_item=[CountRow(key=r["item__code"], label=r["item__name"], count=r["count"]) for r in stats.by_item],
        by_office=[CountRow(key=r["handling_office__code"], label=r["handling_office__name_zh"], count=r["count"],
                            cross_district=r["cross"]) for r in stats.by_office],
        by_month=[CountRow(key=r["month"].strftime("%Y-%m"), label=r["month"].strftime("%Y-%m"), count=r["count"],
                           cross_district=r["cross"]) for r in stats.by_month],
    )  # fmt: skip


# --- kiosk --------------------------------------------------------------------------------------


class KioskOut(Schema):
    number: str
    item_name: str
    applicant_name_masked: str
    state_label: str
    handling_office: str
    fee: int
    fee_paid: bool
    payment_order_number: str | None
    receipt_pdf_url: str


def _kiosk_out(a: Application) -> KioskOut:
    return KioskOut(number=a.number, item_name=a.item.name, applicant_name_masked=mask_name(a.applicant_name),
                    state_label=str(a.get_state_display()), handling_office=a.handling_office.name_zh, fee=a.fee,
                    fee_paid=a.fee_paid_at is not None,
                    payment_order_number=a.payment_order.number if a.payment_order_id else None,
                    receipt_pdf_url=f"/api/v1/eservices/kiosk/{a.pickup_code}/receipt.pdf")  # fmt: skip


def _require_kiosk(request: HttpRequest) -> None:
    api_key = require_scope(request, services.KIOSK_SCOPE)
    if api_key is None:
        raise PermissionDenied(f"kiosk endpoints need a partner key with {services.KIOSK_SCOPE}")


@router.get("/kiosk/{code}", response={200: KioskOut, **ERROR_RESPONSES}, auth=USER_OR_PARTNER_AUTH)
def kiosk_fetch(request: HttpRequest, code: str):
    """Kiosk (X-API-Key with ``eservices.kiosk``): an application by its 8-character pickup code."""
    _require_kiosk(request)
    return _kiosk_out(services.kiosk_lookup(code))


@router.get("/kiosk/{code}/receipt.pdf", response={200: None, **ERROR_RESPONSES}, auth=USER_OR_PARTNER_AUTH)
def kiosk_receipt(request: HttpRequest, code: str):
    """Kiosk: the receipt PDF to print."""
    _require_kiosk(request)
    return HttpResponse(render_receipt(services.kiosk_lookup(code), city_name=city_name("zh-hant")),
                        content_type="application/pdf")  # fmt: skip


class KioskPayIn(Schema):
    amount: int = Field(gt=0, description="NT$ collected")
    store_reference: str = Field(min_length=1, max_length=60, description="the store's transaction number")


@router.post("/kiosk/{code}/payment", response={200: KioskOut, **ERROR_RESPONSES}, auth=USER_OR_PARTNER_AUTH)
def kiosk_payment(request: HttpRequest, code: str, payload: KioskPayIn):
    """Kiosk: the fee was collected at the store. Settles the payment order (convenience_store);
    repeating the same ``store_reference`` is safe and answers the same."""
    _require_kiosk(request)
    return _kiosk_out(services.kiosk_pay(api_key=request.api_key, code=code, amount=payload.amount,
                                         store_reference=payload.store_reference))  # fmt: skip


@router.get("/kiosk-forms/{item_code}", response={200: list[BlankFormOut], **ERROR_RESPONSES}, auth=None)
def kiosk_forms(request: HttpRequest, item_code: str):
    """Public: an item's blank forms, for a kiosk (or anyone) to print."""
    item = selectors.item_by_code(item_code)
    return [
        BlankFormOut(title=b.title, url=b.file.url, content_type=b.content_type, size=b.size)
        for b in item.blank_forms.all()
    ]
