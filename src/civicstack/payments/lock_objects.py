"""Row locks for money, always taken in primary-key order so two writers never deadlock
(Saleor's lock_objects.py). On SQLite, IMMEDIATE transactions serialise writers instead."""

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from .models import Account, PaymentOrder, Transfer


@dataclass(slots=True)
class LockedAccount:
    """What the ledger needs of a locked account: its totals and limits (a batch locks thousands
    of card purses; full model instances cost more than the rest of the check)."""

    id: int
    code: str
    unit: str
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool


def accounts_for_update(*, codes=(), ids=()) -> dict[int, LockedAccount]:
    """Lock the accounts named by code or id, in id order, in one query."""
    rows = (
        Account.objects.select_for_update()
        .filter(Q(code__any_of=set(codes)) | Q(id__any_of=set(ids)))
        .order_by("id")
        .values_list(*LockedAccount.__slots__)
    )
    return {row[0]: LockedAccount(*row) for row in rows}


def pending_transfers_for_update(keys) -> dict[str, Transfer]:
    transfers = Transfer.objects.select_for_update().filter(idempotency_key__any_of=set(keys)).order_by("id")
    return {transfer.idempotency_key: transfer for transfer in transfers}


def order_for_update(queryset: QuerySet[PaymentOrder], **lookup) -> PaymentOrder | None:
    return queryset.select_for_update().filter(**lookup).first()
