"""Usage figures counted cheaply: each process adds views, downloads and API calls to an
in-memory counter and writes them out in one batch (one INSERT ... ON CONFLICT DO UPDATE for all
the (dataset, month) rows touched) at most once every FLUSH_SECONDS or every FLUSH_EVENTS events,
never once per request.

A process that dies loses at most the last few seconds of counts; that is the trade accepted
for figures used in monthly reports. ``usage_flush()`` is also called by the ``opendata``
management command and at the end of the demo generator.
"""

import datetime
import threading
import time
import uuid
from collections import Counter

from django.db import connection, transaction
from django.utils import timezone

from .models import UsageMonthly

FLUSH_SECONDS = 5.0
FLUSH_EVENTS = 1_000
KINDS = ("views", "downloads", "api_calls")

_lock = threading.Lock()
_pending: Counter = Counter()
_events = 0
_last_flush = time.monotonic()
# Per thread, a stack of lists that also receive every (dataset id, kind) counted: the API's
# response cache records what an action counted, to count it again when it serves a hit.
recorders = threading.local()


def _month(now: datetime.datetime | None = None) -> datetime.date:
    return timezone.localdate(now or timezone.now()).replace(day=1)


def count(dataset_id, kind: str) -> None:
    """Record one event; flushes the batch when it is due."""
    global _events
    if kind not in KINDS:
        raise ValueError(kind)
    for recorded in getattr(recorders, "stack", ()):
        recorded.append((str(dataset_id), kind))
    with _lock:
        _pending[(str(dataset_id), _month(), kind)] += 1
        _events += 1
        due = _events >= FLUSH_EVENTS or time.monotonic() - _last_flush >= FLUSH_SECONDS
    if due:
        usage_flush()


def usage_flush() -> int:
    """Write the pending counts; returns how many (dataset, month) rows were touched. Two
    statements whatever the batch: the datasets that still exist, and one INSERT ... ON CONFLICT
    DO UPDATE adding the counts (PostgreSQL and SQLite alike)."""
    global _events, _last_flush
    with _lock:
        batch = dict(_pending)
        _pending.clear()
        _events = 0
        _last_flush = time.monotonic()
    if not batch:
        return 0
    by_row: dict[tuple[str, datetime.date], dict[str, int]] = {}
    for (dataset_id, month, kind), amount in batch.items():
        by_row.setdefault((dataset_id, month), {})[kind] = amount
    from .models import Dataset

    existing = set(Dataset.objects.filter(id__in={d for d, _ in by_row}).values_list("id", flat=True))
    existing = {str(d) for d in existing}
    rows = sorted((key, amounts) for key, amounts in by_row.items() if key[0] in existing)
    if not rows:
        return 0
    meta = UsageMonthly._meta
    dataset_field, month_field = meta.get_field("dataset"), meta.get_field("month")
    table = connection.ops.quote_name(meta.db_table)
    columns = ["dataset_id", "month", *KINDS]
    updates = ", ".join(f"{kind} = {table}.{kind} + excluded.{kind}" for kind in KINDS)
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            params: list = []
            for (dataset_id, month), amounts in chunk:
                params.append(dataset_field.get_db_prep_value(uuid.UUID(dataset_id), connection))
                params.append(month_field.get_db_prep_value(month, connection))
                params.extend(amounts.get(kind, 0) for kind in KINDS)
            values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values} "  # noqa: S608 - our names
                f"ON CONFLICT (dataset_id, month) DO UPDATE SET {updates}",
                params,
            )
    return len(rows)
