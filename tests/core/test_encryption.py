"""Identification numbers at rest: encrypted, looked up by keyed digest, never stored or logged whole."""

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from civicstack.core import crypto, identity, selectors, services
from civicstack.core.errors import Conflict, InvalidInput
from civicstack.core.models import AuditEvent, Person

from ..conftest import new_identifier

CIVICSTACK = Path(sys.executable).with_name("civicstack")


def database_values():
    """Every value of every column of every table, as bytes (text cast to UTF-8)."""
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        for table in tables:
            columns = [c.name for c in connection.introspection.get_table_description(cursor, table)]
            quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
            cursor.execute(f"SELECT {quoted} FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    if isinstance(value, memoryview | bytearray | bytes):
                        yield table, column, bytes(value)
                    else:
                        yield table, column, str(value).encode()


def where_in_database(needle: str) -> list[tuple[str, str]]:
    encoded = needle.encode()
    return [(table, column) for table, column, value in database_values() if encoded in value]


# --- at rest -----------------------------------------------------------------------------------


def test_the_raw_number_is_stored_nowhere_in_the_database(make_person):
    # given a person registered with a national ID
    raw = new_identifier("F")
    person = make_person(identifier=raw, name="林雅婷", sex="F")
    # when every column of every table is read back
    # then the raw number is nowhere, in any table, while the masked form and the name are
    # found (so the scan really reads the row)
    assert where_in_database(raw) == []
    assert ("core_person", "id_masked") in where_in_database(identity.mask(raw))
    assert ("core_person", "name") in where_in_database("林雅婷")
    # and the stored row holds ciphertext that decrypts to the number
    stored = Person.objects.get(pk=person.pk)
    assert bytes(stored.id_ciphertext) != raw.encode()
    assert services.person_identifier(stored) == raw
    assert stored.id_masked == identity.mask(raw)
    assert stored.id_kind == identity.NATIONAL_ID


def test_a_resident_certificate_is_stored_nowhere_either(make_person):
    # given a resident (2021 format) registered by a lowercase, hyphenated spelling
    prefix = "H80" + new_identifier()[3:9]
    raw = prefix + identity.check_digit_for(prefix)
    typed = f"{raw[:4].lower()}-{raw[4:]}"
    person = make_person(identifier=typed)
    # when the database is scanned, then neither spelling is in it
    assert where_in_database(raw) == []
    assert where_in_database(typed) == []
    # and the stored number is the normalised one
    assert services.person_identifier(Person.objects.get(pk=person.pk)) == raw
    assert person.id_kind == identity.RESIDENT_CERTIFICATE


def test_a_demo_database_file_never_contains_a_raw_number(tmp_path):
    # given a real SQLite file created by the CLI with the small demo data
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "FIELD_ENCRYPTION_KEY", "SECRET_KEY", "CIVICSTACK_ENV"}
    }
    env["CIVICSTACK_VAR_DIR"] = str(tmp_path)

    def civicstack(*args: str) -> str:
        result = subprocess.run(  # noqa: S603 - our own console script, fixed arguments
            [str(CIVICSTACK), *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    civicstack("migrate", "--no-input", "-v0")
    out = civicstack("demo-data", "--scale", "small", "--no-progress")
    assert "residents created" in out
    # when the numbers are read back by decrypting them in another process
    printed = civicstack(
        "shell",
        "-c",
        "from civicstack.core.models import Person\n"
        "from civicstack.core.services import person_identifier\n"
        "for p in Person.objects.order_by('id'): print('ID', person_identifier(p), p.id_masked)\n",
    )
    pairs = [line.split()[1:] for line in printed.splitlines() if line.startswith("ID ")]
    numbers = {number for number, _ in pairs}
    assert len(numbers) == len(pairs) >= 2000
    assert all(identity.identifier_kind(n) is not None for n in numbers)
    assert all(identity.mask(n) == masked for n, masked in pairs)
    # then no raw number occurs in the bytes of the database file or its write-ahead log
    database = tmp_path / "civicstack.sqlite3"
    files = [database, *[p for p in (tmp_path / "civicstack.sqlite3-wal",) if p.exists()]]
    contents = b"".join(f.read_bytes() for f in files)
    candidates = {m.decode() for m in re.findall(rb"[A-Z][0-9A-D][0-9]{8}", contents)}
    assert candidates & numbers == set()
    # while the masked forms are there (the file read is the one the demo wrote)
    assert pairs[0][1].encode() in contents
    assert sum(1 for _, masked in pairs[:50] if masked.encode() in contents) == 50


# --- lookup, integrity ---------------------------------------------------------------------------


def test_lookup_by_identifier_finds_the_person(make_person, staff):
    # given a registered person
    raw = new_identifier()
    person = make_person(identifier=raw)
    # when looked up by the digest of any spelling of the number
    for spelling in (raw, raw.lower(), f" {raw[:5]}-{raw[5:]} "):
        found = Person.objects.get(id_digest=selectors.person_digest(spelling))
        # then it is the same person
        assert found.pk == person.pk
    assert person.id_digest == selectors.person_digest(raw)
    # and a staff member of the person's district finds them through the access selector
    assert selectors.access_person_by_identifier(staff["clerk_a"], raw).pk == person.pk
    # and a different number finds nobody
    assert not Person.objects.filter(id_digest=selectors.person_digest(new_identifier())).exists()


def test_tampered_ciphertext_raises_decryption_error(make_person):
    # given a stored ciphertext
    person = make_person()
    blob = bytes(person.id_ciphertext)
    # when one byte of the sealed part is flipped
    tampered = blob[:-1] + bytes([blob[-1] ^ 0x01])
    # then decryption refuses it
    with pytest.raises(crypto.DecryptionError, match="failed authentication"):
        crypto.decrypt(tampered, purpose=services.ID_ENCRYPTION_PURPOSE)
    # and a flipped nonce byte too
    nonce_flipped = blob[:6] + bytes([blob[6] ^ 0x80]) + blob[7:]
    with pytest.raises(crypto.DecryptionError, match="failed authentication"):
        crypto.decrypt(nonce_flipped, purpose=services.ID_ENCRYPTION_PURPOSE)
    # and an unknown key id or format version
    with pytest.raises(crypto.DecryptionError, match="unknown format or key"):
        crypto.decrypt(blob[:1] + b"\x00\x00\x00\x00" + blob[5:], purpose=services.ID_ENCRYPTION_PURPOSE)
    with pytest.raises(crypto.DecryptionError, match="unknown format or key"):
        crypto.decrypt(b"\x02" + blob[1:], purpose=services.ID_ENCRYPTION_PURPOSE)
    # and a ciphertext presented for another purpose
    with pytest.raises(crypto.DecryptionError, match="failed authentication"):
        crypto.decrypt(blob, purpose="something-else")


def test_tampering_in_the_database_is_detected_on_read(make_person):
    # given a person whose ciphertext is altered directly in the database
    person = make_person()
    blob = bytearray(bytes(person.id_ciphertext))
    blob[20] ^= 0xFF
    Person.objects.filter(pk=person.pk).update(id_ciphertext=bytes(blob))
    # when the number is decrypted, then the alteration is reported
    with pytest.raises(crypto.DecryptionError):
        services.person_identifier(Person.objects.get(pk=person.pk))


def test_the_same_number_encrypts_differently_each_time():
    # given one number
    raw = "A123456789"
    # when encrypted twice
    first = crypto.encrypt(raw, purpose=services.ID_ENCRYPTION_PURPOSE)
    second = crypto.encrypt(raw, purpose=services.ID_ENCRYPTION_PURPOSE)
    # then the ciphertexts differ (random nonce) but both decrypt to the number
    assert first != second
    assert first[:5] == second[:5]  # same format version and key id
    assert len(first) == 1 + 4 + 12 + len(raw) + 16
    assert crypto.decrypt(first, purpose=services.ID_ENCRYPTION_PURPOSE) == raw
    assert crypto.decrypt(second, purpose=services.ID_ENCRYPTION_PURPOSE) == raw
    # and the lookup digest is stable, and differs per purpose
    assert crypto.lookup_digest(raw, purpose="person-id") == crypto.lookup_digest(raw, purpose="person-id")
    assert crypto.lookup_digest(raw, purpose="person-id") != crypto.lookup_digest(raw, purpose="other")


# --- registration errors -------------------------------------------------------------------------


def test_registering_the_same_number_twice_is_a_conflict(make_person):
    # given a registered person
    raw = new_identifier()
    make_person(identifier=raw)
    people, events = Person.objects.count(), AuditEvent.objects.count()
    # when the same number is registered again, in any spelling
    for spelling in (raw, raw.lower(), f"{raw[:3]} {raw[3:]}"):
        with pytest.raises(Conflict) as caught:
            make_person(identifier=spelling, name="另一人")
        # then it is refused as a conflict, and nothing is written
        assert caught.value.code == "conflict"
        assert caught.value.status == 409
    assert (Person.objects.count(), AuditEvent.objects.count()) == (people, events)


def test_registering_with_fullwidth_digits_is_not_a_second_person(make_person):
    # given a registered person
    raw = new_identifier()
    make_person(identifier=raw)
    people = Person.objects.count()
    # when the same number is typed with a full-width last digit (as Chinese IMEs produce)
    fullwidth = raw[:-1] + chr(ord("０") + int(raw[-1]))
    # then it is refused (as a duplicate or as invalid): it must not register the person twice
    with pytest.raises((Conflict, InvalidInput)):
        make_person(identifier=fullwidth)
    assert Person.objects.count() == people


def test_an_invalid_number_is_invalid_input_and_writes_nothing(make_person):
    # given a number with a wrong check digit
    raw = new_identifier()
    wrong = raw[:-1] + str((int(raw[-1]) + 1) % 10)
    people, events = Person.objects.count(), AuditEvent.objects.count()
    # when registered
    with pytest.raises(InvalidInput) as caught:
        make_person(identifier=wrong)
    # then it is invalid input naming the field, and nothing is written
    assert caught.value.message == "identification number: check digit does not match"
    assert caught.value.details == {"field": "identifier"}
    assert caught.value.status == 400
    assert (Person.objects.count(), AuditEvent.objects.count()) == (people, events)
    # and a malformed one names the shapes
    with pytest.raises(InvalidInput, match="must be a letter followed by"):
        make_person(identifier="HELLO")


# --- logs ----------------------------------------------------------------------------------------


def test_the_raw_number_never_reaches_the_logs(caplog, make_person, make_user, staff, client_for, token_for):
    # given every log record at every level captured
    caplog.set_level(logging.DEBUG)
    raw = new_identifier("F")
    citizen_user = make_user("logcitizen", email="log@example.org")
    # when a person is registered, registered again, and read through the API in every way
    person = make_person(identifier=raw, user=citizen_user, name="張淑芬", sex="F")
    with pytest.raises(Conflict):
        make_person(identifier=raw)
    clerk = client_for(staff["clerk_a"])
    listed = clerk.get("/api/v1/core/people", {"identifier": raw})
    detail = clerk.get(f"/api/v1/core/people/{person.pk}")
    revealed = clerk.post(
        f"/api/v1/core/people/{person.pk}/reveal-identifier",
        {"reason": "identity check at the counter"},
        content_type="application/json",
    )
    own = client_for(citizen_user).get("/api/v1/core/me/person")
    refused = client_for(citizen_user).get("/api/v1/core/people", {"identifier": raw})
    other_district = client_for(staff["clerk_b"]).get(f"/api/v1/core/people/{person.pk}")
    verify = client_for(None).post(
        "/api/v1/core/people/verify",
        {"identifier": raw, "birth_date": "1980-05-17"},
        content_type="application/json",
        **token_for(staff["clerk_a"]),
    )
    # then the API worked (lists show the mask, the reveal gives the whole number)...
    assert listed.status_code == 200
    assert [item["id_masked"] for item in listed.json()["items"]] == [identity.mask(raw)]
    assert detail.status_code == 200
    assert detail.json()["id_masked"] == identity.mask(raw)
    assert raw not in detail.content.decode()
    assert revealed.status_code == 200
    assert revealed.json() == {"identifier": raw}
    assert own.status_code == 200
    assert raw not in own.content.decode()
    assert refused.status_code == 403
    assert other_district.status_code == 404
    assert verify.status_code == 200
    assert verify.json() == {"match": True, "resident": True}
    # ...and logs were written (the refused requests are logged as warnings)...
    messages = [record.getMessage() for record in caplog.records]
    assert any("Forbidden: /api/v1/core/people" in message for message in messages)
    # ...but no record holds the raw number, in its message or its arguments
    for record in caplog.records:
        assert raw not in record.getMessage(), record.getMessage()
        assert raw not in repr(record.args)
    assert raw not in caplog.text
    # and the audit trail did not copy it either
    assert where_in_database(raw) == []
