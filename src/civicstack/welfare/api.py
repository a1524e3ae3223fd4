"""Welfare API: the catalog, stateless evaluation (facts in, every benefit's status and explanation
out), the fact registry, the adaptive interview as a resource, and staff rule versions. Thin:
parse, call selectors/services, shape the answer."""

import datetime
import json
from functools import lru_cache
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status
from pydantic import BaseModel, Field

from civicstack.core.api_support import ERROR_RESPONSES, USER_AUTH, UserToken, require_staff, require_user
from civicstack.core.errors import NotAuthenticated

from . import engine, selectors, services
from .facts import FACTS
from .models import Benefit, BenefitRule, Interview

router = Router(tags=["welfare"])
StatusName = Literal["eligible", "not_eligible", "undecided"]


class BenefitOut(BaseModel):
    # Plain pydantic models for the evaluation output: ninja's Schema reads every field through a
    # Django-aware getter, which for 276 results costs more than the evaluation itself.
    code: str
    name: str
    agency_code: str
    agency_name: str
    category: str
    summary: str
    amount: int | None = Field(description="NT$, when the benefit is a sum of money")
    amount_text: str
    how_to_apply: str
    eservices_item_code: str = Field(description="the online application item, when one exists")
    legal_basis: str

    @staticmethod
    def of(benefit: Benefit) -> dict:
        return dict(code=benefit.code, name=benefit.name, agency_code=benefit.agency.code,
                          agency_name=benefit.agency.name, category=benefit.category, summary=benefit.summary,
                          amount=benefit.amount, amount_text=benefit.amount_text, how_to_apply=benefit.how_to_apply,
                          eservices_item_code=benefit.eservices_item_code, legal_basis=benefit.legal_basis)  # fmt: skip


class RuleOut(Schema):
    effective_from: datetime.date
    condition: dict
    note: str


class BenefitDetailOut(BenefitOut):
    rule: RuleOut | None = Field(description="the rule in effect today")


class ResultOut(BaseModel):
    benefit: BenefitOut
    status: StatusName
    explanation: str
    reasons: list[str] = Field(description="eligible: what makes it so")
    failing: list[str] = Field(description="not eligible: the conditions not met")
    missing_facts: list[str] = Field(description="undecided: facts still unknown")


class EvaluationIn(Schema):
    facts: dict[str, Any] = Field(default_factory=dict, description="fact name → value; see GET /facts")
    on: datetime.date | None = Field(
        None, description="evaluate the rules in effect on this day (default today)"
    )


class EvaluationOut(BaseModel):
    on: datetime.date
    counts: dict[str, int]
    results: list[ResultOut]


class FactOut(Schema):
    name: str
    kind: Literal["integer", "boolean", "choice"]
    label: str
    question: str
    choices: list[dict] = Field(description="[{value, label}] for choices")
    unit: str
    minimum: int | None
    maximum: int | None
    from_registry: bool


def _fact_out(name: str) -> FactOut:
    fact = FACTS[name]
    choices = (
        [{"value": value, "label": str(label)} for value, label in fact.choices]
        if fact.kind == "choice"
        else []
    )
    numeric = fact.kind == "integer"
    return FactOut(name=name, kind=fact.kind, label=str(fact.label), question=str(fact.question), choices=choices,
                   unit=str(fact.unit), minimum=fact.minimum if numeric else None,
                   maximum=fact.maximum if numeric else None, from_registry=bool(fact.registry))  # fmt: skip


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _benefit_json(catalog: selectors.Catalog) -> dict[int, str]:
    """Each benefit as the JSON of BenefitOut, validated and written once per catalog snapshot
    (saving a benefit or a rule makes a new snapshot)."""
    fragments = catalog.derived.get("api_benefit_json")
    if fragments is None:
        fragments = {pk: _dumps(BenefitOut(**BenefitOut.of(benefit)).model_dump(mode="json"))
                     for pk, benefit in catalog.benefits.items()}  # fmt: skip
        catalog.derived["api_benefit_json"] = fragments
    return fragments


@lru_cache(maxsize=16_384)
def _result_json(status: str, explanation: str, reasons: tuple, failing: tuple, missing: tuple) -> str:
    """The rest of a ResultOut after its benefit (from the comma on): few distinct ones recur."""
    return "," + _dumps({"status": status, "explanation": explanation, "reasons": reasons, "failing": failing,
                         "missing_facts": missing})[1:]  # fmt: skip


def _evaluation_response(catalog: selectors.Catalog, results: list) -> HttpResponse:
    """The EvaluationOut of ``results`` written directly: 276 results are too many to build as
    schema objects, validate and serialise on every call (docs/welfare.md, benchmarks). The shape is
    EvaluationOut's, field for field (tests validate responses against it)."""
    fragments = _benefit_json(catalog)
    parts = ['{"benefit":' + fragments[r.benefit.pk] + _result_json(r.status, r.explanation, tuple(r.reasons),
                                                                    tuple(r.failing), tuple(r.missing))
             for r in results]  # fmt: skip
    head = '{"on":' + _dumps(catalog.on.isoformat()) + ',"counts":' + _dumps(_counts(results))
    body = head + ',"results":[' + ",".join(parts) + "]}"
    return HttpResponse(body, content_type="application/json; charset=utf-8")


def _counts(results: list) -> dict[str, int]:
    counts = {engine.ELIGIBLE: 0, engine.UNDECIDED: 0, engine.NOT_ELIGIBLE: 0}
    for result in results:
        counts[result.status] += 1
    return counts


# --- catalog and evaluation ---------------------------------------------------------------------


@router.get("/facts", response={200: list[FactOut]}, auth=None)
def facts(request: HttpRequest):
    """The facts rules may use and the interview asks."""
    return [_fact_out(name) for name in FACTS]


@router.get("/benefits", response={200: list[BenefitOut], **ERROR_RESPONSES}, auth=None)
def benefits(request: HttpRequest, category: str = "", agency: str = ""):
    found = selectors.active_benefits().order_by("code")
    if category:
        found = found.filter(category=category[:20])
    if agency:
        found = found.filter(agency__code=agency[:20])
    return [BenefitOut.of(benefit) for benefit in found]


@router.get("/benefits/{code}", response={200: BenefitDetailOut, **ERROR_RESPONSES}, auth=None)
def benefit_detail(request: HttpRequest, code: str):
    benefit = selectors.benefit_by_code(code)
    rule = selectors.rule_in_effect(benefit)
    out = BenefitOut.of(benefit)
    out["rule"] = (
        RuleOut(effective_from=rule.effective_from, condition=rule.condition, note=rule.note)
        if rule
        else None
    )
    return BenefitDetailOut(**out)


@router.post("/evaluate", response={200: EvaluationOut, **ERROR_RESPONSES}, auth=None)
def evaluate(request: HttpRequest, payload: EvaluationIn):
    """Stateless: facts in, every benefit's status and explanation out; nothing is stored. Unknown
    facts leave benefits undecided (never treated as zero): no facts at all is every benefit
    undecided, not an error."""
    facts = services.parse_facts(payload.facts)
    catalog = selectors.catalog_on(payload.on)
    return _evaluation_response(catalog, selectors.results_for(catalog, facts))


# --- interviews -----------------------------------------------------------------------------------


class InterviewStartIn(Schema):
    use_registry: bool = Field(
        False, description="consent to use your registry data (bearer token of a citizen)"
    )
    notify_me: bool | None = Field(None, description="consent to be told of benefits you newly qualify for")
    facts: dict[str, Any] = Field(default_factory=dict, description="answers known up front")


class AnswerIn(Schema):
    fact: str
    value: Any


class BackIn(Schema):
    fact: str | None = Field(None, description="the answer to take back; the last one when empty")


class InterviewOut(Schema):
    id: str = Field(description="the interview's secret token: keep it to continue")
    done: bool
    next_question: FactOut | None
    answers: dict[str, Any]
    registry_facts: dict[str, Any]
    asked: int
    counts: dict[str, int]


def _token_user(request: HttpRequest):
    # Only a bearer token links an API interview to a citizen: a session cookie alone would let
    # another site start an interview (and record consent) in the citizen's name.
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        user = UserToken().authenticate(request, header[7:].strip())
        if user is None:
            raise NotAuthenticated("the bearer token is not valid")
        return user
    return None


def _interview_out(interview: Interview) -> InterviewOut:
    catalog = selectors.catalog_on(interview.evaluated_on)
    facts = interview.facts()
    name = engine.next_fact(catalog.rules, facts)
    results = selectors.results_for(catalog, facts)
    return InterviewOut(id=interview.token, done=name is None, next_question=_fact_out(name) if name else None,
                        answers=interview.answers, registry_facts=interview.registry_facts,
                        asked=len(interview.answer_order), counts=_counts(results))  # fmt: skip


@router.post("/interviews", response={201: InterviewOut, **ERROR_RESPONSES}, auth=None)
def interview_start(request: HttpRequest, payload: InterviewStartIn):
    user = _token_user(request)
    interview = services.interview_start(user=user, use_registry=payload.use_registry and user is not None,
                                         proactive=payload.notify_me if user else None, facts=payload.facts)  # fmt: skip
    return Status(201, _interview_out(interview))


@router.get("/interviews/{token}", response={200: InterviewOut, **ERROR_RESPONSES}, auth=None)
def interview_get(request: HttpRequest, token: str):
    return _interview_out(selectors.access_interview(_token_user(request), token))


@router.post("/interviews/{token}/answers", response={200: InterviewOut, **ERROR_RESPONSES}, auth=None)
def interview_answer(request: HttpRequest, token: str, payload: AnswerIn):
    interview = selectors.access_interview(_token_user(request), token)
    return _interview_out(
        services.interview_answer(interview=interview, fact=payload.fact, value=payload.value)
    )


@router.post("/interviews/{token}/back", response={200: InterviewOut, **ERROR_RESPONSES}, auth=None)
def interview_back(request: HttpRequest, token: str, payload: BackIn):
    """Take back an answer (the last by default); it becomes a question again."""
    interview = selectors.access_interview(_token_user(request), token)
    interview, _fact = services.interview_back(interview=interview, fact=payload.fact)
    return _interview_out(interview)


@router.get("/interviews/{token}/results", response={200: EvaluationOut, **ERROR_RESPONSES}, auth=None)
def interview_results(request: HttpRequest, token: str):
    interview = selectors.access_interview(_token_user(request), token)
    catalog = selectors.catalog_on(interview.evaluated_on)
    return _evaluation_response(catalog, selectors.results_for(catalog, interview.facts()))


# --- staff: rule versions -------------------------------------------------------------------------


class RuleVersionIn(Schema):
    condition: dict
    effective_from: datetime.date
    note: str = Field("", max_length=200)


class RuleVersionOut(Schema):
    benefit_code: str
    effective_from: datetime.date
    condition: dict
    note: str
    created_at: datetime.datetime


def _rule_out(rule: BenefitRule) -> RuleVersionOut:
    return RuleVersionOut(benefit_code=rule.benefit.code, effective_from=rule.effective_from, condition=rule.condition,
                          note=rule.note, created_at=rule.created_at)  # fmt: skip


@router.get(
    "/staff/benefits/{code}/rules", response={200: list[RuleVersionOut], **ERROR_RESPONSES}, auth=USER_AUTH
)
def rule_versions(request: HttpRequest, code: str):
    require_staff(request)
    benefit = selectors.access_benefit_for_staff(request.user, code)
    return [_rule_out(rule) for rule in benefit.rules.select_related("benefit").order_by("-effective_from")]


@router.post(
    "/staff/benefits/{code}/rules", response={201: RuleVersionOut, **ERROR_RESPONSES}, auth=USER_AUTH
)
def rule_version_create(request: HttpRequest, code: str, payload: RuleVersionIn):
    """A new dated version of the rule, validated: unknown facts, wrong types and contradictions
    answer 400 ``rule_invalid`` with every problem in ``details``."""
    require_staff(request)
    benefit = selectors.access_benefit_for_staff(require_user(request), code)
    rule = services.rule_version_create(actor=request.user, benefit=benefit, condition=payload.condition,
                                        effective_from=payload.effective_from, note=payload.note)  # fmt: skip
    return Status(201, _rule_out(rule))
