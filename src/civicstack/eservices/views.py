"""Online applications pages: the catalog and item pages, the apply form rendered from the item's
JSON Schema, check-your-answers, the confirmation with receipt PDF, "my applications" with their
timelines and supplements, and the staff inbox, case page, bulk actions and supervisor view.
Thin: they parse, call selectors/services, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from civicstack.core.city_profile import city_name
from civicstack.core.errors import NotFound, ServiceError
from civicstack.core.identity import mask_name
from civicstack.core.models import Agency, Person, User
from civicstack.core.selectors import person_of_user, scope_by_agency, staff_scope
from civicstack.core.services import person_viewed

from . import form_builder, form_schema, forms, selectors, services
from .errors import FormInvalid, InvalidAttachment
from .models import Application, FormDefinition, ServiceItem
from .receipt import render_receipt

STAFF_PAGE_SIZE = 25
SLA_LABELS = {"on_time": gettext_lazy("On time"), "due_soon": gettext_lazy("Due soon"), "overdue": pgettext_lazy("case deadline", "Overdue"),
              "paused": gettext_lazy("Waiting for the applicant"), "closed": gettext_lazy("Closed")}  # fmt: skip


# --- catalog ----------------------------------------------------------------------------------


def catalog(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:100]
    agency_code = request.GET.get("agency", "")[:20]
    category = request.GET.get("category", "")[:40]
    agency = Agency.objects.filter(code=agency_code).first() if agency_code else None
    items = selectors.catalog_search(query=query, agency_id=agency.pk if agency else None, category=category)
    page = Paginator(items, 30).get_page(request.GET.get("page"))
    agencies = Agency.objects.filter(service_items__is_active=True).distinct().order_by("code")
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "eservices/catalog.html", {
        "page": page, "query": query, "agency_code": agency_code, "category": category, "agencies": agencies,
        "categories": selectors.catalog_categories(), "searched": bool(query or agency or category),
        "params": params.urlencode(),
    })  # fmt: skip


def item_detail(request: HttpRequest, code: str) -> HttpResponse:
    try:
        item = selectors.item_by_code(code)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return render(request, "eservices/item_detail.html", {
        "item": item, "blank_forms": item.blank_forms.all(), "form": services.current_form(item),
        "documents": [line for line in item.required_documents.splitlines() if line.strip()],
    })  # fmt: skip


# --- apply ----------------------------------------------------------------------------------------


def _fields(form, values: dict, errors: dict, application: Application | None = None) -> list[dict]:
    """The questions of a form version, in layout order, ready for the template."""
    schema, layout = form.schema, form.layout
    required = set(schema.get("required", []))
    conditions = form_schema.show_conditions(schema)
    attachments = {a.field: a for a in application.attachments.all()} if application else {}
    sections = []
    for section in layout.get("sections", []):
        fields = []
        for name in section["fields"]:
            spec = schema["properties"][name]
            kind = spec.get("type")
            widget = "text"
            if spec.get("format") == "attachment":
                widget = "file"
            elif kind == "array":
                widget = "checkboxes"
            elif "enum" in spec:
                widget = "radio" if len(spec["enum"]) <= 4 else "select"
            elif kind == "boolean":
                widget = "checkbox"
            elif kind in ("integer", "number"):
                widget = "number"
            elif spec.get("format") in ("date", "email"):
                widget = spec["format"]
            elif spec.get("maxLength", 0) > 200:
                widget = "textarea"
            value = values.get(name, spec.get("default", ""))
            fields.append({
                "name": name, "label": spec.get("title", name), "help": spec.get("description", ""), "widget": widget,
                "required": name in required, "value": value, "error": errors.get(name, ""),
                "options": spec.get("enum") or spec.get("items", {}).get("enum", []),
                "show_when": conditions.get(name), "attachment": attachments.get(name),
                "accept": ",".join({"pdf": ".pdf", "jpeg": ".jpg,.jpeg", "png": ".png"}[k]
                                   for k in spec.get("x-accept", ["pdf", "jpeg", "png"])),
                "max_kb": spec.get("x-max-bytes", form_schema.DEFAULT_ATTACHMENT_MAX_BYTES) // 1024,
                "minimum": spec.get("minimum"), "maximum": spec.get("maximum"),
            })  # fmt: skip
        sections.append({"title": section.get("title", ""), "fields": fields})
    return sections


def _raw_answers(request: HttpRequest, schema: dict) -> dict:
    return form_schema.coerce(
        schema, {name: request.POST.getlist(name) for name in schema.get("properties", {})}
    )


def _apply_page(request, item, form, application, values, errors, offices, status=200):
    return render(request, "eservices/apply.html", {
        "item": item, "form": form, "application": application, "sections": _fields(form, values, errors, application),
        "errors": errors, "offices": offices,
        "receiving_office": application.receiving_office_id if application else (offices[0].pk if len(offices) == 1 else None),
        "person": person_of_user(request.user),
    }, status=status)  # fmt: skip


def _offices_for(item: ServiceItem, request: HttpRequest) -> list[Agency]:
    try:
        return services.receiving_offices(item, person_of_user(request.user))
    except ServiceError:
        return []


@login_required
def apply(request: HttpRequest, code: str, number: str | None = None) -> HttpResponse:
    application = None
    if number is not None:
        try:
            application = selectors.access_application_for_citizen(request.user, number)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        if application.state != Application.State.DRAFT:
            return redirect("eservices:my_detail", number=application.number)
        item, form = application.item, application.form
    else:
        try:
            item = selectors.item_by_code(code)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        form = services.current_form(item)
        if form is None or not item.applies_online:
            messages.error(request, _("This item cannot be applied for online."))
            return redirect("eservices:item", code=item.code)
    offices = _offices_for(item, request)
    if request.method != "POST":
        values = dict(application.data) if application else {}
        if application is None and request.GET.get("prefill") == "1":
            person = person_of_user(request.user)
            if person is not None:
                values = form_schema.prefill(form.layout, person)
        return _apply_page(request, item, form, application, values, {}, offices)
    answers = _raw_answers(request, form.schema)
    files = {
        name: request.FILES[name]
        for name in form_schema.attachment_fields(form.schema)
        if name in request.FILES
    }
    office = Agency.objects.filter(pk=request.POST.get("receiving_office") or 0).first()
    try:
        application = services.application_draft_save(
            actor=request.user, item=item, answers=answers, files=files, receiving_office=office,
            application=application, prefill_consent=request.POST.get("prefill_consent") == "1",
        )  # fmt: skip
    except (FormInvalid, InvalidAttachment) as exc:
        errors = dict(exc.details.get("fields", {})) if isinstance(exc.details, dict) else {}
        messages.error(request, _("Please correct the answers marked below."))
        return _apply_page(request, item, form, application, answers, errors, offices, status=400)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return _apply_page(request, item, form, application, answers, {"": exc.message}, offices, status=400)
    if "save_draft" in request.POST:
        messages.success(request, _("Your draft was saved. You can come back to it from “My applications”."))
        return redirect("eservices:my_detail", number=application.number)
    errors = form_schema.validate(form.schema, application.data)
    if errors:
        messages.error(request, _("Some required answers are missing."))
        return _apply_page(request, item, form, application, application.data, errors, offices, status=400)
    return redirect("eservices:review", number=application.number)


def _answers_for_display(application: Application) -> list[dict]:
    properties = application.form.schema.get("properties", {})
    attachments = {f"attachment:{a.pk}": a for a in application.attachments.all()}
    rows = []
    for section in application.form.layout.get("sections", []):
        for name in section["fields"]:
            if name not in application.data:
                continue
            value = application.data[name]
            attachment = attachments.get(value) if isinstance(value, str) else None
            shown = (
                attachment.original_name
                if attachment
                else ("、".join(value) if isinstance(value, list) else value)
            )
            rows.append({"name": name, "label": properties[name].get("title", name), "value": shown,
                         "section": section.get("title", "")})  # fmt: skip
    return rows


@login_required
def review(request: HttpRequest, number: str) -> HttpResponse:
    """Check your answers, then submit."""
    try:
        application = selectors.access_application_for_citizen(request.user, number)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if request.method == "POST":
        try:
            application = services.application_submit(actor=request.user, application=application)
        except ServiceError as exc:
            messages.error(request, exc.message)
            return redirect("eservices:apply_resume", number=application.number)
        return redirect("eservices:confirmation", number=application.number)
    if application.state != Application.State.DRAFT:
        return redirect("eservices:my_detail", number=application.number)
    return render(
        request,
        "eservices/review.html",
        {"application": application, "answers": _answers_for_display(application)},
    )


@login_required
def confirmation(request: HttpRequest, number: str) -> HttpResponse:
    try:
        application = selectors.access_application_for_citizen(request.user, number)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return render(request, "eservices/confirmation.html", {"application": application})


@login_required
def receipt_pdf(request: HttpRequest, number: str) -> HttpResponse:
    try:
        application = selectors.access_application_for_citizen(request.user, number)
    except NotFound:
        try:
            application = selectors.access_application_for_staff(request.user, number)
        except NotFound as exc:
            raise Http404(exc.message) from exc
    if application.submitted_at is None:
        raise Http404(_("A draft has no receipt."))
    response = HttpResponse(
        render_receipt(application, city_name=city_name("zh-hant")), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'inline; filename="{application.number}.pdf"'
    return response


# --- my applications ------------------------------------------------------------------------------


@login_required
def my_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.applications_of_citizen(request.user), 20).get_page(request.GET.get("page"))
    return render(request, "eservices/my_list.html", {"page": page})


@login_required
def my_detail(request: HttpRequest, number: str) -> HttpResponse:
    try:
        application = selectors.access_application_for_citizen(request.user, number)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    context = {"application": application, "timeline": selectors.timeline(application),
               "answers": _answers_for_display(application)}  # fmt: skip
    if application.state == Application.State.SUPPLEMENT_REQUESTED:
        context["sections"] = _fields(application.form, application.data, {}, application)
    return render(request, "eservices/my_detail.html", context)


@login_required
@require_POST
def supplement(request: HttpRequest, number: str) -> HttpResponse:
    try:
        application = selectors.access_application_for_citizen(request.user, number)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    schema = application.form.schema
    answers = {k: v for k, v in _raw_answers(request, schema).items() if v != application.data.get(k)}
    files = {
        name: request.FILES[name] for name in form_schema.attachment_fields(schema) if name in request.FILES
    }
    try:
        services.application_supplement(actor=request.user, application=application, answers=answers, files=files,
                                        note=request.POST.get("note", "")[:2000])  # fmt: skip
    except ServiceError as exc:
        fields = exc.details.get("fields", {}) if isinstance(exc.details, dict) else {}
        messages.error(request, " ".join([exc.message, *[f"{k}: {v}" for k, v in fields.items()]]))
        return redirect("eservices:my_detail", number=number)
    messages.success(request, _("Thank you: your supplement was sent to the handling office."))
    return redirect("eservices:my_detail", number=number)


@login_required
@require_POST
def withdraw(request: HttpRequest, number: str) -> HttpResponse:
    try:
        application = selectors.access_application_for_citizen(request.user, number)
        services.application_withdraw(
            actor=request.user, application=application, reason=request.POST.get("reason", "")[:500]
        )
        messages.success(request, _("The application was withdrawn."))
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("eservices:my_detail", number=number)


# --- staff ------------------------------------------------------------------------------------------


def _require_staff(request: HttpRequest):
    scope = staff_scope(request.user)
    if not scope.is_staff:
        raise DjangoPermissionDenied(_("Staff only."))
    return scope


def _case_or_404(request: HttpRequest, number: str) -> Application:
    try:
        return selectors.access_application_for_staff(request.user, number)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _offices_visible(request: HttpRequest):
    scope = staff_scope(request.user)
    offices = Agency.objects.order_by("code")
    return offices if scope.all_agencies else offices.filter(id__in=scope.agency_ids)


@login_required
def staff_inbox(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    get = request.GET
    state = get.get("state", "") if get.get("state", "") in Application.State.values else ""
    office_id = int(get["office"]) if get.get("office", "").isdigit() else None
    cross = {"yes": True, "no": False}.get(get.get("cross", ""))
    filters = selectors.InboxFilter(state=state, office_id=office_id, assigned=get.get("assigned", "")[:10],
                                    overdue=get.get("overdue") == "1", cross_district=cross, query=get.get("q", "")[:40])  # fmt: skip
    number = int(get["page"]) if get.get("page", "").isdigit() and 0 < int(get["page"]) < 100_000 else 1
    cases, count = selectors.inbox_page(request.user, filters, page=number, page_size=STAFF_PAGE_SIZE)
    page = Paginator(range(count), STAFF_PAGE_SIZE).get_page(
        number
    )  # numbering only; rows come from the selector
    rows = [{"case": case, "sla": selectors.sla(case), "sla_label": SLA_LABELS[selectors.sla(case)],
             "applicant": mask_name(case.applicant_name)} for case in cases]  # fmt: skip
    params = get.copy()
    params.pop("page", None)
    colleagues = (
        User.objects.filter(staff_roles__agency__in=_offices_visible(request), is_active=True)
        .distinct()
        .order_by("username")[:200]
    )
    return render(request, "eservices/staff_inbox.html", {
        "page": page, "rows": rows, "params": params.urlencode(), "states": Application.State.choices[1:],
        "offices": _offices_visible(request)[:200], "filters": filters, "colleagues": colleagues,
        "is_supervisor": staff_scope(request.user).has_role(*services.ITEM_MANAGERS),
    })  # fmt: skip


@login_required
@require_POST
def staff_bulk(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    action = request.POST.get("action", "")
    if action not in (*services.STAFF_ACTIONS, "assign"):
        messages.error(request, _("Choose an action."))
        return redirect("eservices:staff_inbox")
    assignee = (
        User.objects.filter(username=request.POST.get("assignee", "")).first() if action == "assign" else None
    )
    result = services.applications_bulk(actor=request.user, numbers=request.POST.getlist("numbers")[:200], action=action,
                                        assignee=assignee, reason=request.POST.get("reason", "")[:2000])  # fmt: skip
    if result.done:
        messages.success(request, _("Done for %(count)d cases.") % {"count": len(result.done)})
    for number, reason in result.refused.items():
        messages.error(request, f"{number}: {reason}")
    return redirect(
        reverse("eservices:staff_inbox")
        + ("?" + request.POST.get("params", "") if request.POST.get("params") else "")
    )


ACTION_LABELS = {"receive": gettext_lazy("Receive"), "review": gettext_lazy("Start review"), "request_supplement": gettext_lazy("Request a supplement"),
                 "approve": gettext_lazy("Approve"), "reject": gettext_lazy("Reject"), "complete": gettext_lazy("Complete")}  # fmt: skip


@login_required
def staff_case(request: HttpRequest, number: str) -> HttpResponse:
    _require_staff(request)
    case = _case_or_404(request, number)
    handles = staff_scope(request.user).acts_for(case.handling_office_id)
    actions = [(name, ACTION_LABELS[name], name in services.REASON_REQUIRED)
               for name, (_target, sources) in services.STAFF_ACTIONS.items()
               if case.state in sources and (handles or name == "receive")]  # fmt: skip
    return render(request, "eservices/staff_case.html", {
        "case": case, "timeline": selectors.timeline(case), "answers": _answers_for_display(case),
        "attachments": case.attachments.all(), "actions": actions, "sla": selectors.sla(case),
        "sla_label": SLA_LABELS[selectors.sla(case)], "applicant": mask_name(case.applicant_name),
    })  # fmt: skip


@login_required
@require_POST
def staff_action(request: HttpRequest, number: str) -> HttpResponse:
    _require_staff(request)
    case = _case_or_404(request, number)
    action = request.POST.get("action", "")
    try:
        if action == "assign_me":
            services.application_assign(actor=request.user, application=case, assignee=request.user)
        else:
            services.application_transition(actor=request.user, application=case, action=action,
                                            reason=request.POST.get("reason", "")[:2000])  # fmt: skip
        messages.success(request, _("Saved."))
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("eservices:staff_case", number=number)


@login_required
def staff_attachment(request: HttpRequest, number: str, attachment_id: int) -> FileResponse:
    _require_staff(request)
    case = _case_or_404(request, number)
    attachment = case.attachments.filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404(_("No such file."))
    return FileResponse(attachment.file.open("rb"), content_type=attachment.content_type, as_attachment=True,
                        filename=attachment.original_name)  # fmt: skip


@login_required
def staff_supervisor(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    stats = selectors.statistics(request.user)
    return render(request, "eservices/staff_supervisor.html", {
        "stats": stats, "share": round(stats.cross_district_share * 100, 1), "workload": selectors.workload(request.user),
    })  # fmt: skip


# --- the catalog as agency staff keep it: items, blank forms, the form builder ----------------


def _items_of_staff(request: HttpRequest):
    return scope_by_agency(ServiceItem.objects.select_related("agency"), request.user)


def _staff_item_or_404(request: HttpRequest, code: str) -> ServiceItem:
    item = _items_of_staff(request).filter(code=code).first()
    if item is None:
        raise Http404(_("No such item in your agency's catalog."))
    return item


@login_required
def staff_items(request: HttpRequest) -> HttpResponse:
    scope = _require_staff(request)
    query = request.GET.get("q", "").strip()[:60]
    items = _items_of_staff(request).order_by("agency__code", "code")
    if query:
        items = items.filter(
            Q(code__icontains=query) | Q(name__icontains=query) | Q(category__icontains=query)
        )
    page = Paginator(items, 50).get_page(request.GET.get("page"))
    return render(request, "eservices/staff_items.html", {
        "page": page, "query": query, "can_manage": scope.has_role(*services.ITEM_MANAGERS),
    })  # fmt: skip


@login_required
def staff_item(request: HttpRequest, code: str) -> HttpResponse:
    scope = _require_staff(request)
    item = _staff_item_or_404(request, code)
    can_manage = scope.has_role(*services.ITEM_MANAGERS)
    item_form = forms.ItemForm(initial=forms.ItemForm.initial_of(item))
    upload_form = forms.BlankFormUpload()
    status = 200
    if request.method == "POST":
        if not can_manage:
            raise DjangoPermissionDenied(
                _("Only supervisors and administrators of the agency change its items.")
            )
        action = request.POST.get("action")
        try:
            if action == "save":
                item_form = forms.ItemForm(request.POST)
                if item_form.is_valid():
                    services.item_update(actor=request.user, item=item, data=item_form.item_input(item),
                                         is_active=item_form.cleaned_data["is_active"])  # fmt: skip
                    messages.success(request, _("Saved."))
                    return redirect("eservices:staff_item", code=item.code)
                status = 400
            elif action == "upload":
                upload_form = forms.BlankFormUpload(request.POST, request.FILES)
                if upload_form.is_valid():
                    services.blank_form_add(actor=request.user, item=item, title=upload_form.cleaned_data["title"],
                                            upload=upload_form.cleaned_data["file"])  # fmt: skip
                    messages.success(request, _("The blank form was added."))
                    return redirect("eservices:staff_item", code=item.code)
                status = 400
            elif action == "remove":
                blank = item.blank_forms.filter(pk=request.POST.get("blank_form", "")[:12] or 0).first()
                if blank is None:
                    raise Http404(_("No such file."))
                services.blank_form_remove(actor=request.user, blank=blank)
                messages.success(request, _("The blank form was removed."))
                return redirect("eservices:staff_item", code=item.code)
        except ServiceError as exc:
            messages.error(request, exc.message)
            status = 400
    return render(request, "eservices/staff_item.html", {
        "item": item, "item_form": item_form, "upload_form": upload_form, "can_manage": can_manage,
        "blank_forms": item.blank_forms.all(), "versions": item.form_versions.select_related("created_by"),
    }, status=status)  # fmt: skip


@login_required
def staff_form_builder(request: HttpRequest, code: str) -> HttpResponse:
    """Edit the item's online form as a list of questions; saving makes a new version (published at
    once or kept as a draft to preview). Applications keep the version they were filled with."""
    scope = _require_staff(request)
    item = _staff_item_or_404(request, code)
    if not scope.has_role(*services.ITEM_MANAGERS):
        raise DjangoPermissionDenied(_("Only supervisors and administrators of the agency change its forms."))
    latest = item.form_versions.order_by("-version").first()
    starting_from = (
        None if latest is None else form_builder.questions_from_definition(latest.schema, latest.layout)
    )
    preview = None
    status = 200
    if request.method == "POST":
        formset = forms.QuestionFormSet(request.POST, prefix="q")
        if formset.is_valid():
            try:
                schema, layout = form_builder.definition_from_questions(
                    forms.questions_of(formset), title=item.name
                )
                if "preview" in request.POST:
                    preview = _fields(FormDefinition(item=item, schema=schema, layout=layout), {}, {})
                else:
                    version = services.form_definition_create(
                        actor=request.user,
                        item=item,
                        schema=schema,
                        layout=layout,
                        publish="publish" in request.POST,
                    )
                    messages.success(
                        request, _("Form version %(version)d saved.") % {"version": version.version}
                    )
                    return redirect("eservices:staff_item", code=item.code)
            except ServiceError as exc:
                messages.error(request, exc.message)
                status = 400
        else:
            status = 400
    else:
        initial = [forms.QuestionForm.initial_of(question) for question in starting_from or []]
        formset = forms.QuestionFormSet(initial=initial, prefix="q")
    return render(request, "eservices/staff_form_builder.html", {
        "item": item, "formset": formset, "latest": latest, "preview": preview,
        "not_editable_here": latest is not None and starting_from is None,
    }, status=status)  # fmt: skip


# --- counter intake (臨櫃收件): a clerk files for the citizen standing at the counter ---------------

COUNTER_SESSION_KEY = "eservices_counter"


def _counter_offices(request: HttpRequest):
    return _offices_visible(request).filter(is_active=True)


@login_required
def staff_counter(request: HttpRequest) -> HttpResponse:
    """Step one finds the item and the citizen (ID number and birth date from his ID card); step two
    is the item's form, filed and received at once. The person found is kept in the session, never
    in the page, so the ID number is not sent back to the browser."""
    _require_staff(request)
    offices = _counter_offices(request)
    lookup = forms.CounterLookupForm(request.POST or None, offices=offices,
                                     initial={"receiving_office": offices.first()})  # fmt: skip
    context = {"lookup": lookup}
    if request.method == "POST" and request.POST.get("step") == "find":
        if not lookup.is_valid():
            return render(request, "eservices/staff_counter.html", context, status=400)
        data = lookup.cleaned_data
        try:
            item = selectors.item_by_code(data["item_code"].strip())
            person = selectors.applicant_at_counter(request.user, data["identifier"], data["birth_date"])
            services.route(item, person, data["receiving_office"])
            if services.current_form(item) is None:
                raise ServiceError(_("This item has no form yet."))
        except NotFound:
            messages.error(
                request,
                _("No item with this code, or no registry record with this ID number and birth date."),
            )
            return render(request, "eservices/staff_counter.html", context, status=404)
        except ServiceError as exc:
            messages.error(request, exc.message)
            return render(request, "eservices/staff_counter.html", context, status=400)
        person_viewed(actor=request.user, person=person, channel="eservices.counter")
        request.session[COUNTER_SESSION_KEY] = {"item": item.code, "person": person.pk,
                                                "office": data["receiving_office"].pk,
                                                "prefill": data["prefill_consent"]}  # fmt: skip
        return redirect("eservices:staff_counter_form")
    return render(request, "eservices/staff_counter.html", context)


@login_required
def staff_counter_form(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    pending = request.session.get(COUNTER_SESSION_KEY)
    if not pending:
        return redirect("eservices:staff_counter")
    item = ServiceItem.objects.filter(code=pending["item"]).first()
    person = Person.objects.select_related("district", "user").filter(pk=pending["person"]).first()
    office = _counter_offices(request).filter(pk=pending["office"]).first()
    if item is None or person is None or office is None:
        request.session.pop(COUNTER_SESSION_KEY, None)
        return redirect("eservices:staff_counter")
    form = services.current_form(item)
    values = form_schema.prefill(form.layout, person) if pending.get("prefill") else {}
    errors: dict = {}
    status = 200
    if request.method == "POST":
        values = _raw_answers(request, form.schema)
        files = {name: upload for name, upload in request.FILES.items() if name in form.schema["properties"]}
        try:
            application = services.application_file_at_counter(
                actor=request.user,
                item=item,
                person=person,
                receiving_office=office,
                answers=values,
                files=files,
            )
        except (FormInvalid, InvalidAttachment) as exc:
            errors = exc.details.get("fields", {}) if isinstance(exc.details, dict) else {}
            messages.error(request, exc.message)
            status = 400
        except ServiceError as exc:
            messages.error(request, exc.message)
            status = 400
        else:
            request.session.pop(COUNTER_SESSION_KEY, None)
            messages.success(request, _("Filed and received: %(number)s. Pickup code for convenience stores: %(code)s.")
                             % {"number": application.number, "code": application.pickup_code})  # fmt: skip
            return redirect("eservices:staff_case", number=application.number)
    return render(request, "eservices/staff_counter_form.html", {
        "item": item, "office": office, "applicant": mask_name(person.name), "district": person.district,
        "form": form, "sections": _fields(form, values, errors), "errors": errors,
    }, status=status)  # fmt: skip
