"""The adaptive interview: one question at a time, the fact most likely needed first, stopping as soon as
every benefit is decided; registry facts used with consent and never asked; going back; and final
results equal to the full evaluation with every fact known."""

import datetime
import random

import pytest

from civicstack.core.models import AuditEvent
from civicstack.welfare import engine, selectors, services
from civicstack.welfare.facts import FACTS
from civicstack.welfare.models import Consent

pytestmark = pytest.mark.django_db


def run(interview, persona: dict) -> list[str]:
    asked = []
    while (name := services.interview_next_fact(interview)) is not None:
        assert name not in asked and name not in interview.registry_facts
        asked.append(name)
        interview = services.interview_answer(interview=interview, fact=name, value=persona[name])
    return asked


def test_asks_only_until_every_benefit_is_decided(catalog):
    interview = services.interview_start(user=None)
    # age and residence decide one benefit; a 30-year-old is not a senior: residence never asked
    persona = {"age": 30, "recent_birth": False, "housing": "own", "income_class": "general"}
    asked = run(interview, persona)
    # The rent subsidy needs renting and a low or mid-low income: few households are low-income
    # (4%), many rent (18%), so income is the answer more likely needed and asked first; for a
    # general-income household housing then decides nothing and is never asked.
    assert "residence_years" not in asked and "housing" not in asked
    assert set(asked) == {"age", "recent_birth", "income_class"}
    interview.refresh_from_db()
    statuses = {
        r.benefit.code: r.status for r in selectors.results_for(selectors.catalog_on(), interview.facts())
    }
    assert statuses == {"T-SENIOR": "not_eligible", "T-BIRTH": "not_eligible", "T-RENT": "not_eligible"}


def test_first_question_is_the_one_deciding_most(catalog, bureau):
    from .conftest import add_benefit

    for index in range(3):  # three more rules over housing: housing now decides the most
        add_benefit(f"T-HOUSE-{index}", {"fact": "housing", "op": "==", "value": "rent"}, agency=bureau)
    assert services.interview_next_fact(services.interview_start(user=None)) == "housing"


def test_going_back_asks_again_and_changes_the_result(catalog):
    interview = services.interview_start(user=None)
    for name, value in (("age", 70), ("residence_years", 10)):
        interview = services.interview_answer(interview=interview, fact=name, value=value)
    interview, fact = services.interview_back(interview=interview)
    assert fact == "residence_years" and "residence_years" not in interview.answers
    assert services.interview_next_fact(interview) in {"residence_years", "recent_birth", "housing"}
    interview = services.interview_answer(
        interview=interview, fact="age", value="40"
    )  # change an earlier one
    assert interview.answers["age"] == 40 and interview.answer_order == ["age"]
    results = {
        r.benefit.code: r.status for r in selectors.results_for(selectors.catalog_on(), interview.facts())
    }
    assert results["T-SENIOR"] == "not_eligible"


def test_registry_facts_are_used_with_consent_and_not_asked(catalog, citizen):
    user, person = citizen  # born 1980, general income
    interview = services.interview_start(user=user, use_registry=True)
    assert interview.registry_facts["age"] == selectors._years_between(
        person.birth_date, datetime.date.today()
    )
    assert Consent.objects.get(person=person).use_registry is True
    assert AuditEvent.objects.filter(action="welfare.registry_facts_used", object_id=str(person.pk)).exists()
    asked = run(interview, {"recent_birth": False, "housing": "rent", "income_class": "general", "age": 1})
    assert "age" not in asked and "income_class" not in asked


def test_without_consent_nothing_is_read_from_the_registry(catalog, citizen):
    user, _person = citizen
    interview = services.interview_start(user=user, use_registry=False)
    assert interview.registry_facts == {}
    assert services.interview_next_fact(interview) is not None


def test_unknown_fact_or_bad_value_is_refused(catalog):
    interview = services.interview_start(user=None)
    with pytest.raises(services.FactInvalid):
        services.interview_answer(interview=interview, fact="shoe_size", value=42)
    with pytest.raises(services.FactInvalid):
        services.interview_answer(interview=interview, fact="age", value="old")
    with pytest.raises(services.FactInvalid):
        services.interview_answer(interview=interview, fact="housing", value="castle")


def persona(rng: random.Random) -> dict:
    districts = [name for name, _label in FACTS["district"].choices]
    age = rng.randint(0, 95)
    children = 0 if not 20 <= age <= 60 else rng.choice([0, 1, 2])
    facts = {"age": age, "sex": rng.choice("MF"), "district": rng.choice(districts), "residence_years": rng.randint(0, age),
             "income_class": rng.choice(["general", "mid_low", "low"]),
             "disability_level": rng.choice(["none", "none", "mild", "severe"]), "indigenous": rng.random() < 0.2,
             "children_under_18": children, "recent_birth": False, "pregnant": False,
             "student_level": rng.choice(["none", "college", "elementary"]), "employment": rng.choice(["employed", "unemployed", "not_working"]),
             "housing": rng.choice(["own", "rent", "other"]), "veteran": rng.random() < 0.2, "farmer": rng.random() < 0.2,
             "single_parent": children > 0 and rng.random() < 0.3}  # fmt: skip
    if children:
        facts["youngest_child_age"] = rng.randint(0, 17)
        facts["recent_birth"] = facts["youngest_child_age"] == 0
    return facts


def test_interview_results_equal_the_full_evaluation_on_the_shipped_catalog(db):
    services.catalog_load_shipped()
    catalog = selectors.catalog_on()
    assert len(catalog.rules) == 276
    rng = random.Random(7)
    for _ in range(25):
        facts = persona(rng)
        known: dict = {}
        while (name := engine.next_fact(catalog.rules, known)) is not None:
            known[name] = facts[name]
        full = [engine.status(rule, engine.complete(facts)) for rule in catalog.rules]
        assert [engine.status(rule, engine.complete(known)) for rule in catalog.rules] == full
        assert set(known) <= set(engine.full_form_facts(catalog.rules))


def test_a_fact_likely_unneeded_waits_and_is_then_not_asked(catalog, bureau):
    from .conftest import add_benefit

    # a district office's senior gift: the district matters only for people 65 and older
    add_benefit("T-DAXI", {"all": [{"fact": "district", "op": "==", "value": "大溪區"},
                                   {"fact": "age", "op": ">=", "value": 65}]}, agency=bureau)  # fmt: skip
    catalog_rules = selectors.catalog_on().rules
    assert engine.next_fact(catalog_rules, {}) != "district"
    young = {
        "age": 30,
        "recent_birth": False,
        "housing": "own",
        "income_class": "general",
        "district": "大溪區",
    }
    assert "district" not in run(services.interview_start(user=None), young)
    old = {**young, "age": 70, "residence_years": 5}
    assert "district" in run(services.interview_start(user=None), old)


def test_a_fact_left_only_in_decided_branches_is_never_asked(bureau):
    from .conftest import add_benefit

    veteran, farmer = (
        {"fact": "veteran", "op": "==", "value": True},
        {"fact": "farmer", "op": "==", "value": True},
    )
    add_benefit("T-BRANCHES", {"any": [{"all": [{"fact": "age", "op": ">=", "value": 65}, veteran]},
                                       {"all": [{"fact": "age", "op": "<", "value": 65}, farmer]}]}, agency=bureau)  # fmt: skip
    rules = selectors.catalog_on().rules
    assert engine.next_fact(rules, {"age": 30}) == "farmer"  # veteran can no longer change anything
    assert engine.next_fact(rules, {"age": 30, "farmer": False}) is None
    assert engine.next_fact(rules, {"age": 70}) == "veteran"
