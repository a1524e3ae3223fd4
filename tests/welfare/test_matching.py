"""Proactive matching: residents who consented are told, once, of benefits they are newly eligible for
(a 65th birthday, a birth); undecided benefits are not sent; no consent, no message."""

import datetime

import pytest
from django.core.management import call_command

from civicstack.core.models import AuditEvent, Notification, Person
from civicstack.welfare import services
from civicstack.welfare.models import BenefitNotice

pytestmark = pytest.mark.django_db


@pytest.fixture
def resident(make_user, make_person):
    """Turns 65 on 2025-03-10; registered in the city since 2000."""
    user = make_user("grandpa", email="grandpa@example.org")
    person = make_person(user=user, name="林阿伯", birth_date=datetime.date(1960, 3, 10),
                         registered_since=datetime.date(2000, 1, 1))  # fmt: skip
    services.consent_set(actor=user, person=person, use_registry=True, proactive=True)
    return user, person


def inbox(user):
    return list(Notification.objects.filter(recipient=user).order_by("id"))


def test_notified_once_when_turning_65(catalog, resident):
    user, person = resident
    assert services.proactive_match(on=datetime.date(2025, 3, 9)).notices == 0
    assert inbox(user) == []

    report = services.proactive_match(on=datetime.date(2025, 3, 10))
    assert (report.people, report.notified_people, report.notices) == (1, 1, 1)
    (message,) = inbox(user)
    assert "重陽敬老禮金" in message.body and "生育津貼" not in message.body
    assert (
        AuditEvent.objects.filter(action="welfare.benefits_notified", object_id=str(person.pk)).count() == 1
    )

    # the next days' runs find the same benefit: no second message
    assert services.proactive_match(on=datetime.date(2025, 3, 11)).notices == 0
    assert len(inbox(user)) == 1
    assert BenefitNotice.objects.filter(person=person).count() == 1


def test_a_birth_in_the_household_brings_the_birth_benefit(catalog, resident, make_person):
    user, person = resident
    services.proactive_match(on=datetime.date(2025, 3, 10))
    household_parent = make_person(name="林媽媽", sex="F", birth_date=datetime.date(1990, 1, 1))
    # the parent gets a login and consents; then a baby is registered in her household
    from civicstack.core.models import Household, User

    household = Household.objects.create(
        number="H-TEST-1", district=household_parent.district, address="中正路1號"
    )
    Person.objects.filter(pk=household_parent.pk).update(household=household, relationship="head",
                                                          user=User.objects.create_user("mama"))  # fmt: skip
    household_parent.refresh_from_db()
    services.consent_set(
        actor=household_parent.user, person=household_parent, use_registry=True, proactive=True
    )
    assert services.proactive_match(on=datetime.date(2025, 4, 1)).notices == 0
    make_person(
        name="林寶寶",
        sex="F",
        birth_date=datetime.date(2025, 4, 2),
        household=household,
        relationship="child",
    )
    report = services.proactive_match(on=datetime.date(2025, 4, 3))
    assert report.notices == 1 and "生育津貼" in inbox(household_parent.user)[0].body


def test_no_consent_no_message(catalog, resident):
    user, person = resident
    services.consent_set(actor=user, person=person, use_registry=False, proactive=False)
    assert services.proactive_match(on=datetime.date(2025, 3, 10)).people == 0
    assert inbox(user) == []


def test_undecided_benefits_are_not_sent(catalog, resident):
    # the rent benefit needs the housing fact, which the registry does not hold
    user, person = resident
    Person.objects.filter(pk=person.pk).update(income_status="low")
    services.proactive_match(on=datetime.date(2025, 3, 10))
    assert "租金補貼" not in inbox(user)[0].body


def test_management_command(catalog, resident, capsys):
    call_command("welfare", "match", "--today", "2025-03-10")
    assert "1 consenting resident(s) evaluated; 1 notice(s) sent to 1 resident(s)" in capsys.readouterr().out
