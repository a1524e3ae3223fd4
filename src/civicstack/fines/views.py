"""Fines pages: the public lookup and "pay" button, and the staff case list, case page (with its
history), issue form and statistics. Thin: they parse, call selectors/services, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civicstack.core.errors import InvalidInput, NotFound, ServiceError
from civicstack.core.identity import mask_name
from civicstack.core.selectors import staff_scope

from . import selectors, services
from .forms import CaseFilterForm, CaseIssueForm, DocumentForm, LookupForm, ReasonForm
from .models import FineCase
from .throttle import lookup_allowed

STAFF_PAGE_SIZE = 25


def payment_page_url(order_number: str) -> str:
    return f"/payments/orders/{order_number}/"


def payment_notice_url(order_number: str) -> str:
    return f"/payments/orders/{order_number}/notice.pdf"


def _public_row(case: FineCase) -> dict:
    order = case.payment_order
    linked = order is not None and order.state == order.State.PENDING
    return {
        "case": case,
        "payer_name_masked": mask_name(case.payer_name),
        "payment_url": payment_page_url(order.number) if linked else "",
        "notice_url": payment_notice_url(order.number) if linked else "",
    }


def lookup(request: HttpRequest) -> HttpResponse:
    """Public: by case number (also from a reminder's link, ?case_number=), or by name and ID by
    POST (so the ID never lands in a URL, a log or the browser history)."""
    data = (
        request.POST if request.method == "POST" else (request.GET if "case_number" in request.GET else None)
    )
    form = LookupForm(data)
    context = {"form": form, "searched": False, "results": []}
    if data is not None:
        if not lookup_allowed(request):
            context["throttled"] = True
            return render(request, "fines/lookup.html", context, status=429)
        if form.is_valid():
            context["searched"] = True
            cleaned = form.cleaned_data
            try:
                if cleaned["case_number"]:
                    case = selectors.public_case_by_number(cleaned["case_number"])
                    cases = [case] if case is not None else []
                else:
                    cases = selectors.public_cases_by_payer(cleaned["name"], cleaned["identifier"])
            except InvalidInput as exc:
                form.add_error("identifier", exc.message)
                context["searched"] = False
                cases = []
            context["results"] = [_public_row(case) for case in cases]
    status = 400 if data is not None and not form.is_valid() else 200
    return render(request, "fines/lookup.html", context, status=status)


@require_POST
def pay(request: HttpRequest, number: str) -> HttpResponse:
    """Public "pay" button: make sure the case has a payable order, then go to its payment page."""
    if not lookup_allowed(request):
        return render(request, "fines/lookup.html", {"form": LookupForm(), "throttled": True}, status=429)
    case = selectors.public_case_by_number(number)
    if case is None:
        raise Http404(_("No case matches what you entered."))
    try:
        order = services.case_payment_order_ensure(case=case)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(f"{reverse('fines:lookup')}?{urlencode({'case_number': case.number})}")
    return redirect(payment_page_url(order.number))


# --- staff ------------------------------------------------------------------------------------


def _require_staff(request: HttpRequest) -> None:
    if not staff_scope(request.user).is_staff:
        raise DjangoPermissionDenied(_("Staff only."))


def _case_or_404(request: HttpRequest, number: str) -> FineCase:
    try:
        return selectors.access_case_by_number(request.user, number)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@login_required
def staff_case_list(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    form = CaseFilterForm(request.GET or None)
    filters = selectors.CaseFilter()
    if form.is_valid():
        cleaned = form.cleaned_data
        filters = selectors.CaseFilter(
            state=cleaned["state"] or None, kind=cleaned["kind"] or None, item_code=cleaned["item"] or None,
            number=cleaned["number"] or None, issued_from=cleaned["issued_from"], issued_to=cleaned["issued_to"],
        )  # fmt: skip
    cases = selectors.cases_filtered(request.user, filters)
    page = Paginator(cases, STAFF_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    export_query = {k: v for k, v in {
        "state": filters.state, "kind": filters.kind, "item": filters.item_code, "number": filters.number,
        "issued_from": filters.issued_from, "issued_to": filters.issued_to}.items() if v}  # fmt: skip
    return render(request, "fines/staff_case_list.html", {
        "form": form, "page": page, "query": query.urlencode(),
        "export_url": f"/api/v1/fines/cases/export.xlsx?{urlencode(export_query)}",
    })  # fmt: skip


@login_required
def staff_case_detail(request: HttpRequest, number: str) -> HttpResponse:
    _require_staff(request)
    case = _case_or_404(request, number)
    return render(request, "fines/staff_case_detail.html", {
        "case": case, "history": selectors.case_events(case), "documents": case.documents.all(),
        "reason_form": ReasonForm(), "document_form": DocumentForm(),
        "can_transfer": case.kind == "fine" and case.state == FineCase.State.OVERDUE,
        "can_cancel": case.is_payable,
        "can_notify": case.is_payable,
        "payment_url": payment_page_url(case.payment_order.number) if case.payment_order_id else "",
        "notice_url": payment_notice_url(case.payment_order.number) if case.payment_order_id else "",
    })  # fmt: skip


@login_required
@require_POST
def staff_case_action(request: HttpRequest, number: str, action: str) -> HttpResponse:
    _require_staff(request)
    case = _case_or_404(request, number)
    try:
        if action == "notice":
            services.case_send_notice(actor=request.user, case=case)
            messages.success(request, _("The payment notice was sent."))
        elif action in ("cancel", "enforcement"):
            form = ReasonForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("A reason is required."))
            elif action == "cancel":
                services.case_cancel(actor=request.user, case=case, reason=form.cleaned_data["reason"])
                messages.success(request, _("The case was cancelled."))
            else:
                services.case_transfer_to_enforcement(
                    actor=request.user, case=case, reason=form.cleaned_data["reason"]
                )
                messages.success(request, _("The case was transferred to administrative enforcement."))
        elif action == "documents":
            form = DocumentForm(request.POST, request.FILES)
            if form.is_valid():
                services.case_document_add(actor=request.user, case=case, upload=form.cleaned_data["file"],
                                           description=form.cleaned_data["description"])  # fmt: skip
                messages.success(request, _("The document was attached."))
            else:
                messages.error(request, _("Choose a file to attach."))
        else:
            raise Http404(_("No such action."))
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("fines:staff_case_detail", number=case.number)


@login_required
def staff_case_issue(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    items = (
        selectors.items_visible_to_staff(request.user).filter(is_active=True).order_by("agency__code", "code")
    )
    form = CaseIssueForm(request.POST or None, items=items)
    if request.method == "POST" and form.is_valid():
        cleaned = form.cleaned_data
        try:
            case = services.case_issue(actor=request.user, data=services.CaseInput(
                item=cleaned["item"], payer_identifier=cleaned["payer_identifier"], payer_name=cleaned["payer_name"],
                amount=cleaned["amount"], due_date=cleaned["due_date"], facts=cleaned["facts"],
            ))  # fmt: skip
        except ServiceError as exc:
            field = (exc.details or {}).get("field") if isinstance(exc.details, dict) else None
            field = {"identifier": "payer_identifier"}.get(field, field)
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Case %(number)s was issued.") % {"number": case.number})
            return redirect("fines:staff_case_detail", number=case.number)
    return render(request, "fines/staff_case_issue.html", {"form": form})


@login_required
def staff_statistics(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    group_by = request.GET.get("group_by", "agency")
    if group_by not in selectors.GROUPINGS:
        group_by = "agency"
    rows = selectors.case_statistics(request.user, group_by=group_by)
    numbers = ["issued_count", "issued_amount", "paid_count", "paid_amount", "overdue_count", "overdue_amount",
               "cancelled_count"]  # fmt: skip
    totals = {k: sum(row[k] for row in rows) for k in numbers}
    return render(
        request, "fines/staff_statistics.html", {"rows": rows, "totals": totals, "group_by": group_by}
    )
