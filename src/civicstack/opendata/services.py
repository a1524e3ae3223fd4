"""Writes of the open data module: datasets, resources (upload, link, refresh) and the datastore.

Every write runs in one transaction with its audit row. A resource's file is parsed completely
before anything is saved, and its rows replace the old ones inside the same transaction, so a
bad file leaves the catalog exactly as it was (nothing half-published).
"""

import datetime
import hashlib
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from civicstack.core.errors import InvalidInput, NotFound, PermissionDenied
from civicstack.core.models import Agency, User
from civicstack.core.services import audit_record
from civicstack.core.stored_files import delete_after_commit

from . import parsing, quality
from .errors import InvalidFile
from .models import (
    Dataset,
    DatastoreRow,
    DatastoreValueCount,
    Group,
    Resource,
    ResourceUpdate,
    Tag,
    value_key,
)
from .selectors import can_publish_for

DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024
INSERT_BATCH = 5_000


def max_upload_bytes() -> int:
    return getattr(settings, "OPENDATA_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES)


def _require_publisher(actor: User | None, agency: Agency) -> None:
    if actor is not None and not can_publish_for(actor, agency.pk):
        raise PermissionDenied(_("You can publish datasets of your own agency only."))


def search_text_for(dataset: Dataset, tags: list[str]) -> str:
    parts = [dataset.name, dataset.title, dataset.title_en, dataset.notes, dataset.category, *tags]
    parts += [dataset.agency.name_zh, dataset.agency.name_en, dataset.agency.code]
    return " ".join(part for part in parts if part).lower()


@dataclass
class DatasetInput:
    title: str
    agency: Agency
    name: str = ""
    title_en: str = ""
    category: str = "公共資訊"
    notes: str = ""
    field_description: str = ""
    update_frequency: str = "irregular"
    license: str = "gov-tw-open-1"
    fee: str = "free"
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    published_on: datetime.date | None = None
    encoding: str = "UTF-8"
    related_url: str = ""
    remarks: str = ""
    tags: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)


def _unique_name(title: str, requested: str) -> str:
    base = slugify(requested or "") or slugify(title) or "dataset"
    base = base[:90]
    name, suffix = base, 2
    while Dataset.objects.filter(name=name).exists():
        name, suffix = f"{base}-{suffix}", suffix + 1
    return name


def _set_tags_and_groups(dataset: Dataset, tags: list[str], groups: list[str]) -> None:
    names = sorted({tag.strip()[:100] for tag in tags if tag and tag.strip()})
    existing = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
    missing = [Tag(name=name) for name in names if name not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
    dataset.tags.set(Tag.objects.filter(name__in=names))
    found = list(Group.objects.filter(name__in=groups))
    if len(found) != len(set(groups)):
        unknown = sorted(set(groups) - {g.name for g in found})
        raise InvalidInput(_("Unknown group: %(names)s") % {"names": ", ".join(unknown)})
    dataset.groups.set(found)


@transaction.atomic
def dataset_create(*, actor: User | None, data: DatasetInput, state: str = Dataset.State.DRAFT) -> Dataset:
    _require_publisher(actor, data.agency)
    if not data.title.strip():
        raise InvalidInput(_("A dataset needs a title."), details={"title": [_("Missing value")]})
    now = timezone.now()
    values = {k: v for k, v in data.__dict__.items() if k not in ("tags", "groups", "name")}
    dataset = Dataset(
        **values, name=_unique_name(data.title, data.name), state=state, metadata_modified=now,
        created_by=actor if actor is not None and actor.pk else None,
    )  # fmt: skip
    if state == Dataset.State.PUBLIC and dataset.published_on is None:
        dataset.published_on = timezone.localdate()
    dataset.full_clean(exclude=["search_text", "created_by", "id"])
    dataset.search_text = search_text_for(dataset, data.tags)
    dataset.save(force_insert=True)
    _set_tags_and_groups(dataset, data.tags, data.groups)
    audit_record(actor=actor, action="opendata.dataset_create", obj=dataset, agency=data.agency)
    return dataset


@transaction.atomic
def dataset_update(*, actor: User | None, dataset: Dataset, data: DatasetInput) -> Dataset:
    dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
    _require_publisher(actor, dataset.agency)
    _require_publisher(actor, data.agency)
    for key, value in data.__dict__.items():
        if key not in ("tags", "groups", "name"):
            setattr(dataset, key, value)
    dataset.metadata_modified = timezone.now()
    dataset.full_clean(exclude=["search_text", "created_by", "id", "name"])
    dataset.search_text = search_text_for(dataset, data.tags)
    dataset.save()
    _set_tags_and_groups(dataset, data.tags, data.groups)
    _refresh_stars(dataset)
    audit_record(actor=actor, action="opendata.dataset_update", obj=dataset, agency=dataset.agency)
    return dataset


@transaction.atomic
def dataset_set_state(*, actor: User | None, dataset: Dataset, state: str) -> Dataset:
    dataset = Dataset.objects.select_for_update().select_related("agency").get(pk=dataset.pk)
    _require_publisher(actor, dataset.agency)
    if state not in Dataset.State.values:
        raise InvalidInput(_("Unknown state %(state)s.") % {"state": state})
    if state == Dataset.State.PUBLIC and not dataset.resources.exists():
        raise InvalidInput(_("Add at least one resource before publishing."))
    previous = dataset.state
    dataset.state = state
    if state == Dataset.State.PUBLIC and dataset.published_on is None:
        dataset.published_on = timezone.localdate()
    dataset.metadata_modified = timezone.now()
    dataset.save(update_fields=["state", "published_on", "metadata_modified"])
    audit_record(
        actor=actor, action="opendata.dataset_state", obj=dataset, agency=dataset.agency,
        data={"from": previous, "to": state},
    )  # fmt: skip
    return dataset


def _refresh_stars(dataset: Dataset) -> None:
    resources = list(Resource.objects.filter(dataset=dataset))
    for resource in resources:
        stars = quality.resource_stars(
            format=resource.format, license=dataset.license, links_elsewhere=resource.stars == 5
        )
        if stars != resource.stars:
            Resource.objects.filter(pk=resource.pk).update(stars=stars)
            resource.stars = stars
    best = max((r.stars for r in resources), default=0)
    Dataset.objects.filter(pk=dataset.pk).update(stars=best)
    dataset.stars = best


# --- resources ------------------------------------------------------------------------------


@dataclass
class LoadedFile:
    format: str
    content: bytes
    table: parsing.Table | None
    links_elsewhere: bool = False


def _load(filename: str, content: bytes, declared_format: str = "") -> LoadedFile:
    limit = max_upload_bytes()
    if len(content) > limit:
        raise InvalidFile(
            _("The file is %(size)s bytes; the limit is %(limit)s bytes.")
            % {"size": len(content), "limit": limit},
            details={"size": len(content), "limit": limit},
        )
    format = parsing.detect_format(filename, content, declared_format)
    table = parsing.read_table(format, content) if format in parsing.TABULAR else None
    links = False
    if format == Resource.Format.RDF:
        links = quality.rdf_links_elsewhere(content)
    return LoadedFile(format=format, content=content, table=table, links_elsewhere=links)


class ValueCounter:
    """Counts each field's values over a table being loaded, for ``DatastoreValueCount``."""

    def __init__(self) -> None:
        self.counts: dict[str, Counter] = {}
        self.uncounted: set[str] = set()  # fields holding an array or object somewhere

    def add(self, row: dict) -> None:
        for name, value in row.items():
            if name in self.uncounted or value is None:
                continue
            key = value_key(value)
            if key is None:
                if isinstance(value, list | dict):
                    self.uncounted.add(name)
                    self.counts.pop(name, None)
                continue
            counter = self.counts.get(name)
            if counter is None:
                counter = self.counts[name] = Counter()
            counter[key] += 1

    def save(self, resource: Resource, model=DatastoreValueCount) -> None:
        """Replace the resource's counts, inside the caller's transaction (the one that writes
        the rows). ``model``: the historical model when a migration calls it."""
        model.objects.filter(resource_id=resource.pk).delete()
        model.objects.bulk_create(
            (
                model(resource_id=resource.pk, field=name, value=key, rows=rows)
                for name, counter in self.counts.items()
                for key, rows in counter.items()
                if rows >= DatastoreValueCount.MIN_ROWS
            ),
            batch_size=INSERT_BATCH,
        )


def _store_rows(resource: Resource, table: parsing.Table) -> None:
    DatastoreRow.objects.filter(resource=resource).delete()
    counter = ValueCounter()
    batch = []
    for row_id, row in enumerate(table.rows, start=1):
        text = " ".join(str(v) for v in row.values() if v is not None).lower()
        batch.append(DatastoreRow(resource=resource, row_id=row_id, data=row, search_text=text))
        counter.add(row)
        if len(batch) >= INSERT_BATCH:
            DatastoreRow.objects.bulk_create(batch)
            batch = []
    if batch:
        DatastoreRow.objects.bulk_create(batch)
    counter.save(resource)


def _apply_load(
    *, resource: Resource, loaded: LoadedFile, filename: str, source: str, actor: User | None, save_file: bool
) -> ResourceUpdate:
    """Inside the caller's transaction: file, datastore rows, field list, stars, history."""
    previous_fields = [f["id"] for f in resource.datastore_fields]
    table = loaded.table
    resource.format = loaded.format
    resource.mimetype = parsing.MIMETYPES.get(loaded.format, "")
    resource.size = len(loaded.content)
    resource.sha256 = hashlib.sha256(loaded.content).hexdigest()
    resource.last_modified = timezone.now()
    resource.stars = quality.resource_stars(
        format=loaded.format, license=resource.dataset.license, links_elsewhere=loaded.links_elsewhere
    )
    if table is not None:
        resource.encoding = table.encoding
        resource.datastore_active = True
        resource.datastore_fields = table.fields
        resource.datastore_row_count = len(table.rows)
        resource.geometry_preview = table.geometries
    else:
        resource.datastore_active = False
        resource.datastore_fields = []
        resource.datastore_row_count = 0
        resource.geometry_preview = []
    if save_file:
        resource.file.save(filename.rsplit("/", 1)[-1] or "resource", ContentFile(loaded.content), save=False)
        # A rolled-back transaction must not leave the file behind.
        stored = resource.file.name
        storage = resource.file.storage
        resource._stored_file = (storage, stored)
    resource.save()
    if table is not None:
        _store_rows(resource, table)
    else:
        DatastoreRow.objects.filter(resource=resource).delete()
        DatastoreValueCount.objects.filter(resource=resource).delete()
    new_fields = [f["id"] for f in resource.datastore_fields]
    update = ResourceUpdate.objects.create(
        resource=resource, source=source, row_count=resource.datastore_row_count, sha256=resource.sha256,
        fields_added=[f for f in new_fields if f not in previous_fields] if previous_fields else [],
        fields_removed=[f for f in previous_fields if f not in new_fields],
        actor=actor if actor is not None and actor.pk else None,
    )  # fmt: skip
    dataset = resource.dataset
    Dataset.objects.filter(pk=dataset.pk).update(metadata_modified=resource.last_modified)
    _refresh_stars(dataset)
    return update


def _discard_file(resource: Resource) -> None:
    stored = getattr(resource, "_stored_file", None)
    if stored:
        storage, name = stored
        storage.delete(name)


def resource_upload(
    *, actor: User | None, dataset: Dataset, filename: str, content: bytes, name: str = "",
    description: str = "", format: str = "",
) -> Resource:  # fmt: skip
    """Add an uploaded file to a dataset. Raises InvalidFile (and stores nothing) for a bad file."""
    _require_publisher(actor, dataset.agency)
    loaded = _load(filename, content, format)
    resource = Resource(dataset=dataset, name=name or filename, description=description, format=loaded.format)
    try:
        with transaction.atomic():
            locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
            resource.dataset = locked
            resource.position = locked.resources.count()
            _apply_load(
                resource=resource, loaded=loaded, filename=filename, source=ResourceUpdate.Source.UPLOAD,
                actor=actor, save_file=True,
            )  # fmt: skip
            audit_record(actor=actor, action="opendata.resource_upload", obj=resource, agency=dataset.agency)
    except BaseException:
        _discard_file(resource)
        raise
    return resource


def fetch_url(url: str) -> bytes:
    """GET a source URL with the upload size limit and a timeout."""
    if not url.startswith(("http://", "https://")):
        raise InvalidFile(_("Only http and https links can be loaded."))
    limit = max_upload_bytes()
    request = urllib.request.Request(url, headers={"User-Agent": "civicstack-opendata/1"})  # noqa: S310 - scheme checked above
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 - scheme checked above
            content = response.read(limit + 1)
    except (urllib.error.URLError, TimeoutError, ValueError) as exc:
        raise InvalidFile(_("The link could not be loaded: %(error)s") % {"error": exc}) from exc
    if len(content) > limit:
        raise InvalidFile(
            _("The file is over the limit of %(limit)s bytes.") % {"limit": limit}, details={"limit": limit}
        )
    return content


def resource_link(
    *, actor: User | None, dataset: Dataset, url: str, name: str = "", description: str = "", format: str = "",
    load: bool = True, refresh_every_hours: int | None = None,
) -> Resource:  # fmt: skip
    """Add a linked resource. With ``load``, the link is fetched now and tabular data loaded into
    the datastore (and the link becomes the refresh source when ``refresh_every_hours`` is set)."""
    _require_publisher(actor, dataset.agency)
    resource = Resource(
        dataset=dataset, name=name or url.rsplit("/", 1)[-1] or url, description=description, url=url,
        format=format or parsing.detect_format(url, b""), last_modified=timezone.now(),
    )  # fmt: skip
    if refresh_every_hours:
        resource.refresh_url = url
        resource.refresh_every_hours = refresh_every_hours
        resource.next_refresh_at = timezone.now() + datetime.timedelta(hours=refresh_every_hours)
    loaded = _load(url, fetch_url(url), format) if load else None
    with transaction.atomic():
        locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
        resource.dataset = locked
        resource.position = locked.resources.count()
        if loaded is not None:
            _apply_load(
                resource=resource, loaded=loaded, filename=url, source=ResourceUpdate.Source.LINK, actor=actor,
                save_file=False,
            )  # fmt: skip
        else:
            resource.stars = quality.resource_stars(format=resource.format, license=locked.license)
            resource.mimetype = parsing.MIMETYPES.get(resource.format, "")
            resource.save()
            _refresh_stars(locked)
        audit_record(actor=actor, action="opendata.resource_link", obj=resource, agency=dataset.agency)
    return resource


# --- internal sources: other modules' live data published as datastore tables -----------------


@dataclass(frozen=True)
class InternalSource:
    key: str
    title: str
    export: Callable[[], bytes]  # the current data as CSV bytes (UTF-8, header row first)


_INTERNAL_SOURCES: dict[str, InternalSource] = {}


def register_internal_source(key: str, title: str, export: Callable[[], bytes]) -> None:
    """Called from an AppConfig.ready(): a module offers its live data (parking spaces, water
    levels...) for the catalog; a resource bound to it is reloaded on its refresh schedule."""
    _INTERNAL_SOURCES[key] = InternalSource(key, title, export)


def internal_sources() -> list[InternalSource]:
    return sorted(_INTERNAL_SOURCES.values(), key=lambda source: source.key)


def _internal_export(key: str) -> bytes:
    source = _INTERNAL_SOURCES.get(key)
    if source is None:
        raise InvalidInput(_("Unknown internal source %(key)s.") % {"key": key})
    return source.export()


def resource_from_internal(
    *, actor: User | None, dataset: Dataset, key: str, name: str = "", refresh_every_hours: int = 1
) -> Resource:
    """A CSV resource loaded now from a platform module's data and refreshed on a schedule."""
    _require_publisher(actor, dataset.agency)
    content = _internal_export(key)
    loaded = _load(f"{key}.csv", content, Resource.Format.CSV)
    resource = Resource(
        dataset=dataset, name=name or str(_INTERNAL_SOURCES[key].title), format=Resource.Format.CSV,
        internal_source=key, refresh_every_hours=refresh_every_hours,
        next_refresh_at=timezone.now() + datetime.timedelta(hours=refresh_every_hours),
    )  # fmt: skip
    try:
        with transaction.atomic():
            locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
            resource.dataset = locked
            resource.position = locked.resources.count()
            _apply_load(
                resource=resource, loaded=loaded, filename=f"{key}.csv", source=ResourceUpdate.Source.LINK,
                actor=actor, save_file=True,
            )  # fmt: skip
            audit_record(
                actor=actor, action="opendata.resource_internal", obj=resource, agency=dataset.agency
            )
    except BaseException:
        _discard_file(resource)
        raise
    return resource


def resource_refresh(
    *, resource: Resource, actor: User | None = None, content: bytes | None = None
) -> ResourceUpdate:
    """Reload a resource from its refresh source (or the given content, e.g. an internal module's
    export). A failure is recorded in the history and leaves the previous data in place."""
    now = timezone.now()
    try:
        if content is None:
            if resource.internal_source:
                content = _internal_export(resource.internal_source)
            elif resource.refresh_url:
                content = fetch_url(resource.refresh_url)
            else:
                raise InvalidInput(_("This resource has no refresh source."))
        loaded = _load(resource.refresh_url or resource.name, content, resource.format)
    except InvalidInput as exc:
        with transaction.atomic():
            Resource.objects.filter(pk=resource.pk).update(next_refresh_at=_next_refresh(resource, now))
            return ResourceUpdate.objects.create(
                resource=resource, source=ResourceUpdate.Source.REFRESH, succeeded=False, message=exc.message,
                actor=actor if actor is not None and actor.pk else None,
            )  # fmt: skip
    locked = resource
    try:
        with transaction.atomic():
            locked = Resource.objects.select_for_update().select_related("dataset").get(pk=resource.pk)
            locked.next_refresh_at = _next_refresh(locked, now)
            update = _apply_load(
                resource=locked, loaded=loaded, filename=locked.refresh_url or locked.name,
                source=ResourceUpdate.Source.REFRESH, actor=actor, save_file=bool(locked.file),
            )  # fmt: skip
            if update.fields_added or update.fields_removed:
                update.message = _("Schema drift: the fields changed since the previous load.")
                update.save(update_fields=["message"])
    except BaseException:
        _discard_file(locked)
        raise
    return update


def _next_refresh(resource: Resource, now: datetime.datetime) -> datetime.datetime | None:
    if not resource.refresh_every_hours:
        return None
    return now + datetime.timedelta(hours=resource.refresh_every_hours)


def resources_refresh_due(*, now: datetime.datetime | None = None) -> list[ResourceUpdate]:
    """The scheduled job: refresh every resource whose next refresh time has come."""
    now = now or timezone.now()
    due = (
        Resource.objects.filter(next_refresh_at__lte=now)
        .select_related("dataset")
        .order_by("next_refresh_at")
    )
    return [resource_refresh(resource=resource) for resource in due]


def resource_delete(*, actor: User | None, resource: Resource) -> None:
    dataset = resource.dataset
    _require_publisher(actor, dataset.agency)
    with transaction.atomic():
        audit_record(actor=actor, action="opendata.resource_delete", obj=resource, agency=dataset.agency)
        delete_after_commit([resource.file])
        resource.delete()
        Dataset.objects.filter(pk=dataset.pk).update(metadata_modified=timezone.now())
        _refresh_stars(dataset)


def access_editable_dataset(actor: User, key: str) -> Dataset:
    from .selectors import datasets_editable_by

    dataset = datasets_editable_by(actor).select_related("agency").filter(name=key).first()
    if dataset is None:
        raise NotFound(_("Dataset not found."))
    return dataset
