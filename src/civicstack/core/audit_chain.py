"""The hash chain behind the audit trail: how an event's hash is computed and how the whole
chain is checked. Appending happens in ``services.audit_record``."""

import json
from dataclasses import dataclass, field

from . import crypto
from .models import AuditChainHead, AuditEvent

GENESIS_HASH = "0" * 64
_PURPOSE = "audit-chain"


def event_hash(
    *, sequence: int, created_at: str, actor_id, actor_username: str, agency_code: str, action: str,
    object_type: str, object_id: str, reason: str, data, previous_hash: str,
) -> str:  # fmt: skip
    # Canonical JSON (sorted keys, no spaces) so the same event always hashes the same way on
    # SQLite and PostgreSQL; the HMAC key lives outside the database, so a person who can write
    # to the table cannot recompute a valid chain after editing it.
    canonical = json.dumps(
        [sequence, created_at, actor_id, actor_username, agency_code, action, object_type, object_id,
         reason, data, previous_hash],
        ensure_ascii=False, sort_keys=True, separators=(",", ":"),
    )  # fmt: skip
    return crypto.mac(canonical.encode(), purpose=_PURPOSE)


def hash_of(event: AuditEvent) -> str:
    return event_hash(
        sequence=event.sequence,
        created_at=event.created_at.isoformat(timespec="microseconds"),
        actor_id=event.actor_id,
        actor_username=event.actor_username,
        agency_code=event.agency_code,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        reason=event.reason,
        data=event.data,
        previous_hash=event.previous_hash,
    )


@dataclass
class ChainReport:
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(*, batch_size: int = 5000, max_problems: int = 100) -> ChainReport:
    """Walk the whole chain in sequence order; report every edited, inserted or deleted event."""
    report = ChainReport()
    expected_sequence, expected_previous = 1, GENESIS_HASH
    last_sequence = 0
    queryset = AuditEvent.objects.order_by("sequence")
    while True:
        events = list(queryset.filter(sequence__gt=last_sequence)[:batch_size])
        if not events:
            break
        for event in events:
            report.checked += 1
            if event.sequence != expected_sequence:
                report.problems.append(
                    f"event #{expected_sequence}..#{event.sequence - 1} missing (deleted)"
                    if event.sequence > expected_sequence
                    else f"event #{event.sequence} out of order"
                )
            if event.previous_hash != expected_previous:
                report.problems.append(f"event #{event.sequence} does not link to the event before it")
            if hash_of(event) != event.hash:
                report.problems.append(f"event #{event.sequence} was altered (hash mismatch)")
            expected_sequence, expected_previous = event.sequence + 1, event.hash
            last_sequence = event.sequence
            if len(report.problems) >= max_problems:
                return report
    head = AuditChainHead.objects.filter(id=1).first()
    if head is None:
        if last_sequence:
            report.problems.append("the chain head is missing (deleted)")
    elif head.last_sequence > last_sequence:
        report.problems.append(
            f"chain head records event #{head.last_sequence} but the last event is #{last_sequence}"
            " (events deleted from the end)"
        )
    elif head.last_sequence < last_sequence:
        report.problems.append(
            f"events #{head.last_sequence + 1}..#{last_sequence} come after the chain head"
            " (not appended by the platform)"
        )
    elif head.last_sequence and head.last_hash != expected_previous:
        report.problems.append("the last event differs from the one the chain head records")
    return report
