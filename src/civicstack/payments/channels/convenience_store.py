"""Convenience-store collection barcodes (超商代收三段式條碼, Code 39).

A bill paid at 7-ELEVEN, FamilyMart, Hi-Life or OK carries three Code 39 barcodes:

======  ======  ==============================================================================
 code   length  content
======  ======  ==============================================================================
 BC1       9    due date (代收期限) as ROC ``YYMMDD`` + 3-character collection code (代收項目代碼)
 BC2      16    bill number (銷帳編號), digits and upper-case letters, chosen by the city
 BC3      15    ``YYMM`` payment month (ROC) + 2 check characters + amount, 9 digits zero-padded
======  ======  ==============================================================================

The ROC year is written with its last two digits (民國108年 → ``08``; 民國114年 → ``14``), as
every agent's spec does: the store only needs to tell "before" from "after" the due date.

Check characters (檢查碼), the rule implemented by :func:`check_code`:

1. Map every character to a digit: ``0-9`` are themselves; ``A-I`` → 1-9, ``J-R`` → 1-9,
   ``S-Z`` → 2-9 (the agents' table, a leftover of IBM's zoned-decimal letter codes); the
   Code 39 symbols ``/ + % - . space $`` → 0 1 2 6 7 8 9.
2. Positions are counted **within each barcode, starting at 1**: BC1 (9 chars), BC2 (16
   chars) and BC3 *without* its two check positions (``YYMM`` + 9 amount digits = 13 chars).
   The odd-position digits of the three are summed, and separately the even-position digits.
3. The first check character is ``odd_sum % 11`` with remainder 0 written ``A`` and 10
   written ``B``; the second is ``even_sum % 11`` with 0 written ``X`` and 10 written ``Y``.

Sources (two independent public implementations that agree): a C# payment-slip service whose
``GenBarcode3``/``CharAdd`` computes the check per segment with the letter table above and the
A/B, X/Y substitutions, and a bank's JavaScript validator for National Health Insurance,
Labour Insurance and National Pension barcodes (``calculateVerificationCode`` /
``transferVerificationCode``), which does the same. Both restart the odd/even count in every
barcode: positions are NOT counted across the 40-character concatenation (BC1 has an odd
length, so the two readings differ). Each collection agent's contract (e.g. 統一超商代收
規格) remains the authority; docs/payments-formats.md has a worked example.

A convenience store accepts at most NT$20,000 on one barcode (:data:`MAX_AMOUNT`).
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

MAX_AMOUNT = 20_000
"""The most a convenience store collects on one barcode set, in NT$."""

BC1_LENGTH, BC2_LENGTH, BC3_LENGTH = 9, 16, 15

# The Code 39 data characters (the start/stop '*' is never data).
CODE39_CHARACTERS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%")

_LETTER_VALUES = {
    **{c: i + 1 for i, c in enumerate("ABCDEFGHI")},
    **{c: i + 1 for i, c in enumerate("JKLMNOPQR")},
    **{c: i + 2 for i, c in enumerate("STUVWXYZ")},
    "/": 0, "+": 1, "%": 2, "-": 6, ".": 7, " ": 8, "$": 9,
}  # fmt: skip

# Collection codes and bill numbers use digits and capitals only: the Code 39 symbols
# (space, $, % ...) are legal in the symbology but a clerk cannot read them back off a bill.
_ALNUM_RE = re.compile(r"^[0-9A-Z]+$")
_DIGITS_RE = re.compile(r"^[0-9]+$")


class InvalidBarcode(ValueError):
    """A barcode (or the data for one) is not a valid convenience-store barcode."""


class AmountTooLarge(InvalidBarcode):
    """The amount is over what a convenience store may collect on one barcode."""


@dataclass(frozen=True)
class StoreBarcodes:
    """The three barcodes of one bill, exactly as printed (without Code 39's ``*`` start/stop)."""

    bc1: str
    bc2: str
    bc3: str

    @property
    def collection_code(self) -> str:
        return self.bc1[6:]

    @property
    def bill_number(self) -> str:
        return self.bc2

    @property
    def amount(self) -> int:
        return int(self.bc3[6:])

    @property
    def check(self) -> str:
        return self.bc3[4:6]

    def as_tuple(self) -> tuple[str, str, str]:
        return (self.bc1, self.bc2, self.bc3)


def char_value(char: str) -> int:
    """The digit a barcode character counts as in the check sums (see the module docstring)."""
    if "0" <= char <= "9":
        return ord(char) - ord("0")
    try:
        return _LETTER_VALUES[char]
    except KeyError:
        raise InvalidBarcode(f"{char!r} is not a Code 39 character") from None


def _odd_even_sums(segment: str) -> tuple[int, int]:
    values = [char_value(c) for c in segment]
    return sum(values[0::2]), sum(values[1::2])


def check_code(bc1: str, bc2: str, bc3_without_check: str) -> str:
    """The two check characters for BC1, BC2 and BC3's 13 non-check characters (``YYMM`` + amount)."""
    odd = even = 0
    for segment in (bc1, bc2, bc3_without_check):
        segment_odd, segment_even = _odd_even_sums(segment)
        odd += segment_odd
        even += segment_even
    odd_rest, even_rest = odd % 11, even % 11
    first = {0: "A", 10: "B"}.get(odd_rest, str(odd_rest))
    second = {0: "X", 10: "Y"}.get(even_rest, str(even_rest))
    return first + second


def roc_yymmdd(day: date) -> str:
    """``2019-03-31`` → ``080331``: the last two digits of the ROC year (民國108年), month, day."""
    roc_year = day.year - 1911
    if roc_year < 1:
        raise InvalidBarcode(f"{day.isoformat()} is before the ROC calendar (1912) and cannot be encoded")
    return f"{roc_year % 100:02d}{day.month:02d}{day.day:02d}"


def _normalize(value: str) -> str:
    """Full-width characters (as Chinese input methods type them) folded, spaces trimmed, upper case."""
    return unicodedata.normalize("NFKC", value).strip().upper()


def _check_amount(amount: int) -> None:
    # bool is an int subclass; True must not become NT$1.
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise TypeError(f"amount must be an int number of NT$, not {type(amount).__name__}")
    if amount <= 0:
        raise InvalidBarcode(f"amount must be a positive number of NT$, got {amount}")
    if amount > MAX_AMOUNT:
        raise AmountTooLarge(
            f"NT${amount:,} is over the NT${MAX_AMOUNT:,} a convenience store accepts on one barcode; "
            "offer a virtual account or card payment instead, or split the bill"
        )


def make_barcodes(
    *,
    due_date: date,
    collection_code: str,
    bill_number: str,
    amount: int,
    payment_month: date | None = None,
) -> StoreBarcodes:
    """The three barcodes for one bill.

    ``payment_month`` (應繳年月, BC3's first four characters, ROC ``YYMM``) defaults to the due
    date's month. ``collection_code`` is the 3-character code the collection agent assigned
    to the city; ``bill_number`` the 16-character number the city reconciles payments by.
    """
    _check_amount(amount)
    code = _normalize(collection_code)
    if len(code) != 3 or not _ALNUM_RE.match(code):
        raise InvalidBarcode(
            f"collection code must be the 3 digits/capital letters the collection agent assigned, got {collection_code!r}"
        )
    bill = _normalize(bill_number)
    if len(bill) != BC2_LENGTH or not _ALNUM_RE.match(bill):
        raise InvalidBarcode(
            f"bill number must be exactly {BC2_LENGTH} digits or capital letters, got {bill_number!r} ({len(bill)} characters)"
        )
    bc1 = roc_yymmdd(due_date) + code
    yymm = roc_yymmdd(payment_month or due_date)[:4]
    amount_digits = f"{amount:09d}"
    bc3 = yymm + check_code(bc1, bill, yymm + amount_digits) + amount_digits
    return StoreBarcodes(bc1=bc1, bc2=bill, bc3=bc3)


def _clean_scanned(value: str, name: str) -> str:
    if not isinstance(value, str):
        raise InvalidBarcode(f"{name} must be text, got {type(value).__name__}")
    value = _normalize(value)
    # Some scanners pass Code 39's start/stop characters through.
    if len(value) >= 2 and value.startswith("*") and value.endswith("*"):
        value = value[1:-1]
    return value


def verify_barcodes(bc1: str, bc2: str, bc3: str) -> StoreBarcodes:
    """Check three scanned or typed barcodes; return them normalized or raise InvalidBarcode saying what is wrong."""
    bc1, bc2, bc3 = (_clean_scanned(v, n) for v, n in ((bc1, "BC1"), (bc2, "BC2"), (bc3, "BC3")))
    for name, value, length in (("BC1", bc1, BC1_LENGTH), ("BC2", bc2, BC2_LENGTH), ("BC3", bc3, BC3_LENGTH)):
        if len(value) != length:
            raise InvalidBarcode(f"{name} must be {length} characters, got {len(value)} ({value!r})")
    if not _DIGITS_RE.match(bc1[:6]):
        raise InvalidBarcode(f"BC1 must start with the due date as 6 digits (ROC YYMMDD), got {bc1[:6]!r}")
    month, day = int(bc1[2:4]), int(bc1[4:6])
    try:
        date(2000, month, day)  # a leap year, so 29 February of any ROC year passes
    except ValueError:
        raise InvalidBarcode(f"BC1's due date {bc1[:6]!r} has no month {month:02d} day {day:02d}") from None
    if not _ALNUM_RE.match(bc1[6:]):
        raise InvalidBarcode(f"BC1's collection code {bc1[6:]!r} must be digits or capital letters")
    if not _ALNUM_RE.match(bc2):
        raise InvalidBarcode(f"BC2 (bill number) must be digits or capital letters, got {bc2!r}")
    if not _DIGITS_RE.match(bc3[:4]):
        raise InvalidBarcode(f"BC3 must start with 4 digits (payment month), got {bc3[:4]!r}")
    amount = parse_amount(bc3)
    if amount == 0:
        raise InvalidBarcode("BC3's amount is zero")
    if amount > MAX_AMOUNT:
        raise AmountTooLarge(f"BC3's amount NT${amount:,} is over the NT${MAX_AMOUNT:,} limit of one barcode")
    expected = check_code(bc1, bc2, bc3[:4] + bc3[6:])
    if bc3[4:6] != expected:
        raise InvalidBarcode(
            f"check characters {bc3[4:6]!r} do not match the barcodes (expected {expected!r}): "
            "a character was mis-read or mis-typed, or the amount was altered"
        )
    return StoreBarcodes(bc1=bc1, bc2=bc2, bc3=bc3)


def parse_amount(bc3: str) -> int:
    """The amount (NT$) printed in BC3. Does not check the check characters: that needs all three
    barcodes, see :func:`verify_barcodes`."""
    bc3 = _clean_scanned(bc3, "BC3")
    if len(bc3) != BC3_LENGTH:
        raise InvalidBarcode(f"BC3 must be {BC3_LENGTH} characters, got {len(bc3)} ({bc3!r})")
    digits = bc3[6:]
    if not _DIGITS_RE.match(digits):
        raise InvalidBarcode(f"BC3's last 9 characters must be the amount in digits, got {digits!r}")
    return int(digits)
