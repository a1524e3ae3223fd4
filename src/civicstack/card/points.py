"""Bonus points (紅利積點): earned by rules, redeemed for gifts and offers, expiring, on the ledger
(a POINT purse per card, never below zero), and logged in a tamper-evident way: every day's
entries are sealed under an RFC 6962 Merkle root, and anyone holding a receipt can check that
their entry is in the published root (``civicstack card points-verify receipt.json``). This is
what the report's "blockchain bonus points platform" needs, without a blockchain."""

import datetime
import json
from collections import defaultdict

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from civicstack.core.errors import InvalidInput
from civicstack.core.services import audit_record
from civicstack.payments import services as payments

from . import merkle
from .errors import CardStateConflict
from .models import BenefitRule, Card, PointsEntry, PointsSeal, Tap
from .purses import card_purse, purse_code

ISSUED, REDEEMED, EXPIRED = "card:points:issued", "card:points:redeemed", "card:points:expired"
VALIDITY_YEARS = 2  # points earned in a year expire at the end of the following year


def leaf_data(entry: PointsEntry) -> bytes:
    """The canonical bytes of an entry (what the receipt carries and the leaf hashes)."""
    return json.dumps(
        {"id": entry.id, "card": entry.card_number, "kind": entry.kind, "delta": entry.delta,
         "reason": entry.reason, "at": entry.created_at.astimezone(datetime.UTC).isoformat()},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    ).encode()  # fmt: skip


def _account(code: str, name: str) -> str:
    payments.account_get_or_create(code=code, name=name, unit="POINT")
    return code


def _move(
    *, card: Card, kind: str, delta: int, reason: str, key: str, actor=None, counter: str, recorded_at=None
) -> PointsEntry:
    """One entry and its ledger transfer in one transaction; a retried key returns the first entry.
    ``recorded_at``: an earlier time to record the entry at (a backfill, the demo's past week), never
    in the future and never on a day already sealed, whose root would no longer match."""
    existing = PointsEntry.objects.filter(key=key).first()
    if existing is not None:
        return existing
    now = timezone.now()
    if recorded_at is not None:
        if recorded_at > now:
            raise InvalidInput("points cannot be recorded in the future")
        if PointsSeal.objects.filter(day=timezone.localtime(recorded_at).date()).exists():
            raise InvalidInput("that day is sealed; record the entry today instead")
        now = recorded_at
    purse = card_purse(card, "POINT").code
    debit, credit = (counter, purse) if delta > 0 else (purse, counter)
    result = payments.transfer_create(
        request=payments.TransferRequest(idempotency_key=f"points:{key}"[:120], debit_account=debit,
                                         credit_account=credit, amount=abs(delta), reference=card.number,
                                         memo=reason[:200]),
        actor=actor,
    )  # fmt: skip
    if result.status == "failed":
        raise CardStateConflict(f"points could not move: {result.error}", details={"ledger": result.error})
    entry = PointsEntry(card=card, card_number=card.number, kind=kind, delta=delta, reason=reason[:120], key=key,
                        created_at=now, day=timezone.localtime(now).date())  # fmt: skip
    try:
        with transaction.atomic():
            entry.save(force_insert=True)
            entry.leaf = merkle.leaf_hash(leaf_data(entry)).hex()
            entry.save(update_fields=["leaf"])
    except IntegrityError:  # the same key, concurrently: the ledger transfer was a replay too
        return PointsEntry.objects.get(key=key)
    return entry


@transaction.atomic
def points_earn(
    *, card: Card, points: int, reason: str, key: str, actor=None, recorded_at=None
) -> PointsEntry:
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise InvalidInput("points are a positive whole number")
    return _move(card=card, kind=PointsEntry.Kind.EARN, delta=points, reason=reason, key=key, actor=actor,
                 counter=_account(ISSUED, "bonus points issued"), recorded_at=recorded_at)  # fmt: skip


@transaction.atomic
def points_redeem(*, card: Card, points: int, reason: str, key: str, actor=None) -> PointsEntry:
    """Spend points on a gift or an offer. Refused when the card does not hold enough."""
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise InvalidInput("points are a positive whole number")
    if not (key or "").strip():
        raise InvalidInput("an idempotency key is required")
    if not card.is_usable_at(timezone.now()):
        raise CardStateConflict("this card cannot redeem points", details={"state": card.state})
    held = payments.accounts_available_for_update([purse_code(card.number, "POINT")])
    already = PointsEntry.objects.filter(key=key).first()
    if already is None and held.get(purse_code(card.number, "POINT"), 0) < points:
        raise InvalidInput(
            _("Not enough points."), details={"available": held.get(purse_code(card.number, "POINT"), 0)}
        )
    entry = _move(card=card, kind=PointsEntry.Kind.REDEEM, delta=-points, reason=reason, key=key, actor=actor,
                  counter=_account(REDEEMED, "bonus points redeemed"))  # fmt: skip
    audit_record(
        actor=actor, action="card.points.redeemed", obj=card, data={"points": points, "reason": reason}
    )
    return entry


def points_carry_over(*, old: Card, new: Card, actor=None) -> int:
    """A replacement takes the points with it: two entries and one ledger transfer, keyed by the old card."""
    held = payments.accounts_available_for_update([purse_code(old.number, "POINT")]).get(
        purse_code(old.number, "POINT"), 0
    )
    if held <= 0:
        return 0
    out = _move(card=old, kind=PointsEntry.Kind.CARRY_OUT, delta=-held, reason=f"to {new.number}",
                key=f"carry:{old.number}:out", actor=actor, counter=_account(ISSUED, "bonus points issued"))  # fmt: skip
    _move(card=new, kind=PointsEntry.Kind.CARRY_IN, delta=held, reason=f"from {old.number}",
          key=f"carry:{old.number}:in", actor=actor, counter=_account(ISSUED, "bonus points issued"))  # fmt: skip
    return -out.delta


def points_earn_for_day(*, day: datetime.date, recorded_at=None) -> dict:
    """Apply the ``earn_points`` rules to the day's accepted card uses (run nightly; keys carry the
    rule, the card and the day, so a rerun adds nothing). ``recorded_at``: see ``_move``."""
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    end = start + datetime.timedelta(days=1)
    rules = BenefitRule.objects.filter(
        kind=BenefitRule.Kind.EARN_POINTS, is_active=True, effective_from__lte=day
    )
    rules = rules.exclude(effective_until__lt=day)
    earned = {"entries": 0, "points": 0}
    for rule in rules:
        functions = rule.params.get("functions") or []
        uses = Tap.objects.filter(status=Tap.Status.ACCEPTED, tapped_at__gte=start, tapped_at__lt=end,
                                  card__isnull=False)  # fmt: skip
        if functions:
            uses = uses.filter(function__in=functions)
        if rule.card_kinds:
            uses = uses.filter(card__kind__in=rule.card_kinds)
        counts = uses.values("card").annotate(n=Count("id"))
        cards = {
            c.pk: c
            for c in Card.objects.filter(pk__in=[row["card"] for row in counts]).select_related("person")
        }
        for row in counts:
            points = (row["n"] // rule.params["every"]) * rule.params["points"]
            if points <= 0:
                continue
            with transaction.atomic():
                before = PointsEntry.objects.filter(key=f"earn:{rule.code}:{row['card']}:{day}").exists()
                entry = points_earn(card=cards[row["card"]], points=points, reason=f"{rule.name} {day}",
                                    key=f"earn:{rule.code}:{row['card']}:{day}", recorded_at=recorded_at)  # fmt: skip
            if not before:
                earned["entries"] += 1
                earned["points"] += entry.delta
    return earned


def points_expire(*, today: datetime.date | None = None) -> dict:
    """Points earned before the cut-off (1 January of last year) that were not spent expire,
    oldest first: expired = earned before the cut-off − everything spent so far, when positive."""
    today = today or timezone.localdate()
    cutoff = datetime.date(today.year - VALIDITY_YEARS + 1, 1, 1)
    totals = (
        PointsEntry.objects.values("card")
        .annotate(
            early=Sum("delta", filter=Q(delta__gt=0, day__lt=cutoff, kind=PointsEntry.Kind.EARN)),
            carried=Sum("delta", filter=Q(kind=PointsEntry.Kind.CARRY_IN, day__lt=cutoff)),
            spent=Sum("delta", filter=Q(delta__lt=0) & ~Q(kind=PointsEntry.Kind.CARRY_OUT)),
        )
        .filter(Q(early__gt=0) | Q(carried__gt=0))
    )
    done = {"cards": 0, "points": 0}
    counter = _account(EXPIRED, "bonus points expired")
    for row in totals:
        due = (row["early"] or 0) + (row["carried"] or 0) + (row["spent"] or 0)
        if due <= 0:
            continue
        card = Card.objects.select_related("person").get(pk=row["card"])
        with transaction.atomic():
            held = payments.accounts_available_for_update([purse_code(card.number, "POINT")])
            due = min(due, held.get(purse_code(card.number, "POINT"), 0))
            if due > 0:
                _move(card=card, kind=PointsEntry.Kind.EXPIRE, delta=-due, reason=f"earned before {cutoff}",
                      key=f"expire:{card.number}:{cutoff}", counter=counter)  # fmt: skip
                done["cards"] += 1
                done["points"] += due
    return done


# --- seals and receipts -----------------------------------------------------------------------


def _day_leaves(day: datetime.date) -> tuple[list[int], list[bytes]]:
    rows = list(PointsEntry.objects.filter(day=day).order_by("id").values_list("id", "leaf"))
    return [row[0] for row in rows], [bytes.fromhex(row[1]) for row in rows]


@transaction.atomic
def points_seal_days(*, until: datetime.date | None = None) -> list[PointsSeal]:
    """Seal every finished day (before today, or up to ``until``) that has entries and no seal."""
    until = min(until or timezone.localdate() - datetime.timedelta(days=1),
                timezone.localdate() - datetime.timedelta(days=1))  # fmt: skip
    sealed = set(PointsSeal.objects.values_list("day", flat=True))
    days = sorted(set(PointsEntry.objects.filter(day__lte=until).values_list("day", flat=True)) - sealed)
    seals = []
    for day in days:
        _ids, leaves = _day_leaves(day)
        seal = PointsSeal.objects.create(day=day, size=len(leaves), root=merkle.root(leaves).hex())
        audit_record(actor=None, action="card.points.sealed", obj=seal, data={"day": day.isoformat(),
                     "size": seal.size, "root": seal.root})  # fmt: skip
        seals.append(seal)
    return seals


def points_receipt(entry: PointsEntry) -> dict:
    """What the holder keeps: the entry itself, where it sits in its day, and the proof path."""
    seal = PointsSeal.objects.filter(day=entry.day).first()
    receipt = {
        "entry": json.loads(leaf_data(entry)),
        "day": entry.day.isoformat(),
        "sealed": seal is not None,
    }
    if seal is None:
        return receipt
    ids, leaves = _day_leaves(entry.day)
    leaves = leaves[: seal.size]
    index = ids.index(entry.id)
    receipt.update(index=index, size=seal.size, root=seal.root,
                   proof=[p.hex() for p in merkle.inclusion_proof(leaves, index)])  # fmt: skip
    return receipt


def points_verify_receipt(receipt: dict, *, published_root: str | None = None) -> tuple[bool, str]:
    """Check a receipt on its own: its entry hashes to a leaf that the proof places in the root.
    With ``published_root`` (from the public roots page or this database), the root must match it."""
    try:
        data = json.dumps(
            receipt["entry"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
        leaf = merkle.leaf_hash(data)
        proof = [bytes.fromhex(p) for p in receipt["proof"]]
        root = bytes.fromhex(receipt["root"])
        index, size = int(receipt["index"]), int(receipt["size"])
    except (KeyError, TypeError, ValueError) as exc:
        return False, f"not a sealed receipt: {exc}"
    if published_root is not None and published_root.lower() != receipt["root"].lower():
        return False, "the receipt's root is not the published root of its day"
    if not merkle.verify_inclusion(leaf, index, size, proof, root):
        return False, "the entry is not in the tree: it or the proof was altered"
    return True, f"entry {receipt['entry'].get('id')} is in the sealed root of {receipt.get('day')}"


def points_verify_seals() -> list[str]:
    """Recompute every sealed day's root from the stored entries; any difference is a problem
    (an entry altered, removed or added after sealing)."""
    problems = []
    by_day = defaultdict(list)
    for entry in PointsEntry.objects.order_by("id").iterator():
        if merkle.leaf_hash(leaf_data(entry)).hex() != entry.leaf:
            problems.append(f"entry {entry.id} of {entry.day}: its stored leaf does not match its data")
        by_day[entry.day].append(bytes.fromhex(entry.leaf))
    for seal in PointsSeal.objects.order_by("day"):
        leaves = by_day.get(seal.day, [])
        if len(leaves) != seal.size or merkle.root(leaves).hex() != seal.root:
            problems.append(
                f"{seal.day}: the entries no longer give the sealed root ({seal.size} sealed, {len(leaves)} now)"
            )
    return problems
