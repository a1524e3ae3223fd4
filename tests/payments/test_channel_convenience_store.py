"""Convenience-store barcodes: worked examples, error messages, and properties checked against an
independent re-implementation of the agents' check rule."""

import string
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicstack.payments.channels.convenience_store import (
    MAX_AMOUNT,
    AmountTooLarge,
    InvalidBarcode,
    StoreBarcodes,
    check_code,
    make_barcodes,
    parse_amount,
    roc_yymmdd,
    verify_barcodes,
)

ALNUM = string.digits + string.ascii_uppercase


def reference_check(bc1: str, bc2: str, bc3: str) -> str:
    """The rule as the public validators write it: translate letters with the agents' table, then
    sum odd and even positions of each barcode separately (BC3 without its check positions)."""
    table = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "12345678912345678923456789", strict=True))
    odd = even = 0
    for segment in (bc1, bc2, bc3[:4] + bc3[6:]):
        digits = [int(table.get(c, c)) for c in segment]
        odd += sum(digits[0::2])
        even += sum(digits[1::2])
    first = {0: "A", 10: "B"}.get(odd % 11, str(odd % 11))
    second = {0: "X", 10: "Y"}.get(even % 11, str(even % 11))
    return first + second


def test_worked_example_from_the_docs():
    # docs/payments-formats.md walks through this one by hand: odd sums 11+19+9 = 39 → 6,
    # even sums 13+13+11 = 37 → 4.
    barcodes = make_barcodes(
        due_date=date(2025, 3, 31), collection_code="6V1", bill_number="PO11403000001234", amount=1830
    )
    assert barcodes == StoreBarcodes(bc1="1403316V1", bc2="PO11403000001234", bc3="140364000001830")
    assert barcodes.check == "64"
    assert barcodes.amount == 1830
    assert barcodes.collection_code == "6V1"


def test_brief_due_date_example_and_remainder_zero_letters():
    barcodes = make_barcodes(
        due_date=date(2019, 3, 31), collection_code="6V1", bill_number="A10800000001234B", amount=1500
    )
    assert barcodes.bc1 == "0803316V1"  # 2019-03-31 is 民國108年3月31日
    # odd sum 10+7+5 = 22 and even sum 17+15+12 = 44 are both multiples of 11.
    assert barcodes.bc3 == "0803AX000001500"


def test_remainder_ten_is_written_b_and_y():
    # Search the amounts for each remainder-10 case; both must exist and match the reference.
    firsts, seconds = set(), set()
    for amount in range(1, MAX_AMOUNT, 37):
        b = make_barcodes(
            due_date=date(2025, 3, 31), collection_code="6V1", bill_number="PO11403000001234", amount=amount
        )
        assert b.check == reference_check(b.bc1, b.bc2, b.bc3)
        firsts.add(b.check[0])
        seconds.add(b.check[1])
    assert firsts == set("AB123456789")
    assert seconds == set("XY123456789")


def test_letters_count_by_the_agents_table():
    assert check_code("000000A00", "0" * 16, "0" * 13) == "1X"  # A → 1 in an odd position
    assert check_code("000000J00", "0" * 16, "0" * 13) == "1X"  # J → 1
    assert check_code("000000S00", "0" * 16, "0" * 13) == "2X"  # S → 2
    assert check_code("0000000Z0", "0" * 16, "0" * 13) == "A9"  # Z → 9 in an even position


def test_roc_year_uses_its_last_two_digits():
    assert roc_yymmdd(date(2011, 1, 1)) == "000101"  # 民國100年
    assert roc_yymmdd(date(2099, 12, 31)) == "881231"
    with pytest.raises(InvalidBarcode, match="before the ROC calendar"):
        roc_yymmdd(date(1911, 12, 31))


def test_payment_month_goes_into_bc3():
    b = make_barcodes(
        due_date=date(2025, 4, 10),
        collection_code="6V1",
        bill_number="PO11403000001234",
        amount=300,
        payment_month=date(2025, 3, 1),
    )
    assert b.bc1.startswith("140410") and b.bc3.startswith("1403")


def test_input_is_normalized():
    b = make_barcodes(
        due_date=date(2025, 3, 31), collection_code="６v１", bill_number=" po11403000001234 ", amount=1830
    )
    assert b.bc1 == "1403316V1" and b.bc2 == "PO11403000001234"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"amount": 0}, InvalidBarcode, "positive"),
        ({"amount": -5}, InvalidBarcode, "positive"),
        ({"amount": MAX_AMOUNT + 1}, AmountTooLarge, "20,000"),
        ({"collection_code": "6V"}, InvalidBarcode, "collection code"),
        ({"collection_code": "6V*"}, InvalidBarcode, "collection code"),
        ({"bill_number": "PO1140300000123"}, InvalidBarcode, "exactly 16"),
        ({"bill_number": "PO11403000001 34"}, InvalidBarcode, "exactly 16"),
        ({"bill_number": "PO1140300000123$"}, InvalidBarcode, "capital letters"),
    ],
)
def test_bad_input_is_refused_with_a_reason(kwargs, error, message):
    args = {
        "due_date": date(2025, 3, 31),
        "collection_code": "6V1",
        "bill_number": "PO11403000001234",
        "amount": 100,
    }
    with pytest.raises(error, match=message):
        make_barcodes(**(args | kwargs))


@pytest.mark.parametrize("amount", [1.5, 100.0, True, "100"])
def test_amount_must_be_an_int(amount):
    with pytest.raises(TypeError, match="int"):
        make_barcodes(
            due_date=date(2025, 3, 31), collection_code="6V1", bill_number="PO11403000001234", amount=amount
        )


def test_max_amount_itself_is_allowed():
    b = make_barcodes(
        due_date=date(2025, 3, 31), collection_code="6V1", bill_number="PO11403000001234", amount=MAX_AMOUNT
    )
    assert parse_amount(b.bc3) == 20_000


def test_verify_accepts_scanner_output_with_start_stop_characters():
    assert verify_barcodes("*1403316V1*", "po11403000001234", " 140364000001830 ").bc3 == "140364000001830"


@pytest.mark.parametrize(
    ("bcs", "message"),
    [
        (("1403316V", "PO11403000001234", "140364000001830"), "BC1 must be 9"),
        (("1403316V1", "PO1140300000123", "140364000001830"), "BC2 must be 16"),
        (("1403316V1", "PO11403000001234", "14036400000183"), "BC3 must be 15"),
        (("14A3316V1", "PO11403000001234", "140364000001830"), "due date"),
        (("1413316V1", "PO11403000001234", "140364000001830"), "no month 13"),
        (("1402306V1", "PO11403000001234", "140364000001830"), "no month 02 day 30"),
        (("1403316V1", "PO11403000001234", "140364000001831"), "check characters"),
        (("1403316V1", "PO11403000001243", "140364000001830"), "check characters"),
        (("1403316V1", "PO11403000001234", "14036400000183A"), "amount in digits"),
        (("1403316V1", "PO11403000001234", "140364000000000"), "zero"),
        (("1403316V1", "PO11403000001234", "1403XX000020001"), "20,000"),
    ],
)
def test_verify_says_what_is_wrong(bcs, message):
    with pytest.raises(InvalidBarcode, match=message):
        verify_barcodes(*bcs)


def test_parse_amount():
    assert parse_amount("140364000001830") == 1830
    with pytest.raises(InvalidBarcode, match="15 characters"):
        parse_amount("1403640001830")


bill_numbers = st.text(alphabet=ALNUM, min_size=16, max_size=16)
codes = st.text(alphabet=ALNUM, min_size=3, max_size=3)
due_dates = st.dates(min_value=date(1912, 1, 1), max_value=date(2199, 12, 31))
amounts = st.integers(min_value=1, max_value=MAX_AMOUNT)


@given(due=due_dates, code=codes, bill=bill_numbers, amount=amounts)
def test_made_barcodes_verify_and_match_the_reference(due, code, bill, amount):
    b = make_barcodes(due_date=due, collection_code=code, bill_number=bill, amount=amount)
    assert (len(b.bc1), len(b.bc2), len(b.bc3)) == (9, 16, 15)
    assert b.check == reference_check(b.bc1, b.bc2, b.bc3)
    assert verify_barcodes(*b.as_tuple()) == b
    assert parse_amount(b.bc3) == amount


@given(due=due_dates, code=codes, bill=bill_numbers, amount=amounts, data=st.data())
def test_any_single_digit_change_in_the_amount_is_caught(due, code, bill, amount, data):
    b = make_barcodes(due_date=due, collection_code=code, bill_number=bill, amount=amount)
    position = data.draw(st.integers(min_value=6, max_value=14))
    replacement = data.draw(st.sampled_from([d for d in string.digits if d != b.bc3[position]]))
    altered = b.bc3[:position] + replacement + b.bc3[position + 1 :]
    if int(altered[6:]) == 0 or int(altered[6:]) > MAX_AMOUNT:
        with pytest.raises(InvalidBarcode):
            verify_barcodes(b.bc1, b.bc2, altered)
    else:
        # One digit moves one of the two sums by 1-9, never a multiple of 11.
        with pytest.raises(InvalidBarcode, match="check characters"):
            verify_barcodes(b.bc1, b.bc2, altered)
