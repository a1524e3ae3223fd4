"""The ledger engine: apply a batch of transfer requests atomically.

A batch runs in one database transaction. Accounts are locked in primary-key order, every
request is checked against the locked balances in the order given, and the results are
written with bulk inserts and one update per touched account. A request marked ``linked``
succeeds or fails together with the next one (a chain, as in TigerBeetle): a payment and its
fee, or the legs of a split, never half-happen. Each request carries an idempotency key: a
replay returns the first outcome and moves nothing.
"""

import datetime
import uuid
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from .errors import TransferError
from .lock_objects import LockedAccount, accounts_for_update, pending_transfers_for_update
from .models import Account, Transfer

MAX_BATCH = 8190  # TigerBeetle's batch size: large enough to amortise a round trip


@dataclass(frozen=True)
class TransferRequest:
    idempotency_key: str
    debit_account: str = ""  # account code
    credit_account: str = ""
    amount: int = 0
    kind: str = Transfer.Kind.POSTED
    pending_key: str = ""  # for post_pending / void_pending: the pending transfer's key
    timeout_seconds: int | None = None  # for pending: expire after this long
    reverses_key: str = ""  # a posted transfer being (partly) reversed
    linked: bool = False
    reference: str = ""
    memo: str = ""


@dataclass
class TransferResult:
    idempotency_key: str
    status: str  # created | exists | failed
    error: str = ""
    transfer_id: int | None = None


@dataclass(slots=True)
class _Totals:
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    must_debit_within_credit: bool
    must_credit_within_debit: bool
    unit: str

    @classmethod
    def of(cls, account: LockedAccount) -> "_Totals":
        return cls(
            account.debits_pending, account.debits_posted, account.credits_pending, account.credits_posted,
            account.debits_must_not_exceed_credits, account.credits_must_not_exceed_debits, account.unit,
        )  # fmt: skip

    def copy(self) -> "_Totals":  # dataclasses.replace is several times slower, and runs per transfer
        return _Totals(
            self.debits_pending, self.debits_posted, self.credits_pending, self.credits_posted,
            self.must_debit_within_credit, self.must_credit_within_debit, self.unit,
        )  # fmt: skip

    def violates(self) -> str:
        if self.must_debit_within_credit and self.debits_posted + self.debits_pending > self.credits_posted:
            return TransferError.EXCEEDS_CREDITS
        if self.must_credit_within_debit and self.credits_posted + self.credits_pending > self.debits_posted:
            return TransferError.EXCEEDS_DEBITS
        return ""


@dataclass(slots=True)
class NewTransfer:
    """A transfer the batch will write: the columns of ``Transfer``, without a model instance (a
    card-tap batch writes thousands, and building model instances cost more than checking them)."""

    idempotency_key: str
    kind: str
    debit_account_id: int
    credit_account_id: int
    amount: int
    state: str = ""
    pending_transfer_id: int | None = None
    expires_at: datetime.datetime | None = None
    reverses_id: int | None = None
    linked_group: str = ""
    reference: str = ""
    memo: str = ""
    actor_id: int | None = None
    created_at: datetime.datetime | None = None
    id: int | None = None


def _actor_id(actor) -> int | None:
    return getattr(actor, "pk", None)


@dataclass
class _Plan:
    """What the batch will write, built up in memory while checking. A chain that fails is
    undone from a small undo log rather than by copying the whole plan for every chain."""

    totals: dict[int, _Totals]
    new: list[NewTransfer] = field(default_factory=list)
    resolved_pending: dict[int, str] = field(default_factory=dict)  # pending transfer id → new state
    reversed_amounts: dict[int, int] = field(default_factory=dict)
    _saved_totals: dict[int, _Totals] = field(default_factory=dict)
    _resolved: list[int] = field(default_factory=list)
    _reversals: list[tuple[int, int]] = field(default_factory=list)
    _new_length: int = 0

    def begin(self) -> None:
        self._saved_totals, self._resolved, self._reversals = {}, [], []
        self._new_length = len(self.new)

    def rollback(self) -> None:
        self.totals.update(self._saved_totals)
        for pending_id in self._resolved:
            del self.resolved_pending[pending_id]
        for transfer_id, amount in self._reversals:
            self.reversed_amounts[transfer_id] -= amount
        del self.new[self._new_length :]

    def chain_transfers(self) -> list[NewTransfer]:
        return self.new[self._new_length :]

    def touch(self, account_id: int) -> _Totals:
        totals = self.totals[account_id]
        if account_id not in self._saved_totals:
            self._saved_totals[account_id] = totals.copy()
        return totals

    def resolve(self, pending_id: int, state: str) -> None:
        self.resolved_pending[pending_id] = state
        self._resolved.append(pending_id)

    def add_reversal(self, transfer_id: int, amount: int) -> None:
        self.reversed_amounts[transfer_id] = self.reversed_amounts.get(transfer_id, 0) + amount
        self._reversals.append((transfer_id, amount))


def _same_request(
    existing: Transfer, request: TransferRequest, accounts_by_code: dict[str, LockedAccount]
) -> bool:
    debit = accounts_by_code.get(request.debit_account)
    credit = accounts_by_code.get(request.credit_account)
    if request.kind in (Transfer.Kind.POST_PENDING, Transfer.Kind.VOID_PENDING):
        return existing.kind == request.kind and (
            existing.pending_transfer is not None
            and existing.pending_transfer.idempotency_key == request.pending_key
        )
    return (
        existing.kind == request.kind
        and existing.amount == request.amount
        and debit is not None
        and credit is not None
        and existing.debit_account_id == debit.id
        and existing.credit_account_id == credit.id
    )


def _chains(requests: list[TransferRequest]) -> list[list[int]]:
    chains, current = [], []
    for index, request in enumerate(requests):
        current.append(index)
        if not request.linked:
            chains.append(current)
            current = []
    if current:  # a trailing "linked" with nothing after it closes its chain
        chains.append(current)
    return chains


def apply_batch(
    requests: list[TransferRequest], *, actor=None, now: datetime.datetime | None = None
) -> list[TransferResult]:
    if len(requests) > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} transfers a batch")
    now = now or timezone.now()
    results = [TransferResult(r.idempotency_key, "failed", TransferError.INVALID_REQUEST) for r in requests]
    keys = [r.idempotency_key for r in requests]
    with transaction.atomic():
        existing = {
            t.idempotency_key: t
            for t in Transfer.objects.select_related("pending_transfer").filter(
                idempotency_key__any_of=set(keys)
            )
        }
        referenced_keys = {r.pending_key for r in requests if r.pending_key} | {
            r.reverses_key for r in requests if r.reverses_key
        }
        referenced = pending_transfers_for_update(referenced_keys) if referenced_keys else {}
        codes = {r.debit_account for r in requests} | {r.credit_account for r in requests}
        codes.discard("")
        referenced_accounts = {t.debit_account_id for t in referenced.values()} | {
            t.credit_account_id for t in referenced.values()
        }
        locked = accounts_for_update(codes=codes, ids=referenced_accounts)
        by_code = {a.code: a for a in locked.values()}
        plan = _Plan(totals={account_id: _Totals.of(a) for account_id, a in locked.items()})
        already_reversed = _reversed_so_far(referenced)

        seen_in_batch: set[str] = set()
        for chain in _chains(requests):
            plan.begin()
            chain_failed = False
            for index in chain:
                request = requests[index]
                if request.idempotency_key in existing:
                    found = existing[request.idempotency_key]
                    if _same_request(found, request, by_code):
                        results[index] = TransferResult(request.idempotency_key, "exists", "", found.id)
                    else:
                        results[index] = TransferResult(
                            request.idempotency_key, "failed", TransferError.IDEMPOTENCY_KEY_REUSED
                        )
                        chain_failed = True
                    continue
                if request.idempotency_key in seen_in_batch:
                    results[index] = TransferResult(
                        request.idempotency_key, "failed", TransferError.IDEMPOTENCY_KEY_REUSED
                    )
                    chain_failed = True
                    continue
                error = _apply_one(request, plan, by_code, referenced, already_reversed, actor, now)
                if error:
                    results[index] = TransferResult(request.idempotency_key, "failed", error)
                    chain_failed = True
                else:
                    results[index] = TransferResult(request.idempotency_key, "created")
                    seen_in_batch.add(request.idempotency_key)
            if chain_failed:
                plan.rollback()
                for index in chain:
                    if results[index].status == "created":
                        results[index] = TransferResult(
                            requests[index].idempotency_key, "failed", TransferError.LINKED_TRANSFER_FAILED
                        )
                        seen_in_batch.discard(requests[index].idempotency_key)
            elif len(chain) > 1:
                group = uuid.uuid4().hex
                for transfer in plan.chain_transfers():
                    transfer.linked_group = group

        _write(plan, locked, referenced)
        created = {t.idempotency_key: t.id for t in plan.new}
        for result in results:
            if result.status == "created":
                result.transfer_id = created[result.idempotency_key]
    return results


def _reversed_so_far(referenced: dict[str, Transfer]) -> dict[int, int]:
    ids = [t.id for t in referenced.values() if t.kind == Transfer.Kind.POSTED]
    if not ids:
        return {}
    rows = Transfer.objects.filter(reverses_id__in=ids).values("reverses_id").annotate(total=Sum("amount"))
    return {row["reverses_id"]: row["total"] for row in rows}


def _apply_one(request, plan: _Plan, by_code, referenced, already_reversed, actor, now) -> str:
    kind = request.kind
    if kind in (Transfer.Kind.POST_PENDING, Transfer.Kind.VOID_PENDING):
        return _resolve_pending(request, plan, referenced, actor, now)
    if kind not in (Transfer.Kind.POSTED, Transfer.Kind.PENDING):
        return TransferError.INVALID_REQUEST
    if not isinstance(request.amount, int) or isinstance(request.amount, bool) or request.amount <= 0:
        return TransferError.AMOUNT_MUST_BE_POSITIVE
    debit, credit = by_code.get(request.debit_account), by_code.get(request.credit_account)
    if debit is None or credit is None:
        return TransferError.ACCOUNT_NOT_FOUND
    if debit.id == credit.id:
        return TransferError.ACCOUNTS_MUST_BE_DIFFERENT
    if debit.unit != credit.unit:
        return TransferError.ACCOUNTS_MUST_HAVE_SAME_UNIT
    reverses = None
    if request.reverses_key:
        reverses = referenced.get(request.reverses_key)
        if reverses is None or reverses.kind != Transfer.Kind.POSTED:
            return TransferError.TRANSFER_NOT_FOUND
        if (reverses.debit_account_id, reverses.credit_account_id) != (credit.id, debit.id):
            return TransferError.INVALID_REQUEST  # a reversal runs the other way between the same accounts
        done = already_reversed.get(reverses.id, 0) + plan.reversed_amounts.get(reverses.id, 0)
        if done + request.amount > reverses.amount:
            return TransferError.AMOUNT_EXCEEDS_REVERSIBLE
    d, c = plan.touch(debit.id), plan.touch(credit.id)
    if kind == Transfer.Kind.PENDING:
        d.debits_pending += request.amount
        c.credits_pending += request.amount
    else:
        d.debits_posted += request.amount
        c.credits_posted += request.amount
    error = d.violates() or c.violates()
    if error:
        return error
    if reverses is not None:
        plan.add_reversal(reverses.id, request.amount)
    plan.new.append(
        NewTransfer(
            idempotency_key=request.idempotency_key,
            kind=kind,
            debit_account_id=debit.id,
            credit_account_id=credit.id,
            amount=request.amount,
            state=Transfer.State.PENDING if kind == Transfer.Kind.PENDING else "",
            expires_at=now + datetime.timedelta(seconds=request.timeout_seconds)
            if kind == Transfer.Kind.PENDING and request.timeout_seconds
            else None,
            reverses_id=reverses.id if reverses is not None else None,
            reference=request.reference[:80],
            memo=request.memo[:200],
            actor_id=_actor_id(actor),
        )  # fmt: skip
    )
    return ""


def _resolve_pending(request, plan: _Plan, referenced, actor, now) -> str:
    pending = referenced.get(request.pending_key)
    if pending is None or pending.kind != Transfer.Kind.PENDING:
        return TransferError.PENDING_NOT_FOUND
    if pending.state != Transfer.State.PENDING or pending.id in plan.resolved_pending:
        return TransferError.PENDING_ALREADY_RESOLVED
    posting = request.kind == Transfer.Kind.POST_PENDING
    if posting and pending.expires_at is not None and pending.expires_at <= now:
        return TransferError.PENDING_EXPIRED
    amount = request.amount or pending.amount
    if not isinstance(amount, int) or amount <= 0:
        return TransferError.AMOUNT_MUST_BE_POSITIVE
    if amount > pending.amount:
        return TransferError.AMOUNT_EXCEEDS_PENDING
    d, c = plan.touch(pending.debit_account_id), plan.touch(pending.credit_account_id)
    d.debits_pending -= pending.amount
    c.credits_pending -= pending.amount
    if posting:  # a partial post releases the rest of the reservation
        d.debits_posted += amount
        c.credits_posted += amount
    error = d.violates() or c.violates()
    if error:
        return error
    plan.resolve(pending.id, Transfer.State.POSTED if posting else Transfer.State.VOIDED)
    plan.new.append(
        NewTransfer(
            idempotency_key=request.idempotency_key,
            kind=request.kind,
            debit_account_id=pending.debit_account_id,
            credit_account_id=pending.credit_account_id,
            amount=amount if posting else pending.amount,
            pending_transfer_id=pending.id,
            reference=request.reference[:80] or pending.reference,
            memo=request.memo[:200],
            actor_id=_actor_id(actor),
        )  # fmt: skip
    )
    return ""


def _write(plan: _Plan, locked: dict[int, LockedAccount], referenced: dict[str, Transfer]) -> None:
    if plan.new:
        _insert_transfers(plan.new)
    for pending_id, state in plan.resolved_pending.items():
        Transfer.objects.filter(id=pending_id).update(state=state)
    changed = []
    for account_id, totals in plan.totals.items():
        account = locked[account_id]
        values = (totals.debits_pending, totals.debits_posted, totals.credits_pending, totals.credits_posted)
        if values != (
            account.debits_pending,
            account.debits_posted,
            account.credits_pending,
            account.credits_posted,
        ):
            (
                account.debits_pending,
                account.debits_posted,
                account.credits_pending,
                account.credits_posted,
            ) = values
            changed.append((account_id, *values))
    if changed:
        _update_totals(changed)


_TRANSFER_COLUMNS = (
    "id", "idempotency_key", "kind", "debit_account_id", "credit_account_id", "amount", "state",
    "pending_transfer_id", "expires_at", "reverses_id", "linked_group", "reference", "memo", "actor_id",
    "created_at",
)  # fmt: skip
_COPY_FROM = 100  # below this, one INSERT is as quick as the extra round trip for the ids


def _insert_transfers(transfers: list[NewTransfer]) -> None:
    """Store new transfers and set their ids. Large batches on PostgreSQL take their ids from the
    sequence in one query and are written with COPY: the card-tap batch path posts thousands of
    transfers at once, and Django's multi-row INSERT spends more time building the statement
    than PostgreSQL spends storing the rows."""
    created_at = timezone.now()
    if connection.vendor != "postgresql" or len(transfers) < _COPY_FROM:
        # bulk_create sets primary keys on PostgreSQL and SQLite 3.35+ (RETURNING).
        rows = Transfer.objects.bulk_create(
            [
                Transfer(**{column: getattr(t, column) for column in _TRANSFER_COLUMNS[1:-1]})
                for t in transfers
            ],
            batch_size=1000,
        )
        for transfer, row in zip(transfers, rows, strict=True):
            transfer.id, transfer.created_at = row.id, row.created_at
        return
    table = Transfer._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, len(transfers)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        with cursor.cursor.copy(f"COPY {table} ({', '.join(_TRANSFER_COLUMNS)}) FROM STDIN") as copy:
            for transfer_id, transfer in zip(ids, transfers, strict=True):
                transfer.id, transfer.created_at = transfer_id, created_at
                copy.write_row((
                    transfer_id, transfer.idempotency_key, transfer.kind, transfer.debit_account_id,
                    transfer.credit_account_id, transfer.amount, transfer.state, transfer.pending_transfer_id,
                    transfer.expires_at, transfer.reverses_id, transfer.linked_group, transfer.reference,
                    transfer.memo, transfer.actor_id, created_at,
                ))  # fmt: skip


def _update_totals(rows: list[tuple[int, int, int, int, int]]) -> None:
    if connection.vendor == "postgresql":
        # Five arrays (as joined strings, which psycopg sends faster than lists) rather than five
        # placeholders a row: thousands of card purses change in one tap batch.
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE payments_account SET debits_pending = v.dpe, debits_posted = v.dpo, "
                "credits_pending = v.cpe, credits_posted = v.cpo "
                "FROM unnest(string_to_array(%s, ',')::bigint[], string_to_array(%s, ',')::bigint[], "
                "string_to_array(%s, ',')::bigint[], string_to_array(%s, ',')::bigint[], "
                "string_to_array(%s, ',')::bigint[]) AS v(id, dpe, dpo, cpe, cpo) WHERE payments_account.id = v.id",
                [",".join(map(str, column)) for column in zip(*rows, strict=True)],
            )
        return
    # One statement for every touched account (the same SQL on PostgreSQL and SQLite 3.33+);
    # Django's bulk_update builds four CASE expressions per row, several times slower here.
    values = ", ".join(["(CAST(%s AS BIGINT), CAST(%s AS BIGINT), CAST(%s AS BIGINT), CAST(%s AS BIGINT),"
                        " CAST(%s AS BIGINT))"] * len(rows))  # fmt: skip
    sql = (
        f"WITH v(id, dpe, dpo, cpe, cpo) AS (VALUES {values}) "  # noqa: S608 - only placeholders are interpolated
        "UPDATE payments_account SET debits_pending = v.dpe, debits_posted = v.dpo, "
        "credits_pending = v.cpe, credits_posted = v.cpo FROM v WHERE payments_account.id = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])


def expire_pending(*, now: datetime.datetime | None = None, limit: int = 5000) -> int:
    """Release reservations whose timeout has passed (run by a scheduler or `payments expire`)."""
    now = now or timezone.now()
    keys = list(
        Transfer.objects.filter(kind=Transfer.Kind.PENDING, state=Transfer.State.PENDING, expires_at__lte=now)
        .order_by("id")
        .values_list("idempotency_key", flat=True)[:limit]
    )
    if not keys:
        return 0
    with transaction.atomic():
        pending = pending_transfers_for_update(keys)
        locked = accounts_for_update(
            ids={t.debit_account_id for t in pending.values()}
            | {t.credit_account_id for t in pending.values()}
        )
        plan = _Plan(totals={account_id: _Totals.of(a) for account_id, a in locked.items()})
        for transfer in pending.values():
            if transfer.state != Transfer.State.PENDING:
                continue  # resolved meanwhile
            plan.touch(transfer.debit_account_id).debits_pending -= transfer.amount
            plan.touch(transfer.credit_account_id).credits_pending -= transfer.amount
            plan.resolve(transfer.id, Transfer.State.EXPIRED)
            plan.new.append(
                NewTransfer(
                    idempotency_key=f"expire:{transfer.idempotency_key}"[:120],
                    kind=Transfer.Kind.EXPIRE_PENDING,
                    debit_account_id=transfer.debit_account_id,
                    credit_account_id=transfer.credit_account_id,
                    amount=transfer.amount,
                    pending_transfer_id=transfer.id,
                    reference=transfer.reference,
                )  # fmt: skip
            )
        _write(plan, locked, pending)
    return len(plan.resolved_pending)


@dataclass
class LedgerReport:
    accounts: int = 0
    transfers: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_ledger() -> LedgerReport:
    """Recompute every account's four totals from its transfers and compare with the stored ones."""
    posted = Q(kind__in=[Transfer.Kind.POSTED, Transfer.Kind.POST_PENDING])
    pending = Q(kind=Transfer.Kind.PENDING, state=Transfer.State.PENDING)
    sums: dict[int, dict[str, int]] = {}
    for side in ("debit", "credit"):
        rows = (
            Transfer.objects.values(f"{side}_account_id")
            .annotate(posted=Sum("amount", filter=posted), pending=Sum("amount", filter=pending))
            .order_by()
        )
        for row in rows:
            totals = sums.setdefault(row[f"{side}_account_id"], {})
            totals[f"{side}s_posted"] = row["posted"] or 0
            totals[f"{side}s_pending"] = row["pending"] or 0
    report = LedgerReport(transfers=Transfer.objects.count())
    fields = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")
    for account in Account.objects.order_by("id").iterator(chunk_size=2000):
        report.accounts += 1
        expected = sums.get(account.id, {})
        for name in fields:
            if getattr(account, name) != expected.get(name, 0):
                report.problems.append(
                    f"{account.code}: {name} is {getattr(account, name)} but its transfers sum to {expected.get(name, 0)}"
                )
        if account.debits_must_not_exceed_credits and account.available < 0:
            report.problems.append(f"{account.code}: overdrawn ({account.available})")
    return report
