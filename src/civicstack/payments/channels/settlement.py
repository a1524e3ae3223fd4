"""Settlement files (對帳檔) from collection agents and banks, and matching them to orders.

:func:`parse_settlement` reads one file into :class:`SettlementLine` records. It never stops
at a bad line: each malformed line becomes a :class:`LineError` (line number, reason, raw
text) and the parse goes on, so one bad record never hides a hundred good ones. Header and
trailer problems, including a trailer whose record count or total does not match the
details, are reported the same way. A line number of 0 means the file as a whole.

:func:`match_settlement` sorts the parsed lines into four buckets (matched, duplicate,
unknown, amount_mismatch) without touching a database: the caller passes ``find_order``,
which looks an order up by reference. Every line lands in exactly one bucket.

Formats (field tables and samples in docs/payments-formats.md):

* ``store-fixed``: fixed-width records modelled on convenience-store collection files,
  H(eader) / D(etail) / T(railer), fields sliced by byte position, Big5 or UTF-8.
* ``csv``: UTF-8 (BOM optional) with the header ``reference,amount,paid_at,channel,payer_account``.
"""

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

TAIPEI = ZoneInfo("Asia/Taipei")
FORMATS = ("store-fixed", "csv")
CSV_COLUMNS = ("reference", "amount", "paid_at", "channel", "payer_account")
RECORD_LENGTH = 80
PAID = "paid"
"""The OrderRef.state meaning the order was already paid before this file."""

_ALNUM_RE = re.compile(r"^[0-9A-Z]+$")
_DIGITS_RE = re.compile(r"^[0-9]+$")
_REFERENCE_RE = re.compile(r"^[0-9A-Z]{4,32}$")
_CSV_AMOUNT_RE = re.compile(r"^([0-9]+)(?:\.0{1,2})?$")


class UnknownFormat(ValueError):
    """The settlement format name is not one this module reads."""


@dataclass(frozen=True)
class SettlementLine:
    """One payment the agent or bank says it collected."""

    line_number: int
    reference: str  # bill number (BC2) or virtual account
    amount: int
    paid_at: datetime
    channel: str
    raw: str
    collection_code: str | None = None
    store_code: str | None = None
    payer_account: str | None = None


@dataclass(frozen=True)
class LineError:
    line_number: int
    reason: str
    raw: str


@dataclass
class SettlementFile:
    lines: list[SettlementLine] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)


class _Bad(Exception):
    """A line-level problem; becomes a LineError."""


def parse_settlement(data: bytes, *, format: str, encoding: str | None = None) -> SettlementFile:  # noqa: A002
    """Parse a settlement file. ``encoding`` (store-fixed only) is detected when not given:
    UTF-8 if the bytes decode as UTF-8, otherwise Big5 (cp950)."""
    if not isinstance(data, bytes | bytearray):
        raise TypeError("settlement data must be the file's bytes, as received")
    if format == "store-fixed":
        return _parse_store_fixed(bytes(data), encoding)
    if format == "csv":
        return _parse_csv(bytes(data))
    raise UnknownFormat(f"unknown settlement format {format!r}; known: {', '.join(FORMATS)}")


def _physical_lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(line number from 1, bytes without the line ending); a final newline does not start a line."""
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    for number, part in enumerate(parts, start=1):
        yield number, part.removesuffix(b"\r")


def _text(raw: bytes, encoding: str) -> str:
    return raw.decode(encoding, errors="replace")


# --- store-fixed ---------------------------------------------------------------------------

# (name, start, end) as 0-based byte slices; docs use 1-based positions.
_DETAIL_FIELDS = (
    ("collection_code", 1, 4),
    ("bill_number", 4, 20),
    ("amount", 20, 29),
    ("paid_date", 29, 37),
    ("paid_time", 37, 43),
    ("store_code", 43, 49),
    ("channel", 49, 52),
)
_DETAIL_MIN = 52
_HEADER_MIN = 20
_TRAILER_MIN = 21


def _detect_encoding(data: bytes) -> str:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "cp950"  # Big5 as Windows and the agents' systems write it
    return "utf-8"


def _paid_at(day: str, time: str) -> datetime:
    if not (_DIGITS_RE.match(day) and len(day) == 8):
        raise _Bad(f"paid date must be 8 digits YYYYMMDD, got {day!r}")
    if not (_DIGITS_RE.match(time) and len(time) == 6):
        raise _Bad(f"paid time must be 6 digits HHMMSS, got {time!r}")
    try:
        return datetime(
            int(day[:4]),
            int(day[4:6]),
            int(day[6:]),
            int(time[:2]),
            int(time[2:4]),
            int(time[4:]),
            tzinfo=TAIPEI,
        )
    except ValueError:
        raise _Bad(f"paid date/time {day} {time} is not a real date and time") from None


def _parse_detail(number: int, raw: bytes, encoding: str) -> SettlementLine:
    if len(raw) > RECORD_LENGTH:
        raise _Bad(f"record is {len(raw)} bytes, longer than {RECORD_LENGTH}")
    if len(raw) < _DETAIL_MIN:
        raise _Bad(f"detail record is {len(raw)} bytes, shorter than the {_DETAIL_MIN} its fields need")
    try:
        values = {name: raw[start:end].decode("ascii") for name, start, end in _DETAIL_FIELDS}
    except UnicodeDecodeError:
        raise _Bad("detail fields must be ASCII (letters, digits, spaces)") from None
    if raw[_DETAIL_MIN:].strip(b" "):
        raise _Bad("filler after byte 52 must be spaces")
    if not _ALNUM_RE.match(values["collection_code"]):
        raise _Bad(f"collection code must be 3 digits/capitals, got {values['collection_code']!r}")
    if not _ALNUM_RE.match(values["bill_number"]):
        raise _Bad(f"bill number must be 16 digits/capitals, got {values['bill_number']!r}")
    if not _DIGITS_RE.match(values["amount"]):
        raise _Bad(f"amount must be 9 digits, got {values['amount']!r}")
    amount = int(values["amount"])
    if amount <= 0:
        raise _Bad("amount is zero")
    paid_at = _paid_at(values["paid_date"], values["paid_time"])
    store = values["store_code"].strip()
    if not store or not _ALNUM_RE.match(store):
        raise _Bad(f"store code must be digits/capitals, got {values['store_code']!r}")
    channel = values["channel"].strip()
    if not channel or not _ALNUM_RE.match(channel):
        raise _Bad(f"channel must be digits/capitals, got {values['channel']!r}")
    return SettlementLine(
        line_number=number,
        reference=values["bill_number"],
        amount=amount,
        paid_at=paid_at,
        channel=channel,
        raw=_text(raw, encoding),
        collection_code=values["collection_code"],
        store_code=store,
    )


def _parse_store_fixed(data: bytes, encoding: str | None) -> SettlementFile:
    encoding = encoding or _detect_encoding(data)
    result = SettlementFile()
    header_seen = False
    trailer: tuple[int, int, int] | None = None  # line, count, total
    detail_lines = 0

    def error(number: int, reason: str, raw: bytes) -> None:
        result.errors.append(LineError(number, reason, _text(raw, encoding)))

    for number, raw in _physical_lines(data.removeprefix(b"\xef\xbb\xbf")):
        kind = raw[:1]
        if trailer is not None:
            error(number, f"record after the trailer on line {trailer[0]}", raw)
            if kind == b"D":
                detail_lines += 1
            continue
        if kind == b"H":
            if header_seen or detail_lines:
                error(number, "header record must be the first line, and only one", raw)
                continue
            header_seen = True
            if len(raw) < _HEADER_MIN or len(raw) > RECORD_LENGTH:
                error(number, f"header must be {_HEADER_MIN}-{RECORD_LENGTH} bytes, got {len(raw)}", raw)
                continue
            try:
                date(int(raw[4:8]), int(raw[8:10]), int(raw[10:12]))
            except ValueError:
                error(number, f"header file date {raw[4:12]!r} is not a real YYYYMMDD date", raw)
        elif kind == b"D":
            detail_lines += 1
            try:
                result.lines.append(_parse_detail(number, raw, encoding))
            except _Bad as exc:
                error(number, str(exc), raw)
        elif kind == b"T":
            count_field, total_field = raw[1:9], raw[9:21]
            if len(raw) < _TRAILER_MIN or not (count_field.isdigit() and total_field.isdigit()):
                error(number, "trailer must be 'T' + 8-digit record count + 12-digit total amount", raw)
                trailer = (number, -1, -1)
                continue
            trailer = (number, int(count_field), int(total_field))
            count, total = len(result.lines), result.total
            if trailer[1] != count or trailer[2] != total:
                unreadable = detail_lines - count
                note = f" ({unreadable} detail line(s) could not be read)" if unreadable else ""
                error(
                    number,
                    f"trailer says {trailer[1]} records totalling NT${trailer[2]:,}, "
                    f"the file has {count} records totalling NT${total:,}{note}",
                    raw,
                )
        elif not raw.strip():
            error(number, "blank line", raw)
        else:
            error(number, f"unknown record type {_text(kind, encoding)!r} (expected H, D or T)", raw)
    if not header_seen:
        result.errors.append(LineError(0, "file has no header record (H)", ""))
    if trailer is None:
        result.errors.append(
            LineError(
                0, "file has no trailer record (T): it may be truncated, ask the agent to resend it", ""
            )
        )
    return result


# --- csv -----------------------------------------------------------------------------------


def _csv_paid_at(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Bad(
            f"paid_at must be an ISO 8601 date and time such as 2025-03-31T14:05:00+08:00, got {value!r}"
        ) from None
    return moment.replace(tzinfo=TAIPEI) if moment.tzinfo is None else moment


def _parse_csv_row(number: int, row: list[str], raw: str) -> SettlementLine:
    if len(row) != len(CSV_COLUMNS):
        raise _Bad(f"expected {len(CSV_COLUMNS)} columns ({','.join(CSV_COLUMNS)}), got {len(row)}")
    reference, amount_text, paid_at_text, channel, payer_account = (value.strip() for value in row)
    reference = reference.upper().replace("-", "").replace(" ", "")
    if not _REFERENCE_RE.match(reference):
        raise _Bad(
            f"reference must be a bill number or virtual account (4-32 digits/letters), got {row[0]!r}"
        )
    match = _CSV_AMOUNT_RE.match(amount_text)
    if not match:
        raise _Bad(f"amount must be whole NT$ without separators (e.g. 1500), got {amount_text!r}")
    amount = int(match.group(1))
    if amount <= 0:
        raise _Bad("amount is zero")
    if not channel:
        raise _Bad("channel is empty")
    return SettlementLine(
        line_number=number,
        reference=reference,
        amount=amount,
        paid_at=_csv_paid_at(paid_at_text),
        channel=channel,
        raw=raw,
        payer_account=payer_account or None,
    )


def _parse_csv(data: bytes) -> SettlementFile:
    result = SettlementFile()
    header_seen = False
    for number, raw_bytes in _physical_lines(data.removeprefix(b"\xef\xbb\xbf")):
        try:
            raw = raw_bytes.decode("utf-8")
        except UnicodeDecodeError:
            result.errors.append(
                LineError(number, "not UTF-8 (save the file as UTF-8)", raw_bytes.decode("utf-8", "replace"))
            )
            continue
        if not header_seen:
            # The first line is the header; if it is not, it is reported (never read as a
            # payment: its columns might be in another order) and later lines are read in
            # the documented order.
            header_seen = True
            columns = tuple(c.strip().lower() for c in next(csv.reader([raw]), []))
            if columns != CSV_COLUMNS:
                result.errors.append(
                    LineError(number, f"first line must be the header {','.join(CSV_COLUMNS)}", raw)
                )
            continue
        if not raw.strip():
            result.errors.append(LineError(number, "blank line", raw))
            continue
        try:
            row = next(csv.reader([raw]))
            result.lines.append(_parse_csv_row(number, row, raw))
        except (_Bad, csv.Error) as exc:
            result.errors.append(LineError(number, str(exc), raw))
    if not header_seen:
        result.errors.append(LineError(0, "file is empty", ""))
    return result


# --- matching ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderRef:
    """What matching needs to know of an order; the ledger builds these from its tables."""

    number: str
    reference: str
    amount: int
    state: str


@dataclass(frozen=True)
class ReconciledLine:
    line: SettlementLine
    order: OrderRef | None
    reason: str


@dataclass
class ReconciliationResult:
    matched: list[ReconciledLine] = field(default_factory=list)
    duplicate: list[ReconciledLine] = field(default_factory=list)
    unknown: list[ReconciledLine] = field(default_factory=list)
    amount_mismatch: list[ReconciledLine] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.matched) + len(self.duplicate) + len(self.unknown) + len(self.amount_mismatch)


def match_settlement(
    lines: list[SettlementLine], find_order: Callable[[str], OrderRef | None]
) -> ReconciliationResult:
    """Sort settlement lines into buckets, in file order, each line into exactly one.

    Per line: no order for the reference → ``unknown``; the order was already paid
    (``state == "paid"``) or an earlier line of this file already matched it → ``duplicate``
    (money to refund or investigate, whatever its amount); the amount differs from the
    order's → ``amount_mismatch`` (a later line with the right amount can still match);
    otherwise ``matched``. ``find_order`` is called once per distinct reference.
    """
    result = ReconciliationResult()
    orders: dict[str, OrderRef | None] = {}
    matched_on: dict[str, int] = {}
    for line in lines:
        if line.reference not in orders:
            orders[line.reference] = find_order(line.reference)
        order = orders[line.reference]
        if order is None:
            result.unknown.append(ReconciledLine(line, None, f"no order has reference {line.reference}"))
        elif order.state == PAID:
            result.duplicate.append(ReconciledLine(line, order, f"order {order.number} was already paid"))
        elif line.reference in matched_on:
            result.duplicate.append(
                ReconciledLine(
                    line, order, f"reference already paid on line {matched_on[line.reference]} of this file"
                )
            )
        elif line.amount != order.amount:
            result.amount_mismatch.append(
                ReconciledLine(
                    line, order, f"paid NT${line.amount:,}, order {order.number} is NT${order.amount:,}"
                )
            )
        else:
            matched_on[line.reference] = line.line_number
            result.matched.append(ReconciledLine(line, order, "matched"))
    return result
