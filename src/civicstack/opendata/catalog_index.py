"""An in-process search index of the catalog for ``package_search`` and the search page.

The city's catalog is small (the report's 1,381 datasets; a few hundred bytes each), so each
process keeps a snapshot of what search needs — words, agency, licence, formats, tags, groups,
dates — and filters, facets, sorts and pages it in Python: one cheap query per search (the
catalog's version: the response cache's generation, see ``response_cache``) instead of a dozen
joins and COUNT(DISTINCT)s. Every write to datasets, resources, tags, groups or agencies moves the
generation in its own transaction, so any process sees the change on its next search.
"""

import threading
from collections import Counter
from dataclasses import dataclass

from django.db.models import Count, Max

from .models import Dataset, Resource


@dataclass(frozen=True)
class Entry:
    id: str
    name: str
    title: str
    search_text: str
    agency_id: int
    agency_code: str
    state: str
    license: str
    category: str
    formats: frozenset
    formats_lower: frozenset
    tags: frozenset
    groups: frozenset
    metadata_modified: object
    created_at: object


_lock = threading.Lock()
_snapshot: tuple | None = None  # (version, entries, titles)


def catalog_version() -> tuple:
    """The response cache's generation (one primary-key read, or none when the CKAN view has
    already read it for this request), which every catalog write moves; without its row, the
    dataset count and newest ``metadata_modified``."""
    from . import response_cache

    generation = response_cache.request_generation.get()
    if generation is None:
        generation = response_cache.generation()
    if generation is not None:
        return ("generation", generation)
    row = Dataset.objects.aggregate(n=Count("id"), newest=Max("metadata_modified"))
    return row["n"], row["newest"]


def _build() -> list[Entry]:
    formats: dict = {}
    for dataset_id, format in Resource.objects.values_list("dataset_id", "format"):
        formats.setdefault(dataset_id, set()).add(format)
    tags: dict = {}
    for dataset_id, name in Dataset.tags.through.objects.values_list("dataset_id", "tag__name"):
        tags.setdefault(dataset_id, set()).add(name)
    groups: dict = {}
    for dataset_id, name in Dataset.groups.through.objects.values_list("dataset_id", "group__name"):
        groups.setdefault(dataset_id, set()).add(name)
    rows = Dataset.objects.values_list(
        "id", "name", "title", "search_text", "agency_id", "agency__code", "state", "license", "category",
        "metadata_modified", "created_at",
    )  # fmt: skip
    return [
        Entry(
            id=str(pk),
            name=name,
            title=title,
            search_text=text,
            agency_id=agency_id,
            agency_code=code,
            state=state,
            license=license,
            category=category,
            formats=frozenset(formats.get(pk, ())),
            formats_lower=frozenset(f.lower() for f in formats.get(pk, ())),
            tags=frozenset(tags.get(pk, ())),
            groups=frozenset(groups.get(pk, ())),
            metadata_modified=modified,
            created_at=created,
        )  # fmt: skip
        for pk, name, title, text, agency_id, code, state, license, category, modified, created in rows
    ]


def _titles() -> dict:
    """Display names of facet values: agencies (zh, en) by code, groups (zh, en) by name."""
    from civicstack.core.models import Agency

    from .models import Group

    titles = {
        ("organization", code): (zh, en)
        for code, zh, en in Agency.objects.values_list("code", "name_zh", "name_en")
    }
    titles.update(
        {
            ("groups", name): (zh, en)
            for name, zh, en in Group.objects.values_list("name", "title", "title_en")
        }
    )
    return titles


def _current() -> tuple:
    global _snapshot
    version = catalog_version()
    snapshot = _snapshot
    if snapshot is not None and snapshot[0] == version:
        return snapshot
    with _lock:
        if _snapshot is None or _snapshot[0] != version:
            _snapshot = (version, _build(), _titles())
        return _snapshot


def entries() -> list[Entry]:
    return _current()[1]


def facet_title(facet: str, value: str, *, english: bool) -> str | None:
    """From the snapshot taken with the entries (refreshed whenever the catalog changes)."""
    snapshot = _snapshot or _current()
    names = snapshot[2].get((facet, value))
    if names is None:
        return None
    return names[1] if english and names[1] else names[0]


FACET_VALUES = {
    "organization": lambda e: (e.agency_code,),
    "groups": lambda e: e.groups,
    "tags": lambda e: e.tags,
    "res_format": lambda e: e.formats,
    "license_id": lambda e: (e.license,),
    "category": lambda e: (e.category,),
}


def matches(entry: Entry, key: str, value: str) -> bool:
    if key == "organization":
        return entry.agency_code.lower() == value.lower()
    if key == "res_format":
        return value.lower() in entry.formats_lower
    if key in ("groups", "tags"):
        return value in getattr(entry, key)
    if key == "license_id":
        return entry.license == value
    if key == "category":
        return entry.category == value
    if key == "name":
        return entry.name == value
    if key == "id":
        return entry.id == value.lower() or entry.id.replace("-", "") == value.lower().replace("-", "")
    if key == "capacity":
        return entry.state == (Dataset.State.PUBLIC if value == "public" else Dataset.State.PRIVATE)
    return True


def facet_counts(found: list[Entry], name: str, *, limit: int, mincount: int) -> list[tuple[str, int]]:
    counter: Counter = Counter()
    values_of = FACET_VALUES[name]
    for entry in found:
        counter.update(set(values_of(entry)))
    items = sorted(
        ((value, n) for value, n in counter.items() if n >= max(mincount, 1)), key=lambda i: (-i[1], i[0])
    )
    return items if limit < 0 else items[:limit]
