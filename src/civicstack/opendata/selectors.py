"""Reads of the catalog and the datastore, and who may see what.

Public datasets are for everyone. Draft and private datasets are seen only by staff acting for
the dataset's agency (or a city administrator); for anyone else they do not exist (same
NotFound as a missing one).
"""

import hashlib
import json
import re
import shlex
import uuid
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.db.models.fields.json import KT, KeyTransform
from django.utils.translation import gettext as _

from civicstack.core.errors import NotFound
from civicstack.core.models import Agency, User
from civicstack.core.selectors import staff_scope

from . import catalog_index, response_cache
from .errors import DatastoreQueryError
from .models import Dataset, DatastoreRow, DatastoreValueCount, Group, Resource, Tag, UsageMonthly, value_key


def datasets_visible_to(user: User | None) -> QuerySet[Dataset]:
    datasets = Dataset.objects.all()
    scope = staff_scope(user) if user is not None else None
    if scope is None or not scope.is_staff:
        return datasets.filter(state=Dataset.State.PUBLIC)
    if scope.all_agencies:
        return datasets
    return datasets.filter(Q(state=Dataset.State.PUBLIC) | Q(agency_id__in=scope.agency_ids))


def datasets_editable_by(user: User) -> QuerySet[Dataset]:
    scope = staff_scope(user)
    if not scope.is_staff:
        return Dataset.objects.none()
    if scope.all_agencies:
        return Dataset.objects.all()
    return Dataset.objects.filter(agency_id__in=scope.agency_ids)


def can_publish_for(user: User, agency_id: int) -> bool:
    scope = staff_scope(user)
    return scope.is_staff and scope.acts_for(agency_id)


def access_dataset(user: User | None, key: str) -> Dataset:
    """By name or id."""
    datasets = datasets_visible_to(user).select_related("agency")
    dataset = datasets.filter(name=key).first()
    if dataset is None and _is_uuid(key):
        dataset = datasets.filter(id=key).first()
    if dataset is None:
        raise NotFound(_("Dataset not found."))
    return dataset


def access_resource(user: User | None, resource_id: str) -> Resource:
    if not _is_uuid(resource_id):
        raise NotFound(_("Resource not found."))
    # An anonymous CKAN API request has read the generation: a public resource loaded under it is
    # still current (every write to a resource, its dataset or agency moves the generation).
    generation = response_cache.request_generation.get() if user is None else None
    key = str(uuid.UUID(resource_id))
    if generation is not None:
        resource = _public_resources.get(generation, key)
        if resource is not None:
            return resource
    resource = (
        Resource.objects.select_related("dataset", "dataset__agency")
        .filter(id=resource_id, dataset__in=datasets_visible_to(user))
        .first()
    )
    if resource is None:
        raise NotFound(_("Resource not found."))
    if generation is not None:
        _public_resources.put(generation, key, resource, PUBLIC_RESOURCES_KEPT)
    return resource


# Public resources by id under the catalog generation an anonymous request read, per process: a
# response-cache miss then skips a three-table query (~1.4 ms of CPU) for its resource.
PUBLIC_RESOURCES_KEPT = 2_000
_public_resources = response_cache.GenerationStore(size=lambda _resource: 1)


_UUID = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")


def _is_uuid(value: str) -> bool:
    return bool(_UUID.match(str(value)))


def organizations() -> QuerySet[Agency]:
    """Agencies that own at least one dataset, with their public dataset count."""
    return (
        Agency.objects.annotate(
            package_count=Count("datasets", filter=Q(datasets__state=Dataset.State.PUBLIC), distinct=True)
        )
        .filter(datasets__isnull=False)
        .distinct()
        .order_by("code")
    )


def access_organization(key: str) -> Agency:
    agency = organizations().filter(code__iexact=key).first()
    if agency is None:
        raise NotFound(_("Organization not found."))
    return agency


def access_group(key: str) -> Group:
    group = Group.objects.filter(name=key).first()
    if group is None:
        raise NotFound(_("Group not found."))
    return group


# --- catalog search -----------------------------------------------------------------------------

# CKAN fq / facet names → our lookups.
FACET_LOOKUPS = {
    "organization": "agency__code",
    "groups": "groups__name",
    "tags": "tags__name",
    "res_format": "resources__format",
    "license_id": "license",
    "category": "category",
}
SORTS = {
    "metadata_modified": "metadata_modified",
    "metadata_created": "created_at",
    "name": "name",
    "title_string": "title",
    "title": "title",
    "views_recent": "-views_recent",
}


@dataclass
class SearchQuery:
    q: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    sort: str = "score desc, metadata_modified desc"
    rows: int = 10
    start: int = 0
    facet_fields: list[str] = field(default_factory=list)
    facet_limit: int = 50
    facet_mincount: int = 1


@dataclass
class SearchResult:
    count: int
    entries: list  # catalog_index.Entry of the page, in order
    facets: dict[str, list[tuple[str, int]]]
    _datasets: list[Dataset] | None = None

    @property
    def datasets(self) -> list[Dataset]:
        """The page's datasets with agency, resources, tags and groups (loaded on first use)."""
        if self._datasets is None:
            self._datasets = load_datasets([entry.id for entry in self.entries])
        return self._datasets


def load_datasets(ids: list[str]) -> list[Dataset]:
    loaded = {
        str(d.id): d
        for d in Dataset.objects.filter(id__in=ids).select_related("agency")
        .prefetch_related("resources", "tags", "groups")
    }  # fmt: skip
    return [loaded[i] for i in ids if i in loaded]


def parse_fq(fq: str) -> dict[str, list[str]]:
    """The Solr filter subset CKAN clients send: ``organization:x tags:"a b" +res_format:CSV``."""
    filters: dict[str, list[str]] = {}
    try:
        terms = shlex.split(fq)
    except ValueError as exc:
        raise DatastoreQueryError(_("Cannot parse fq: %(error)s") % {"error": exc}) from exc
    for term in terms:
        term = term.lstrip("+")
        if term.upper() in ("AND", "*:*") or not term:
            continue
        if ":" not in term:
            raise DatastoreQueryError(_("Cannot parse fq term %(term)s.") % {"term": term})
        key, value = term.split(":", 1)
        if key not in FACET_LOOKUPS and key not in ("name", "id", "state", "dataset_type", "capacity"):
            raise DatastoreQueryError(_("Unknown fq field %(field)s.") % {"field": key})
        filters.setdefault(key, []).append(value.strip('"'))
    return filters


def _order(sort: str) -> list[str]:
    ordering = []
    for part in sort.split(","):
        words = part.split()
        if not words:
            continue
        name, direction = words[0], (words[1].lower() if len(words) > 1 else "asc")
        if direction not in ("asc", "desc"):
            raise DatastoreQueryError(_("Cannot sort by %(sort)s.") % {"sort": part.strip()})
        if name == "score":
            ordering.append("-score" if direction == "desc" else "score")  # relevance (see _relevance)
            continue
        if name not in SORTS:
            raise DatastoreQueryError(_("Cannot sort by %(sort)s.") % {"sort": name})
        column = SORTS[name].lstrip("-")
        ordering.append(("-" if direction == "desc" else "") + column)
    return ordering + ["name"]


def _relevance(entry, words: list[str]) -> float:
    """How well a dataset matches the query words, in the spirit of CKAN's Solr ``score`` (which
    boosts the title): a word in the title counts most, a whole-title match more still, and
    repeated mentions in the description and fields add a little, with diminishing returns."""
    title = entry.title.lower()
    score = 0.0
    for word in words:
        if word in title:
            score += 3.0 + (2.0 if title == word else 0.0) + (1.0 if title.startswith(word) else 0.0)
        if word in entry.tags:
            score += 2.0
        mentions = entry.search_text.count(word)
        score += mentions / (mentions + 1.5)
    return score


def package_search(user: User | None, query: SearchQuery) -> SearchResult:
    """CKAN's package_search over the in-process catalog index (catalog_index): filter, facet,
    sort and page in Python, then load the page's datasets."""
    scope = staff_scope(user) if user is not None else None
    filters = {key: list(values) for key, values in query.filters.items()}
    words: list[str] = []
    q = query.q.strip()
    if q and q != "*:*":
        extra = None
        if ":" in q and not q.startswith('"'):
            try:
                extra = parse_fq(q)
            except DatastoreQueryError:
                extra = None
        if extra is not None:
            for key, values in extra.items():
                filters.setdefault(key, []).extend(values)
        else:
            words = q.lower().split()
    ordering = _order(query.sort)
    conditions = [(key, value) for key, values in filters.items() for value in values]
    matches = catalog_index.matches
    found = []
    for entry in catalog_index.entries():
        if entry.state != Dataset.State.PUBLIC:
            if scope is None or not scope.is_staff or not scope.acts_for(entry.agency_id):
                continue
        if words and not all(word in entry.search_text for word in words):
            continue
        if conditions and not all(matches(entry, key, value) for key, value in conditions):
            continue
        found.append(entry)
    for key in reversed(ordering):  # stable sorts, last key first
        if key.lstrip("-") == "score":
            if words:
                scores = {entry.id: _relevance(entry, words) for entry in found}
                found.sort(key=lambda e: scores[e.id], reverse=key.startswith("-"))
            continue
        attribute = {
            "created_at": "created_at",
            "metadata_modified": "metadata_modified",
            "title": "title",
        }.get(key.lstrip("-"), "name")
        found.sort(key=lambda e, a=attribute: getattr(e, a), reverse=key.startswith("-"))
    facets = {}
    for name in query.facet_fields:
        if name not in FACET_LOOKUPS:
            raise DatastoreQueryError(_("Unknown facet field %(field)s.") % {"field": name})
        facets[name] = catalog_index.facet_counts(
            found, name, limit=query.facet_limit, mincount=query.facet_mincount
        )
    page = found[query.start : query.start + query.rows]
    return SearchResult(count=len(found), entries=page, facets=facets)


def tags_in_use(query: str = "") -> QuerySet[Tag]:
    tags = Tag.objects.filter(datasets__state=Dataset.State.PUBLIC).distinct()
    if query:
        tags = tags.filter(name__icontains=query)
    return tags.order_by("name")


def usage_for(dataset: Dataset, months: int = 12) -> list[UsageMonthly]:
    return list(UsageMonthly.objects.filter(dataset=dataset).order_by("-month")[:months])


# --- datastore ----------------------------------------------------------------------------------

MAX_LIMIT = 32_000  # CKAN's ckan.datastore.search.rows_max default


@dataclass
class DatastoreResult:
    fields: list[dict]
    records: list[dict]
    total: int
    limit: int
    offset: int
    total_was_estimated: bool = False


def datastore_search(
    resource: Resource, *, filters: dict | None = None, q: str | dict = "", fields: list[str] | None = None,
    sort: str = "", limit: int = 100, offset: int = 0, include_total: bool = True,
    total_estimation_threshold: int | None = None,
) -> DatastoreResult:  # fmt: skip
    """CKAN's datastore_search. With ``total_estimation_threshold`` (CKAN's parameter), a filtered
    total whose PostgreSQL planner estimate exceeds the threshold is that estimate
    (``total_was_estimated``) instead of an exact count; on SQLite totals are always exact."""
    if not resource.datastore_active:
        raise NotFound(_("This resource has no datastore table."))
    known = {f["id"]: f for f in resource.datastore_fields}
    problems: dict[str, list[str]] = {}
    if limit < 0 or limit > MAX_LIMIT:
        problems.setdefault("limit", []).append(_("Must be between 0 and %(max)s.") % {"max": MAX_LIMIT})
    if offset < 0:
        problems.setdefault("offset", []).append(_("Must be a natural number."))
    selected = fields or [f["id"] for f in resource.datastore_fields]
    selected = [name for name in selected if name != "_id"]
    unknown = [name for name in selected if name not in known]
    if unknown:
        problems.setdefault("fields", []).append(
            _("field not in table: %(names)s") % {"names": ", ".join(unknown)}
        )
    rows = DatastoreRow.objects.filter(resource=resource)
    containment = connection.vendor == "postgresql"
    for index, (name, value) in enumerate((filters or {}).items()):
        if name == "_id":
            values = value if isinstance(value, list) else [value]
            rows = rows.filter(row_id__in=[v for v in values if isinstance(v, int)])
            continue
        if name not in known:
            problems.setdefault("filters", []).append(_("field not in table: %(name)s") % {"name": name})
            continue
        alias = f"filter_{index}"
        values = value if isinstance(value, list) else [value]
        condition = Q()
        for one in values:
            one = _coerce(one, known[name]["type"])
            if one is None:
                condition |= Q(**{f"{alias}__isnull": True})
            elif containment:
                # jsonb @> {"field": value}: answered from the GIN index (migration 0001).
                condition |= Q(data__contains={name: one})
            else:
                condition |= Q(**{alias: one})
        rows = rows.alias(**{alias: KeyTransform(name, "data")}).filter(condition)
    if isinstance(q, dict):
        for index, (name, text) in enumerate(q.items()):
            if name not in known:
                problems.setdefault("q", []).append(_("field not in table: %(name)s") % {"name": name})
                continue
            alias = f"q_{index}"
            rows = rows.alias(**{alias: KT(f"data__{name}")}).filter(**{f"{alias}__icontains": str(text)})
    elif q:
        for word in str(q).lower().split():
            rows = rows.filter(search_text__contains=word)
    ordering = []
    for part in (sort or "").split(","):
        words = part.split()
        if not words:
            continue
        name = words[0].strip('"')
        direction = words[1].lower() if len(words) > 1 else "asc"
        if direction not in ("asc", "desc") or (name not in known and name != "_id"):
            problems.setdefault("sort", []).append(_("Cannot sort by %(sort)s.") % {"sort": part.strip()})
            continue
        if name == "_id":
            ordering.append("-row_id" if direction == "desc" else "row_id")
            continue
        alias = f"sort_{len(ordering)}"
        rows = rows.alias(**{alias: KeyTransform(name, "data")})
        ordering.append(f"-{alias}" if direction == "desc" else alias)
    if problems:
        raise DatastoreQueryError(_("The datastore query is not valid."), details=problems)
    unfiltered = not filters and not q
    estimated = False
    if not include_total:
        total = None
    elif unfiltered:
        total = resource.datastore_row_count
    else:
        total = None
        if total_estimation_threshold is not None:
            estimate = _estimated_count(rows)
            if estimate is not None and estimate > total_estimation_threshold:
                total, estimated = estimate, True
        if total is None and not q:
            total = _counted_total(resource, filters, known)
        if total is None:
            total = _cached_count(resource, rows, filters, q)
    if unfiltered and not ordering:
        # Row ids are 1..N without gaps (a load replaces all rows), so a page in table order is a
        # range of the (resource, row_id) index, however deep the offset.
        page = rows.filter(row_id__gt=offset, row_id__lte=offset + limit).order_by("row_id")
    else:
        page = rows.order_by(*ordering, "row_id")[offset : offset + limit]
    page = page.values_list("row_id", "data")
    records = [{"_id": row_id, **{name: data.get(name) for name in selected}} for row_id, data in page]
    out_fields = [{"id": "_id", "type": "int"}] + [known[name] for name in selected]
    return DatastoreResult(
        fields=out_fields,
        records=records,
        total=total,
        limit=limit,
        offset=offset,
        total_was_estimated=estimated,
    )


def _estimated_count(rows: QuerySet) -> int | None:
    """The planner's row estimate for the query (PostgreSQL ``EXPLAIN``, no rows read)."""
    if connection.vendor != "postgresql":
        return None
    plan = json.loads(rows.explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


def _counted_total(resource: Resource, filters: dict, known: dict) -> int | None:
    """The exact total of a filter on one field (one value, or a list: any of them) from the
    counts kept with the table (``DatastoreValueCount``), or None when they do not answer it
    (several fields, ``_id``, null, or a value too rare to be kept: then the rows are counted)."""
    if len(filters) != 1:
        return None
    ((name, value),) = filters.items()
    if name not in known:
        return None
    keys = set()
    for one in value if isinstance(value, list) else [value]:
        key = value_key(_coerce(one, known[name]["type"]))
        if key is None:
            return None
        keys.add(key)
    if not keys:
        return None
    counts = list(
        DatastoreValueCount.objects.filter(resource=resource, field=name, value__in=keys).values_list(
            "rows", flat=True
        )
    )
    # A row holds one value of the field, so the totals of distinct values add up.
    return sum(counts) if len(counts) == len(keys) else None


COUNT_CACHE_SECONDS = 3600


def _cached_count(resource: Resource, rows: QuerySet, filters, q) -> int:
    """The total of a filtered query, cached until the table is reloaded (the key holds the
    load's time): counting tens of thousands of matches costs far more than fetching a page."""
    query = json.dumps(
        {"filters": filters or {}, "q": q or ""}, sort_keys=True, ensure_ascii=False, default=str
    )
    digest = hashlib.sha256(query.encode()).hexdigest()[:32]
    key = f"opendata:count:{resource.id}:{resource.last_modified.timestamp()}:{digest}"
    total = cache.get(key)
    if total is None:
        total = rows.count()
        cache.set(key, total, COUNT_CACHE_SECONDS)
    return total


def _coerce(value, kind: str):
    if value is None:
        return None
    if kind in ("int", "numeric") and isinstance(value, str):
        try:
            number = float(value.replace(",", ""))
        except ValueError:
            raise DatastoreQueryError(
                _("The datastore query is not valid."),
                details={"filters": [_("%(value)s is not a number") % {"value": value}]},
            ) from None
        return int(number) if kind == "int" and number.is_integer() else number
    if kind == "text" and not isinstance(value, str):
        return str(value)
    return value
