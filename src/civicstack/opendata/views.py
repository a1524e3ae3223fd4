"""Open data pages: catalog search with facets, dataset and resource pages with previews and API
examples, organization pages, the quality report, the DCAT feeds, and staff publishing.
Thin: they parse, call selectors/services, render."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Sum
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civicstack.core.errors import NotFound, ServiceError
from civicstack.core.selectors import agencies_visible_to_staff, staff_scope

from . import dcat, openapi_docs, portal_csv, preview, quality, selectors, services, usage
from .ckan_api import FACET_DEFAULT, _facet_titles
from .forms import CatalogImportForm, DatasetForm, ResourceForm, SearchForm
from .models import Dataset, Resource, UsageMonthly
from .selectors import SearchQuery

PAGE_SIZE = 20
FACET_LABELS = {
    "organization": _("Organization"), "groups": _("Group"), "res_format": _("Format"), "tags": _("Tag"),
    "license_id": _("Licence"),
}  # fmt: skip


def _base(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def _user(request: HttpRequest):
    return request.user if request.user.is_authenticated else None


def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    form.is_valid()
    q = form.cleaned_data.get("q", "") if hasattr(form, "cleaned_data") else ""
    sort = form.cleaned_data.get("sort") or "metadata_modified desc"
    filters = {key: request.GET.getlist(key) for key in FACET_DEFAULT if request.GET.getlist(key)}
    try:
        page_number = max(1, int(request.GET.get("page", 1)))
    except ValueError:
        page_number = 1
    result = selectors.package_search(
        _user(request),
        SearchQuery(q=q, filters=filters, sort=sort, rows=PAGE_SIZE, start=(page_number - 1) * PAGE_SIZE,
                    facet_fields=FACET_DEFAULT, facet_limit=10),
    )  # fmt: skip
    titles = _facet_titles(result.facets)
    facets = []
    for name in FACET_DEFAULT:
        items = []
        for value, count in result.facets.get(name, []):
            active = str(value) in filters.get(name, []) or (
                name == "organization" and str(value).lower() in [v.lower() for v in filters.get(name, [])]
            )
            params = request.GET.copy()
            params.pop("page", None)
            values = params.getlist(name)
            if active:
                params.setlist(name, [v for v in values if v.lower() != str(value).lower()])
            else:
                params.setlist(name, values + [str(value)])
            items.append({
                "value": value, "title": titles.get((name, value), value), "count": count, "active": active,
                "url": "?" + params.urlencode(),
            })  # fmt: skip
        if items:
            facets.append({"name": name, "label": FACET_LABELS[name], "items": items})
    pages = max(1, -(-result.count // PAGE_SIZE))
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "form": form, "result": result, "facets": facets, "page": page_number, "pages": pages,
        "page_query": params.urlencode(), "searching": bool(q or filters),
        "has_previous": page_number > 1, "has_next": page_number < pages,
    }  # fmt: skip
    if not context["searching"]:
        public = selectors.datasets_visible_to(None).select_related("agency")
        context["latest"] = list(public.order_by("-published_on", "-metadata_modified")[:5])
        month = timezone.localdate().replace(day=1)
        top = (
            UsageMonthly.objects.filter(month__gte=month.replace(year=month.year - 1), dataset__state=Dataset.State.PUBLIC)
            .values("dataset_id").annotate(total=Sum("views") + Sum("downloads") + Sum("api_calls"))
            .order_by("-total")[:5]
        )  # fmt: skip
        totals = {row["dataset_id"]: row["total"] for row in top}
        most = {d.id: d for d in public.filter(id__in=totals)}
        context["most_used"] = [(most[i], totals[i]) for i in totals if i in most]
    return render(request, "opendata/search.html", context)


def _preview_context(request: HttpRequest, resource: Resource, *, offset: int = 0) -> dict:
    context = {"resource": resource}
    if resource.datastore_active:
        result = selectors.datastore_search(resource, limit=20, offset=offset)
        context["table"] = result
        context["chart"] = preview.chart(resource, result.records)
        context["next_offset"] = offset + 20 if offset + 20 < result.total else None
        context["previous_offset"] = max(offset - 20, 0) if offset else None
        base = _base(request)
        first = resource.datastore_fields[0]["id"] if resource.datastore_fields else "_id"
        context["api_examples"] = [
            f"curl '{base}/api/3/action/datastore_search?resource_id={resource.id}&limit=5'",
            f"curl '{base}/api/3/action/datastore_search?" + urlencode(
                {"resource_id": str(resource.id), "q": "", "sort": f"{first} desc", "fields": first}) + "'",
            f"ckanapi action datastore_search -r {base} resource_id={resource.id} limit=5",
        ]  # fmt: skip
    context["map"] = preview.map_preview(resource)
    return context


def dataset_detail(request: HttpRequest, name: str) -> HttpResponse:
    try:
        dataset = selectors.access_dataset(_user(request), name)
    except NotFound:
        raise Http404 from None
    usage.count(dataset.id, "views")
    resources = list(dataset.resources.all())
    first_table = next((r for r in resources if r.datastore_active), None)
    geo = next((r for r in resources if r.geometry_preview), None)
    context = {
        "dataset": dataset, "resources": resources, "tags": list(dataset.tags.all()),
        "groups": list(dataset.groups.all()), "usage": selectors.usage_for(dataset),
        "stale": quality.is_stale(
            update_frequency=dataset.update_frequency, last_updated=quality.dataset_last_updated(dataset)
        ),
        "can_edit": request.user.is_authenticated and selectors.can_publish_for(request.user, dataset.agency_id),
        "base": _base(request),
    }  # fmt: skip
    if first_table is not None:
        context["preview"] = _preview_context(request, first_table)
    if geo is not None and geo is not first_table:
        context["map"] = preview.map_preview(geo)
    elif first_table is not None:
        context["map"] = context["preview"]["map"]
    return render(request, "opendata/dataset.html", context)


def resource_detail(request: HttpRequest, resource_id) -> HttpResponse:
    try:
        resource = selectors.access_resource(_user(request), str(resource_id))
    except NotFound:
        raise Http404 from None
    try:
        offset = max(0, int(request.GET.get("offset", 0)))
    except ValueError:
        offset = 0
    preview_context = _preview_context(request, resource, offset=offset)
    context = {"resource": resource, "preview": preview_context, "map": preview_context["map"]}
    context["dataset"] = resource.dataset
    context["updates"] = list(resource.updates.all()[:20])
    return render(request, "opendata/resource.html", context)


def resource_download(request: HttpRequest, resource_id):
    try:
        resource = selectors.access_resource(_user(request), str(resource_id))
    except NotFound:
        raise Http404 from None
    usage.count(resource.dataset_id, "downloads")
    if resource.file:
        filename = resource.file.name.rsplit("/", 1)[-1]
        return FileResponse(resource.file.open("rb"), as_attachment=True, filename=filename,
                            content_type=resource.mimetype or "application/octet-stream")  # fmt: skip
    if resource.url:
        return HttpResponseRedirect(resource.url)
    raise Http404


def resource_openapi(request: HttpRequest, resource_id) -> JsonResponse:
    try:
        resource = selectors.access_resource(_user(request), str(resource_id))
    except NotFound:
        raise Http404 from None
    if not resource.datastore_active:
        raise Http404
    document = openapi_docs.resource_openapi(resource, _base(request))
    return JsonResponse(document, json_dumps_params={"ensure_ascii": False})


def organization_list(request: HttpRequest) -> HttpResponse:
    organizations = list(selectors.organizations())
    return render(request, "opendata/organizations.html", {"organizations": organizations})


def organization_detail(request: HttpRequest, code: str) -> HttpResponse:
    try:
        agency = selectors.access_organization(code)
    except NotFound:
        raise Http404 from None
    datasets = (
        selectors.datasets_visible_to(_user(request)).filter(agency=agency).order_by("-metadata_modified")
    )
    report = next((row for row in quality.agency_quality_report() if row.agency_id == agency.pk), None)
    month = timezone.localdate().replace(day=1)
    usage_rows = (
        UsageMonthly.objects.filter(dataset__agency=agency).values("month")
        .annotate(views=Sum("views"), downloads=Sum("downloads"), api_calls=Sum("api_calls")).order_by("-month")[:12]
    )  # fmt: skip
    paginator = Paginator(datasets, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "opendata/organization.html", {
        "agency": agency, "page": page, "report": report, "usage_rows": list(usage_rows), "month": month,
    })  # fmt: skip


def quality_report(request: HttpRequest) -> HttpResponse:
    rows = quality.agency_quality_report()
    total = sum(r.datasets for r in rows)
    good = sum(r.three_stars_or_more for r in rows)
    return render(request, "opendata/quality.html", {
        "rows": rows, "total": total, "good": good, "share": (good / total if total else 0),
    })  # fmt: skip


def _feed_response(data: bytes, content_type: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Access-Control-Allow-Origin"] = "*"
    return response


def catalog_feed(request: HttpRequest, extension: str) -> HttpResponse:
    try:
        page = max(1, int(request.GET.get("page", 1)))
    except ValueError:
        page = 1
    graph = dcat.catalog_graph(
        _base(request), selectors.datasets_visible_to(None), page=page, extension=extension
    )
    return _feed_response(*dcat.serialize(graph, extension))


def dataset_feed(request: HttpRequest, name: str, extension: str) -> HttpResponse:
    try:
        dataset = selectors.access_dataset(None, name)
    except NotFound:
        raise Http404 from None
    return _feed_response(*dcat.serialize(dcat.dataset_graph(_base(request), dataset), extension))


# --- staff publishing -------------------------------------------------------------------------


def _require_staff(request: HttpRequest) -> None:
    if not staff_scope(request.user).is_staff:
        raise Http404


@login_required
def staff_datasets(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    import_form = CatalogImportForm()
    if request.method == "POST":
        import_form = CatalogImportForm(request.POST, request.FILES)
        if import_form.is_valid():
            try:
                outcome = portal_csv.import_catalog(
                    actor=request.user, content=import_form.cleaned_data["file"].read()
                )
            except ServiceError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("Imported: %(created)s new, %(updated)s updated.") % outcome)
                return redirect("opendata:staff_datasets")
    datasets = (
        selectors.datasets_editable_by(request.user).select_related("agency").order_by("-metadata_modified")
    )
    page = Paginator(datasets, 50).get_page(request.GET.get("page"))
    return render(request, "opendata/staff_datasets.html", {"page": page, "import_form": import_form})


@login_required
def staff_export(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    data = portal_csv.export_catalog(selectors.datasets_editable_by(request.user), _base(request))
    response = HttpResponse(data.encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="opendata-catalog.csv"'
    return response


def _input_from(form: DatasetForm) -> services.DatasetInput:
    data = {k: v for k, v in form.cleaned_data.items() if k not in ("tags", "groups")}
    data = {k: ("" if v is None and k != "published_on" else v) for k, v in data.items()}
    return services.DatasetInput(
        **data, tags=[t.strip() for t in form.cleaned_data["tags"].split(",") if t.strip()],
        groups=[g.name for g in form.cleaned_data["groups"]],
    )  # fmt: skip


@login_required
def staff_dataset_edit(request: HttpRequest, name: str | None = None) -> HttpResponse:
    _require_staff(request)
    dataset = None
    if name is not None:
        try:
            dataset = services.access_editable_dataset(request.user, name)
        except NotFound:
            raise Http404 from None
    agencies = agencies_visible_to_staff(request.user).order_by("code")
    form = DatasetForm(request.POST or None, instance=dataset, agencies=agencies)
    if request.method == "POST" and form.is_valid():
        try:
            if dataset is None:
                dataset = services.dataset_create(actor=request.user, data=_input_from(form))
                messages.success(request, _("Dataset created as a draft. Add a resource, then publish it."))
            else:
                dataset = services.dataset_update(actor=request.user, dataset=dataset, data=_input_from(form))
                messages.success(request, _("Dataset saved."))
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("opendata:staff_dataset_edit", name=dataset.name)
    context = {
        "form": form,
        "dataset": dataset,
        "resource_form": ResourceForm(),
        "states": Dataset.State.choices,
    }
    if dataset is not None:
        context["resources"] = list(dataset.resources.all())
    return render(request, "opendata/staff_dataset_edit.html", context)


@login_required
def staff_resource_add(request: HttpRequest, name: str) -> HttpResponse:
    _require_staff(request)
    try:
        dataset = services.access_editable_dataset(request.user, name)
    except NotFound:
        raise Http404 from None
    form = ResourceForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        cleaned = form.cleaned_data
        try:
            if cleaned["file"]:
                upload = cleaned["file"]
                if upload.size > services.max_upload_bytes():
                    raise services.InvalidFile(
                        _("The file is %(size)s bytes; the limit is %(limit)s bytes.")
                        % {"size": upload.size, "limit": services.max_upload_bytes()}
                    )
                services.resource_upload(
                    actor=request.user, dataset=dataset, filename=upload.name, content=upload.read(),
                    name=cleaned["name"], description=cleaned["description"], format=cleaned["format"],
                )  # fmt: skip
            elif cleaned["internal_source"]:
                services.resource_from_internal(
                    actor=request.user, dataset=dataset, key=cleaned["internal_source"], name=cleaned["name"],
                    refresh_every_hours=cleaned["refresh_every_hours"] or 1,
                )  # fmt: skip
            else:
                services.resource_link(
                    actor=request.user, dataset=dataset, url=cleaned["url"], name=cleaned["name"],
                    description=cleaned["description"], format=cleaned["format"],
                    refresh_every_hours=cleaned["refresh_every_hours"],
                )  # fmt: skip
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Resource added."))
            return redirect("opendata:staff_dataset_edit", name=dataset.name)
    return render(
        request,
        "opendata/staff_resource_add.html",
        {"form": form, "dataset": dataset},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def staff_dataset_state(request: HttpRequest, name: str) -> HttpResponse:
    _require_staff(request)
    try:
        dataset = services.access_editable_dataset(request.user, name)
        services.dataset_set_state(actor=request.user, dataset=dataset, state=request.POST.get("state", ""))
    except NotFound:
        raise Http404 from None
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Dataset state changed."))
    return redirect(reverse("opendata:staff_dataset_edit", kwargs={"name": name}))
