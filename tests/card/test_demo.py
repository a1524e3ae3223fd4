"""Card demo data: the small set every demo login sees, and the seed path (scaled down) that reaches
the report's mix of 1,306,546 cards and the 17 experience events' totals."""

import datetime
from collections import Counter

import pytest
from django.db.models import Count, Q
from django.utils import timezone

from civicstack.card import demo, selectors, services
from civicstack.card.eligibility import age_on, current_enrolments
from civicstack.card.models import Card, CardApplication, ExperienceEvent, FunctionEnrolment
from civicstack.card.models.kinds import PRIMARY_KINDS, CardKind
from civicstack.core import demo as core_demo
from civicstack.core.audit_chain import verify_chain
from civicstack.core.models import Person, SchoolEnrolment, User

PRIMARY = [kind.value for kind in PRIMARY_KINDS]


def active_by_kind() -> dict[str, int]:
    return dict(Counter(Card.objects.filter(state=Card.State.ACTIVE).values_list("kind", flat=True)))


def assert_holders_meet_the_rules(day: datetime.date) -> None:
    """What the issuing service checks, checked on every active card of the generated set."""
    active = Card.objects.filter(state=Card.State.ACTIVE).select_related("person", "companion_for", "partner")
    # one active citizen card a person (the database refuses a second one too)
    assert not (
        active.filter(kind__in=PRIMARY).values("person").annotate(n=Count("id")).filter(n__gt=1).exists()
    )
    for card in active:
        issued = timezone.localtime(card.issued_at).date()
        assert issued <= day <= card.expires_on, card
        assert card.district_id == card.person.district_id
        if card.kind == CardKind.SENIOR:
            assert age_on(card.person.birth_date, issued) >= 65
        elif card.kind == CardKind.STUDENT:
            enrolments = current_enrolments(card.person, day)
            assert len(enrolments) == 1 and enrolments[0].enrolled_on <= issued
        elif card.kind == CardKind.DISABILITY:
            assert card.person.disability_certificate_valid_on(day)
        elif card.kind == CardKind.COMPANION:
            holder = card.companion_for
            assert holder is not None and holder != card.person and holder.disability_needs_companion
            assert active.filter(person=holder, kind=CardKind.DISABILITY).exists()
        elif card.kind == CardKind.MOBILE:
            assert card.partner.kind == "telecom" and card.partner.code in {"cht", "twm", "fet", "aptg"}
        elif card.kind == CardKind.COBRANDED:
            assert card.partner.kind == "bank" and card.partner.name.startswith("示範")
            assert age_on(card.person.birth_date, issued) >= 18
    assert SchoolEnrolment.objects.values("person").annotate(n=Count("id")).filter(n__gt=1).count() == 0
    # every replaced card points to its successor, which came later
    for old in Card.objects.filter(state=Card.State.REPLACED).select_related("replaced_by"):
        assert old.replaced_by.issued_at > old.issued_at and old.blocked_at <= old.replaced_by.issued_at


# --- small ------------------------------------------------------------------------------------


@pytest.fixture
def small_demo(db):
    core_demo.generate_people(count=2000, seed=7)
    core_demo.ensure_demo_logins()
    return demo.generate(scale="small", seed=7)


def test_small_demo_has_every_kind_in_the_reports_proportions(small_demo):
    expected = demo.mix_for(demo.SMALL_CARDS / demo.REPORT_TOTAL)
    expected[CardKind.GENERAL] -= 1  # the one reported lost, awaiting its replacement fee
    assert active_by_kind() == expected
    assert set(expected) == set(CardKind.values) and min(expected.values()) >= 1
    assert Card.objects.filter(state=Card.State.LOST).count() == 1
    assert_holders_meet_the_rules(timezone.localdate())
    assert verify_chain().ok


def test_small_demo_has_applications_enrolments_and_events(small_demo):
    approved = CardApplication.objects.filter(state=CardApplication.State.APPROVED)
    assert approved.count() >= 100
    assert not approved.filter(card__isnull=True).exists()
    assert {"submitted", "awaiting_payment", "rejected", "withdrawn"} <= set(
        CardApplication.objects.values_list("state", flat=True)
    )
    enrolments = FunctionEnrolment.objects.filter(state="active")
    assert {"library", "student_id", "einvoice_carrier"} <= set(
        enrolments.values_list("function__code", flat=True)
    )
    for enrolment in enrolments.filter(function__code="student_id").select_related("issuer_agency", "card"):
        assert enrolment.issuer_agency.kind == "school" and enrolment.card.kind == CardKind.STUDENT
    report = selectors.events_report()
    assert report["count"] == 3
    assert report["totals"]["participants"] == 46 and report["totals"]["visits"] == 158
    assert report["totals"]["cards_issued"] == 6 and report["totals"]["signups"] > 46


def test_the_demo_citizen_has_a_general_card_with_functions(small_demo):
    citizen = User.objects.get(username="citizen")
    cards = list(selectors.my_cards(citizen))
    general = [card for card in cards if card.kind == CardKind.GENERAL and card.state == Card.State.ACTIVE]
    assert len(general) == 1
    assert {e.function.code for e in general[0].enrolments.all()} == {"library", "einvoice_carrier"}
    assert general[0].einvoice_carrier == "/CS2019A"


def test_the_demo_clerk_has_applications_with_photos_to_review(small_demo):
    clerk = User.objects.get(username="clerk")
    queue = list(selectors.review_queue(clerk))
    assert len(queue) >= 4
    assert all(application.photo for application in queue)
    assert {"general", "senior"} <= {application.kind for application in queue}
    assert any(application.reason == "type_change" for application in queue)


def test_generating_again_adds_nothing(small_demo):
    again = demo.generate(scale="small", seed=7)
    assert again["cards_created"] == 0 and again["cards_total"] == small_demo["cards_total"]


def test_the_same_seed_makes_the_same_plan_and_another_seed_another(db):
    core_demo.generate_people(count=1500, seed=11)
    spec = demo.small_spec(datetime.date(2026, 3, 2))

    def plan(seed):
        ctx, events = demo.make_plan(spec=spec, seed=seed)
        columns = (
            "person",
            "kind",
            "state",
            "when",
            "expires",
            "companion_for",
            "partner",
            "event",
            "replaces",
        )
        return [list(getattr(ctx.plan, name)) for name in columns], ctx.students, events

    first = plan(5)
    assert plan(5) == first
    assert plan(6)[0] != first[0]


# --- seed -------------------------------------------------------------------------------------


def test_the_report_figures():
    assert demo.REPORT_TOTAL == 1_306_546
    assert demo.mix_for(1.0) == demo.REPORT_MIX
    thousandth = demo.mix_for(0.001)
    assert sum(thousandth.values()) == 1307
    for kind, count in demo.REPORT_MIX.items():
        assert abs(thousandth[kind] - count / 1000) <= 1


def test_the_seed_events_reach_the_reports_totals_exactly():
    import random

    spec = demo.seed_spec()
    events = demo.plan_events(random.Random(2019), spec)
    assert len(events) == 17
    assert sum(e["cards"] for e in events) == 1_987
    assert sum(e["participants"] for e in events) == 7_886
    assert sum(e["visits"] for e in events) == 24_097
    assert all(datetime.date(2018, 10, 1) <= e["starts_on"] <= e["ends_on"] <= datetime.date(2019, 1, 31)
               for e in events)  # fmt: skip
    assert len({e["district"] for e in events}) == 13
    assert all(e["visits"] >= e["participants"] > 0 and e["no_shows"] > 0 for e in events)


def test_the_seed_path_scaled_down_keeps_the_mix_and_the_event_totals(db):
    core_demo.generate_people(count=3000, seed=3)
    result = demo.generate(scale="seed", seed=3, fraction=0.001)
    assert active_by_kind() == demo.mix_for(0.001)
    # history: lost, replaced and expired cards beside the active ones
    states = Counter(Card.objects.values_list("state", flat=True))
    assert states["replaced"] > 0 and states["expired"] > 0
    assert result["cards"] == Card.objects.count()
    assert_holders_meet_the_rules(demo.REPORT_DAY)
    first = Card.objects.order_by("issued_at").first().issued_at
    last = Card.objects.order_by("-issued_at").first().issued_at
    assert timezone.localtime(first).date() >= demo.SEED_FIRST_DAY
    assert timezone.localtime(last).date() <= demo.REPORT_DAY
    # issued month by month, with variation between months
    months = Counter(
        timezone.localtime(t).strftime("%Y-%m") for t in Card.objects.values_list("issued_at", flat=True)
    )
    assert len(months) == 49 and max(months.values()) > 2 * min(months.values())
    # the events: 17 in 13 districts, organised by the IT department; participants and visits exact
    report = selectors.events_report()
    assert report["count"] == 17
    assert report["totals"]["participants"] == 7_886 and report["totals"]["visits"] == 24_097
    assert report["totals"]["cards_issued"] == round(1_987 * 0.001)
    assert report["totals"]["signups"] > 7_886
    assert set(ExperienceEvent.objects.values_list("organiser__code", flat=True)) == {"TYC-L1-26"}
    for card in Card.objects.filter(event__isnull=False).select_related("event"):
        assert card.channel == "event" and card.district_id == card.event.district_id
        assert card.event.starts_on <= timezone.localtime(card.issued_at).date() <= card.event.ends_on
    # card numbers are well formed and carry their kind's digit
    from civicstack.card import card_number

    for number, kind in Card.objects.values_list("number", "kind"):
        assert card_number.is_well_formed(number) and number[4] == card_number.KIND_DIGITS[kind]
    assert (
        Person.objects.filter(Q(disability_needs_companion=True)).count() >= demo.mix_for(0.001)["companion"]
    )


def test_the_demo_points_log_has_sealed_days_with_verifiable_receipts(small_demo):
    from civicstack.card.models import PointsEntry, PointsSeal

    assert small_demo["points_days_sealed"] >= 1
    seal = PointsSeal.objects.order_by("day").first()
    entry = PointsEntry.objects.filter(day=seal.day).first()
    ok, _why = services.points_verify_receipt(services.points_receipt(entry), published_root=seal.root)
    assert ok
