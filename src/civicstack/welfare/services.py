"""Writes of the welfare module: benefits and their dated rule versions (validated on save),
consents, interviews (answer, go back) and proactive matching. Each runs in a transaction and
records its audit event in it."""

import datetime
import json
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicstack.core.errors import PermissionDenied
from civicstack.core.models import Agency, Person, StaffRole, User
from civicstack.core.selectors import person_of_user, staff_scope
from civicstack.core.services import audit_record, notification_send

from . import engine, selectors
from .errors import FactInvalid, RuleInvalid, RuleVersionExists
from .facts import FACTS
from .models import Benefit, BenefitNotice, BenefitRule, Consent, Interview
from .rules import RuleError, truth, validate

logger = logging.getLogger(__name__)

# Staff who may change their agency's catalog and rules.
RULE_EDITORS = (StaffRole.Role.SUPERVISOR, StaffRole.Role.AGENCY_ADMIN, StaffRole.Role.CITY_ADMIN)


def may_edit(actor: User | None, agency_id: int) -> bool:
    """Seeding (actor None) may; staff may when they act for the agency as a supervisor or above."""
    if actor is None:
        return True
    scope = staff_scope(actor)
    return scope.acts_for(agency_id) and scope.has_role(*RULE_EDITORS)


# --- catalog --------------------------------------------------------------------------------------


def _catalog_changed() -> None:
    # Now, so this transaction reads its own change, and after commit, in case a reader in this
    # process cached the old catalog in between.
    selectors.forget_catalog()
    transaction.on_commit(selectors.forget_catalog)


@dataclass
class BenefitInput:
    code: str
    name: str
    agency: Agency
    category: str
    summary: str = ""
    amount: int | None = None
    amount_text: str = ""
    how_to_apply: str = ""
    eservices_item_code: str = ""
    legal_basis: str = ""


def check_condition(condition) -> None:
    try:
        validate(condition)
    except RuleError as exc:
        raise RuleInvalid(
            _("the rule is not valid: %(problems)s") % {"problems": str(exc)},
            details=[{"path": path, "message": message} for path, message in exc.problems],
        ) from exc


@transaction.atomic
def benefit_create(*, actor: User | None, data: BenefitInput, condition: dict,
                   effective_from: datetime.date) -> Benefit:  # fmt: skip
    if not may_edit(actor, data.agency.pk):
        raise PermissionDenied(_("you may not add benefits of this agency"))
    if data.category not in Benefit.Category.values:
        raise FactInvalid(_("unknown category %(category)s") % {"category": data.category})
    check_condition(condition)
    benefit = Benefit.objects.create(**data.__dict__)
    BenefitRule.objects.create(benefit=benefit, effective_from=effective_from, condition=condition,
                               created_by=actor if actor and actor.pk else None)  # fmt: skip
    _catalog_changed()
    audit_record(actor=actor, action="welfare.benefit_created", obj=benefit, agency=data.agency,
                 data={"code": benefit.code, "effective_from": effective_from.isoformat()})  # fmt: skip
    return benefit


BENEFIT_EDITABLE = ("name", "agency", "category", "summary", "amount", "amount_text", "how_to_apply",
                    "eservices_item_code", "legal_basis", "is_active")  # fmt: skip


@transaction.atomic
def benefit_update(*, actor: User, benefit: Benefit, **changes) -> Benefit:
    """Change a benefit's details (not its rule: that is a new dated version). Staff change their
    own agency's benefits; moving one to another agency needs the same right there too."""
    if not may_edit(actor, benefit.agency_id):
        raise PermissionDenied(_("you may not change benefits of this agency"))
    unknown = set(changes) - set(BENEFIT_EDITABLE)
    if unknown:
        raise FactInvalid(
            _("these fields cannot be changed: %(fields)s") % {"fields": ", ".join(sorted(unknown))}
        )
    if "category" in changes and changes["category"] not in Benefit.Category.values:
        raise FactInvalid(_("unknown category %(category)s") % {"category": changes["category"]})
    benefit = Benefit.objects.select_for_update().select_related("agency").get(pk=benefit.pk)
    previous_agency = benefit.agency
    if "agency" in changes and changes["agency"].pk != benefit.agency_id:
        if not may_edit(actor, changes["agency"].pk):
            raise PermissionDenied(_("you may not move benefits to this agency"))
    changed = {name: value for name, value in changes.items() if getattr(benefit, name) != value}
    for name, value in changed.items():
        setattr(benefit, name, value)
    if changed:
        benefit.save(update_fields=[*changed, "updated_at"])
        _catalog_changed()
        data = {"fields": sorted(changed)}
        if "agency" in changed:
            data["from_agency"] = previous_agency.code
        audit_record(actor=actor, action="welfare.benefit_updated", obj=benefit, agency=benefit.agency,
                     data=data)  # fmt: skip
    return benefit


@transaction.atomic
def rule_version_create(*, actor: User | None, benefit: Benefit, condition, effective_from: datetime.date,
                        note: str = "") -> BenefitRule:  # fmt: skip
    """A new dated version of the benefit's rule, validated first. Versions already in effect are
    history and stay; a version for a day that already has one is refused (add another day)."""
    if not may_edit(actor, benefit.agency_id):
        raise PermissionDenied(_("you may not change rules of this agency"))
    check_condition(condition)
    if BenefitRule.objects.filter(benefit=benefit, effective_from=effective_from).exists():
        raise RuleVersionExists(
            _("a version of this rule already takes effect on %(day)s") % {"day": effective_from}
        )
    try:
        with transaction.atomic():
            rule = BenefitRule.objects.create(benefit=benefit, effective_from=effective_from, condition=condition,
                                              note=note[:200], created_by=actor if actor and actor.pk else None)  # fmt: skip
    except IntegrityError as exc:  # a concurrent save of the same day
        raise RuleVersionExists(
            _("a version of this rule already takes effect on %(day)s") % {"day": effective_from}
        ) from exc
    Benefit.objects.filter(pk=benefit.pk).update(updated_at=timezone.now())
    _catalog_changed()
    audit_record(actor=actor, action="welfare.rule_version_created", obj=benefit, agency=benefit.agency,
                 data={"rule_id": rule.pk, "effective_from": effective_from.isoformat(), "note": note[:200]})  # fmt: skip
    return rule


# --- consent --------------------------------------------------------------------------------------


@transaction.atomic
def consent_set(*, actor: User, person: Person, use_registry: bool, proactive: bool) -> Consent:
    if person.user_id != actor.pk:
        raise PermissionDenied(_("only the person themself may give or withdraw consent"))
    consent, _created = Consent.objects.select_for_update().get_or_create(person=person)
    if (consent.use_registry, consent.proactive) != (use_registry, proactive) or _created:
        consent.use_registry, consent.proactive = use_registry, proactive
        consent.save(update_fields=["use_registry", "proactive", "updated_at"])
        audit_record(actor=actor, action="welfare.consent_set", obj=person,
                     data={"use_registry": use_registry, "proactive": proactive})  # fmt: skip
    return consent


# --- interviews -----------------------------------------------------------------------------------


@transaction.atomic
def interview_start(*, user: User | None, use_registry: bool = False, proactive: bool | None = None,
                    facts: dict | None = None, on: datetime.date | None = None) -> Interview:  # fmt: skip
    """A new interview. With ``use_registry`` (the citizen's explicit consent, recorded) the
    registry's facts are filled in and never asked; ``facts`` are answers given up front."""
    on = on or timezone.localdate()
    user = user if getattr(user, "is_authenticated", False) else None
    person = person_of_user(user) if user else None
    registry = {}
    if person is not None and (use_registry or proactive is not None):
        previous = selectors.consent_of(person)
        consent_set(actor=user, person=person, use_registry=use_registry,
                    proactive=proactive if proactive is not None else bool(previous and previous.proactive))  # fmt: skip
    if person is not None and use_registry:
        registry = selectors.registry_facts(person, on)
        audit_record(actor=user, action="welfare.registry_facts_used", obj=person,
                     data={"facts": sorted(registry)})  # fmt: skip
    interview = Interview.objects.create(token=secrets.token_urlsafe(32), user=user, registry_facts=registry,
                                         evaluated_on=on)  # fmt: skip
    for name, value in (facts or {}).items():
        _set_answer(interview, name, value)
    if facts:
        interview.save(update_fields=["answers", "answer_order", "updated_at"])
    return interview


def parse_fact(name: str, raw):
    fact = FACTS.get(name)
    if fact is None:
        raise FactInvalid(_("unknown fact %(name)s") % {"name": name}, details={"fact": name})
    try:
        return fact.parse(raw)
    except ValueError as exc:
        raise FactInvalid(_("%(label)s: %(problem)s") % {"label": fact.label, "problem": exc},
                          details={"fact": name}) from exc  # fmt: skip


def parse_facts(raw: dict) -> dict:
    """Typed facts from JSON; every bad one is reported at once. ``null`` means unknown."""
    parsed, problems = {}, {}
    for name, value in raw.items():
        if value is None:
            continue
        try:
            parsed[name] = parse_fact(name, value)
        except FactInvalid as exc:
            problems[name] = exc.message
    if problems:
        raise FactInvalid(_("some facts are not valid"), details=problems)
    return parsed


def _set_answer(interview: Interview, name: str, raw) -> None:
    interview.answers[name] = parse_fact(name, raw)
    interview.answer_order = [n for n in interview.answer_order if n != name] + [name]


@transaction.atomic
def interview_answer(*, interview: Interview, fact: str, value) -> Interview:
    """Record (or change) one answer. Answers that no longer matter are kept: they are the
    citizen's, and going back shows them."""
    interview = Interview.objects.select_for_update().get(pk=interview.pk)
    _set_answer(interview, fact, value)
    interview.save(update_fields=["answers", "answer_order", "updated_at"])
    return interview


@transaction.atomic
def interview_back(*, interview: Interview, fact: str | None = None) -> tuple[Interview, str | None]:
    """Take back an answer (the last one by default) so it is asked again; returns its fact."""
    interview = Interview.objects.select_for_update().get(pk=interview.pk)
    if fact is None:
        fact = interview.answer_order[-1] if interview.answer_order else None
    if fact is not None:
        interview.answers.pop(fact, None)
        interview.answer_order = [n for n in interview.answer_order if n != fact]
        # A registry fact the citizen says is wrong is asked instead of used.
        interview.registry_facts.pop(fact, None)
        interview.save(update_fields=["answers", "answer_order", "registry_facts", "updated_at"])
    return interview, fact


def interview_next_fact(interview: Interview) -> str | None:
    catalog = selectors.catalog_on(interview.evaluated_on)
    return engine.next_fact(catalog.rules, interview.facts())


# --- proactive matching ---------------------------------------------------------------------------


@dataclass
class MatchReport:
    people: int = 0
    notified_people: int = 0
    notices: int = 0


def proactive_match(*, on: datetime.date | None = None, batch_size: int = 500) -> MatchReport:
    """Evaluate every consenting resident's registry facts and tell each one, once, of the
    benefits they are now eligible for (a birth, a 65th birthday...). A (person, benefit) pair is
    noticed at most once, ever: the unique BenefitNotice row is written in the same transaction
    as the inbox message. Benefits only possibly eligible (facts the registry lacks) are not sent."""
    on = on or timezone.localdate()
    catalog = selectors.catalog_on(on)
    report = MatchReport()
    consenting = (
        Person.objects.filter(welfare_consent__proactive=True, user__isnull=False, deceased_on__isnull=True)
        .select_related("district", "user")
        .order_by("pk")
    )
    ids = list(consenting.values_list("pk", flat=True))
    for offset in range(0, len(ids), batch_size):
        people = [
            p for p in consenting.filter(pk__in=ids[offset : offset + batch_size]) if p.is_resident_on(on)
        ]
        facts_by_person = selectors.registry_facts_many(people, on)
        noticed = set(
            BenefitNotice.objects.filter(person__in=[p.pk for p in people]).values_list(
                "person_id", "benefit_id"
            )
        )
        for person in people:
            report.people += 1
            facts = engine.complete(facts_by_person[person.pk])
            new = [rule.benefit_id for rule in catalog.rules
                   if (person.pk, rule.benefit_id) not in noticed and truth(rule.condition, facts) is True]  # fmt: skip
            if new:
                sent = _notify(person, [catalog.benefits[b] for b in new])
                report.notices += sent
                report.notified_people += 1 if sent else 0
    return report


@transaction.atomic
def _notify(person: Person, benefits: list[Benefit]) -> int:
    # The consent row is the person's lock: two matching runs at once cannot both send.
    Consent.objects.select_for_update().filter(person=person).first()
    already = set(BenefitNotice.objects.filter(person=person).values_list("benefit_id", flat=True))
    fresh = sorted((b for b in benefits if b.pk not in already), key=lambda b: b.code)
    if not fresh:
        return 0
    BenefitNotice.objects.bulk_create([BenefitNotice(person=person, benefit=b) for b in fresh])
    names = "、".join(benefit.name for benefit in fresh[:10])
    body = _("According to your registry data you may now apply for: %(names)s.") % {"names": names}
    if len(fresh) > 10:
        body += " " + _("And %(count)s more.") % {"count": len(fresh) - 10}
    notification_send(recipient=person.user, subject=_("Benefits you may apply for"), body=body,
                      url="/welfare/interview/")  # fmt: skip
    audit_record(actor=None, action="welfare.benefits_notified", obj=person,
                 data={"benefits": [benefit.code for benefit in fresh]})  # fmt: skip
    return len(fresh)


# --- the shipped catalog --------------------------------------------------------------------------

CATALOG_FILE = Path(__file__).with_name("data") / "catalog.json"


def read_shipped_catalog() -> dict:
    return json.loads(CATALOG_FILE.read_text(encoding="utf-8"))


@transaction.atomic
def catalog_load_shipped(*, actor: User | None = None) -> int:
    """Add the shipped catalog's benefits that are missing (by code), each rule validated as on
    any save; benefits of agencies the installed city profile lacks are skipped. Returns how many
    were added. Bulk inserts with one audit event: this is seeding, not staff editing."""
    shipped = read_shipped_catalog()
    effective_from = datetime.date.fromisoformat(shipped["effective_from"])
    existing = set(Benefit.objects.values_list("code", flat=True))
    agencies = {a.code: a for a in Agency.objects.filter(code__in={b["agency"] for b in shipped["benefits"]})}
    fresh, conditions = [], {}
    for row in shipped["benefits"]:
        if row["code"] in existing or row["agency"] not in agencies:
            continue
        check_condition(row["condition"])
        fields = {k: v for k, v in row.items() if k not in ("agency", "condition", "how_to_apply_url")}
        fields["amount"] = fields.get("amount")
        fresh.append(Benefit(agency=agencies[row["agency"]], **fields))
        conditions[row["code"]] = row["condition"]
    Benefit.objects.bulk_create(fresh, batch_size=500)
    ids = dict(Benefit.objects.filter(code__in=list(conditions)).values_list("code", "id"))
    BenefitRule.objects.bulk_create(
        [BenefitRule(benefit_id=ids[code], effective_from=effective_from, condition=condition)
         for code, condition in conditions.items()], batch_size=500,
    )  # fmt: skip
    if fresh:
        _catalog_changed()
        audit_record(actor=actor, action="welfare.catalog_loaded", object_type="welfare.benefit",
                     data={"added": len(fresh)})  # fmt: skip
    return len(fresh)
