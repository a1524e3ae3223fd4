"""Cached responses of the CKAN API's read-only actions, with HTTP revalidation.

**Key.** A response is cached under the action, its parameters normalised (a JSON dump of the
request's parameters with sorted keys, so order and GET vs POST do not matter), the language,
the site's base URL and the catalog's **generation**: one number in the database
(``CacheGeneration``) that every write to the catalog or a datastore table moves inside the
write's own transaction (signals on datasets, resources, tags, groups and agencies, and
explicit ``bump()`` calls after bulk writes). A request reads the generation first (one
primary-key query) and then looks up its response, so a publish, an edit or a resource refresh
is visible to every process as soon as it commits: the old responses are no longer reachable
(and each process drops them when it sees the generation move).

**Where.** Per process, in a least-recently-used map bounded in bytes
(``OPENDATA_API_CACHE_BYTES``, default 64 MB; 0 turns the cache off): no network hop on a hit,
which costs the generation query and a dictionary lookup. When Django's cache is shared between
processes (Redis, ``REDIS_URL``), it is a second level: a response one process computed is a hit
for the others (entries up to 1 MB, keyed by the generation, expiring after an hour). Only
anonymous requests are cached (no API key, no logged-in session: staff may see drafts); errors
are never cached.

**HTTP.** Successful anonymous GETs carry an ``ETag`` (a hash of the body) and
``Cache-Control: public, no-cache`` (clients and proxies may keep the response but must
revalidate, so a change is still seen at once); a request whose ``If-None-Match`` holds the
current ETag gets ``304 Not Modified`` with no body. Responses for API keys or sessions are
``private, no-cache``.

**Usage figures.** The API calls an action counts (``usage.count``) are recorded with the
cached response and counted again on every hit, so the figures do not depend on the cache.
"""

import contextvars
import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connections, router
from django.db.models import F
from django.db.models.functions import Greatest

from . import usage
from .models import CacheGeneration

# Not status_show: it reads nothing, so computing it is cheaper than reading the generation.
READ_ACTIONS = frozenset(
    {
        "package_list", "package_search", "package_show", "organization_list",
        "organization_show", "group_list", "group_show", "tag_list", "resource_show", "datastore_search",
    }
)  # fmt: skip
DEFAULT_BYTES = 64 * 2**20
MAX_ENTRY_FRACTION = 8  # one response may take at most 1/8 of the cache
PUBLIC_CACHE_CONTROL = "public, no-cache"
PRIVATE_CACHE_CONTROL = "private, no-cache"
VARY = ("Accept-Language", "Authorization", "Cookie")


# --- the generation -------------------------------------------------------------------------------

# The generation the CKAN view read for the request being served (so the catalog index does not
# read it again): None outside such a request.
request_generation: contextvars.ContextVar = contextvars.ContextVar("opendata_generation", default=None)


def generation() -> int | None:
    """The current generation, or None when its row is missing (then nothing is cached).

    One round trip, in plain SQL (a cache hit costs little else). With ``CONN_HEALTH_CHECKS``,
    Django would first send ``SELECT 1`` on a reused connection; this read does that check's job
    instead: when it fails on a connection not yet checked in this request, the connection is
    closed and the read sent once more on a new one, which is what the check would have done."""
    connection = connections[router.db_for_read(CacheGeneration)]
    unchecked = (
        getattr(connection, "health_check_enabled", False)
        and not getattr(connection, "health_check_done", True)
        and connection.connection is not None
        and not connection.in_atomic_block
    )
    if not unchecked:
        return _read_generation(connection)
    connection.health_check_done = True
    try:
        return _read_generation(connection)
    except DatabaseError:
        connection.close()
        return _read_generation(connection)


def _read_generation(connection) -> int | None:
    table = connection.ops.quote_name(CacheGeneration._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT value FROM {table} WHERE id = 1")  # noqa: S608 - our table's name
        row = cursor.fetchone()
    return None if row is None else row[0]


def bump() -> None:
    """Move the generation, inside the caller's transaction. The new value is at least the
    current time in microseconds, so a generation never comes back after a rollback or a reset
    of the table (a process may still hold responses under an old number)."""
    import time

    now = time.time_ns() // 1_000
    updated = CacheGeneration.objects.filter(pk=1).update(value=Greatest(F("value") + 1, now))
    if not updated:
        CacheGeneration.objects.get_or_create(pk=1, defaults={"value": now})


# --- the per-process store --------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    body: bytes
    etag: str
    counted: tuple  # (dataset id, usage kind) of every usage.count the action made


def _response_size(entry: Entry) -> int:
    return len(entry.body) + 200


class GenerationStore:
    """Entries by key for the current generation, per process, least recently used dropped past
    ``limit`` (in the units of ``size``: bytes of a response, or 1 an object). A newer generation
    drops everything; a request that read an older one neither reads nor writes."""

    def __init__(self, size=_response_size) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict = OrderedDict()
        self._used = 0
        self._generation: int | None = None
        self.hits = 0
        self.misses = 0

    def get(self, generation: int, key: tuple):
        with self._lock:
            if generation != self._generation:
                # A request that read an older generation (it started before a write committed)
                # misses without wiping the newer entries; a newer generation drops them all.
                if self._generation is None or generation > self._generation:
                    self._drop_all(generation)
                self.misses += 1
                return None
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, generation: int, key: tuple, entry, limit: int) -> None:
        size = self._size(entry)
        if size > limit // MAX_ENTRY_FRACTION:
            return
        with self._lock:
            if generation != self._generation:
                if self._generation is not None and generation < self._generation:
                    return  # computed under a generation this process has already left
                self._drop_all(generation)
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._used -= self._size(previous)
            self._entries[key] = entry
            self._used += size
            while self._used > limit and self._entries:
                _key, old = self._entries.popitem(last=False)
                self._used -= self._size(old)

    def _drop_all(self, generation: int | None) -> None:
        self._entries.clear()
        self._used = 0
        self._generation = generation

    def clear(self) -> None:
        with self._lock:
            self._drop_all(None)
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)


store = GenerationStore()


# --- the shared level: Django's cache when it is shared between processes (Redis) ---------------

SHARED_TIMEOUT = 3600  # an entry of an old generation is never read again; it just expires
SHARED_MAX_BYTES = 2**20
_LOCAL_BACKENDS = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


def shared_enabled() -> bool:
    """Off for a per-process cache (LocMem: it would only hold a second copy)."""
    return settings.CACHES.get("default", {}).get("BACKEND") not in _LOCAL_BACKENDS


def _shared_key(generation: int, key: tuple) -> str:
    digest = hashlib.sha256(repr(key).encode()).hexdigest()[:40]
    return f"opendata:api:{generation}:{digest}"


def shared_get(generation: int, key: tuple) -> Entry | None:
    from django.core.cache import cache

    try:
        value = cache.get(_shared_key(generation, key))
    except Exception:  # noqa: BLE001 - the shared cache is an optimisation: down means a miss
        return None
    if not isinstance(value, tuple) or len(value) != 4 or value[0] != repr(key):
        return None  # absent, or (vanishingly unlikely) another key with the same digest
    return Entry(body=value[1], etag=value[2], counted=value[3])


def shared_put(generation: int, key: tuple, entry: Entry) -> None:
    from django.core.cache import cache

    if len(entry.body) > SHARED_MAX_BYTES:
        return
    try:
        cache.set(
            _shared_key(generation, key), (repr(key), entry.body, entry.etag, entry.counted), SHARED_TIMEOUT
        )
    except Exception:  # noqa: BLE001, S110 - see shared_get
        pass


def limit_bytes() -> int:
    return int(getattr(settings, "OPENDATA_API_CACHE_BYTES", DEFAULT_BYTES))


def key_for(name: str, data: dict, *, language: str, base: str, method: str) -> tuple:
    normalised = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return (name, normalised, language, base, method == "POST")


def etag_for(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def etag_matches(header: str, etag: str) -> bool:
    """``If-None-Match``: a list of (possibly weak) tags, or ``*``; weak comparison (RFC 9110)."""
    if not header:
        return False
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


class Recorder:
    """Collects the usage.count calls made while an action runs (to replay them on hits)."""

    def __enter__(self) -> "Recorder":
        self.counted: list = []
        usage.recorders.stack = [*getattr(usage.recorders, "stack", []), self.counted]
        return self

    def __exit__(self, *exc) -> None:
        usage.recorders.stack = usage.recorders.stack[:-1]


def replay(entry: Entry) -> None:
    for dataset_id, kind in entry.counted:
        usage.count(dataset_id, kind)


# --- keeping the generation: every write that changes what the API answers moves it --------------


def _bump_on_change(sender, **kwargs) -> None:
    if kwargs.get("raw"):  # fixtures being loaded
        return
    action = kwargs.get("action")
    if action is not None and not action.startswith("post_"):  # m2m_changed: only once, after
        return
    bump()


def connect_signals() -> None:
    from django.db.models.signals import m2m_changed, post_delete, post_save

    from civicstack.core.models import Agency

    from .models import Dataset, Group, Resource, Tag

    for model in (Dataset, Resource, Group, Tag, Agency):
        post_save.connect(_bump_on_change, sender=model, dispatch_uid=f"opendata-cache-save-{model.__name__}")
        post_delete.connect(
            _bump_on_change, sender=model, dispatch_uid=f"opendata-cache-delete-{model.__name__}"
        )
    for through in (Dataset.tags.through, Dataset.groups.through):
        m2m_changed.connect(
            _bump_on_change, sender=through, dispatch_uid=f"opendata-cache-m2m-{through.__name__}"
        )
