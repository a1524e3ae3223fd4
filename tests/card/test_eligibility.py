"""Every eligibility rule at its boundaries: the 65th birthday, the certificate's last day, the
end of a school enrolment, the companion link, the partner and one card of a kind."""

import datetime

import pytest

from civicstack.card import eligibility, services
from civicstack.card.errors import NotEligible
from civicstack.card.models import Card
from civicstack.core import services as core_services
from civicstack.core.models import Agency, SchoolEnrolment

DAY = datetime.date(2026, 11, 27)


def codes(result, ok=False):
    return {f.code for f in result.findings if f.ok is ok}


@pytest.mark.parametrize(
    ("birth", "expected"),
    [
        (datetime.date(1961, 11, 27), True),  # 65 today
        (datetime.date(1961, 11, 28), False),  # 65 tomorrow
        (datetime.date(1930, 1, 1), True),
    ],
)
def test_senior_card_from_the_65th_birthday(make_person, birth, expected):
    person = make_person(birth_date=birth)
    result = eligibility.check(person, "senior", day=DAY)
    assert result.eligible is expected
    if not expected:
        refusal = result.refusals[0]
        assert refusal.code == "age"
        assert "2026-11-28" in refusal.message  # tells the applicant from when


def test_leap_day_birth_reaches_65_on_1_march():
    born = datetime.date(1960, 2, 29)
    assert eligibility.birthday_on(born, 65) == datetime.date(2025, 3, 1)
    assert eligibility.age_on(born, datetime.date(2025, 2, 28)) == 64
    assert eligibility.age_on(born, datetime.date(2025, 3, 1)) == 65
    assert eligibility.age_on(born, datetime.date(2024, 2, 29)) == 64


def test_senior_card_needs_residence(make_person):
    person = make_person(birth_date=datetime.date(1940, 1, 1))
    person.moved_out_on = DAY - datetime.timedelta(days=1)
    result = eligibility.check(person, "senior", day=DAY)
    assert not result.eligible
    assert "resident" in codes(result)


def test_moving_out_later_does_not_count_yet(make_person):
    person = make_person(birth_date=datetime.date(1940, 1, 1))
    person.moved_out_on = DAY + datetime.timedelta(days=10)
    assert eligibility.check(person, "senior", day=DAY).eligible


def test_deceased_person_is_refused(make_person):
    person = make_person()
    person.deceased_on = DAY
    result = eligibility.check(person, "general", day=DAY)
    assert codes(result) == {"deceased"}


@pytest.mark.parametrize(
    ("expires", "expected"),
    [(None, True), (DAY, True), (DAY - datetime.timedelta(days=1), False)],
)
def test_disability_card_needs_a_valid_certificate(make_person, expires, expected):
    person = make_person(disability_level="moderate", disability_certificate_expires_on=expires)
    result = eligibility.check(person, "disability", day=DAY)
    assert result.eligible is expected
    if not expected:
        assert "expired" in result.refusals[0].message


def test_disability_card_without_certificate(make_person):
    result = eligibility.check(make_person(), "disability", day=DAY)
    assert codes(result) == {"disability_certificate"}


def _enrol(person, *, level="elementary", ends_on=None, in_city=True, start=datetime.date(2024, 9, 1)):
    school = Agency.objects.filter(kind=Agency.Kind.SCHOOL).first() if in_city else None
    return core_services.school_enrolment_record(
        actor=None, person=person, school=school, school_name="台北市立建國高級中學", level=level,
        enrolled_on=start, ends_on=ends_on, in_city=in_city,
    )  # fmt: skip


def test_student_card_needs_a_current_enrolment_in_the_city(make_person):
    person = make_person(birth_date=datetime.date(2015, 3, 1))
    assert codes(eligibility.check(person, "student", day=DAY)) == {"school_enrolment"}
    _enrol(person, ends_on=DAY - datetime.timedelta(days=1))  # graduated yesterday
    assert not eligibility.check(person, "student", day=DAY).eligible
    _enrol(person, ends_on=DAY)  # last day today
    assert eligibility.check(person, "student", day=DAY).eligible


def test_student_at_a_school_outside_the_city_is_refused(make_person):
    person = make_person(birth_date=datetime.date(2010, 3, 1))
    _enrol(person, level="senior_high", in_city=False)
    assert not eligibility.check(person, "student", day=DAY).eligible


def test_student_card_lasts_until_the_enrolment_ends(make_person):
    person = make_person(birth_date=datetime.date(2015, 3, 1))
    _enrol(person, ends_on=datetime.date(2027, 6, 30))
    assert eligibility.valid_until("student", person, DAY) == datetime.date(2027, 6, 30)
    assert eligibility.valid_until("general", person, DAY) == datetime.date(2036, 11, 27)


def test_mobile_card_for_residents_or_local_college_students(make_person, telecom):
    resident = make_person()
    assert eligibility.check(
        resident, "mobile", day=DAY, partner=telecom, mobile_number="0912345678"
    ).eligible
    bad_number = eligibility.check(resident, "mobile", day=DAY, partner=telecom, mobile_number="12345")
    assert codes(bad_number) == {"mobile_number"}

    visitor = make_person(birth_date=datetime.date(2005, 1, 1))
    visitor.moved_out_on = datetime.date(2020, 1, 1)
    assert codes(
        eligibility.check(visitor, "mobile", day=DAY, partner=telecom, mobile_number="0912345678")
    ) == {"resident"}
    _enrol(visitor, level=SchoolEnrolment.Level.COLLEGE)
    result = eligibility.check(visitor, "mobile", day=DAY, partner=telecom, mobile_number="0912345678")
    assert result.eligible
    assert "college_student" in codes(result, ok=True)


def test_mobile_card_needs_a_telecom_not_a_bank(make_person, bank):
    result = eligibility.check(make_person(), "mobile", day=DAY, partner=bank, mobile_number="0912345678")
    assert codes(result) == {"partner"}


def test_cobranded_card_needs_a_bank_and_an_adult(make_person, bank, telecom):
    adult = make_person(birth_date=datetime.date(2008, 11, 27))  # 18 today
    assert eligibility.check(adult, "cobranded", day=DAY, partner=bank).eligible
    minor = make_person(birth_date=datetime.date(2008, 11, 28))
    assert codes(eligibility.check(minor, "cobranded", day=DAY, partner=bank)) == {"age"}
    assert "partner" in codes(eligibility.check(adult, "cobranded", day=DAY, partner=telecom))


class TestCompanion:
    @pytest.fixture
    def holder(self, make_person, issue_card):
        person = make_person(
            name="林志豪", disability_level="severe", disability_needs_companion=True,
            disability_certificate_expires_on=datetime.date(2030, 5, 31),
        )  # fmt: skip
        issue_card(person, "disability")
        return person

    def test_companion_of_a_holder_who_needs_one(self, make_person, holder):
        companion = make_person(name="林太太", sex="F")
        result = eligibility.check(companion, "companion", day=DAY, companion_for=holder)
        assert result.eligible, result.as_dict()

    def test_companion_card_ends_with_the_certificate(self, make_person, holder, issue_card):
        card = issue_card(make_person(sex="F"), "companion", companion_for=holder)
        assert card.expires_on == datetime.date(2030, 5, 31)
        assert card.companion_for == holder

    def test_certificate_must_say_a_companion_is_needed(self, make_person):
        holder = make_person(disability_level="mild")
        result = eligibility.check(make_person(), "companion", day=DAY, companion_for=holder)
        assert "does not note" in result.refusals[0].message

    def test_holder_needs_an_active_disability_card(self, make_person):
        holder = make_person(disability_level="severe", disability_needs_companion=True)
        result = eligibility.check(make_person(), "companion", day=DAY, companion_for=holder)
        assert "no active disability card" in result.refusals[0].message

    def test_one_companion_card_per_holder(self, make_person, holder, issue_card):
        issue_card(make_person(), "companion", companion_for=holder)
        result = eligibility.check(make_person(), "companion", day=DAY, companion_for=holder)
        assert "already has a companion" in result.refusals[0].message

    def test_citizens_learn_nothing_about_the_person_they_name(self, make_person, holder):
        stranger = make_person(name="路人甲", disability_level="mild")
        applicant = make_person()
        refused = eligibility.check(applicant, "companion", day=DAY, companion_for=stranger, detailed=False)
        other = eligibility.check(
            applicant, "companion", day=DAY, companion_for=make_person(), detailed=False
        )
        assert refused.refusals[0].message == other.refusals[0].message
        accepted = eligibility.check(applicant, "companion", day=DAY, companion_for=holder, detailed=False)
        assert accepted.eligible and all(holder.name not in f.message for f in accepted.findings)

    def test_not_ones_own_companion(self, holder):
        result = eligibility.check(holder, "companion", day=DAY, companion_for=holder)
        assert codes(result) == {"companion_of"}

    def test_expired_certificate_of_the_holder(self, make_person, holder):
        holder.disability_certificate_expires_on = DAY - datetime.timedelta(days=1)
        result = eligibility.check(make_person(), "companion", day=DAY, companion_for=holder)
        assert "no valid disability certificate" in result.refusals[0].message


def test_one_valid_card_of_a_kind_and_one_citizen_card(make_person, issue_card, telecom):
    person = make_person(birth_date=datetime.date(1950, 1, 1))
    issue_card(person, "general")
    assert codes(eligibility.check(person, "general", day=DAY)) == {"one_per_kind"}
    # A second physical citizen card of another kind is a type change, not a new card.
    assert codes(eligibility.check(person, "senior", day=DAY)) == {"one_citizen_card"}
    # A mobile card may be held beside the citizen card.
    assert eligibility.check(person, "mobile", day=DAY, partner=telecom, mobile_number="0911222333").eligible


def test_refusal_is_explained_through_the_service(make_person, photo):
    person = make_person(birth_date=datetime.date(1990, 1, 1))
    with pytest.raises(NotEligible) as caught:
        services.application_submit(actor=None, person=person, kind="senior", photo=photo)
    assert caught.value.details["eligible"] is False
    assert caught.value.details["findings"][-1]["code"] == "age"
    assert not Card.objects.filter(person=person).exists()
