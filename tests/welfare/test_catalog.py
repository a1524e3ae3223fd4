"""The shipped demo catalog: 276 benefits of 20 agencies, every rule valid, loading idempotent, and
the online application links resolve through eservices when its catalog is there."""

import datetime

import pytest

from civicstack.core.models import AuditEvent
from civicstack.welfare import selectors, services
from civicstack.welfare.models import Benefit, BenefitRule

pytestmark = pytest.mark.django_db


def test_shipped_catalog_loads_once(db):
    assert services.catalog_load_shipped() == 276
    assert services.catalog_load_shipped() == 0
    assert Benefit.objects.values("agency").distinct().count() == 20
    assert BenefitRule.objects.count() == 276
    assert AuditEvent.objects.filter(action="welfare.catalog_loaded").count() == 1
    categories = set(Benefit.objects.values_list("category", flat=True))
    assert categories >= {"senior", "childbirth", "childcare", "disability", "low_income", "housing", "education",
                          "employment", "indigenous", "veterans"}  # fmt: skip


def test_a_66_year_old_of_daxi_with_mid_low_income(db):
    services.catalog_load_shipped()
    facts = {"age": 66, "district": "大溪區", "income_class": "mid_low", "residence_years": 30}
    results = selectors.results_for(selectors.catalog_on(datetime.date(2026, 1, 1)), facts)
    eligible = {r.benefit.code: r for r in results if r.status == "eligible"}
    assert {"SW-SENIOR-CARD", "SW-DOUBLE9", "SW-SENIOR-MIDLOW", "DO-030-SENIOR-GIFT"} <= set(eligible)
    assert eligible["SW-SENIOR-MIDLOW"].explanation == (
        "Because you are 66 years old and your household's income class is mid-low income "
        "and you have been registered in the city for 30 years."
    )
    assert results[0].benefit.code == "SW-DENTURE"  # the largest sum first (NT$40,000)
