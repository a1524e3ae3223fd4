"""Reads of the card module, and who may see which card, application and enrolment.

Card desk staff (the issuing agency, district office counters, city administrators) see the cards
and applications of the people their agency may look up; a function's provider sees enrolments
in that function, and an organisation that issues a function per organisation (a school's
student ID) sees only the enrolments it issued. Citizens see only their own cards."""

import datetime

from django.conf import settings
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from civicstack.core.errors import NotFound
from civicstack.core.models import Agency, ApiKey, Person, User
from civicstack.core.selectors import people_visible_to, person_of_user, staff_scope

from . import card_number
from .models import (
    BenefitRule,
    Card,
    CardApplication,
    CardFunction,
    CardPartner,
    EventSignUp,
    EventVisitTally,
    ExperienceEvent,
    FunctionEnrolment,
    Merchant,
    MerchantOffer,
    PointsEntry,
    PointsSeal,
    Reader,
    Tap,
)  # fmt: skip
from .models.kinds import CardKind


def issuing_agency() -> Agency | None:
    return Agency.objects.filter(code=settings.CARD_ISSUING_AGENCY).first()


def is_card_desk(user: User) -> bool:
    """Staff who take applications and manage cards: the issuing agency (and the agencies below
    it), any district office's counter, or a city administrator."""
    scope = staff_scope(user)
    if not scope.is_staff:
        return False
    if scope.all_agencies:
        return True
    return Agency.objects.filter(
        Q(code=settings.CARD_ISSUING_AGENCY) | Q(kind=Agency.Kind.DISTRICT_OFFICE), id__in=scope.agency_ids
    ).exists()


# --- cards ------------------------------------------------------------------------------------


def cards_of_person(person: Person) -> QuerySet[Card]:
    active_enrolments = FunctionEnrolment.objects.filter(state=FunctionEnrolment.State.ACTIVE).select_related(
        "function", "issuer_agency", "issuer_partner"
    )
    return (
        Card.objects.filter(person=person)
        .select_related("partner", "companion_for")
        .prefetch_related(Prefetch("enrolments", queryset=active_enrolments))
        .order_by("-issued_at", "-id")
    )


def my_cards(user: User) -> QuerySet[Card]:
    person = person_of_user(user)
    return cards_of_person(person) if person is not None else Card.objects.none()


def cards_visible_to(user: User) -> QuerySet[Card]:
    if not is_card_desk(user):
        return Card.objects.none()
    scope = staff_scope(user)
    cards = Card.objects.select_related("person", "district", "partner")
    if scope.all_districts:
        return cards
    return cards.filter(person__in=people_visible_to(user).values("pk"))


def card_by_number(number: str) -> Card | None:
    """For readers and partners: None for a malformed number without touching the database."""
    number = card_number.normalize(number)
    if not card_number.is_well_formed(number):
        return None
    return Card.objects.select_related("person", "partner").filter(number=number).first()


def _holds(user: User, card: Card | None) -> bool:
    return card is not None and card.person.user_id is not None and card.person.user_id == user.pk


def access_own_card(user: User, number: str) -> Card:
    """The holder's own card; someone else's looks exactly like no card (NotFound either way)."""
    card = card_by_number(number)
    if not _holds(user, card):
        raise NotFound("no such card")
    return card


def access_card(user: User, number: str) -> Card:
    """The card for its holder or for card desk staff who reach the holder; NotFound otherwise."""
    card = card_by_number(number)
    if card is not None and (_holds(user, card) or cards_visible_to(user).filter(pk=card.pk).exists()):
        return card
    raise NotFound("no such card")


# --- applications -----------------------------------------------------------------------------


def applications_visible_to(user: User) -> QuerySet[CardApplication]:
    applications = CardApplication.objects.select_related(
        "person", "person__district", "partner", "receiving_agency", "replaces", "fee_order", "event"
    )
    if not is_card_desk(user):
        person = person_of_user(user)
        return applications.filter(person=person) if person else applications.none()
    scope = staff_scope(user)
    if scope.all_districts:
        return applications
    return applications.filter(
        Q(person__in=people_visible_to(user).values("pk")) | Q(receiving_agency_id__in=scope.agency_ids)
    )


def review_queue(user: User) -> QuerySet[CardApplication]:
    return (
        applications_visible_to(user)
        .filter(state=CardApplication.State.SUBMITTED)
        .order_by("created_at", "id")
    )


def access_application(user: User, application_id: int) -> CardApplication:
    application = applications_visible_to(user).filter(pk=application_id).first()
    if application is None:
        raise NotFound("no such application")
    return application


def access_application_by_number(user: User, number: str) -> CardApplication:
    application = applications_visible_to(user).filter(number=(number or "").strip().upper()).first()
    if application is None:
        raise NotFound("no such application")
    return application


def type_change_candidates(user: User, *, day: datetime.date | None = None) -> QuerySet[Card]:
    """General cards of holders who have turned 65 and could switch to a senior card."""
    day = day or timezone.localdate()
    from .eligibility import SENIOR_AGE, birthday_on

    latest_birth = birthday_on(day, -SENIOR_AGE)
    return cards_visible_to(user).filter(
        kind=CardKind.GENERAL, state=Card.State.ACTIVE, person__birth_date__lte=latest_birth,
        person__deceased_on__isnull=True, person__moved_out_on__isnull=True,
    ).exclude(replacement_applications__state__in=CardApplication.OPEN_STATES)  # fmt: skip


# --- functions and entitlements ---------------------------------------------------------------


def functions() -> QuerySet[CardFunction]:
    return CardFunction.objects.filter(is_active=True).select_related("provider_agency", "provider_partner")


def partners(kind: str | None = None) -> QuerySet[CardPartner]:
    partners = CardPartner.objects.filter(is_active=True)
    return partners.filter(kind=kind) if kind else partners


def partner_of_key(api_key: ApiKey) -> CardPartner | None:
    return CardPartner.objects.filter(api_keys=api_key, is_active=True).first()


def entitlements(
    card: Card, *, at: datetime.datetime | None = None, only: list[CardFunction] | None = None,
    issuer_agency: Agency | None = None, issuer_partner: CardPartner | None = None,
) -> list[dict]:  # fmt: skip
    """What the card entitles its holder to, function by function, with the reason when not.

    ``only`` limits the answer to some functions (a partner key's scopes); ``issuer_*`` limits
    per-organisation functions to that organisation's own enrolments (a school sees its students' IDs,
    never another school's)."""
    at = at or timezone.now()
    day = timezone.localtime(at).date()
    usable = card.is_usable_at(at)
    enrolments: dict[int, list[FunctionEnrolment]] = {}
    prefetched = getattr(card, "_prefetched_objects_cache", {}).get("enrolments")
    active = (
        prefetched  # cards_of_person prefetches the active enrolments: no query per card
        if prefetched is not None
        else card.enrolments.filter(state=FunctionEnrolment.State.ACTIVE).select_related(
            "issuer_agency", "issuer_partner", "function"
        )
    )
    for enrolment in active:
        enrolments.setdefault(enrolment.function_id, []).append(enrolment)
    answer = []
    for function in only if only is not None else functions():
        rows = enrolments.get(function.pk, [])
        if function.issued_per_organisation and (issuer_agency or issuer_partner):
            rows = [
                e for e in rows
                if (issuer_partner and e.issuer_partner_id == issuer_partner.pk)
                or (issuer_agency and not issuer_partner and e.issuer_agency_id == issuer_agency.pk)
            ]  # fmt: skip
        reason = ""
        if not usable:
            reason = "card_not_usable"
        elif card.kind not in function.card_kinds:
            reason = "card_kind_not_eligible"
        elif function.available_from and day < function.available_from:
            reason = "not_yet_available"
        elif function.requires_enrolment and not any(e.is_valid_on(day) for e in rows):
            reason = "not_enrolled"
        answer.append(
            {
                "function": function.code,
                "name": function.name_zh,
                "name_en": function.name_en,
                "category": function.category,
                "entitled": not reason,
                "reason": reason,
                "enrolments": [
                    {
                        "issuer": e.issuer_name(), "reference": e.reference, "group": e.group,
                        "valid_from": e.valid_from, "valid_until": e.valid_until, "valid": e.is_valid_on(day),
                    }
                    for e in rows
                ],
            }
        )  # fmt: skip
    return answer


def enrolments_issued_by(*, agency: Agency | None = None, partner: CardPartner | None = None):
    enrolments = FunctionEnrolment.objects.select_related("card", "card__person", "function")
    if partner is not None:
        return enrolments.filter(issuer_partner=partner)
    return enrolments.filter(issuer_agency=agency)


# --- statistics -------------------------------------------------------------------------------


def statistics_by_kind_and_district(*, states=(Card.State.ACTIVE,)) -> dict:
    """Cards by type and district: the shape of the report's table (rows: districts)."""
    rows = (
        Card.objects.filter(state__in=states)
        .values("district__code", "district__name_zh", "district__name_en", "district__sort_order", "kind")
        .annotate(n=Count("id"))
    )
    table: dict[str, dict] = {}
    totals = dict.fromkeys(CardKind.values, 0)
    for row in rows:
        entry = table.setdefault(
            row["district__code"],
            {"district": row["district__name_zh"], "district_en": row["district__name_en"],
             "code": row["district__code"], "order": row["district__sort_order"],
             "counts": dict.fromkeys(CardKind.values, 0)},
        )  # fmt: skip
        entry["counts"][row["kind"]] += row["n"]
        totals[row["kind"]] += row["n"]
    districts = sorted(table.values(), key=lambda entry: entry["order"])
    for entry in districts:
        entry["total"] = sum(entry["counts"].values())
    return {"kinds": CardKind.values, "districts": districts, "totals": totals, "total": sum(totals.values())}


def statistics_by_month(*, since: datetime.date) -> list[dict]:
    """New cards issued per month and type since ``since``."""
    start = timezone.make_aware(datetime.datetime.combine(since, datetime.time.min))
    rows = (
        Card.objects.filter(issued_at__gte=start)
        .annotate(month=TruncMonth("issued_at"))
        .values("month", "kind")
        .annotate(n=Count("id"))
        .order_by("month")
    )
    months: dict[str, dict] = {}
    for row in rows:
        key = f"{row['month']:%Y-%m}"
        entry = months.setdefault(key, {"month": key, "counts": dict.fromkeys(CardKind.values, 0)})
        entry["counts"][row["kind"]] += row["n"]
    for entry in months.values():
        entry["total"] = sum(entry["counts"].values())
    return list(months.values())


# --- experience events ------------------------------------------------------------------------


def events_report(events: QuerySet[ExperienceEvent] | None = None) -> dict:
    """Per event and in total: sign-ups, participants (took part), visits and cards issued on site."""
    events = events if events is not None else ExperienceEvent.objects.all()
    ids = list(events.values_list("pk", flat=True))
    signups = dict(
        EventSignUp.objects.filter(event__in=ids)
        .values("event")
        .annotate(n=Count("id"))
        .values_list("event", "n")
    )
    participants = dict(
        EventSignUp.objects.filter(event__in=ids, checked_in_at__isnull=False)
        .values("event").annotate(n=Count("id")).values_list("event", "n")
    )  # fmt: skip
    visits = dict(
        EventVisitTally.objects.filter(event__in=ids)
        .values("event")
        .annotate(n=Sum("visits"))
        .values_list("event", "n")
    )
    cards = dict(
        Card.objects.filter(event__in=ids).values("event").annotate(n=Count("id")).values_list("event", "n")
    )
    rows = []
    for event in events.select_related("district").order_by("starts_on", "id"):
        rows.append(
            {
                "event": event, "signups": signups.get(event.pk, 0), "participants": participants.get(event.pk, 0),
                "visits": visits.get(event.pk, 0), "cards_issued": cards.get(event.pk, 0),
            }
        )  # fmt: skip
    totals = {
        key: sum(row[key] for row in rows) for key in ("signups", "participants", "visits", "cards_issued")
    }
    return {"events": rows, "totals": totals, "count": len(rows)}


# --- money and use: balances, statements, taps, rules, readers, merchants ----------------------


def card_balances(card: Card) -> dict:
    """Stored value (NT$), welfare points and bonus points held by the card."""
    from civicstack.payments.selectors import account_by_code

    from .purses import purse_code

    out = {}
    for key, unit in (("stored_value", "TWD"), ("welfare_points", "WELFARE"), ("bonus_points", "POINT")):
        account = account_by_code(purse_code(card.number, unit))
        out[key] = account.balance if account else 0
    return out


def card_statement(card: Card, *, unit: str = "TWD", limit: int = 100) -> list[dict]:
    """The card purse's movements with the reason for each (top-up, taps batch, merchant, carry-over)."""
    from civicstack.payments.selectors import account_statement

    from .purses import purse_code

    return account_statement(purse_code(card.number, unit), limit=limit)


def card_uses(card: Card) -> QuerySet[Tap]:
    return Tap.objects.filter(card=card).select_related("reader").order_by("-tapped_at", "-id")


def flagged_uses(user: User) -> QuerySet[Tap]:
    """Uses of lost cards after they were reported: possible misuse, for desk staff to follow up."""
    return Tap.objects.filter(flagged=True, card__in=cards_visible_to(user).values("pk")).select_related(
        "reader", "card"
    )


def benefit_rules() -> QuerySet[BenefitRule]:
    return BenefitRule.objects.select_related("function").order_by("function__sort_order", "priority", "code")


def readers() -> QuerySet[Reader]:
    return Reader.objects.select_related("operator_partner", "operator_agency", "district").order_by("code")


def merchants(*, category: str = "", district_code: str = "", q: str = "") -> QuerySet[Merchant]:
    found = (
        Merchant.objects.filter(is_active=True)
        .select_related("district")
        .prefetch_related(Prefetch("offers", queryset=MerchantOffer.objects.filter(is_active=True)))
    )
    if category:
        found = found.filter(category=category)
    if district_code:
        found = found.filter(district__code=district_code)
    if q:
        found = found.filter(Q(name__icontains=q) | Q(address__icontains=q))
    return found


def points_entries(card: Card) -> QuerySet[PointsEntry]:
    return PointsEntry.objects.filter(card=card).order_by("-id")


def points_seals() -> QuerySet[PointsSeal]:
    return PointsSeal.objects.order_by("-day")


# --- read by the analytics module (appended; plain rows, no models cross the boundary) ----------


def taps_after(cursor: int, *, limit: int = 50_000) -> tuple[list[dict], int]:
    """Card uses with an id above ``cursor``, oldest first, as plain dicts for the warehouse:
    id, card_kind, function, district (the reader's district code, else the card's), reader,
    tapped_at (aware), fare, points (welfare points spent), status. Returns the new cursor too."""
    rows = list(
        Tap.objects.filter(id__gt=cursor)
        .order_by("id")
        .values_list(
            "id", "card__kind", "function", "reader__district__code", "card__district__code", "reader__code",
            "tapped_at", "fare", "from_points", "status",
        )[:limit]
    )  # fmt: skip
    found = [
        {"id": tap_id, "card_kind": kind or "unknown", "function": function,
         "district": reader_district or card_district or "", "reader": reader, "tapped_at": tapped_at,
         "fare": fare, "points": points, "status": status}
        for tap_id, kind, function, reader_district, card_district, reader, tapped_at, fare, points, status in rows
    ]  # fmt: skip
    return found, (rows[-1][0] if rows else cursor)
