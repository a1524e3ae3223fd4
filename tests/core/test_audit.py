"""The audit trail: append-only in the database, hash-chained so edits, deletions and forgeries show."""

import hashlib
import json
import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from civicstack.core import audit_chain, services
from civicstack.core.models import AuditChainHead, AuditEvent
from civicstack.core.selectors import acting_agency


def allow_tampering() -> None:
    """What an attacker with database access does first: switch the append-only triggers off.
    Both statements are transactional, so the test's rollback puts the triggers back."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER USER")
        else:
            cursor.execute("DROP TRIGGER core_auditevent_no_update")


def raw_update(sequence: int, column: str, value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE core_auditevent SET {connection.ops.quote_name(column)} = %s WHERE sequence = %s",  # noqa: S608
            [value, sequence],
        )


@pytest.fixture
def chain(db):
    """Five more events appended to the chain the test database already has."""
    events = [
        services.audit_record(actor=None, action="test.event", object_type="test.thing", object_id=str(i),
                              reason=f"reason {i}", data={"i": i, "名稱": "測試", "nested": {"b": 2, "a": [1, 2]}})
        for i in range(5)
    ]  # fmt: skip
    assert audit_chain.verify_chain().ok
    return events


# --- building the chain ----------------------------------------------------------------------------


def test_audit_record_appends_a_linked_chain_that_verifies(chain, staff):
    # given events appended by the system and by a staff member
    clerk = staff["clerk_a"]
    by_clerk = services.audit_record(
        actor=clerk, action="test.by_clerk", reason="checking", data={"z": 1, "a": 2}
    )
    # when the whole chain is read back from the database
    events = list(AuditEvent.objects.order_by("sequence"))
    # then sequences run 1..n without a gap, each event links to the one before, and every
    # stored hash is what the event's stored fields hash to (after a round trip through the DB)
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    assert events[0].previous_hash == audit_chain.GENESIS_HASH
    for before, after in zip(events, events[1:], strict=False):
        assert after.previous_hash == before.hash
    for event in events:
        assert audit_chain.hash_of(event) == event.hash
    # and the head names the last event
    head = AuditChainHead.objects.get(id=1)
    assert (head.last_sequence, head.last_hash) == (events[-1].sequence, events[-1].hash)
    assert events[-1].pk == by_clerk.pk
    # and the staff member's event names them and the agency they act for
    assert (events[-1].actor_id, events[-1].actor_username) == (clerk.pk, "clerk_a")
    assert events[-1].agency_code == acting_agency(clerk).code
    # and verify_chain accepts it
    report = audit_chain.verify_chain()
    assert report.ok
    assert report.problems == []
    assert report.checked == len(events)


def test_verify_walks_the_chain_in_batches(chain):
    # given a chain longer than the batch size
    total = AuditEvent.objects.count()
    assert total > 3
    # when verified three events at a time, then every event is checked and none is reported
    report = audit_chain.verify_chain(batch_size=3)
    assert (report.ok, report.checked) == (True, total)


# --- the database refuses changes ----------------------------------------------------------------


def test_the_database_refuses_an_update_through_the_orm(chain):
    # given an event in the chain
    event = chain[2]
    # when it is updated through the ORM, then the trigger refuses it
    with pytest.raises(DatabaseError, match="audit events are append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(reason="edited")
    # and through a model save
    event.reason = "edited"
    with pytest.raises(DatabaseError, match="audit events are append-only"), transaction.atomic():
        event.save()
    # and through raw SQL
    with pytest.raises(DatabaseError, match="audit events are append-only"), transaction.atomic():
        raw_update(event.sequence, "action", "test.forged")
    # and the event is unchanged and the chain intact
    assert AuditEvent.objects.get(pk=event.pk).reason == "reason 2"
    assert audit_chain.verify_chain().ok


def test_postgresql_also_refuses_a_delete(chain):
    # given an event in the chain
    event = chain[1]
    if connection.vendor != "postgresql":
        # SQLite's trigger blocks UPDATE only (documented in migration 0002); the chain catches
        # deletes there, see test_a_deleted_middle_event_is_reported.
        AuditEvent.objects.filter(pk=event.pk).delete()
        assert not audit_chain.verify_chain().ok
        return
    # when deleted on PostgreSQL, then the trigger refuses it
    with pytest.raises(DatabaseError, match="audit events are append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


# --- the chain reports tampering -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [("reason", "nothing to see"), ("action", "test.innocent"), ("actor_username", "someone_else"),
     ("object_id", "999"), ("data", '{"i": 99}'), ("created_at", "2019-01-01 00:00:00")],
)  # fmt: skip
def test_an_edited_field_is_reported(chain, column, value):
    # given the triggers switched off, and one field of a middle event changed
    allow_tampering()
    target = chain[2]
    raw_update(target.sequence, column, value)
    # when the chain is verified
    report = audit_chain.verify_chain()
    # then exactly that event is reported as altered
    assert report.problems == [f"event #{target.sequence} was altered (hash mismatch)"]
    assert not report.ok


def test_an_edited_hash_is_reported_at_the_next_event_too(chain):
    # given an attacker who also overwrites the edited event's hash (without the HMAC key)
    allow_tampering()
    target = chain[2]
    raw_update(target.sequence, "reason", "nothing to see")
    raw_update(target.sequence, "hash", hashlib.sha256(b"forged").hexdigest())
    # when verified, then the event and the link from the next one are both reported
    assert audit_chain.verify_chain().problems == [
        f"event #{target.sequence} was altered (hash mismatch)",
        f"event #{target.sequence + 1} does not link to the event before it",
    ]


def test_a_deleted_middle_event_is_reported(chain):
    # given the triggers off (PostgreSQL refuses deletes otherwise) and a middle event deleted
    allow_tampering()
    target = chain[2]
    AuditEvent.objects.filter(pk=target.pk).delete()
    # when verified, then the gap and the broken link are reported
    report = audit_chain.verify_chain()
    assert report.problems == [
        f"event #{target.sequence}..#{target.sequence} missing (deleted)",
        f"event #{target.sequence + 1} does not link to the event before it",
    ]


def test_deleted_last_events_are_reported_through_the_chain_head(chain):
    # given the last two events deleted: what remains is a perfectly linked, shorter chain
    allow_tampering()
    last = chain[-1]
    AuditEvent.objects.filter(sequence__gte=last.sequence - 1).delete()
    # when verified, then only the chain head can tell, and it does
    report = audit_chain.verify_chain()
    assert report.problems == [
        f"chain head records event #{last.sequence} but the last event is #{last.sequence - 2}"
        " (events deleted from the end)"
    ]


def test_the_chain_head_cannot_be_wound_back_to_hide_deleted_events(chain):
    # given a chain whose head names its last event
    head = AuditChainHead.objects.get(id=1)
    previous = chain[-2]
    # when someone winds the head back to the event before, then the database refuses
    with pytest.raises(DatabaseError, match="only moves forward"), transaction.atomic():
        AuditChainHead.objects.filter(id=1).update(last_sequence=previous.sequence, last_hash=previous.hash)
    # and the head is unchanged
    assert AuditChainHead.objects.get(id=1).last_sequence == head.last_sequence == chain[-1].sequence


def test_a_deleted_chain_head_is_reported(chain):
    # given the chain head row deleted
    AuditChainHead.objects.filter(id=1).delete()
    # when verified, then the missing head is reported
    assert audit_chain.verify_chain().problems == ["the chain head is missing (deleted)"]


def forged_event(after: AuditEvent) -> AuditEvent:
    """An event made the way someone without the HMAC key would: plain SHA-256 of its fields."""
    fields = dict(
        sequence=after.sequence + 1, created_at=after.created_at, actor_id=None, actor_username="",
        agency_code="", action="person.deleted", object_type="core.person", object_id="1", reason="",
        data={}, previous_hash=after.hash,
    )  # fmt: skip
    canonical = json.dumps({**fields, "created_at": after.created_at.isoformat()}, sort_keys=True)
    return AuditEvent(**fields, hash=hashlib.sha256(canonical.encode()).hexdigest())


def test_an_inserted_forged_event_is_reported(chain):
    # given a forged event appended after the last one (inserts are not blocked by the triggers)
    forged = forged_event(chain[-1])
    forged.save(force_insert=True)
    # when verified, then its hash does not verify and the head does not name it
    report = audit_chain.verify_chain()
    assert report.problems[0] == f"event #{forged.sequence} was altered (hash mismatch)"
    assert report.problems[1] == (
        f"events #{forged.sequence}..#{forged.sequence} come after the chain head (not appended by the platform)"
    )
    assert len(report.problems) == 2


def test_a_forged_event_is_reported_even_when_the_head_is_moved_to_it(chain):
    # given a forged event and the chain head updated to name it (the head is an ordinary row)
    forged = forged_event(chain[-1])
    forged.save(force_insert=True)
    AuditChainHead.objects.filter(id=1).update(last_sequence=forged.sequence, last_hash=forged.hash)
    # when verified, then the HMAC still gives it away
    assert audit_chain.verify_chain().problems == [f"event #{forged.sequence} was altered (hash mismatch)"]


# --- the CLI -----------------------------------------------------------------------------------------


def test_audit_verify_prints_success_when_intact(chain):
    # given an intact chain
    total = AuditEvent.objects.count()
    out, err = StringIO(), StringIO()
    # when `civicstack audit verify` runs
    call_command("audit", "verify", stdout=out, stderr=err)
    # then it says so, with the number of events
    assert out.getvalue().strip() == f"audit chain intact: {total} events verified"
    assert err.getvalue() == ""


def test_audit_verify_fails_when_broken(chain):
    # given a chain with an edited event
    allow_tampering()
    raw_update(chain[1].sequence, "reason", "rewritten")
    total = AuditEvent.objects.count()
    out, err = StringIO(), StringIO()
    # when `civicstack audit verify` runs, then it fails naming the problem
    with pytest.raises(CommandError) as caught:
        call_command("audit", "verify", stdout=out, stderr=err)
    assert str(caught.value) == f"audit chain BROKEN: 1 problem(s) in {total} events"
    assert err.getvalue().strip() == f"event #{chain[1].sequence} was altered (hash mismatch)"
    assert "intact" not in out.getvalue()


# --- concurrency (PostgreSQL) ---------------------------------------------------------------------


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent writers need PostgreSQL: SQLite serialises whole-database writes",
)
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("city_profile_restored_after_flush")
class TestConcurrentWriters:
    def test_concurrent_writers_keep_one_linear_chain(self):
        # given N threads, each with its own database connection, starting together
        threads_count, per_thread = 8, 10
        before = AuditEvent.objects.count()
        assert audit_chain.verify_chain().ok
        barrier = threading.Barrier(threads_count)
        errors: list[BaseException] = []

        def append(worker: int) -> None:
            try:
                barrier.wait(timeout=60)
                for i in range(per_thread):
                    with transaction.atomic():
                        services.audit_record(
                            actor=None, action="test.concurrent", data={"worker": worker, "i": i}
                        )
            except BaseException as exc:  # noqa: BLE001 - reported to the main thread below
                errors.append(exc)
            finally:
                connection.close()

        # when they all append events at once
        threads = [threading.Thread(target=append, args=(n,)) for n in range(threads_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # then none failed, every event was written once
        assert errors == []
        total = before + threads_count * per_thread
        written = AuditEvent.objects.filter(action="test.concurrent")
        assert sorted((e.data["worker"], e.data["i"]) for e in written) == [
            (w, i) for w in range(threads_count) for i in range(per_thread)
        ]
        # and the sequences are 1..total without gap or fork, and the chain verifies
        assert list(AuditEvent.objects.order_by("sequence").values_list("sequence", flat=True)) == list(
            range(1, total + 1)
        )
        assert AuditChainHead.objects.get(id=1).last_sequence == total
        report = audit_chain.verify_chain()
        assert (report.ok, report.checked, report.problems) == (True, total, [])
