"""The printable payment notice: a real PDF whose text (Chinese included) a reader can extract."""

import base64
import re
import shutil
import subprocess
import zlib
from datetime import date

import pytest

from civicstack.payments.channels.convenience_store import make_barcodes
from civicstack.payments.channels.notice_pdf import (
    InvalidNotice,
    PaymentNotice,
    both_calendars,
    render_payment_notice,
)
from civicstack.payments.channels.virtual_account import EXAMPLE_RULE

DUE = date(2025, 3, 31)
BARCODES = make_barcodes(due_date=DUE, collection_code="6V1", bill_number="PO11403000001234", amount=1830)
ACCOUNT = EXAMPLE_RULE.make(serial=42, amount=1830, due_date=DUE)


def notice(**overrides):
    fields = {
        "city_name": "臺北市政府",
        "agency_name": "環境保護局",
        "payer_name": "王○明",
        "order_number": "PO-20250301-0042",
        "items": [("大型廢棄物清運費（沙發 1 件）", 1200), ("Bulky waste: mattress", 600), ("手續費", 30)],
        "total": 1830,
        "due_date": DUE,
        "barcodes": BARCODES,
        "virtual_account": ACCOUNT,
        "payment_url": "https://pay.city.example.gov.tw/payments/orders/PO-20250301-0042/",
        "issued_on": date(2025, 3, 1),
    }
    return PaymentNotice(**(fields | overrides))


_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(literal: bytes) -> bytes:
    def one(match: re.Match) -> bytes:
        token = match.group(1)
        if token[:1].isdigit():
            return bytes([int(token, 8)])
        return _ESCAPES.get(token, token)

    return re.sub(rb"\\([0-7]{1,3}|.)", one, literal, flags=re.S)


def stream_text(pdf: bytes) -> str:
    """Text shown in the page streams, without any PDF library: inflate every stream, follow the
    font selections (Tf) and decode each Tj string: UTF-16BE under the CID font, Latin-1 otherwise."""
    cid_objects = set(re.findall(rb"(\d+) 0 obj\s*<<[^>]*?/BaseFont /MSung-Light", pdf))
    cid_fonts = {name for name, number in re.findall(rb"/(F\d+) (\d+) 0 R", pdf) if number in cid_objects}
    shown = []
    for raw in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        raw = raw.strip()
        if raw.endswith(b"~>"):  # reportlab wraps compressed streams in ASCII85
            raw = base64.a85decode(raw[:-2])
        try:
            content = zlib.decompress(raw)
        except zlib.error:
            content = raw
        font = b""
        for selected, literal in re.findall(rb"/(F\d+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\)\s*Tj", content, re.S):
            if selected:
                font = selected
                continue
            data = _unescape(literal)
            shown.append(data.decode("utf-16-be", "replace") if font in cid_fonts else data.decode("latin-1"))
    return "\n".join(shown)


def test_pdf_shows_order_number_barcodes_account_and_dates():
    pdf = render_payment_notice(notice())
    assert pdf.startswith(b"%PDF")
    text = stream_text(pdf)
    for expected in (
        "PO-20250301-0042",
        BARCODES.bc1,
        BARCODES.bc2,
        BARCODES.bc3,
        "9901 2000 0042 30",
        "NT$ 1,830",
        "https://pay.city.example.gov.tw/payments/orders/PO-20250301-0042/",
    ):
        assert expected in text
    assert b"/BaseFont /MSung-Light" in pdf
    assert b"/Encoding /UniCNS-UCS2-H" in pdf  # Traditional Chinese CMap, see notice_pdf._register_fonts
    assert b"/MediaBox [ 0 0 595.2756 841.8898 ]" in pdf  # A4


def test_chinese_text_is_extractable_by_a_real_reader():
    pdf = render_payment_notice(notice())
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
        ).stdout.decode()
    else:  # poppler-utils absent: fall back to reading the streams (same assertions)
        text = stream_text(pdf)
    assert "臺北市政府" in text and "環境保護局" in text and "王○明" in text
    assert "民國114年3月31日" in text and "2025-03-31" in text
    assert "PO-20250301-0042" in text and BARCODES.bc3 in text


def test_notice_without_barcodes_or_account_still_offers_online_payment():
    pdf = render_payment_notice(
        notice(barcodes=None, virtual_account=None, items=[("x", 25_000)], total=25_000)
    )
    text = stream_text(pdf)
    assert "① 線上繳費" in text.replace("\n", "")
    assert BARCODES.bc1 not in text and "NT$ 25,000" in text


def test_long_item_list_flows_onto_a_second_page():
    items = [
        (f"第 {n} 項 規費與證明書工本費，含說明文字以測試換行是否正確處理與不會超出頁面寬度的情況", 10)
        for n in range(60)
    ]
    pdf = render_payment_notice(notice(items=items, total=600, barcodes=None))
    assert len(re.findall(rb"/Type /Page[^s]", pdf)) >= 2
    assert "Page 2" in stream_text(pdf)


def test_both_calendars():
    assert both_calendars(date(2019, 3, 31)) == "民國108年3月31日（2019-03-31）"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"total": 1800}, "not the sum"),
        ({"items": []}, "at least one item"),
        ({"items": [("x", 1830.0)]}, "int"),
        ({"total": 0, "items": [("x", 0)]}, "positive"),
        (
            {
                "barcodes": make_barcodes(
                    due_date=DUE, collection_code="6V1", bill_number="PO11403000001234", amount=1
                )
            },
            r"barcodes are for NT\$1,",
        ),
        ({"order_number": "訂單42"}, "ASCII"),
    ],
)
def test_inconsistent_notices_are_refused(overrides, message):
    with pytest.raises(InvalidNotice, match=message):
        notice(**overrides)
