"""Usage figures counted cheaply: each process adds views, downloads and API calls to an
in-memory counter and writes them out in one batch (one UPSERT per dataset and month touched)
at most once every FLUSH_SECONDS or every FLUSH_EVENTS events, never once per request.

A process that dies loses at most the last few seconds of counts; that is the trade accepted
for figures used in monthly reports. ``usage_flush()`` is also called by the ``opendata``
management command and at the end of the demo generator.
"""

import datetime
import threading
import time
from collections import Counter

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import UsageMonthly

FLUSH_SECONDS = 5.0
FLUSH_EVENTS = 1_000
KINDS = ("views", "downloads", "api_calls")

_lock = threading.Lock()
_pending: Counter = Counter()
_events = 0
_last_flush = time.monotonic()


def _month(now: datetime.datetime | None = None) -> datetime.date:
    return timezone.localdate(now or timezone.now()).replace(day=1)


def count(dataset_id, kind: str) -> None:
    """Record one event; flushes the batch when it is due."""
    global _events
    if kind not in KINDS:
        raise ValueError(kind)
    with _lock:
        _pending[(str(dataset_id), _month(), kind)] += 1
        _events += 1
        due = _events >= FLUSH_EVENTS or time.monotonic() - _last_flush >= FLUSH_SECONDS
    if due:
        usage_flush()


def usage_flush() -> int:
    """Write the pending counts; returns how many (dataset, month) rows were touched."""
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
    with transaction.atomic():
        for (dataset_id, month), amounts in sorted(by_row.items()):
            if dataset_id not in existing:
                continue
            UsageMonthly.objects.get_or_create(dataset_id=dataset_id, month=month)
            UsageMonthly.objects.filter(dataset_id=dataset_id, month=month).update(
                **{kind: F(kind) + amount for kind, amount in amounts.items()}
            )
    return len(by_row)
