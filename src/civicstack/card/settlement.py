"""Settling card taps uploaded by readers in batches (up to 5,000 at a time).

One transaction a batch: lock the purses of every card in it (so a concurrent batch for the same
card waits rather than pricing against a stale balance), drop taps already stored (a replayed
upload changes nothing), price each tap in time order per card with the benefit rules, post one
ledger transfer per card, purse and operator for the whole batch, and store every tap with what
it cost, from where, and which rules decided it, or why it was refused."""

import datetime
import hashlib
import json
import random
from collections import defaultdict, namedtuple
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from civicstack.core.errors import InvalidInput
from civicstack.core.lookups import array_parameter
from civicstack.core.models import ApiKey
from civicstack.core.rows import fetch_rows
from civicstack.payments import services as payments

from . import card_number, rules
from .models import BenefitRule, Card, CardFunction, CardPartner, FunctionEnrolment, Reader, Tap
from .models.cards import card_usable_at
from .purses import MAX_STORED_VALUE, purse_code

MAX_TAPS = 5000
VALUE, WELFARE = "TWD", "WELFARE"
UTC = datetime.UTC
HISTORY_WINDOW = datetime.timedelta(days=1)  # a service day is at most a day: older uses decide nothing
OPERATOR_SHARDS = 8


@dataclass(frozen=True)
class TapIn:
    reader: str
    tap_id: str
    card_number: str
    tapped_at: datetime.datetime
    fare: int
    function: str


@dataclass
class TapResult:
    reader: str
    tap_id: str
    status: str  # accepted | rejected
    reason: str = ""
    from_value: int = 0
    from_points: int = 0
    rules: list = field(default_factory=list)
    flagged: bool = False
    duplicate: bool = False
    autoloaded: int = 0


def operator_accounts(readers, shard: int) -> dict[tuple[str, str], str]:
    """What each operator is owed for uses on its readers (NT$, or welfare points the city repays),
    by (operator, unit): made once a batch, not once a tap. Each operator has ``OPERATOR_SHARDS``
    such accounts and a batch credits one of them: every batch of a bus company credits it, and
    one account would be a row every concurrent batch waits for. What it is owed is their sum."""
    codes = {
        (operator, unit): f"operator:{operator}:{unit}:{shard}"
        for operator in {reader.operator_code for reader in readers}
        for unit in (VALUE, WELFARE)
    }
    # One look-up for the lot; a get-or-create each (three round trips) only the first time.
    existing = payments.accounts_existing(codes.values())
    for (operator, unit), code in codes.items():
        if code not in existing:
            payments.account_get_or_create(code=code, name=f"{operator} card uses {unit}", unit=unit)
    return codes


def active_rules() -> list[rules.Rule]:
    return [
        rules.Rule(
            code=r.code,
            kind=r.kind,
            function=r.function.code,
            card_kinds=tuple(r.card_kinds),
            params=r.params,
            effective_from=r.effective_from,
            effective_until=r.effective_until,
            priority=r.priority,
        )  # fmt: skip
        for r in BenefitRule.objects.filter(is_active=True).select_related("function")
    ]


# What a stored tap answers to a replay (with ``autoloaded``).
STORED_FIELDS = ("status", "reason", "from_value", "from_points", "rules", "flagged")


def _plan_for_probes() -> None:
    """For the rest of this transaction (PostgreSQL): plan for what a batch does, thousands of key
    probes into indexes that are in memory. With the default page cost the planner scanned the
    whole ledger for a batch's few thousand transfer keys (a seq scan that grows with every day of
    taps), and a parallel scan's workers cost more to start than they saved on a busy machine."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('random_page_cost', '1.1', true), "
                "set_config('max_parallel_workers_per_gather', '0', true), set_config('jit', 'off', true)"
            )


def _cards_by_number(numbers: set[str]) -> dict[str, tuple]:
    """What pricing needs of the batch's cards, by number, as plain rows (one statement)."""
    if not numbers:
        return {}
    if connection.vendor != "postgresql":
        return {
            row[1]: CardRow(*row) for row in Card.objects.filter(number__in=numbers).values_list(*CARD_FIELDS)
        }
    array, param = array_parameter(sorted(numbers), "text")
    columns = ", ".join(f"c.{name}" for name in CARD_FIELDS[:-1])
    rows = fetch_rows(
        f"SELECT {columns}, p.code FROM {Card._meta.db_table} c "  # noqa: S608 - table and column names only
        f"LEFT JOIN {CardPartner._meta.db_table} p ON p.id = c.partner_id WHERE c.number = ANY({array})",
        [param],
    )
    return {row[1]: CardRow(*row) for row in rows}


def _stored_taps(keys: set[tuple[int, str]]) -> dict[tuple[int, str], tuple]:
    """The taps of these (reader id, tap id) already stored: a replay answers what they answered.
    On PostgreSQL, one probe of the unique index a key; a filter on the readers and on the tap ids
    apart scanned every tap the readers ever uploaded (a second a batch at 200,000 taps)."""
    if not keys:
        return {}
    if connection.vendor != "postgresql":
        readers = {reader for reader, _ in keys}
        found = Tap.objects.filter(reader_id__in=readers, tap_id__in={tap_id for _, tap_id in keys})
        return {
            (row[0], row[1]): row[2:]
            for row in found.values_list("reader_id", "tap_id", *STORED_FIELDS, "autoloaded")
            if (row[0], row[1]) in keys
        }
    ordered = sorted(keys)
    readers_sql, readers = array_parameter([reader for reader, _ in ordered], "bigint")
    taps_sql, tap_ids = array_parameter([tap_id for _, tap_id in ordered], "text")
    columns = ", ".join(f"t.{name}" for name in STORED_FIELDS)
    # LATERAL … LIMIT 1 keeps it a probe a key: as a plain join, the planner hashes the whole table.
    rows = fetch_rows(
        f"SELECT t.reader_id, t.tap_id, {columns}, t.autoloaded "  # noqa: S608 - names only
        f"FROM unnest({readers_sql}, {taps_sql}) AS k(reader_id, tap_id) CROSS JOIN LATERAL ("
        f"SELECT * FROM {Tap._meta.db_table} s WHERE s.reader_id = k.reader_id AND s.tap_id = k.tap_id LIMIT 1) t",
        [readers, tap_ids],
    )
    return {(row[0], row[1]): row[2:] for row in rows}


def _earlier_uses(card_ids: set[int], functions: set[str], start, end) -> list[tuple]:
    """(card id, function, tapped at) of the accepted uses of ``functions`` by these cards in
    [start, end): what "every nth use in a day" rules count."""
    if connection.vendor != "postgresql":
        return list(
            Tap.objects.filter(card_id__in=card_ids, status=Tap.Status.ACCEPTED, function__in=functions,
                               tapped_at__gte=start, tapped_at__lt=end).values_list("card_id", "function", "tapped_at")
        )  # fmt: skip
    cards_sql, ids = array_parameter(sorted(card_ids), "bigint")
    return fetch_rows(
        f"SELECT card_id, function, tapped_at FROM {Tap._meta.db_table} "  # noqa: S608 - names only
        f"WHERE card_id = ANY({cards_sql}) AND status = %s AND function = ANY(%s) "
        "AND tapped_at >= %s AND tapped_at < %s",
        [ids, Tap.Status.ACCEPTED, sorted(functions), start, end],
    )


# What pricing needs of a card, read as plain rows: a batch reads thousands.
CARD_FIELDS = (
    "id", "number", "kind", "state", "blocked_at", "expires_on", "issued_at", "autoload_amount", "partner_id",
    "partner__code",
)  # fmt: skip
CardRow = namedtuple("CardRow", [name.replace("__", "_") for name in CARD_FIELDS])


def _refusal(
    card: Card | None, function: CardFunction | None, at: datetime.datetime, enrolled: set, tz
) -> tuple[str, bool]:
    """Why a tap at ``at`` cannot be charged at all (before pricing), and whether to flag it."""
    if function is None:
        return "unknown_function", False
    if card is None:
        return "unknown_card", False
    if card.blocked_at is not None and at >= card.blocked_at:
        return "blocked_card", card.state == Card.State.LOST
    if not card_usable_at(card, at, tz):
        return ("card_expired" if at >= card.issued_at else "unknown_card"), False
    if card.kind not in function.card_kinds:
        return "not_entitled", False
    if function.requires_enrolment and (card.id, function.pk) not in enrolled:
        return "not_entitled", False
    return "", False


@dataclass
class _Batch:
    """What a batch needs that no other batch changes, read once before any lock is taken."""

    taps: list[TapIn]
    normalized: list[str]
    moments: list[datetime.datetime]  # the taps' times in UTC, as the database returns times
    now: datetime.datetime
    readers: dict[str, Reader]
    cards: dict[str, tuple]
    functions: dict[str, CardFunction]
    rule_set: list[rules.Rule]
    rules_by_function: dict[str, list[rules.Rule]]
    local_zone: datetime.tzinfo
    operator_shard: int
    results: list
    seen: set = field(default_factory=set)

    rules_cache: dict = field(default_factory=dict)

    def in_force(self, card_kind: str, function: str, day: datetime.date) -> list[rules.Rule]:
        """The rules for a use, worked out once per card kind, function and day of the batch."""
        key = (card_kind, function, day)
        found = self.rules_cache.get(key)
        if found is None:
            found = self.rules_cache[key] = rules.rules_in_force(
                self.rules_by_function.get(function, []), card_kind=card_kind, function=function, day=day
            )
        return found


def taps_settle(*, api_key: ApiKey, taps: list[TapIn]) -> list[TapResult]:
    """Settle a batch in at most two transactions. The first takes the purses no other batch holds
    (``SKIP LOCKED``) and settles their cards' taps; the second waits for the few cards a concurrent
    batch was settling and settles theirs. Every card's taps settle together, in time order, against
    locked balances; two batches with one rider in common no longer wait for each other whole."""
    if len(taps) > MAX_TAPS:
        raise InvalidInput(
            f"at most {MAX_TAPS} taps a batch", details={"max": MAX_TAPS, "received": len(taps)}
        )
    readers = Reader.objects.filter(code__in={t.reader for t in taps}, api_key=api_key, is_active=True)
    normalized = [card_number.normalize(t.card_number) for t in taps]
    # Times compared thousands of times (earlier uses, blocking, day starts) in one zone: Python
    # compares aware times in different zones through utcoffset() calls, several times slower.
    moments = [t.tapped_at if t.tapped_at.tzinfo is None else t.tapped_at.astimezone(UTC) for t in taps]
    cards = _cards_by_number({n for n in normalized if len(n) == card_number.LENGTH and n.isdigit()})
    rule_set = active_rules()
    rules_by_function = defaultdict(list)
    for rule in rule_set:
        rules_by_function[rule.function].append(rule)
    batch = _Batch(
        taps=taps, normalized=normalized, moments=moments, now=timezone.now(),
        readers={r.code: r for r in readers.select_related("operator_partner", "operator_agency")}, cards=cards,
        functions={f.code: f for f in CardFunction.objects.filter(is_active=True)}, rule_set=rule_set,
        rules_by_function=rules_by_function, local_zone=timezone.get_current_timezone(),
        operator_shard=random.randrange(OPERATOR_SHARDS), results=[None] * len(taps),
    )  # fmt: skip
    order = sorted(range(len(taps)), key=lambda i: (normalized[i], moments[i], i))
    deferred = _settle_pass(batch, order, skip_busy_cards=True)
    if deferred:
        _settle_pass(batch, deferred, skip_busy_cards=False)
    return batch.results


def _settle_pass(batch: _Batch, indexes: list[int], *, skip_busy_cards: bool) -> list[int]:
    """Settle the taps at ``indexes`` (in card and time order) in one transaction; with
    ``skip_busy_cards``, leave out and return those of cards whose purses another batch holds."""
    taps, cards, results = batch.taps, batch.cards, batch.results
    with transaction.atomic():
        _plan_for_probes()
        # Welfare points are only locked for the kinds of card that may spend them.
        spend_points = [set(r.card_kinds) for r in batch.rule_set if r.kind == "pay_with_points"]
        purse_of = {}  # purse code → card number
        for number in {batch.normalized[i] for i in indexes} & cards.keys():
            purse_of[purse_code(number, VALUE)] = number
            if any(not kinds or cards[number].kind in kinds for kinds in spend_points):
                purse_of[purse_code(number, WELFARE)] = number
        available = payments.accounts_available_for_update(purse_of, skip_locked=skip_busy_cards)
        deferred = []
        if skip_busy_cards and len(available) < len(purse_of):
            busy = {purse_of[code] for code in payments.accounts_existing(set(purse_of) - available.keys())}
            if busy:
                deferred = [i for i in indexes if batch.normalized[i] in busy]
                indexes = [i for i in indexes if batch.normalized[i] not in busy]
        pass_cards = [cards[n] for n in {batch.normalized[i] for i in indexes} & cards.keys()]
        operators = operator_accounts(batch.readers.values(), batch.operator_shard)
        owed = {
            (reader.code, unit): operators[(reader.operator_code, unit)]
            for reader in batch.readers.values() for unit in (VALUE, WELFARE)
        }  # fmt: skip
        existing = _stored_taps(
            {
                (batch.readers[taps[i].reader].id, taps[i].tap_id)
                for i in indexes
                if taps[i].reader in batch.readers
            }
        )
        history: dict[tuple[int, str], list[datetime.datetime]] = defaultdict(list)
        counted = {rule.function for rule in batch.rule_set if rule.kind == "nth_use_free"}  # they look back
        # Only the cards with a use of such a function in this pass need their earlier uses.
        looking_back = [i for i in indexes if taps[i].function in counted and batch.normalized[i] in cards]
        if looking_back:
            times = [batch.moments[i] for i in looking_back]
            for card_id, function, tapped_at in _earlier_uses(
                {cards[batch.normalized[i]].id for i in looking_back}, counted,
                min(times) - HISTORY_WINDOW, max(times),
            ):  # fmt: skip
                history[(card_id, function)].append(tapped_at)
        enrolled = _valid_enrolments(
            pass_cards, batch.functions, batch.now, {taps[i].function for i in indexes}
        )

        new_rows = []
        debits: dict[tuple[str, str, str], int] = defaultdict(int)  # (purse, unit, operator account) → sum
        credits: dict[tuple[str, str], int] = defaultdict(int)  # (purse, bank account) → automatic top-ups
        for index in indexes:
            tap = taps[index]
            reader = batch.readers.get(tap.reader)
            if reader is None:
                results[index] = TapResult(tap.reader, tap.tap_id, "rejected", "unknown_reader")
                continue
            key = (reader.id, tap.tap_id)
            if key in existing:
                status, reason, from_value, from_points, applied, flagged, autoloaded = existing[key]
                results[index] = TapResult(
                    reader.code, tap.tap_id, status, reason, from_value, from_points,
                    json.loads(applied) if isinstance(applied, str) else applied,  # raw jsonb is text
                    flagged, duplicate=True, autoloaded=autoloaded,
                )  # fmt: skip
                continue
            if key in batch.seen:
                results[index] = TapResult(reader.code, tap.tap_id, "rejected", "duplicate")
                continue
            batch.seen.add(key)
            number = batch.normalized[index]
            card = cards.get(number)
            function = batch.functions.get(tap.function)
            if function is not None and reader.functions and function.code not in reader.functions:
                function = None
            at = batch.moments[index]
            reason, flagged = _refusal(card, function, at, enrolled, batch.local_zone)
            if reason:
                result = TapResult(reader.code, tap.tap_id, "rejected", reason, flagged=flagged)
            else:
                value_code, points_code = purse_code(number, VALUE), purse_code(number, WELFARE)
                earlier = history[(card.id, function.code)]
                stored_value = available.get(value_code, 0)
                charge = rules.price(
                    rules.Use(card.kind, function.code, at, tap.fare, earlier, available.get(points_code, 0),
                              stored_value),
                    (), batch.local_zone, in_force=batch.in_force,
                )  # fmt: skip
                autoloaded = _autoload(card, charge, stored_value)
                if autoloaded:
                    available[value_code] = stored_value + autoloaded
                    credits[(value_code, f"bank:{card.partner_code}:autoload")] += autoloaded
                    charge.refusal = ""
                if charge.accepted:
                    result = TapResult(
                        reader.code, tap.tap_id, "accepted", "", charge.from_value, charge.from_points, charge.applied,
                        autoloaded=autoloaded,
                    )  # fmt: skip
                    earlier.append(at)
                    if charge.from_value:
                        available[value_code] -= charge.from_value
                        debits[(value_code, VALUE, owed[(reader.code, VALUE)])] += charge.from_value
                    if charge.from_points:
                        available[points_code] -= charge.from_points
                        debits[(points_code, WELFARE, owed[(reader.code, WELFARE)])] += charge.from_points
                else:
                    result = TapResult(
                        reader.code, tap.tap_id, "rejected", charge.refusal, rules=charge.applied
                    )
            results[index] = result
            new_rows.append((
                reader.id, tap.tap_id[:64], card.id if card else None, number[:20], tap.function[:40], at,
                tap.fare, result.status, result.reason, result.from_value, result.from_points, result.autoloaded,
                result.rules, result.flagged,
            ))  # fmt: skip
        key = hashlib.sha256(
            "\n".join(sorted(f"{row[0]}:{row[1]}" for row in new_rows)).encode()
        ).hexdigest()[:32]
        _post(debits, key, credits)
        _store(new_rows, key, batch.now)
    return deferred


# The columns of a new tap row as settlement builds it, then the batch and the time received.
TAP_COLUMNS = (
    "reader_id", "tap_id", "card_id", "card_number", "function", "tapped_at", "fare", "status", "reason",
    "from_value", "from_points", "autoloaded", "rules", "flagged", "batch", "received_at",
)  # fmt: skip


def _store(rows: list[tuple], batch: str, received_at: datetime.datetime) -> None:
    """COPY on PostgreSQL (several times faster than a multi-row INSERT for thousands of rows; the
    ids are not needed back); bulk INSERT elsewhere."""
    if connection.vendor != "postgresql":
        Tap.objects.bulk_create(
            [Tap(**dict(zip(TAP_COLUMNS, (*row, batch, received_at), strict=True))) for row in rows],
            batch_size=2000,
        )
        return
    with connection.cursor() as cursor:
        table = Tap._meta.db_table
        with cursor.cursor.copy(f"COPY {table} ({', '.join(TAP_COLUMNS)}) FROM STDIN") as copy:
            copy.write(_copy_text(rows, batch, received_at))


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"


def _copy_text(rows: list[tuple], batch: str, received_at: datetime.datetime) -> str:
    """The rows in COPY's text format, built as one string: psycopg's ``write_row`` adapts each
    value through several Python calls, an eighth of a batch's CPU time. Text from readers is escaped
    (backslash, tab, newline, carriage return); the rest are numbers, codes and timestamps."""
    tail = f"\t{batch}\t{received_at.isoformat()}\n"
    lines = []
    # A batch's rule lists are a few distinct ones (a free ride, 20% off a NT$25 fare…): each is
    # encoded once (json.dumps is six times the cost of the look-up).
    encoded: dict[tuple, str] = {}
    for (reader_id, tap_id, card_id, number, function, tapped_at, fare, status, reason, from_value, from_points,
         autoloaded, applied, flagged) in rows:  # fmt: skip
        if applied:
            key = tuple(tuple(entry.items()) for entry in applied)
            try:
                text = encoded.get(key)
            except TypeError:  # a value that cannot be hashed: encode it as it is
                text = key = None
            if text is None:
                text = json.dumps(applied).translate(_COPY_ESCAPES)
                if key is not None:
                    encoded[key] = text
            applied = text
        else:
            applied = "[]"
        lines.append(
            f"{reader_id}\t{tap_id.translate(_COPY_ESCAPES)}\t{_NULL if card_id is None else card_id}\t"
            f"{number.translate(_COPY_ESCAPES)}\t{function.translate(_COPY_ESCAPES)}\t{tapped_at.isoformat()}\t"
            f"{fare}\t{status}\t{reason}\t{from_value}\t{from_points}\t{autoloaded}\t{applied}\t"
            f"{'t' if flagged else 'f'}{tail}"
        )
    return "".join(lines)


def _valid_enrolments(cards, functions: dict[str, CardFunction], now, used: set[str]) -> set[tuple[int, int]]:
    """(card id, function id) of the enrolments in force for the functions ``used`` in the pass
    that need one (none for buses and metro gates: then no query)."""
    needing = [f.pk for code, f in functions.items() if f.requires_enrolment and code in used]
    if not needing or not cards:
        return set()
    today = timezone.localtime(now).date()
    return set(
        FunctionEnrolment.objects.filter(
            card_id__any_of={c.id for c in cards}, function_id__in=needing, state=FunctionEnrolment.State.ACTIVE,
            valid_from__lte=today,
        ).exclude(valid_until__lt=today).values_list("card_id", "function_id")
    )  # fmt: skip


def _autoload(card: Card, charge: rules.Charge, available: int) -> int:
    """Automatic top-up (自動加值) of a co-branded card short of stored value: the chosen amount as
    many times as needed, never past the purse's ceiling. 0 when it does not apply."""
    if charge.refusal != "insufficient_funds" or not card.autoload_amount or card.partner_id is None:
        return 0
    short = charge.from_value - available
    loads = -(-short // card.autoload_amount)  # ceiling division
    total = loads * card.autoload_amount
    return total if available + total <= MAX_STORED_VALUE else 0


def _transfer_key(kind: str, batch: str, debit: str, credit: str) -> str:
    """The ledger key of a batch's transfer between two accounts: the batch key, then 64 bits of a
    hash of the two accounts. Two transfers of one batch with the same hash would fail the batch
    loudly (a reused key), never skip a posting; a replayed batch posts nothing, its taps being
    stored, so the key is never rebuilt from anything else. The batch comes first so that a batch's
    keys go to one corner of the unique index: keys hashed whole landed all over it and cost more
    PostgreSQL CPU than the long readable keys."""
    digest = hashlib.blake2b(f"{debit}:{credit}".encode(), digest_size=8).hexdigest()
    return f"{kind}:{batch}:{digest}"


def _post(debits: dict[tuple[str, str, str], int], batch: str, credits: dict[tuple[str, str], int]) -> None:
    """Automatic top-ups first (from the card's bank), then the batch's charges, in one ledger batch."""
    if not debits and not credits:
        return
    for _purse, bank in credits:
        payments.account_get_or_create(code=bank, name=f"{bank} (credit line)")
    # Short keys and memos (the batch is in ``reference``): a batch posts a transfer per card, and
    # the key is stored again in the ledger's indexes; the long readable forms (purse and operator
    # codes, the batch twice) were more than half of a transfer row.
    requests = [
        payments.TransferRequest(
            idempotency_key=_transfer_key("autoload", batch, purse, bank),
            debit_account=bank,
            credit_account=purse,
            amount=amount,
            reference=batch,
            memo="automatic top-up",
        )  # fmt: skip
        for (purse, bank), amount in sorted(credits.items())
    ] + [
        payments.TransferRequest(
            idempotency_key=_transfer_key("taps", batch, purse, operator),
            debit_account=purse,
            credit_account=operator,
            amount=amount,
            reference=batch,
            memo="card uses",
        )  # fmt: skip
        for (purse, _unit, operator), amount in sorted(debits.items())
    ]
    failed = []
    for start in range(0, len(requests), 8000):
        chunk = payments.transfers_create(requests=requests[start : start + 8000])
        failed += [r for r in chunk if r.status == "failed"]
    if failed:  # cannot happen with the purses locked and priced above; never half-settle a batch
        raise InvalidInput(
            "the batch could not be posted", details={"ledger": [f.error for f in failed[:10]]}
        )


def price_preview(
    *, card: Card, function: str, fare: int, at: datetime.datetime | None = None
) -> rules.Charge:
    """What a tap would cost this card now (the rule editor's preview): the rules in force, the
    card's balances and today's earlier uses; nothing is written."""
    from civicstack.payments.selectors import account_by_code

    at = at or timezone.now()
    value = account_by_code(purse_code(card.number, VALUE))
    points = account_by_code(purse_code(card.number, WELFARE))
    earlier = list(
        Tap.objects.filter(card=card, function=function, status=Tap.Status.ACCEPTED,
                           tapped_at__gte=at - HISTORY_WINDOW, tapped_at__lt=at).values_list("tapped_at", flat=True)
    )  # fmt: skip
    use = rules.Use(card_kind=card.kind, function=function, at=at, fare=fare, earlier_uses=earlier,
                    points=points.available if points else 0, stored_value=value.available if value else 0)  # fmt: skip
    return rules.price(use, active_rules())
