"""Welfare pages: the interview (one question a page, back and change), results with explanations,
the benefit catalog and benefit pages, and for staff the catalog of their agencies, the rule editor
(new dated versions, validated) and a test panel. Thin: they parse, call selectors/services, render."""

import datetime
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civicstack.core.errors import NotFound, ServiceError
from civicstack.core.selectors import agencies_visible_to_staff, person_of_user, staff_scope

from . import engine, selectors, services
from .facts import FACTS
from .forms import BenefitForm
from .models import Benefit
from .rules import outline

SESSION_KEY = "welfare_interview"


def _eservices_item(code: str):
    """The online application item of a benefit, read-only through eservices' selector."""
    if not code:
        return None
    from civicstack.eservices.selectors import item_by_code

    try:
        return item_by_code(code)
    except NotFound:
        return None


def _interview(request: HttpRequest, token: str):
    try:
        return selectors.access_interview(request.user, token)
    except NotFound as exc:
        raise Http404(exc.message) from exc


# --- citizens -------------------------------------------------------------------------------------


def start(request: HttpRequest) -> HttpResponse:
    person = person_of_user(request.user)
    consent = selectors.consent_of(person)
    if request.method == "POST":
        interview = services.interview_start(
            user=request.user, use_registry=person is not None and request.POST.get("use_registry") == "on",
            proactive=(request.POST.get("notify_me") == "on") if person is not None else None,
        )  # fmt: skip
        request.session[SESSION_KEY] = interview.token
        return redirect("welfare:interview", token=interview.token)
    return render(request, "welfare/start.html", {
        "person": person, "consent": consent, "benefit_count": len(selectors.catalog_on().rules),
        "current": request.session.get(SESSION_KEY),
    })  # fmt: skip


def interview(request: HttpRequest, token: str) -> HttpResponse:
    found = _interview(request, token)
    catalog = selectors.catalog_on(found.evaluated_on)
    facts = found.facts()
    asked_again = request.GET.get("fact", "")
    name = (
        asked_again
        if asked_again in FACTS and asked_again not in facts
        else engine.next_fact(catalog.rules, facts)
    )
    if name is None:
        return redirect("welfare:results", token=token)
    results = selectors.results_for(catalog, facts)
    decided = sum(1 for r in results if r.status != engine.UNDECIDED)
    return render(request, "welfare/question.html", {
        "interview": found, "fact": FACTS[name], "choices": selectors.fact_choices(name),
        "previous": request.GET.get("previous", ""), "error": request.GET.get("error", ""),
        "answers": [(FACTS[n], FACTS[n].display(found.answers[n])) for n in found.answer_order],
        "registry": [(FACTS[n], FACTS[n].display(v)) for n, v in found.registry_facts.items() if n in FACTS],
        "number": len(found.answer_order) + 1, "decided": decided, "total": len(results),
    })  # fmt: skip


@require_POST
def answer(request: HttpRequest, token: str) -> HttpResponse:
    found = _interview(request, token)
    name = request.POST.get("fact", "")
    try:
        services.interview_answer(interview=found, fact=name, value=request.POST.get("value", ""))
    except ServiceError as exc:
        messages.error(request, exc.message)
        url = reverse("welfare:interview", kwargs={"token": token})
        return redirect(f"{url}?fact={name}" if name in FACTS else url)
    return redirect("welfare:interview", token=token)


@require_POST
def back(request: HttpRequest, token: str) -> HttpResponse:
    found = _interview(request, token)
    wanted = request.POST.get("fact") or None
    previous = (
        found.answers.get(wanted)
        if wanted
        else (found.answers.get(found.answer_order[-1]) if found.answer_order else None)
    )
    _found, fact = services.interview_back(interview=found, fact=wanted if wanted in FACTS else None)
    url = reverse("welfare:interview", kwargs={"token": token})
    if fact is None:
        return redirect(url)
    shown = (
        "true" if previous is True else "false" if previous is False else "" if previous is None else previous
    )
    return redirect(f"{url}?fact={fact}&previous={shown}")


def results(request: HttpRequest, token: str) -> HttpResponse:
    found = _interview(request, token)
    catalog = selectors.catalog_on(found.evaluated_on)
    all_results = selectors.results_for(catalog, found.facts())
    groups = {status: [r for r in all_results if r.status == status] for status in engine.STATUS_OF.values()}
    items = {r.benefit.code: _eservices_item(r.benefit.eservices_item_code) for r in groups[engine.ELIGIBLE]}
    return render(request, "welfare/results.html", {
        "interview": found, "eligible": [(r, items[r.benefit.code]) for r in groups[engine.ELIGIBLE]],
        "undecided": groups[engine.UNDECIDED], "not_eligible": groups[engine.NOT_ELIGIBLE],
        "show_not_eligible": request.GET.get("all") == "1", "asked": len(found.answer_order),
        "from_registry": len(found.registry_facts), "full_form": len(engine.full_form_facts(catalog.rules)),
    })  # fmt: skip


def catalog(request: HttpRequest) -> HttpResponse:
    category = request.GET.get("category", "")[:20]
    benefits = selectors.active_benefits().order_by("category", "code")
    if category in Benefit.Category.values:
        benefits = benefits.filter(category=category)
    return render(request, "welfare/catalog.html", {
        "benefits": benefits, "categories": Benefit.Category.choices, "category": category,
    })  # fmt: skip


def benefit_detail(request: HttpRequest, code: str) -> HttpResponse:
    try:
        benefit = selectors.benefit_by_code(code)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    rule = selectors.rule_in_effect(benefit)
    return render(request, "welfare/benefit.html", {
        "benefit": benefit, "rule": rule, "lines": outline(rule.condition) if rule else [],
        "item": _eservices_item(benefit.eservices_item_code),
    })  # fmt: skip


# --- staff ----------------------------------------------------------------------------------------


def _require_staff(request: HttpRequest) -> None:
    if not staff_scope(request.user).is_staff:
        raise DjangoPermissionDenied


def _test_facts(request: HttpRequest) -> tuple[dict, dict]:
    """Facts typed in the test panel; empty fields stay unknown."""
    raw = {name: request.GET.get(f"t_{name}", "").strip() for name in FACTS}
    try:
        return services.parse_facts({n: v for n, v in raw.items() if v}), raw
    except ServiceError as exc:
        return {"__error__": exc.details}, raw


@login_required
def staff_catalog(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    benefits = selectors.benefits_for_staff(request.user).order_by("code")
    return render(request, "welfare/staff_catalog.html", {"benefits": benefits})


@login_required
def staff_test(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    facts, raw = _test_facts(request)
    errors = facts.pop("__error__", None)
    all_results = selectors.results_for(selectors.catalog_on(), facts) if request.GET and not errors else []
    return render(request, "welfare/staff_test.html", {
        "fields": _panel_fields(raw), "results": all_results, "errors": errors or {},
        "counts": {s: sum(1 for r in all_results if r.status == s) for s in engine.STATUS_OF.values()},
    })  # fmt: skip


def _panel_fields(raw: dict) -> list[dict]:
    return [{"fact": fact, "value": raw.get(name, ""), "choices": selectors.fact_choices(name)
             if fact.kind != "integer" else []} for name, fact in FACTS.items()]  # fmt: skip


@login_required
def staff_rule_editor(request: HttpRequest, code: str) -> HttpResponse:
    _require_staff(request)
    try:
        benefit = selectors.access_benefit_for_staff(request.user, code)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    current = selectors.rule_in_effect(benefit)
    draft = json.dumps(current.condition if current else {"all": []}, ensure_ascii=False, indent=2)
    effective_from, note, problems = "", "", []
    if request.method == "POST":
        draft = request.POST.get("condition", "")[:20_000]
        effective_from, note = request.POST.get("effective_from", ""), request.POST.get("note", "")[:200]
        try:
            condition = json.loads(draft)
            day = datetime.date.fromisoformat(effective_from)
            services.rule_version_create(actor=request.user, benefit=benefit, condition=condition,
                                         effective_from=day, note=note)  # fmt: skip
        except json.JSONDecodeError as exc:
            problems = [{"path": _("line %(line)s") % {"line": exc.lineno}, "message": _("not valid JSON")}]
        except ValueError:
            problems = [{"path": _("in effect from"), "message": _("enter a date as YYYY-MM-DD")}]
        except ServiceError as exc:
            problems = (
                exc.details if isinstance(exc.details, list) else [{"path": "", "message": exc.message}]
            )
        else:
            messages.success(request, _("The new rule version was saved."))
            return redirect("welfare:staff_rule_editor", code=code)
    facts, raw = _test_facts(request)
    errors = facts.pop("__error__", None)
    tested = None
    if any(raw.values()) and not errors and current:
        (tested,) = [
            r for r in selectors.results_for(selectors.catalog_on(), facts) if r.benefit.pk == benefit.pk
        ] or [None]
    return render(request, "welfare/staff_rule_editor.html", {
        "benefit": benefit, "current": current, "versions": benefit.rules.order_by("-effective_from"),
        "lines": outline(current.condition) if current else [], "draft": draft, "problems": problems,
        "effective_from": effective_from, "note": note, "may_edit": services.may_edit(request.user, benefit.agency_id),
        "facts": list(FACTS.values()), "fields": _panel_fields(raw), "tested": tested, "errors": errors or {},
    })  # fmt: skip


@login_required
def staff_benefit_edit(request: HttpRequest, code: str) -> HttpResponse:
    """A benefit's details (name, agency, category, what is given, how to apply, the online
    application link, legal basis, shown or hidden). Staff of the agency read them; supervisors
    and above change them, as with the rule editor (``services.may_edit``)."""
    _require_staff(request)
    try:
        benefit = selectors.access_benefit_for_staff(request.user, code)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    may_edit = services.may_edit(request.user, benefit.agency_id)
    agencies = agencies_visible_to_staff(request.user)
    form = BenefitForm(initial=BenefitForm.initial_of(benefit), agencies=agencies, read_only=not may_edit)
    status = 200
    if request.method == "POST":
        if not may_edit:
            raise DjangoPermissionDenied(
                _("Only supervisors and administrators of the agency change its benefits.")
            )
        form = BenefitForm(request.POST, initial=BenefitForm.initial_of(benefit), agencies=agencies)
        if form.is_valid():
            try:
                services.benefit_update(actor=request.user, benefit=benefit, **form.changes())
            except ServiceError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("The benefit's details were saved."))
                return redirect("welfare:staff_benefit_edit", code=benefit.code)
        status = 400
    return render(request, "welfare/staff_benefit.html", {
        "benefit": benefit, "form": form, "may_edit": may_edit,
    }, status=status)  # fmt: skip
