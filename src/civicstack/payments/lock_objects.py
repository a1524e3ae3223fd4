"""Row locks for money, always taken in primary-key order so two writers never deadlock
(Saleor's lock_objects.py). On SQLite, IMMEDIATE transactions serialise writers instead."""

from django.db.models import Q, QuerySet

from .models import Account, PaymentOrder, Transfer


def accounts_for_update(*, codes=(), ids=()) -> dict[int, Account]:
    """Lock the accounts named by code or id, in id order, in one query."""
    accounts = (
        Account.objects.select_for_update()
        .filter(Q(code__in=list(codes)) | Q(id__in=list(ids)))
        .order_by("id")
    )
    return {account.id: account for account in accounts}


def pending_transfers_for_update(keys) -> dict[str, Transfer]:
    transfers = (
        Transfer.objects.select_for_update().filter(idempotency_key__in=sorted(set(keys))).order_by("id")
    )
    return {transfer.idempotency_key: transfer for transfer in transfers}


def order_for_update(queryset: QuerySet[PaymentOrder], **lookup) -> PaymentOrder | None:
    return queryset.select_for_update().filter(**lookup).first()
