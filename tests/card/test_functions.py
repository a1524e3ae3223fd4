"""The function registry, enrolments by the providing organisation, what each party may see, and
the e-invoice carrier."""

import datetime

import pytest
from django.utils import timezone

from civicstack.card import selectors, services
from civicstack.card.errors import CardStateConflict
from civicstack.card.models import CardFunction, CardPartner
from civicstack.core import services as core_services
from civicstack.core.errors import InvalidInput, PermissionDenied
from civicstack.core.models import Agency, StaffRole


def test_the_registry_holds_the_31_functions_with_their_providers(db):
    assert CardFunction.objects.count() == 31
    library = CardFunction.objects.get(code="library")
    assert library.provider_agency.code == "TYC-L1-14" and library.requires_enrolment
    assert CardFunction.objects.get(code="metro_discount").provider_partner.code == "taoyuan-metro"
    assert CardFunction.objects.get(code="student_id").card_kinds == ["student"]
    assert services.registry_sync() == 31  # idempotent
    assert CardFunction.objects.count() == 31
    assert "card.function:library" in core_services.API_KEY_SCOPES


def test_entitlements_follow_kind_enrolment_and_state(make_person, issue_card):
    card = issue_card(make_person())
    rows = {row["function"]: row for row in selectors.entitlements(card)}
    assert rows["bus_bogo"]["entitled"]
    assert rows["library"]["reason"] == "not_enrolled"
    assert rows["welfare_points"]["reason"] == "card_kind_not_eligible"
    services.function_enrol(card=card, function=CardFunction.objects.get(code="library"), reference="LIB-7")
    rows = {row["function"]: row for row in selectors.entitlements(card)}
    assert rows["library"]["entitled"] and rows["library"]["enrolments"][0]["reference"] == "LIB-7"
    services.card_report_lost(actor=None, card=card)
    card.refresh_from_db()
    assert not any(row["entitled"] for row in selectors.entitlements(card))


def test_functions_start_on_their_date(make_person, issue_card):
    card = issue_card(make_person(birth_date=datetime.date(1940, 1, 1)), "senior")
    taxi = CardFunction.objects.get(code="love_taxi")
    taxi.available_from = datetime.date(2019, 3, 1)  # a function that starts on a date
    before = timezone.make_aware(datetime.datetime(2019, 2, 28, 12))
    Card = type(card)
    Card.objects.filter(pk=card.pk).update(issued_at=before - datetime.timedelta(days=30))
    card.refresh_from_db()
    assert selectors.entitlements(card, at=before, only=[taxi])[0]["reason"] == "not_yet_available"
    assert selectors.entitlements(card, only=[taxi])[0]["entitled"]


def test_enrolment_expires_with_its_validity(make_person, issue_card):
    card = issue_card(make_person())
    health = CardFunction.objects.get(code="health_card")
    services.function_enrol(
        card=card, function=health, reference="H-1", valid_from=datetime.date(2020, 1, 1),
        valid_until=timezone.localdate() - datetime.timedelta(days=1),
    )  # fmt: skip
    row = selectors.entitlements(card, only=[health])[0]
    assert row["reason"] == "not_enrolled" and row["enrolments"][0]["valid"] is False


def test_enrolment_needs_reference_and_a_kind_that_may_hold_it(make_person, issue_card):
    card = issue_card(make_person())
    with pytest.raises(InvalidInput, match="圖書館借閱帳號"):
        services.function_enrol(card=card, function=CardFunction.objects.get(code="library"))
    with pytest.raises(InvalidInput):
        services.function_enrol(
            card=card, function=CardFunction.objects.get(code="student_id"), reference="S"
        )
    services.function_enrol(card=card, function=CardFunction.objects.get(code="library"), reference="L")
    with pytest.raises(CardStateConflict):
        services.function_enrol(card=card, function=CardFunction.objects.get(code="library"), reference="L2")


class TestSchools:
    """A school issues student IDs on its students' cards and sees only its own."""

    @pytest.fixture
    def schools(self, make_user):
        first, second = Agency.objects.filter(kind=Agency.Kind.SCHOOL).order_by("code")[:2]
        users = {}
        for school in (first, second):
            user = make_user(f"teacher-{school.code}")
            core_services.staff_role_grant(actor=None, user=user, agency=school, role=StaffRole.Role.CLERK)
            users[school.code] = user
        return first, second, users

    @pytest.fixture
    def student_card(self, make_person, issue_card, schools):
        first, _second, _users = schools
        person = make_person(birth_date=datetime.date(2014, 4, 1))
        core_services.school_enrolment_record(
            actor=None, person=person, school=first, school_name="", level="elementary",
            enrolled_on=datetime.date(2020, 9, 1),
        )  # fmt: skip
        return issue_card(person, "student")

    def test_staff_of_the_school_enrol_for_their_school(self, schools, student_card):
        first, second, users = schools
        student_id = CardFunction.objects.get(code="student_id")
        enrolment = services.function_enrol(
            card=student_card, function=student_id, actor=users[first.code], reference="1120301"
        )
        assert enrolment.issuer_agency == first
        seen_by_first = selectors.entitlements(student_card, only=[student_id], issuer_agency=first)[0]
        seen_by_second = selectors.entitlements(student_card, only=[student_id], issuer_agency=second)[0]
        assert seen_by_first["entitled"] and seen_by_first["enrolments"][0]["reference"] == "1120301"
        assert not seen_by_second["entitled"] and seen_by_second["enrolments"] == []
        assert list(selectors.enrolments_issued_by(agency=second)) == []

    def test_a_school_key_enrols_only_with_the_function_scope(self, schools, student_card):
        first, _second, _users = schools
        student_id = CardFunction.objects.get(code="student_id")
        expires = timezone.now() + datetime.timedelta(days=30)
        _raw, library_key = core_services.api_key_create(
            actor=None, name="lib", partner="school", agency=first, scopes=["card.function:library"],
            expires_at=expires,
        )  # fmt: skip
        with pytest.raises(PermissionDenied):
            services.function_enrol(
                card=student_card, function=student_id, api_key=library_key, reference="1"
            )
        _raw, key = core_services.api_key_create(
            actor=None, name="roll", partner="school", agency=first, scopes=["card.function:student_id"],
            expires_at=expires,
        )  # fmt: skip
        enrolment = services.function_enrol(
            card=student_card, function=student_id, api_key=key, reference="2"
        )
        assert enrolment.issuer_agency == first

    def test_staff_of_another_agency_cannot_enrol_a_provided_function(self, staff, make_person, issue_card):
        card = issue_card(make_person())
        with pytest.raises(PermissionDenied):
            services.function_enrol(
                card=card,
                function=CardFunction.objects.get(code="library"),
                actor=staff["clerk_a"],
                reference="L",
            )


def test_a_partner_key_enrols_as_the_partner(make_person, issue_card):
    employer = services.partner_create(actor=None, code="demo-factory", name="示範工業", kind="employer")
    _raw, key = core_services.api_key_create(
        actor=None, name="hr", partner="示範工業", agency=Agency.objects.get(code="TYC-L1-09"),
        scopes=["card.function:employee_id"], expires_at=timezone.now() + datetime.timedelta(days=30),
    )  # fmt: skip
    employer.api_keys.add(key)
    card = issue_card(make_person())
    function = CardFunction.objects.get(code="employee_id")
    enrolment = services.function_enrol(card=card, function=function, api_key=key, reference="E-42")
    assert enrolment.issuer_partner == employer and enrolment.issuer_name() == "示範工業"
    rows = selectors.entitlements(card, only=[function], issuer_partner=employer)
    assert rows[0]["entitled"]
    other = services.partner_create(
        actor=None, code="other-co", name="別家公司", kind=CardPartner.Kind.EMPLOYER
    )
    assert selectors.entitlements(card, only=[function], issuer_partner=other)[0]["enrolments"] == []
    services.function_revoke(enrolment=enrolment, api_key=key)
    assert not selectors.entitlements(card, only=[function], issuer_partner=employer)[0]["entitled"]


@pytest.mark.parametrize("barcode", ["/ABC+123", "/1234567", "/A.B-C+D", "/abc1234"])
def test_valid_einvoice_barcodes(barcode):
    assert services.einvoice_barcode_normalize(barcode) == barcode.upper()


@pytest.mark.parametrize(
    "barcode", ["", "ABC1234", "/ABC123", "/ABC12345", "/ABC_123", "/ABC 123", "//ABC123"]
)
def test_invalid_einvoice_barcodes(barcode):
    with pytest.raises(InvalidInput):
        services.einvoice_barcode_normalize(barcode)


def test_binding_a_carrier_replaces_the_previous_one(citizen, issue_card):
    user, person = citizen
    card = issue_card(person)
    services.einvoice_carrier_bind(actor=user, card=card, barcode="/AAA1111")
    card = services.einvoice_carrier_bind(actor=user, card=card, barcode="/BBB2222")
    active = card.enrolments.filter(function__code="einvoice_carrier", state="active")
    assert card.einvoice_carrier == "/BBB2222" and [e.reference for e in active] == ["/BBB2222"]
    card = services.einvoice_carrier_unbind(actor=user, card=card)
    assert card.einvoice_carrier == "" and not card.enrolments.filter(state="active").exists()
