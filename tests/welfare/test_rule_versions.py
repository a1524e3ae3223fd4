"""Dated rule versions: the rule in effect on a day is the latest version not after it; versions are
validated on save, refused for staff outside the benefit's agency or below supervisor, and audited."""

import datetime

import pytest

from civicstack.core.errors import PermissionDenied
from civicstack.core.models import AuditEvent
from civicstack.welfare import selectors, services
from civicstack.welfare.errors import RuleInvalid, RuleVersionExists

pytestmark = pytest.mark.django_db

AGE_70 = {
    "all": [{"fact": "age", "op": ">=", "value": 70}, {"fact": "residence_years", "op": ">=", "value": 1}]
}


def status_on(benefit, day, facts):
    catalog = selectors.catalog_on(day)
    (result,) = [r for r in selectors.results_for(catalog, facts) if r.benefit == benefit]
    return result.status


def test_the_version_in_effect_is_chosen_by_date(catalog, bureau_staff):
    senior = catalog["senior"]
    services.rule_version_create(actor=bureau_staff["welfare_supervisor"], benefit=senior, condition=AGE_70,
                                 effective_from=datetime.date(2020, 1, 1), note="age raised to 70")  # fmt: skip
    facts = {"age": 67, "residence_years": 5}
    assert status_on(senior, datetime.date(2019, 12, 31), facts) == "eligible"
    assert status_on(senior, datetime.date(2020, 1, 1), facts) == "not_eligible"
    event = AuditEvent.objects.filter(action="welfare.rule_version_created").get()
    assert event.data["effective_from"] == "2020-01-01" and event.actor_username == "welfare_supervisor"


def test_a_benefit_before_its_first_version_is_not_offered(catalog):
    codes = {rule.benefit_code for rule in selectors.catalog_on(datetime.date(2017, 12, 31)).rules}
    assert codes == set()
    assert {rule.benefit_code for rule in selectors.catalog_on(datetime.date(2018, 1, 1)).rules} == {
        "T-SENIOR",
        "T-BIRTH",
        "T-RENT",
    }


def test_invalid_rule_is_refused_with_every_problem(catalog, bureau_staff):
    bad = {"all": [{"fact": "age", "op": ">=", "value": 65}, {"fact": "age", "op": "<", "value": 18},
                   {"fact": "favourite_colour", "op": "==", "value": "red"}]}  # fmt: skip
    with pytest.raises(RuleInvalid) as caught:
        services.rule_version_create(actor=bureau_staff["welfare_supervisor"], benefit=catalog["senior"],
                                     condition=bad, effective_from=datetime.date(2021, 1, 1))  # fmt: skip
    assert caught.value.details == [
        {"path": "rule.all[2]", "message": "unknown fact favourite_colour"},
        {"path": "rule.all", "message": "contradictory conditions on age: Age ≥ 65 and Age < 18"},
    ]
    assert catalog["senior"].rules.count() == 1


def test_one_version_a_day(catalog, bureau_staff):
    with pytest.raises(RuleVersionExists):
        services.rule_version_create(actor=bureau_staff["welfare_supervisor"], benefit=catalog["senior"],
                                     condition=AGE_70, effective_from=datetime.date(2018, 1, 1))  # fmt: skip


@pytest.mark.parametrize("who", ["welfare_clerk", "supervisor_a", "clerk_a"])
def test_only_supervisors_of_the_agency_may_edit(catalog, bureau_staff, who):
    actor = bureau_staff[who]
    with pytest.raises(PermissionDenied):
        services.rule_version_create(actor=actor, benefit=catalog["senior"], condition=AGE_70,
                                     effective_from=datetime.date(2021, 1, 1))  # fmt: skip


def test_city_admin_may_edit_any_agency(catalog, bureau_staff):
    rule = services.rule_version_create(actor=bureau_staff["city_admin"], benefit=catalog["rent"], condition=AGE_70,
                                        effective_from=datetime.date(2021, 1, 1))  # fmt: skip
    assert rule.benefit == catalog["rent"]
