"""Reads of the fines module, and who may see which case.

Staff see the cases of the agencies they act for (``scope_by_agency``); other agencies' cases
answer "not found", the same as cases that do not exist. The public finds a case by its number,
or by the payer's name together with their national ID / 統一編號 (both must match; a name alone
is refused), and sees the payer's name masked (王○明).
"""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from civicstack.core.errors import InvalidInput, NotFound
from civicstack.core.models import AuditEvent
from civicstack.core.selectors import object_history, scope_by_agency, staff_scope

from . import case_number
from .models import BusinessItem, FineCase
from .services import normalize_name, parse_payer_identifier, payer_digest

State = FineCase.State
PUBLIC_RESULT_LIMIT = 50


# --- staff ------------------------------------------------------------------------------------


def cases_visible_to_staff(user) -> QuerySet[FineCase]:
    if not staff_scope(user).is_staff:
        return FineCase.objects.none()
    return scope_by_agency(
        FineCase.objects.select_related("agency", "item", "payment_order", "issued_by"), user
    )


def access_case_by_number(user, number: str) -> FineCase:
    number = case_number.normalize(number or "")
    case = (
        cases_visible_to_staff(user).filter(number=number).first()
        if case_number.is_well_formed(number)
        else None
    )
    if case is None:
        raise NotFound("case not found")
    return case


def items_visible_to_staff(user) -> QuerySet[BusinessItem]:
    if not staff_scope(user).is_staff:
        return BusinessItem.objects.none()
    return scope_by_agency(BusinessItem.objects.select_related("agency"), user)


def access_item(user, item_id: int) -> BusinessItem:
    item = items_visible_to_staff(user).filter(pk=item_id).first()
    if item is None:
        raise NotFound("business item not found")
    return item


@dataclass
class CaseFilter:
    state: str | None = None
    kind: str | None = None
    item_code: str | None = None
    agency_code: str | None = None
    payer_kind: str | None = None
    number: str | None = None
    issued_from: datetime.date | None = None
    issued_to: datetime.date | None = None
    due_before: datetime.date | None = None


def cases_filtered(user, filters: CaseFilter) -> QuerySet[FineCase]:
    cases = cases_visible_to_staff(user)
    if filters.state:
        cases = cases.filter(state=filters.state)
    if filters.kind:
        cases = cases.filter(kind=filters.kind)
    if filters.item_code:
        cases = cases.filter(item__code=filters.item_code)
    if filters.agency_code:
        cases = cases.filter(agency__code=filters.agency_code)
    if filters.payer_kind:
        cases = cases.filter(payer_kind=filters.payer_kind)
    if filters.number:
        cases = cases.filter(number=case_number.normalize(filters.number))
    if filters.issued_from:
        cases = cases.filter(created_at__date__gte=filters.issued_from)
    if filters.issued_to:
        cases = cases.filter(created_at__date__lte=filters.issued_to)
    if filters.due_before:
        cases = cases.filter(due_date__lt=filters.due_before)
    return cases.order_by("-created_at", "-id")


def case_events(case: FineCase) -> QuerySet[AuditEvent]:
    """The case's history: every audit event recorded against it, oldest first."""
    return object_history(case)


# --- public lookup ----------------------------------------------------------------------------


def public_case_by_number(raw_number: str) -> FineCase | None:
    """One case by its number (a mistyped number fails its check character without a query)."""
    number = case_number.normalize(raw_number or "")
    if not case_number.is_well_formed(number):
        return None
    # No ORDER BY (which .first() would add): the unique index answers alone.
    rows = list(
        FineCase.objects.select_related("agency", "item", "payment_order")
        .exclude(state=State.CANCELLED)
        .filter(number=number)
        .order_by()[:1]
    )
    return rows[0] if rows else None


def public_cases_by_payer(name: str, identifier: str) -> list[FineCase]:
    """The payer's cases, when the name and the identifier both match. Raises InvalidInput for a
    missing name or identifier or a malformed identifier (that says nothing about any case);
    a wrong pairing and no cases at all give the same empty list."""
    name = normalize_name(name)
    if not name or not (identifier or "").strip():
        raise InvalidInput("give the payer's name and their national ID or unified business number")
    payer = parse_payer_identifier(identifier)
    return list(
        FineCase.objects.select_related("agency", "item", "payment_order")
        .filter(payer_lookup_digest=payer_digest(payer), payer_name=name)
        .exclude(state=State.CANCELLED)
        .order_by("-created_at", "-id")[:PUBLIC_RESULT_LIMIT]
    )


# --- statistics -------------------------------------------------------------------------------

GROUPINGS = {
    "agency": ("agency__code", "agency__name_zh"),
    "item": ("item__code", "item__name"),
    "month": ("month",),
}
OVERDUE_STATES = [State.OVERDUE, State.TRANSFERRED]


def case_statistics(user, *, group_by: str, filters: CaseFilter | None = None) -> list[dict]:
    """Counts and amounts (NT$) of issued, paid and overdue cases per agency, item or month of
    issue (Asia/Taipei). Cancelled cases are counted apart and left out of "issued"."""
    if group_by not in GROUPINGS:
        raise InvalidInput("group_by must be agency, item or month", details={"field": "group_by"})
    cases = cases_filtered(user, filters or CaseFilter()).order_by()
    if group_by == "month":
        cases = cases.annotate(month=TruncMonth("created_at", tzinfo=timezone.get_default_timezone()))
    live = ~Q(state=State.CANCELLED)
    paid = Q(state=State.PAID)
    overdue = Q(state__in=OVERDUE_STATES)
    keys = GROUPINGS[group_by]
    if group_by == "item":
        keys = ("agency__code", *keys)
    rows = (
        cases.values(*keys)
        .annotate(
            issued_count=Count("id", filter=live),
            issued_amount=Sum("amount", filter=live, default=0),
            paid_count=Count("id", filter=paid),
            paid_amount=Sum("amount", filter=paid, default=0),
            overdue_count=Count("id", filter=overdue),
            overdue_amount=Sum("amount", filter=overdue, default=0),
            cancelled_count=Count("id", filter=Q(state=State.CANCELLED)),
        )
        .order_by(*keys)
    )
    result = []
    for row in rows:
        if group_by == "agency":
            key, label = row["agency__code"], row["agency__name_zh"]
        elif group_by == "item":
            key, label = f"{row['agency__code']}/{row['item__code']}", row["item__name"]
        else:
            month = row["month"]
            key = label = f"{month:%Y-%m}" if month else ""
        result.append({"key": key, "label": label, **{k: row[k] for k in (
            "issued_count", "issued_amount", "paid_count", "paid_amount", "overdue_count", "overdue_amount",
            "cancelled_count")}})  # fmt: skip
    return result
