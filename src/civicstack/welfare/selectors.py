"""Reads of the welfare module: the rules in effect on a day (cached per process, checked against
the catalog's version on each call), registry facts of people, evaluation results with their
explanations, and the access checks for staff and interviews."""

import datetime
import time
from dataclasses import dataclass, field
from functools import lru_cache

from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from civicstack.core.errors import NotFound
from civicstack.core.models import Person, SchoolEnrolment, User
from civicstack.core.selectors import household_members, scope_by_agency, staff_scope

from . import engine
from .facts import FACTS
from .models import Benefit, BenefitRule, Consent, Interview
from .rules import describe, explain, statement

_SNAPSHOTS: dict = {}


@dataclass
class Catalog:
    """The benefits with a rule in effect on one day, ready to evaluate."""

    on: datetime.date
    rules: list[engine.RuleSet]
    benefits: dict[int, Benefit]
    # What readers derive from this snapshot once (the API's JSON of each benefit): dropped with
    # the snapshot when the catalog changes.
    derived: dict = field(default_factory=dict, repr=False)


def _catalog_version() -> tuple:
    # Every write to a benefit or its rules (services only; versions are never deleted) moves the
    # benefit's updated_at, so one aggregate tells whether the cached catalog is current.
    benefits = Benefit.objects.aggregate(count=Count("id"), changed=Max("updated_at"))
    return benefits["count"], benefits["changed"]


# Another process's change is seen within this many seconds; this process's own writes at once
# (services call forget_catalog). A second is nothing for rules dated by the day, and it keeps the
# version query out of most evaluations.
RECHECK_SECONDS = 1.0


def forget_catalog() -> None:
    _SNAPSHOTS.clear()


def catalog_on(on: datetime.date | None = None) -> Catalog:
    """Every active benefit's rule in effect on ``on`` (today by default), cached per process.
    At most once a second one aggregate query checks the cached copy; a changed catalog is read
    again."""
    on = on or timezone.localdate()
    cached = _SNAPSHOTS.get(on)
    now = time.monotonic()
    if cached is not None and now - cached[2] < RECHECK_SECONDS:
        return cached[1]
    version = _catalog_version()
    if cached is not None and cached[0] == version:
        _SNAPSHOTS[on] = (version, cached[1], now)
        return cached[1]
    benefits = {b.pk: b for b in Benefit.objects.filter(is_active=True).select_related("agency")}
    rules: dict[int, engine.RuleSet] = {}
    versions = BenefitRule.objects.filter(effective_from__lte=on, benefit_id__in=list(benefits)).order_by(
        "benefit_id", "-effective_from"
    )
    for benefit_id, condition in versions.values_list("benefit_id", "condition"):
        if benefit_id not in rules:
            rules[benefit_id] = engine.RuleSet.of(benefit_id, benefits[benefit_id].code, condition)
    ordered = sorted(rules.values(), key=lambda rule: rule.benefit_code)
    catalog = Catalog(on, ordered, {rule.benefit_id: benefits[rule.benefit_id] for rule in ordered})
    if len(_SNAPSHOTS) > 8:
        _SNAPSHOTS.clear()
    _SNAPSHOTS[on] = (version, catalog, now)
    return catalog


def rule_in_effect(benefit: Benefit, on: datetime.date | None = None) -> BenefitRule | None:
    on = on or timezone.localdate()
    return benefit.rules.filter(effective_from__lte=on).order_by("-effective_from").first()


# --- results --------------------------------------------------------------------------------------


@dataclass
class BenefitResult:
    benefit: Benefit
    status: str
    reasons: list[str] = field(default_factory=list)  # eligible: the facts that make it so
    failing: list[str] = field(default_factory=list)  # not eligible: the conditions not met
    missing: list[str] = field(default_factory=list)  # undecided: facts still unknown
    explanation: str = ""


# The same few hundred explanations recur across people: each is worded once per language.
@lru_cache(maxsize=8192)
def _explanation(language: str | None, status: str, details: tuple[str, ...]) -> str:
    if status == engine.ELIGIBLE:
        return _("Because %(reasons)s.") % {"reasons": _(" and ").join(details)}
    if status == engine.NOT_ELIGIBLE:
        return _("Not met: %(conditions)s.") % {"conditions": "; ".join(details)}
    return _("Still unknown: %(facts)s.") % {"facts": ", ".join(str(FACTS[n].label) for n in details)}


def _failing(leaf: dict, facts: dict, language: str) -> str:
    return _not_met(language, describe(leaf, language), statement(leaf, facts, language))


@lru_cache(maxsize=8192)
def _not_met(language: str | None, condition: str, fact: str) -> str:
    return _("%(condition)s (%(fact)s)") % {"condition": condition, "fact": fact}


ORDER = {engine.ELIGIBLE: 0, engine.UNDECIDED: 1, engine.NOT_ELIGIBLE: 2}


def results_for(catalog: Catalog, facts: dict) -> list[BenefitResult]:
    """Every benefit's status with its explanation: eligible first, then possibly eligible, then not.
    A rule's result depends only on the values of its own few facts, so each combination is worked
    out once per language and remembered on the cached rule (``RuleSet.memo``)."""
    completed = engine.complete(facts)
    language = get_language()
    results = []
    for rule in catalog.rules:
        key = ("result", language, rule.key_of(completed))
        found = rule.memo.get(key)
        if found is None:
            found = rule.remember(key, _result_parts(rule, completed, language))
        results.append(BenefitResult(catalog.benefits[rule.benefit_id], *found))
    # Within eligible, the largest sums first: what matters most to the citizen leads the page.
    results.sort(key=lambda r: (ORDER[r.status], -(r.benefit.amount or 0) if r.status == engine.ELIGIBLE else 0,
                                r.benefit.category, r.benefit.code))  # fmt: skip
    return results


def _result_parts(rule: engine.RuleSet, completed: dict, language: str | None) -> tuple:
    """status, reasons, failing, missing and the explanation of one rule (shared between results:
    read them, never change them)."""
    outcome = explain(rule.condition, completed)
    status = engine.STATUS_OF[outcome.value]
    reasons, failing, missing = [], [], []
    if outcome.value is True:
        reasons = list(dict.fromkeys(statement(leaf, completed, language) for leaf in outcome.because))
    elif outcome.value is False:
        failing = list(dict.fromkeys(_failing(leaf, completed, language) for leaf in outcome.because))
    else:
        missing = [name for name in FACTS if name in outcome.missing]
    details = reasons if status == engine.ELIGIBLE else failing if status == engine.NOT_ELIGIBLE else missing
    return status, reasons, failing, missing, _explanation(language, status, tuple(details))


# --- registry facts -------------------------------------------------------------------------------


def _years_between(start: datetime.date, end: datetime.date) -> int:
    return end.year - start.year - ((end.month, end.day) < (start.month, start.day))


def _household_facts(children: list[Person], on: datetime.date) -> dict:
    ages = [_years_between(child.birth_date, on) for child in children if child.is_resident_on(on)]
    minors = [age for age in ages if 0 <= age < 18]
    facts = {"children_under_18": len(minors)}
    if minors:
        facts["youngest_child_age"] = min(minors)
    births = [c.birth_date for c in children if 0 <= (on - c.birth_date).days <= 365]
    facts["recent_birth"] = bool(births)
    return facts


def _person_facts(person: Person, on: datetime.date) -> dict:
    facts = {
        "age": _years_between(person.birth_date, on),
        "sex": person.sex,
        "district": person.district.name_zh,
        "income_class": person.income_status,
        "disability_level": person.disability_level if person.disability_certificate_valid_on(on) else "none",
        "indigenous": person.indigenous,
    }
    if person.registered_since:
        facts["residence_years"] = max(0, _years_between(person.registered_since, on))
    return facts


# The household tells a head of household's or spouse's children; others may have children
# registered elsewhere, so for them the interview asks.
PARENT_RELATIONSHIPS = {Person.Relationship.HEAD, Person.Relationship.SPOUSE}


def registry_facts(person: Person, on: datetime.date | None = None) -> dict:
    """What the people registry says about the facts of FACTS (use only with the person's consent)."""
    on = on or timezone.localdate()
    facts = _person_facts(person, on)
    if person.household_id and person.relationship in PARENT_RELATIONSHIPS:
        children = [m for m in household_members(person) if m.relationship == Person.Relationship.CHILD]
        facts.update(_household_facts(children, on))
    enrolment = (
        SchoolEnrolment.objects.filter(person=person, enrolled_on__lte=on)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=on))
        .order_by("-enrolled_on")
        .first()
    )
    if enrolment is not None:
        facts["student_level"] = enrolment.level
    return facts


def registry_facts_many(people: list[Person], on: datetime.date) -> dict[int, dict]:
    """registry_facts for many people in three queries (proactive matching)."""
    household_ids = {
        p.household_id for p in people if p.household_id and p.relationship in PARENT_RELATIONSHIPS
    }
    children: dict[int, list[Person]] = {}
    for child in Person.objects.filter(
        household_id__in=household_ids, relationship=Person.Relationship.CHILD
    ):
        children.setdefault(child.household_id, []).append(child)
    levels = dict(
        SchoolEnrolment.objects.filter(person__in=[p.pk for p in people], enrolled_on__lte=on)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=on))
        .order_by("enrolled_on")
        .values_list("person_id", "level")
    )
    facts = {}
    for person in people:
        own = _person_facts(person, on)
        if person.household_id in household_ids and person.relationship in PARENT_RELATIONSHIPS:
            own.update(_household_facts(children.get(person.household_id, []), on))
        if person.pk in levels:
            own["student_level"] = levels[person.pk]
        facts[person.pk] = own
    return facts


# --- access ---------------------------------------------------------------------------------------


def active_benefits() -> QuerySet[Benefit]:
    return Benefit.objects.filter(is_active=True).select_related("agency")


def benefit_by_code(code: str) -> Benefit:
    benefit = active_benefits().filter(code=code).first()
    if benefit is None:
        raise NotFound(_("no such benefit"))
    return benefit


def benefits_for_staff(user: User) -> QuerySet[Benefit]:
    """The benefits of the agencies the staff member acts for (none for non-staff)."""
    if not staff_scope(user).is_staff:
        return Benefit.objects.none()
    return scope_by_agency(Benefit.objects.select_related("agency"), user)


def access_benefit_for_staff(user: User, code: str) -> Benefit:
    benefit = benefits_for_staff(user).filter(code=code).first()
    if benefit is None:
        raise NotFound(_("no such benefit"))
    return benefit


def access_interview(user: User | None, token: str) -> Interview:
    """An interview by its unguessable token; one started while logged in only for that user."""
    interview = Interview.objects.filter(token=token).first()
    if interview is None or (interview.user_id and interview.user_id != getattr(user, "pk", None)):
        raise NotFound(_("no such interview"))
    return interview


def consent_of(person: Person | None) -> Consent | None:
    if person is None:
        return None
    return Consent.objects.filter(person=person).first()


def fact_choices(name: str) -> list[tuple]:
    fact = FACTS[name]
    if fact.kind == "boolean":
        return [("true", _("Yes")), ("false", _("No"))]
    return [(value, str(label)) for value, label in fact.choices]
