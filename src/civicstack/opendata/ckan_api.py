"""The CKAN-compatible Action API: ``/api/3/action/<name>`` (and ``/api/action/<name>``, the path
ckanapi uses by default), GET with query parameters or POST with a JSON body.

Responses use CKAN's envelope, ``{"help": url, "success": true, "result": ...}``, and its errors,
``{"help", "success": false, "error": {"__type", "message", ...}}`` with CKAN's status codes:
400 bad request (unknown action, unparseable body), 403 Authorization Error, 404 Not Found Error,
409 Validation Error (a field's messages as lists, as CKAN's validators give them) and 409
Search Query Error. Any other failure is a 500 with the same envelope, never an HTML page.
"""

import datetime
import json
import logging
import threading
import uuid
from collections import OrderedDict

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from civicstack.core import services as core_services
from civicstack.core.errors import NotFound, PermissionDenied, ServiceError
from civicstack.core.models import Agency

from . import catalog_index, response_cache, selectors, usage
from .errors import DatastoreQueryError
from .models import LICENSE_URLS, Dataset, Group, License, Resource, UpdateFrequency
from .selectors import SearchQuery

logger = logging.getLogger(__name__)

CKAN_VERSION = "2.10.4"  # the API version whose shapes these responses follow
ORG_NAMESPACE = uuid.UUID("6f1d7a4e-0c55-4d8e-9d5b-5b1f0c2e1a10")


class CkanError(Exception):
    status = 400
    type = "Bad request"

    def __init__(self, message: str = "", **fields):
        super().__init__(message)
        self.message = message
        self.fields = fields


class ValidationError(CkanError):
    status = 409
    type = "Validation Error"


class SearchQueryError(CkanError):
    status = 409
    type = "Search Query Error"


class NotFoundError(CkanError):
    status = 404
    type = "Not Found Error"


class AuthorizationError(CkanError):
    status = 403
    type = "Authorization Error"


# --- parameters ---------------------------------------------------------------------------------


def _int(data: dict, key: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    value = data.get(key, default)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError(**{key: [_("Invalid integer")]}) from None
    if number < minimum or (maximum is not None and number > maximum):
        raise ValidationError(
            **{key: [_("Must be between %(low)s and %(high)s") % {"low": minimum, "high": maximum}]}
        )
    return number


def _bool(data: dict, key: str, default: bool = False) -> bool:
    value = data.get(key, default)
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("true", "1", "yes", "on")


def _json_or_list(data: dict, key: str) -> list:
    value = data.get(key)
    if value in (None, ""):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            value = [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError(**{key: [_("Must be a list of strings")]})
    return value


def _json_dict(data: dict, key: str) -> dict:
    value = data.get(key)
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ValidationError(**{key: [_("Cannot parse JSON")]}) from None
    if not isinstance(value, dict):
        raise ValidationError(**{key: [_("Must be a JSON object")]})
    return value


def _required(data: dict, key: str) -> str:
    value = data.get(key)
    if value in (None, ""):
        raise ValidationError(**{key: [_("Missing value")]})
    return str(value)


# --- dictionaries in CKAN's shapes ----------------------------------------------------------------


def _iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)  # CKAN gives naive UTC times
    return value.isoformat()


def organization_id(agency: Agency) -> str:
    return str(uuid.uuid5(ORG_NAMESPACE, agency.code))


def organization_dict(agency: Agency, *, package_count: int | None = None) -> dict:
    return {
        "id": organization_id(agency),
        "name": agency.code.lower(),
        "title": agency.name_zh,
        "display_name": agency.name,
        "description": agency.name_en,
        "image_url": "",
        "image_display_url": "",
        "created": None,
        "is_organization": True,
        "approval_status": "approved",
        "state": "active",
        "type": "organization",
        "package_count": package_count if package_count is not None else getattr(agency, "package_count", 0),
    }


def group_dict(group: Group, *, package_count: int | None = None) -> dict:
    return {
        "id": str(uuid.uuid5(ORG_NAMESPACE, "group:" + group.name)),
        "name": group.name,
        "title": group.title,
        "display_name": group.title,
        "description": group.description,
        "image_url": "",
        "image_display_url": "",
        "created": _iso(group.created_at),
        "is_organization": False,
        "approval_status": "approved",
        "state": "active",
        "type": "group",
        "package_count": package_count if package_count is not None else getattr(group, "package_count", 0),
    }


def resource_dict(resource: Resource, base_url: str) -> dict:
    if resource.file:
        url = f"{base_url}/opendata/resource/{resource.id}/download"
        url_type = "upload"
    else:
        url, url_type = resource.url, ""
    return {
        "id": str(resource.id),
        "package_id": str(resource.dataset_id),
        "name": resource.name,
        "description": resource.description,
        "format": resource.format,
        "mimetype": resource.mimetype or None,
        "url": url,
        "url_type": url_type,
        "size": resource.size,
        "hash": resource.sha256,
        "position": resource.position,
        "created": _iso(resource.created_at),
        "last_modified": _iso(resource.last_modified),
        "metadata_modified": _iso(resource.last_modified),
        "state": "active",
        "datastore_active": resource.datastore_active,
        "encoding": resource.encoding,
        "openness_score": resource.stars,
        "openapi_url": f"{base_url}/opendata/resource/{resource.id}/openapi.json"
        if resource.datastore_active
        else None,
    }


NATIONAL_PORTAL_EXTRAS = [
    ("category", "服務分類"), ("field_description", "主要欄位說明"), ("update_frequency", "更新頻率"),
    ("fee", "計費方式"), ("encoding", "編碼格式"), ("published_on", "上架日期"),
    ("contact_phone", "聯絡人電話"), ("remarks", "備註"),
]  # fmt: skip


def package_dict(dataset: Dataset, base_url: str) -> dict:
    resources = sorted(dataset.resources.all(), key=lambda r: (r.position, r.created_at))
    tags = sorted(dataset.tags.all(), key=lambda t: t.name)
    groups = sorted(dataset.groups.all(), key=lambda g: g.name)
    extras = []
    for attribute, label in NATIONAL_PORTAL_EXTRAS:
        value = getattr(dataset, attribute)
        if attribute == "update_frequency":
            value = UpdateFrequency(value).label
        elif attribute == "fee":
            value = Dataset.Fee(value).label
        elif value is not None and not isinstance(value, str):
            value = value.isoformat()
        extras.append({"key": label, "value": value or ""})
    extras.append({"key": "資料量", "value": str(sum(r.datastore_row_count for r in resources))})
    return {
        "id": str(dataset.id),
        "name": dataset.name,
        "title": dataset.title,
        "type": "dataset",
        "state": "active" if dataset.state != Dataset.State.DRAFT else "draft",
        "private": dataset.state != Dataset.State.PUBLIC,
        "notes": dataset.notes,
        "url": dataset.related_url,
        "version": None,
        "author": dataset.agency.name_zh,
        "author_email": None,
        "maintainer": dataset.contact_name,
        "maintainer_email": dataset.contact_email or None,
        "license_id": dataset.license,
        "license_title": License(dataset.license).label,
        "license_url": LICENSE_URLS.get(dataset.license, ""),
        "isopen": dataset.license != License.OTHER,
        "metadata_created": _iso(dataset.created_at),
        "metadata_modified": _iso(dataset.metadata_modified),
        "creator_user_id": None,
        "owner_org": organization_id(dataset.agency),
        "organization": organization_dict(dataset.agency, package_count=0) | {"package_count": None},
        "num_resources": len(resources),
        "num_tags": len(tags),
        "resources": [resource_dict(r, base_url) for r in resources],
        "tags": [
            {
                "id": str(uuid.uuid5(ORG_NAMESPACE, "tag:" + t.name)),
                "name": t.name,
                "display_name": t.name,
                "state": "active",
                "vocabulary_id": None,
            }
            for t in tags
        ],  # fmt: skip
        "groups": [
            {
                "id": group_dict(g)["id"],
                "name": g.name,
                "title": g.title,
                "display_name": g.title,
                "description": g.description,
                "image_display_url": "",
            }
            for g in groups
        ],  # fmt: skip
        "extras": extras,
        "relationships_as_object": [],
        "relationships_as_subject": [],
        "openness_score": dataset.stars,
        "dcat_url": f"{base_url}/opendata/dataset/{dataset.name}.ttl",
    }


# --- actions ------------------------------------------------------------------------------------


def status_show(request, data):
    return {
        "site_title": _("Open data"),
        "site_description": "",
        "site_url": request.build_absolute_uri("/").rstrip("/"),
        "ckan_version": CKAN_VERSION,
        "error_emails_to": None,
        "locale_default": "zh_Hant_TW",
        "extensions": ["datastore", "dcat"],
    }


def package_list(request, data):
    limit = _int(data, "limit", 1_000, maximum=1_000)
    offset = _int(data, "offset", 0)
    names = selectors.datasets_visible_to(None).order_by("name").values_list("name", flat=True)
    return list(names[offset : offset + limit])


FACET_DEFAULT = ["organization", "groups", "tags", "res_format", "license_id"]


def package_search(request, data):
    rows = _int(data, "rows", 10, maximum=1_000)
    start = _int(data, "start", 0)
    facet_fields = _json_or_list(data, "facet.field")
    facet_limit = _int(data, "facet.limit", 50, minimum=-1)
    facet_mincount = _int(data, "facet.mincount", 1)
    want_facets = _bool(data, "facet", True)
    try:
        filters = selectors.parse_fq(str(data.get("fq") or ""))
        query = SearchQuery(
            q=str(data.get("q") or ""), filters=filters, sort=str(data.get("sort") or "score desc, metadata_modified desc"),
            rows=rows, start=start, facet_fields=facet_fields if want_facets else [], facet_limit=facet_limit,
            facet_mincount=facet_mincount,
        )  # fmt: skip
        result = selectors.package_search(_user(request), query)
    except DatastoreQueryError as exc:
        raise SearchQueryError(exc.message) from exc
    base = _base(request)
    facets, search_facets = {}, {}
    titles = _facet_titles(result.facets)
    for name, items in result.facets.items():
        facets[name] = {value: n for value, n in items}
        search_facets[name] = {
            "title": name,
            "items": [
                {
                    "name": _facet_name(name, value),
                    "display_name": titles.get((name, value), str(value)),
                    "count": n,
                }
                for value, n in items
            ],
        }
        facets[name] = {_facet_name(name, value): n for value, n in items}
    for entry in result.entries:
        usage.count(entry.id, "api_calls")
    return {
        "count": result.count,
        "sort": query.sort,
        "facets": facets,
        "search_facets": search_facets,
        "results": _package_dicts(result.entries, base),
    }


# Package dicts of search results, per process, keyed by the dataset's metadata_modified (which
# every change to a dataset or its resources moves): a page of results costs no query at all
# once its datasets have been shown.
_PACKAGE_CACHE: OrderedDict = OrderedDict()
_PACKAGE_CACHE_SIZE = 5_000
_package_lock = threading.Lock()


def _package_dicts(entries: list, base: str) -> list[dict]:
    keys = [(entry.id, entry.metadata_modified, base) for entry in entries]
    with _package_lock:
        found = {key: _PACKAGE_CACHE[key] for key in keys if key in _PACKAGE_CACHE}
    missing = [key[0] for key in keys if key not in found]
    if missing:
        for dataset in selectors.load_datasets(missing):
            key = (str(dataset.id), dataset.metadata_modified, base)
            found[key] = package_dict(dataset, base)
            with _package_lock:
                _PACKAGE_CACHE[key] = found[key]
                while len(_PACKAGE_CACHE) > _PACKAGE_CACHE_SIZE:
                    _PACKAGE_CACHE.popitem(last=False)
    return [found[key] for key in keys if key in found]  # shared, read-only: only serialised


def _facet_name(facet: str, value) -> str:
    return str(value).lower() if facet == "organization" else str(value)


def _facet_titles(facets: dict) -> dict:
    english = (get_language() or "").startswith("en")
    titles = {}
    for name, items in facets.items():
        for value, _n in items:
            if name in ("organization", "groups"):
                title = catalog_index.facet_title(name, value, english=english)
                if title:
                    titles[(name, value)] = title
            elif name == "license_id" and value in License.values:
                titles[(name, value)] = License(value).label
    return titles


def package_show(request, data):
    key = _required(data, "id")
    dataset = selectors.access_dataset(_user(request), key)
    usage.count(dataset.id, "api_calls")
    dataset = (
        Dataset.objects.select_related("agency")
        .prefetch_related("resources", "tags", "groups")
        .get(pk=dataset.pk)
    )
    return package_dict(dataset, _base(request))


def organization_list(request, data):
    limit = _int(data, "limit", 1_000, maximum=1_000)
    offset = _int(data, "offset", 0)
    organizations = selectors.organizations()
    sort = str(data.get("sort") or "name asc")
    if sort.startswith("package_count"):
        organizations = organizations.order_by(
            "-package_count" if sort.endswith("desc") else "package_count", "code"
        )
    elif sort.endswith("desc"):
        organizations = organizations.order_by("-code")
    page = list(organizations[offset : offset + limit])
    if _bool(data, "all_fields"):
        return [organization_dict(agency) for agency in page]
    return [agency.code.lower() for agency in page]


def organization_show(request, data):
    key = _required(data, "id")
    agency = None
    for candidate in selectors.organizations():
        if key.lower() in (candidate.code.lower(), organization_id(candidate)):
            agency = candidate
            break
    if agency is None:
        raise NotFound(_("Organization not found."))
    result = organization_dict(agency)
    if _bool(data, "include_datasets"):
        datasets = (
            selectors.datasets_visible_to(None).filter(agency=agency).select_related("agency")
            .prefetch_related("resources", "tags", "groups").order_by("name")[:1000]
        )  # fmt: skip
        result["packages"] = [package_dict(d, _base(request)) for d in datasets]
    return result


def group_list(request, data):
    from django.db.models import Count, Q

    limit = _int(data, "limit", 1_000, maximum=1_000)
    offset = _int(data, "offset", 0)
    groups = Group.objects.annotate(
        package_count=Count("datasets", filter=Q(datasets__state=Dataset.State.PUBLIC), distinct=True)
    ).order_by("name")[offset : offset + limit]
    if _bool(data, "all_fields"):
        return [group_dict(group) for group in groups]
    return [group.name for group in groups]


def group_show(request, data):
    group = selectors.access_group(_required(data, "id"))
    count = selectors.datasets_visible_to(None).filter(groups=group).count()
    return group_dict(group, package_count=count)


def tag_list(request, data):
    tags = selectors.tags_in_use(str(data.get("query") or ""))
    if _bool(data, "all_fields"):
        return [
            {"id": str(uuid.uuid5(ORG_NAMESPACE, "tag:" + t.name)), "name": t.name, "display_name": t.name,
             "vocabulary_id": None}
            for t in tags
        ]  # fmt: skip
    return [tag.name for tag in tags]


def resource_show(request, data):
    resource = selectors.access_resource(_user(request), _required(data, "id"))
    usage.count(resource.dataset_id, "api_calls")
    return resource_dict(resource, _base(request))


def datastore_search(request, data):
    resource_id = data.get("resource_id") or data.get("id")
    if not resource_id:
        raise ValidationError(resource_id=[_("Missing value")])
    resource = selectors.access_resource(_user(request), str(resource_id))
    limit = _int(data, "limit", 100, maximum=selectors.MAX_LIMIT)
    offset = _int(data, "offset", 0)
    filters = _json_dict(data, "filters")
    q = data.get("q") or ""
    if isinstance(q, str) and q.startswith("{"):
        q = _json_dict(data, "q")
    fields = _json_or_list(data, "fields")
    sort = data.get("sort") or ""
    if isinstance(sort, list):
        sort = ",".join(str(s) for s in sort)
    threshold = None
    if data.get("total_estimation_threshold") not in (None, ""):
        threshold = _int(data, "total_estimation_threshold", 0)
    try:
        result = selectors.datastore_search(
            resource, filters=filters, q=q, fields=fields or None, sort=str(sort), limit=limit, offset=offset,
            include_total=_bool(data, "include_total", True), total_estimation_threshold=threshold,
        )  # fmt: skip
    except DatastoreQueryError as exc:
        raise ValidationError(exc.message, **(exc.details or {})) from exc
    usage.count(resource.dataset_id, "api_calls")
    action_url = "/api/3/action/datastore_search"
    links = {
        "start": f"{action_url}?resource_id={resource.id}",
        "next": f"{action_url}?resource_id={resource.id}&offset={offset + limit}",
    }
    out = {
        "resource_id": str(resource.id),
        "fields": result.fields,
        "records": result.records,
        "limit": limit,
        "_links": links,
        "include_total": result.total is not None,
        "records_format": "objects",
    }
    if offset:
        out["offset"] = offset
    if filters:
        out["filters"] = filters
    if q:
        out["q"] = q
    if sort:
        out["sort"] = sort
    if result.total is not None:
        out["total"] = result.total
        out["total_was_estimated"] = result.total_was_estimated
    return out


ACTIONS = {
    fn.__name__: fn
    for fn in (
        status_show, package_list, package_search, package_show, organization_list, organization_show,
        group_list, group_show, tag_list, resource_show, datastore_search,
    )
}  # fmt: skip


# --- the view -----------------------------------------------------------------------------------


def _base(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def _user(request: HttpRequest):
    """Session login, or a platform bearer token sent the way CKAN clients send an API key
    (``Authorization: <token>``, with or without ``Bearer``)."""
    user = getattr(request, "_opendata_user", None)
    if user is not None:
        return user
    header = request.headers.get("Authorization") or request.headers.get("X-CKAN-API-Key") or ""
    token = header.removeprefix("Bearer ").strip()
    if token:
        user = core_services.api_token_authenticate(token)
        if user is None:
            raise AuthorizationError(_("The API key is not valid."))
    elif request.user.is_authenticated:
        user = request.user
    request._opendata_user = user
    return user


def _envelope(request: HttpRequest, name: str, *, result=None, error=None, status=200) -> JsonResponse:
    body = {"help": f"{_base(request)}/api/3/action/help_show?name={name}", "success": error is None}
    if error is None:
        body["result"] = result
    else:
        body["error"] = error
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def _read_data(request: HttpRequest) -> dict:
    if request.method == "POST":
        if request.content_type == "application/json" or (request.body or b"").lstrip().startswith(b"{"):
            if not request.body:
                return {}
            try:
                data = json.loads(request.body)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise CkanError(_("Bad request - JSON Error: %(error)s") % {"error": exc}) from exc
            if not isinstance(data, dict):
                raise CkanError(_("Bad request - JSON Error: Request data JSON decoded to a non-dictionary"))
            return data
        source = request.POST
    else:
        source = request.GET
    # A parameter sent more than once (requests' encoding of a list) arrives as a list.
    return {key: values[0] if len(values) == 1 else values for key, values in source.lists()}


def _anonymous(request: HttpRequest) -> bool:
    """No API key and no logged-in session (checked without touching the session store when
    there is no session cookie)."""
    if request.headers.get("Authorization") or request.headers.get("X-CKAN-API-Key"):
        return False
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return True
    return not request.user.is_authenticated


def _run(request: HttpRequest, name: str, function, data: dict | None) -> JsonResponse:
    """The action in CKAN's envelope, whatever happens (``data`` None: read it here)."""
    try:
        if function is None:
            raise CkanError(_("Bad request - Action name not known: %(name)s") % {"name": name})
        if data is None:
            data = _read_data(request)
        result = function(request, data)
    except CkanError as exc:
        error = {"__type": exc.type, "message": exc.message or exc.type}
        error.update(exc.fields)
        return _envelope(request, name, error=error, status=exc.status)
    except NotFound as exc:
        return _envelope(
            request, name, error={"__type": "Not Found Error", "message": exc.message}, status=404
        )
    except PermissionDenied as exc:
        return _envelope(
            request, name, error={"__type": "Authorization Error", "message": exc.message}, status=403
        )
    except ServiceError as exc:
        error = {"__type": "Validation Error", "message": exc.message}
        if isinstance(exc.details, dict):
            error.update(exc.details)
        return _envelope(request, name, error=error, status=409)
    except Exception:
        logger.exception("CKAN action %s failed", name)
        if settings.DEBUG:
            raise
        return _envelope(
            request,
            name,
            error={"__type": "Internal Server Error", "message": _("Internal server error")},
            status=500,
        )
    return _envelope(request, name, result=result)


def _cacheable_response(request: HttpRequest, body: bytes, etag: str, hit: bool | None) -> HttpResponse:
    """A successful read for an anonymous client: 304 when its copy is current, else the body;
    either way with the validator and the caching policy (see response_cache)."""
    get = request.method == "GET"
    if get and response_cache.etag_matches(request.headers.get("If-None-Match", ""), etag):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="application/json")
    if get:
        response["ETag"] = etag
        response["Cache-Control"] = response_cache.PUBLIC_CACHE_CONTROL
    patch_vary_headers(response, response_cache.VARY)
    if hit is not None:  # the cache is on
        response["X-Cache"] = "HIT" if hit else "MISS"
    return response


@csrf_exempt
def action(request: HttpRequest, name: str) -> HttpResponse:
    if request.method not in ("GET", "POST"):
        return _envelope(
            request, name, error={"__type": "Bad request", "message": _("Use GET or POST.")}, status=405
        )
    function = ACTIONS.get(name)
    if function is None or name not in response_cache.READ_ACTIONS or not _anonymous(request):
        response = _run(request, name, function, None)
        if response.status_code == 200 and request.method == "GET":
            response["Cache-Control"] = response_cache.PRIVATE_CACHE_CONTROL
            patch_vary_headers(response, response_cache.VARY)
        return response
    try:
        data = _read_data(request)
    except CkanError:
        return _run(request, name, function, None)  # the same error envelope
    limit = response_cache.limit_bytes()
    generation = response_cache.generation() if limit > 0 else None
    key = None
    if generation is not None:
        key = response_cache.key_for(
            name, data, language=get_language() or "", base=_base(request), method=request.method
        )
        entry = response_cache.store.get(generation, key)
        if entry is None and response_cache.shared_enabled():
            entry = response_cache.shared_get(generation, key)
            if entry is not None:
                response_cache.store.put(generation, key, entry, limit)
        if entry is not None:
            response_cache.replay(entry)
            return _cacheable_response(request, entry.body, entry.etag, True)
    token = response_cache.request_generation.set(generation)
    try:
        with response_cache.Recorder() as recorder:
            response = _run(request, name, function, data)
    finally:
        response_cache.request_generation.reset(token)
    if response.status_code != 200:
        return response
    body = response.content
    entry = response_cache.Entry(
        body=body, etag=response_cache.etag_for(body), counted=tuple(recorder.counted)
    )
    if key is not None:
        response_cache.store.put(generation, key, entry, limit)
        if response_cache.shared_enabled():
            response_cache.shared_put(generation, key, entry)
    return _cacheable_response(request, body, entry.etag, None if key is None else False)
