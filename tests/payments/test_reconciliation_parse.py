"""Settlement files: both formats, every malformed-line case reported, and matching that never
loses a line."""

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civicstack.payments.channels.settlement import (
    TAIPEI,
    OrderRef,
    UnknownFormat,
    match_settlement,
    parse_settlement,
)


def detail(
    bill="PO11403000001234", amount=1830, when="20250320140501", store="123456", channel="711", code="6V1"
):
    return f"D{code}{bill}{amount:09d}{when}{store}{channel}".ljust(80)


def header(day="20250321"):
    return f"H6V1{day}CVSAGENT".ljust(80)


def trailer(count, total):
    return f"T{count:08d}{total:012d}".ljust(80)


def store_file(*details, count=None, total=None, newline="\r\n", encoding="utf-8"):
    amounts = [int(d[20:29]) for d in details]
    lines = [
        header(),
        *details,
        trailer(len(details) if count is None else count, sum(amounts) if total is None else total),
    ]
    return (newline.join(lines) + newline).encode(encoding)


SAMPLE_STORE = store_file(
    detail(),
    detail(bill="PO11403000001235", amount=500, store="F01234", channel="FAM"),
)


def test_store_fixed_sample():
    parsed = parse_settlement(SAMPLE_STORE, format="store-fixed")
    assert parsed.ok, parsed.errors
    first, second = parsed.lines
    assert (first.line_number, first.reference, first.amount, first.channel, first.store_code) == (
        2,
        "PO11403000001234",
        1830,
        "711",
        "123456",
    )
    assert first.paid_at == datetime(2025, 3, 20, 14, 5, 1, tzinfo=TAIPEI)
    assert first.collection_code == "6V1"
    assert first.raw.startswith("D6V1PO11403000001234")
    assert (second.line_number, second.amount, second.channel) == (3, 500, "FAM")
    assert parsed.total == 2330


def test_store_fixed_big5_and_trimmed_filler():
    data = (header() + "\n" + detail().rstrip() + "\n" + trailer(1, 1830)[:21] + "  備註：測試").encode(
        "cp950"
    )
    parsed = parse_settlement(data, format="store-fixed")
    assert [line.amount for line in parsed.lines] == [1830]
    assert parsed.ok, parsed.errors
    assert parse_settlement(data, format="store-fixed", encoding="cp950").ok


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        (detail()[:40], "shorter"),
        (detail() + "X", "longer than 80"),
        (detail(amount=0), "zero"),
        (detail().replace("000001830", "0000018A0"), "amount must be 9 digits"),
        (detail(bill="PO1140300000123*"), "bill number"),
        (detail(code="6v1"), "collection code"),
        (detail(when="20250230140501"), "not a real date"),
        (detail(when="2025032014050 "), "paid time"),
        (detail(store="      "), "store code"),
        (detail(channel="7-1"), "channel"),
        (detail()[:60] + "junk", "filler"),
        ("X" + detail()[1:], "unknown record type"),
        ("", "blank line"),
    ],
)
def test_store_fixed_bad_lines_are_reported_and_the_rest_is_read(bad_line, reason):
    data = (
        "\n".join(
            [header(), detail(), bad_line, detail(bill="PO11403000009999", amount=20), trailer(3, 1850)]
        )
        + "\n"
    ).encode()
    parsed = parse_settlement(data, format="store-fixed")
    assert [line.line_number for line in parsed.lines] == [2, 4]
    line_errors = [e for e in parsed.errors if e.line_number == 3]
    assert len(line_errors) == 1 and reason in line_errors[0].reason, parsed.errors
    assert line_errors[0].raw == bad_line


def test_non_ascii_in_a_detail_field_is_reported():
    bad = ("D6V1PO1140300000測試" + "000001830202503201405011234567 11").ljust(76)  # 80 bytes in UTF-8
    parsed = parse_settlement(
        ("\n".join([header(), bad, trailer(0, 0)]) + "\n").encode(), format="store-fixed"
    )
    assert any("ASCII" in e.reason for e in parsed.errors)


def test_trailer_mismatch_is_reported():
    parsed = parse_settlement(store_file(detail(), count=2, total=3660), format="store-fixed")
    assert len(parsed.lines) == 1
    (error,) = parsed.errors
    assert error.line_number == 3
    assert (
        "trailer says 2 records totalling NT$3,660, the file has 1 records totalling NT$1,830" in error.reason
    )


def test_trailer_counts_unreadable_lines_in_its_message():
    data = ("\n".join([header(), detail(), detail(amount=0), trailer(2, 1830)]) + "\n").encode()
    reasons = [e.reason for e in parse_settlement(data, format="store-fixed").errors]
    assert any("1 detail line(s) could not be read" in r for r in reasons)


def test_missing_header_trailer_and_records_after_the_trailer():
    no_trailer = parse_settlement((header() + "\n" + detail() + "\n").encode(), format="store-fixed")
    assert [e.line_number for e in no_trailer.errors] == [0] and "truncated" in no_trailer.errors[0].reason
    no_header = parse_settlement((detail() + "\n" + trailer(1, 1830)).encode(), format="store-fixed")
    assert [e.line_number for e in no_header.errors] == [0] and "header" in no_header.errors[0].reason
    after = parse_settlement(store_file(detail()) + detail().encode() + b"\n", format="store-fixed")
    assert [e.line_number for e in after.errors] == [4] and "after the trailer" in after.errors[0].reason
    twice = parse_settlement(
        (header() + "\n" + header() + "\n" + trailer(0, 0)).encode(), format="store-fixed"
    )
    assert [e.line_number for e in twice.errors] == [2]
    bad_trailer = parse_settlement((header() + "\nT12\n").encode(), format="store-fixed")
    assert [e.line_number for e in bad_trailer.errors] == [2]
    bad_date = parse_settlement((header("20251341") + "\n" + trailer(0, 0)).encode(), format="store-fixed")
    assert "file date" in bad_date.errors[0].reason


SAMPLE_CSV = (
    "\ufeffreference,amount,paid_at,channel,payer_account\r\n"
    "PO11403000001234,1830,2025-03-20T14:05:01+08:00,711,\r\n"
    "99012000004230,1830,2025-03-20 09:30:00,ATM,822-****1234\r\n"
).encode()


def test_csv_sample():
    parsed = parse_settlement(SAMPLE_CSV, format="csv")
    assert parsed.ok, parsed.errors
    first, second = parsed.lines
    assert (first.line_number, first.reference, first.amount, first.payer_account) == (
        2,
        "PO11403000001234",
        1830,
        None,
    )
    assert second.paid_at == datetime(2025, 3, 20, 9, 30, tzinfo=TAIPEI)  # no offset → Taipei time
    assert (second.reference, second.channel, second.payer_account) == (
        "99012000004230",
        "ATM",
        "822-****1234",
    )


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("PO11403000001234,1830,2025-03-20T14:05:01+08:00,711", "expected 5 columns"),
        ('PO11403000001234,"1,830",2025-03-20T14:05:01+08:00,711,', "without separators"),
        ("PO11403000001234,18.30,2025-03-20T14:05:01+08:00,711,", "without separators"),
        ("PO11403000001234,0,2025-03-20T14:05:01+08:00,711,", "zero"),
        ("P*,1830,2025-03-20T14:05:01+08:00,711,", "reference"),
        ("PO11403000001234,1830,20/03/2025,711,", "ISO 8601"),
        ("PO11403000001234,1830,2025-03-20T14:05:01+08:00,,", "channel"),
        ("", "blank"),
    ],
)
def test_csv_bad_rows_are_reported(row, reason):
    data = (
        "reference,amount,paid_at,channel,payer_account\n"
        + row
        + "\nPO11403000001235,500.00,2025-03-20,711,\n"
    ).encode()
    parsed = parse_settlement(data, format="csv")
    assert [line.line_number for line in parsed.lines] == [3]
    assert parsed.lines[0].amount == 500
    (error,) = parsed.errors
    assert error.line_number == 2 and reason in error.reason and error.raw == row


def test_csv_without_header_or_not_utf8():
    missing = parse_settlement(b"PO11403000001234,1830,2025-03-20T14:05:01+08:00,711,\n", format="csv")
    assert missing.lines == [] and "header" in missing.errors[0].reason
    big5 = ("reference,amount,paid_at,channel,payer_account\nPO1,1830,2025-03-20,超商,\n").encode("cp950")
    parsed = parse_settlement(big5, format="csv")
    assert "UTF-8" in parsed.errors[0].reason and parsed.errors[0].line_number == 2
    assert parse_settlement(b"", format="csv").errors[0].line_number == 0


def test_unknown_format():
    with pytest.raises(UnknownFormat, match="store-fixed"):
        parse_settlement(b"", format="xlsx")
    with pytest.raises(TypeError):
        parse_settlement("text", format="csv")


def orders_lookup(*orders):
    table = {o.reference: o for o in orders}
    calls = []

    def find(reference):
        calls.append(reference)
        return table.get(reference)

    return find, calls


def test_matching_buckets():
    data = (
        b"reference,amount,paid_at,channel,payer_account\n"
        b"REF00001,100,2025-03-20,711,\n"  # matched
        b"REF00001,100,2025-03-20,FAM,\n"  # paid twice in this file
        b"REF00002,100,2025-03-20,711,\n"  # already paid before
        b"REF00003,90,2025-03-20,ATM,\n"  # wrong amount
        b"REF00003,100,2025-03-20,ATM,\n"  # then the right amount
        b"REF09999,100,2025-03-20,711,\n"  # nobody's
    )
    lines = parse_settlement(data, format="csv").lines
    find, calls = orders_lookup(
        OrderRef("PO-1", "REF00001", 100, "pending"),
        OrderRef("PO-2", "REF00002", 100, "paid"),
        OrderRef("PO-3", "REF00003", 100, "pending"),
    )
    result = match_settlement(lines, find)
    assert [r.line.line_number for r in result.matched] == [2, 6]
    assert [r.line.line_number for r in result.duplicate] == [3, 4]
    assert "line 2" in result.duplicate[0].reason and "already paid" in result.duplicate[1].reason
    assert [(r.line.line_number, r.order.number) for r in result.amount_mismatch] == [(5, "PO-3")]
    assert "NT$90" in result.amount_mismatch[0].reason
    assert [r.line.line_number for r in result.unknown] == [7] and result.unknown[0].order is None
    assert len(result) == len(lines) == 6
    assert sorted(calls) == ["REF00001", "REF00002", "REF00003", "REF09999"]  # once per reference


# --- properties: no line is ever lost ------------------------------------------------------

refs = st.sampled_from([f"PO1140300000{n:04d}" for n in range(6)])
good_details = st.builds(detail, bill=refs, amount=st.integers(min_value=1, max_value=3))
bad_details = st.sampled_from([detail()[:30], detail(amount=0), "", "Z" * 80, detail(when="20251301000000")])
states = st.sampled_from(["pending", "paid"])


@settings(max_examples=150)
@given(
    records=st.lists(st.one_of(good_details, bad_details), max_size=25),
    orders=st.dictionaries(refs, st.tuples(st.integers(min_value=1, max_value=3), states)),
)
def test_every_detail_line_is_parsed_or_reported_and_lands_in_one_bucket(records, orders):
    data = ("\n".join([header(), *records, trailer(len(records), 0)]) + "\n").encode()
    parsed = parse_settlement(data, format="store-fixed")
    detail_numbers = set(range(2, 2 + len(records)))
    parsed_numbers = [line.line_number for line in parsed.lines]
    error_numbers = [e.line_number for e in parsed.errors if e.line_number in detail_numbers]
    assert sorted(parsed_numbers + error_numbers) == sorted(detail_numbers)

    refs_table = {
        ref: OrderRef(f"PO-{ref[-4:]}", ref, amount, state) for ref, (amount, state) in orders.items()
    }
    result = match_settlement(parsed.lines, refs_table.get)
    buckets = [result.matched, result.duplicate, result.unknown, result.amount_mismatch]
    bucketed = sorted(r.line.line_number for bucket in buckets for r in bucket)
    assert bucketed == sorted(parsed_numbers)
    assert len(result) + len(error_numbers) == len(records)
    matched_refs = [r.line.reference for r in result.matched]
    assert len(matched_refs) == len(set(matched_refs))  # never matched twice
    assert all(r.order.state != "paid" and r.line.amount == r.order.amount for r in result.matched)


@given(
    rows=st.lists(
        st.one_of(
            st.builds(lambda r, a: f"{r},{a},2025-03-20,711,", refs, st.integers(1, 3)), st.text(max_size=30)
        ),
        max_size=20,
    )
)
def test_every_csv_row_is_parsed_or_reported(rows):
    rows = [r.replace("\n", " ").replace("\r", " ") for r in rows]
    data = ("reference,amount,paid_at,channel,payer_account\n" + "".join(r + "\n" for r in rows)).encode()
    parsed = parse_settlement(data, format="csv")
    numbers = sorted([line.line_number for line in parsed.lines] + [e.line_number for e in parsed.errors])
    assert numbers == list(range(2, 2 + len(rows)))
