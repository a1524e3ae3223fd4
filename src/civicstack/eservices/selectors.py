"""Reads of the eservices module, and the one place that decides who sees which application:
a citizen only his own; staff only the cases their offices received or handle (a city
administrator all). ``access_*`` raise the same NotFound for "missing" and "not yours"."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from civicstack.core import identity, working_days
from civicstack.core.errors import NotFound
from civicstack.core.models import Person, User
from civicstack.core.selectors import person_digest, staff_scope

from . import search
from .models import Application, ServiceItem
from .models.applications import OPEN_STATES

State = Application.State


# --- counter intake ---------------------------------------------------------------------------


def applicant_at_counter(user: User, raw_identifier: str, birth_date: datetime.date) -> Person:
    """The citizen at a counter, from the ID card he shows: its number *and* birth date must match a
    registry record. Any district's resident may file at any office (跨區收件), so this is not limited
    to the clerk's district as other people searches are; asking for both keeps it from being a
    lookup of strangers by number. The caller records the read (core.services.person_viewed)."""
    if not staff_scope(user).is_staff:
        raise NotFound("person not found")
    try:
        identity.validate(raw_identifier)
    except identity.InvalidIdentifier as exc:
        raise NotFound("person not found") from exc
    person = (
        Person.objects.select_related("district", "user")
        .filter(id_digest=person_digest(raw_identifier), birth_date=birth_date, deceased_on__isnull=True)
        .first()
    )
    if person is None:
        raise NotFound("person not found")
    return person


# --- catalog ----------------------------------------------------------------------------------


def catalog_search(*, query: str = "", agency_id: int | None = None, category: str = "",
                   channel: str = "") -> list[ServiceItem]:  # fmt: skip
    """Active items matching every word of the query (segmented, BM25-ranked), filtered. Served
    from the in-process index (one small query checks that the catalog has not changed)."""
    index = search.catalog_index()

    def keep(item: ServiceItem) -> bool:
        return ((not agency_id or item.agency_id == agency_id) and (not category or item.category == category)
                and (not channel or item.channel == channel))  # fmt: skip

    if not query.strip():
        return [item for item in index.items.values() if keep(item)]
    return [index.items[item_id] for item_id, _score in index.search(query) if keep(index.items[item_id])]


def catalog_search_naive(*, query: str) -> list[ServiceItem]:
    """The baseline for the benchmark: a substring scan of names and descriptions."""
    return list(
        ServiceItem.objects.filter(is_active=True)
        .filter(Q(name__icontains=query) | Q(description__icontains=query) | Q(category__icontains=query))
        .select_related("agency")
        .order_by("agency__code", "code")
    )


def catalog_categories() -> list[str]:
    return list(
        ServiceItem.objects.filter(is_active=True)
        .values_list("category", flat=True)
        .distinct()
        .order_by("category")
    )


def item_by_code(code: str) -> ServiceItem:
    item = ServiceItem.objects.select_related("agency").filter(code=code, is_active=True).first()
    if item is None:
        raise NotFound("no such item")
    return item


# --- citizens ---------------------------------------------------------------------------------


def applications_of_citizen(user: User) -> QuerySet[Application]:
    return (
        Application.objects.filter(applicant=user)
        .select_related("item", "handling_office", "receiving_office")
        .order_by("-created_at", "-id")
    )


def access_application_for_citizen(user: User, number: str) -> Application:
    application = (
        Application.objects.select_related("item", "item__agency", "form", "handling_office", "receiving_office",
                                           "payment_order")
        .filter(number=number, applicant=user).first() if getattr(user, "is_authenticated", False) else None
    )  # fmt: skip
    if application is None:
        raise NotFound("application not found")
    return application


# --- staff ------------------------------------------------------------------------------------


def applications_visible_to_staff(user: User) -> QuerySet[Application]:
    scope = staff_scope(user)
    cases = Application.objects.exclude(state=State.DRAFT)
    if scope.all_agencies:
        return cases
    if not scope.is_staff:
        return cases.none()
    offices = sorted(scope.agency_ids)
    return cases.filter(Q(handling_office_id__in=offices) | Q(receiving_office_id__in=offices))


def access_application_for_staff(user: User, number: str) -> Application:
    application = (
        applications_visible_to_staff(user)
        .select_related("item", "item__agency", "form", "handling_office", "receiving_office", "payment_order",
                        "assigned_to", "applicant_person")
        .filter(number=number).first()
    )  # fmt: skip
    if application is None:
        raise NotFound("application not found")
    return application


@dataclass(frozen=True)
class InboxFilter:
    state: str = ""
    office_id: int | None = None
    item_id: int | None = None
    assigned: str = ""  # "", "me", "nobody"
    overdue: bool = False
    cross_district: bool | None = None
    query: str = ""


def inbox(user: User, filters: InboxFilter) -> QuerySet[Application]:
    """The staff inbox: open cases by default, earliest deadline first."""
    cases = applications_visible_to_staff(user)
    if filters.state:
        cases = cases.filter(state=filters.state)
    else:
        cases = cases.filter(state__in=OPEN_STATES)
    if filters.office_id:
        cases = cases.filter(
            Q(handling_office_id=filters.office_id) | Q(receiving_office_id=filters.office_id)
        )
    if filters.item_id:
        cases = cases.filter(item_id=filters.item_id)
    if filters.assigned == "me":
        cases = cases.filter(assigned_to=user)
    elif filters.assigned == "nobody":
        cases = cases.filter(assigned_to__isnull=True)
    if filters.overdue:
        cases = cases.filter(due_date__lt=timezone.localdate())
    if filters.cross_district is not None:
        cases = cases.filter(is_cross_district=filters.cross_district)
    if filters.query.strip():
        cases = cases.filter(
            Q(number=filters.query.strip().upper()) | Q(applicant_name=filters.query.strip())
        )
    return cases.select_related("item", "handling_office", "receiving_office", "assigned_to").order_by(
        "due_date", "id"
    )


def inbox_page(
    user: User, filters: InboxFilter, *, page: int = 1, page_size: int = 25
) -> tuple[list[Application], int]:
    """One page of the inbox and the total: the page's ids are found first on the narrow index
    columns (state, offices, due date), then only those rows are loaded with their joins — sorting
    thousands of wide joined rows to keep 25 was the slow part."""
    cases = inbox(user, filters)
    start = (page - 1) * page_size
    ids = list(cases.select_related(None).values_list("id", flat=True)[start : start + page_size])
    rows = {row.pk: row for row in cases.filter(pk__in=ids).select_related("form", "payment_order").defer("data", "item__search_tokens", "item__description",
                                                                   "item__eligibility", "item__required_documents")}  # fmt: skip
    return [rows[pk] for pk in ids if pk in rows], cases.count()


def inbox_naive(user: User, filters: InboxFilter) -> list[Application]:
    """The benchmark's baseline: every visible case loaded and filtered and sorted in Python."""
    scope = staff_scope(user)
    rows = list(
        Application.objects.select_related("item", "handling_office", "receiving_office", "assigned_to")
    )
    visible = [
        a for a in rows
        if a.state in OPEN_STATES and (scope.all_agencies or a.handling_office_id in scope.agency_ids
                                       or a.receiving_office_id in scope.agency_ids)
    ]  # fmt: skip
    return sorted(visible, key=lambda a: (a.due_date or datetime.date.max, a.id))


def sla(application: Application, today: datetime.date | None = None) -> str:
    """The SLA colour of a case: ``paused`` (waiting for the citizen), ``overdue`` (red),
    ``due_soon`` (amber, at most 2 working days left), ``on_time`` (green), or ``closed``."""
    if application.state == State.SUPPLEMENT_REQUESTED:
        return "paused"
    if application.state not in OPEN_STATES or application.due_date is None:
        return "closed"
    today = today or timezone.localdate()
    if application.due_date < today:
        return "overdue"
    if working_days.working_days_between(today, application.due_date) <= 2:
        return "due_soon"
    return "on_time"


def timeline(application: Application) -> list:
    return list(application.events.all())


# --- statistics -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statistics:
    total: int
    cross_district: int
    overdue_open: int
    by_state: list[dict]
    by_item: list[dict]
    by_office: list[dict]
    by_month: list[dict]

    @property
    def cross_district_share(self) -> float:
        return self.cross_district / self.total if self.total else 0.0


def statistics(user: User, *, since: datetime.date | None = None) -> Statistics:
    cases = applications_visible_to_staff(user)
    if since is not None:
        cases = cases.filter(submitted_at__date__gte=since)
    totals = cases.aggregate(total=Count("id"), cross=Count("id", filter=Q(is_cross_district=True)),
                             overdue=Count("id", filter=Q(state__in=OPEN_STATES, due_date__lt=timezone.localdate())))  # fmt: skip
    by_state = list(cases.values("state").annotate(count=Count("id")).order_by("-count"))
    by_item = list(
        cases.values("item__code", "item__name").annotate(count=Count("id")).order_by("-count")[:20]
    )
    by_office = list(
        cases.values("handling_office__code", "handling_office__name_zh")
        .annotate(count=Count("id"), cross=Count("id", filter=Q(is_cross_district=True)))
        .order_by("-count")[:20]
    )
    by_month = list(
        cases.filter(submitted_at__isnull=False).annotate(month=TruncMonth("submitted_at"))
        .values("month").annotate(count=Count("id"), cross=Count("id", filter=Q(is_cross_district=True)))
        .order_by("month")
    )  # fmt: skip
    return Statistics(
        totals["total"], totals["cross"], totals["overdue"], by_state, by_item, by_office, by_month
    )


def workload(user: User) -> list[dict]:
    """The supervisor view: open cases per assignee (None = unassigned) with how many are overdue."""
    today = timezone.localdate()
    return list(
        applications_visible_to_staff(user).filter(state__in=OPEN_STATES)
        .values("assigned_to__username")
        .annotate(open=Count("id"), overdue=Count("id", filter=Q(due_date__lt=today)),
                  paused=Count("id", filter=Q(state=State.SUPPLEMENT_REQUESTED)))
        .order_by("-open")
    )  # fmt: skip
