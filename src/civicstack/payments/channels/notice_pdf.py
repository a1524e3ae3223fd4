"""Printable payment notices (繳款單): one A4 PDF a citizen can take to a convenience store,
pay by ATM transfer into a virtual account, or pay online by scanning its QR code.

Chinese text uses reportlab's built-in CID font ``MSung-Light`` (Traditional Chinese), which
PDF readers supply themselves: no font file ships with the platform. Numbers the citizen or
a store clerk must read exactly (order number, barcodes, account) are set in Helvetica /
Courier so they survive any viewer and text extraction.

Barcodes are Code 39 without the library's own mod-43 check character (the convenience-store
check characters are already inside BC3) and with the human-readable text under each.
"""

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.code39 import Standard39
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from civicstack.core.pdf_fonts import CJK_FONT, cjk_font

from .convenience_store import MAX_AMOUNT, StoreBarcodes, parse_amount
from .virtual_account import format_account

LATIN_FONT = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"
MONO_FONT = "Courier"

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
_GREY = colors.HexColor("#555555")
_RULE = colors.HexColor("#999999")
_SHADE = colors.HexColor("#eeeeee")


class InvalidNotice(ValueError):
    """The notice's data is inconsistent (e.g. the total is not the sum of the items)."""


@dataclass(frozen=True)
class PaymentNotice:
    city_name: str
    agency_name: str
    payer_name: str  # already masked by the caller (e.g. 王○明), printed as given
    order_number: str
    items: Sequence[tuple[str, int]]
    total: int
    due_date: date
    barcodes: StoreBarcodes | None
    virtual_account: str | None
    payment_url: str
    issued_on: date

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple((str(d), a) for d, a in self.items))
        if not self.items:
            raise InvalidNotice("a payment notice needs at least one item")
        for description, amount in self.items:
            if not isinstance(amount, int) or isinstance(amount, bool):
                raise InvalidNotice(f"item {description!r}: amount must be an int number of NT$")
        if not isinstance(self.total, int) or isinstance(self.total, bool) or self.total <= 0:
            raise InvalidNotice(f"total must be a positive int number of NT$, got {self.total!r}")
        if sum(a for _, a in self.items) != self.total:
            raise InvalidNotice(
                f"total NT${self.total:,} is not the sum of the items (NT${sum(a for _, a in self.items):,})"
            )
        if self.barcodes is not None and parse_amount(self.barcodes.bc3) != self.total:
            raise InvalidNotice(
                f"the store barcodes are for NT${parse_amount(self.barcodes.bc3):,}, the notice for NT${self.total:,}"
            )
        if not self.order_number.isascii():
            raise InvalidNotice("order number must be ASCII: clerks and scanners read it")


def _register_fonts() -> None:
    cjk_font()


def roc_date(day: date) -> str:
    """``2025-03-31`` → ``民國114年3月31日``."""
    return f"民國{day.year - 1911}年{day.month}月{day.day}日"


def both_calendars(day: date) -> str:
    return f"{roc_date(day)}（{day.isoformat()}）"


def money(amount: int) -> str:
    return f"NT$ {amount:,}"


def _font_for(text: str, latin: str = LATIN_FONT) -> str:
    return latin if text.isascii() else CJK_FONT


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width``: by character, as Chinese has no spaces."""
    lines, current = [], ""
    for char in text:
        if pdfmetrics.stringWidth(current + char, font, size) > width and current:
            lines.append(current)
            current = char
        else:
            current += char
    return [*lines, current] if current else lines or [""]


class _Writer:
    """A canvas with a moving cursor, so sections stack and a long item list flows to page 2."""

    def __init__(self, canvas: Canvas, notice: PaymentNotice) -> None:
        self.c = canvas
        self.notice = notice
        self.y = PAGE_HEIGHT - MARGIN
        self.page = 1

    def text(
        self, x: float, text: str, size: float = 10, font: str | None = None, color=colors.black
    ) -> None:
        self.c.setFillColor(color)
        self.c.setFont(font or _font_for(text), size)
        self.c.drawString(x, self.y, text)
        self.c.setFillColor(colors.black)

    def right(self, x: float, text: str, size: float = 10, font: str | None = None) -> None:
        self.c.setFont(font or _font_for(text), size)
        self.c.drawRightString(x, self.y, text)

    def rule(self, weight: float = 0.5) -> None:
        self.c.setStrokeColor(_RULE)
        self.c.setLineWidth(weight)
        self.c.line(MARGIN, self.y, PAGE_WIDTH - MARGIN, self.y)
        self.c.setStrokeColor(colors.black)

    def need(self, height: float) -> None:
        if self.y - height < MARGIN + 12 * mm:
            self.footer()
            self.c.showPage()
            self.page += 1
            self.y = PAGE_HEIGHT - MARGIN
            self.text(
                MARGIN, f"繳款單（續） Payment notice (continued) — {self.notice.order_number}", 9, CJK_FONT
            )
            self.y -= 8 * mm

    def footer(self) -> None:
        self.c.setFont(CJK_FONT, 7.5)
        self.c.setFillColor(_GREY)
        self.c.drawString(
            MARGIN,
            MARGIN - 6 * mm,
            f"{self.notice.city_name} {self.notice.agency_name}　開單日 Issued {both_calendars(self.notice.issued_on)}",
        )
        self.c.drawRightString(PAGE_WIDTH - MARGIN, MARGIN - 6 * mm, f"第 {self.page} 頁 Page {self.page}")
        self.c.setFillColor(colors.black)


def _heading(w: _Writer, n: PaymentNotice) -> None:
    w.text(MARGIN, f"{n.city_name} {n.agency_name}", 16, CJK_FONT)
    w.y -= 8 * mm
    w.text(MARGIN, "繳款單  Payment Notice", 13, CJK_FONT)
    w.y -= 4 * mm
    w.rule(1.2)
    w.y -= 7 * mm
    rows = [
        ("繳款人 Payer", n.payer_name),
        ("訂單編號 Order no.", n.order_number),
        ("開單日期 Issued", both_calendars(n.issued_on)),
        ("繳費期限 Pay by", both_calendars(n.due_date)),
    ]
    for label, value in rows:
        w.text(MARGIN, label, 10, CJK_FONT, _GREY)
        w.text(MARGIN + 42 * mm, value, 11, _font_for(value, LATIN_BOLD))
        w.y -= 6.5 * mm


def _items(w: _Writer, n: PaymentNotice) -> None:
    amount_x = PAGE_WIDTH - MARGIN - 2 * mm
    description_width = PAGE_WIDTH - 2 * MARGIN - 45 * mm
    w.y -= 2 * mm
    w.c.setFillColor(_SHADE)
    w.c.rect(MARGIN, w.y - 2 * mm, PAGE_WIDTH - 2 * MARGIN, 7 * mm, stroke=0, fill=1)
    w.c.setFillColor(colors.black)
    w.text(MARGIN + 2 * mm, "項目 Item", 10, CJK_FONT)
    w.right(amount_x, "金額 Amount", 10, CJK_FONT)
    w.y -= 8 * mm
    for description, amount in n.items:
        lines = _wrap(description, CJK_FONT, 10, description_width)
        w.need(len(lines) * 5 * mm + 3 * mm)
        w.right(amount_x, money(amount), 10, LATIN_FONT)
        for line in lines:
            w.text(MARGIN + 2 * mm, line, 10, _font_for(line))
            w.y -= 5 * mm
        w.y -= 1.5 * mm
    w.need(12 * mm)
    w.rule()
    w.y -= 6 * mm
    w.text(MARGIN + 2 * mm, "應繳總額 Total due", 12, CJK_FONT)
    w.right(amount_x, money(n.total), 13, LATIN_BOLD)
    w.y -= 4 * mm
    w.rule(1.2)
    w.y -= 8 * mm


def _store_barcodes(w: _Writer, barcodes: StoreBarcodes, marker: str) -> None:
    bar_height, gap = 11 * mm, 6.5 * mm
    w.need(8 * mm + 3 * (bar_height + gap) + 6 * mm)
    w.text(
        MARGIN,
        f"{marker} 超商代收  Pay at a convenience store (7-ELEVEN, FamilyMart, Hi-Life, OK)",
        11,
        CJK_FONT,
    )
    w.y -= 5 * mm
    w.text(
        MARGIN,
        f"請持本單至超商櫃檯繳費，每張條碼上限 NT${MAX_AMOUNT:,}。Show these barcodes at the counter.",
        8.5,
        CJK_FONT,
        _GREY,
    )
    w.y -= 3 * mm
    for label, value in (("BC1", barcodes.bc1), ("BC2", barcodes.bc2), ("BC3", barcodes.bc3)):
        w.y -= bar_height
        barcode = Standard39(value, barHeight=bar_height, barWidth=0.8, ratio=2.5, checksum=0, quiet=True)
        barcode.drawOn(w.c, MARGIN + 8 * mm, w.y)
        w.c.setFont(LATIN_FONT, 7)
        w.c.setFillColor(_GREY)
        w.c.drawString(MARGIN, w.y + bar_height / 2, label)
        w.c.setFillColor(colors.black)
        # The human-readable line, drawn here rather than by reportlab (whose text overlaps
        # the bars' quiet zone), centred under the bars.
        w.c.setFont(MONO_FONT, 9)
        w.c.drawCentredString(MARGIN + 8 * mm + barcode.width / 2, w.y - 3.6 * mm, value)
        w.y -= gap
    w.y -= 6 * mm


def _virtual_account(w: _Writer, account: str, total: int, marker: str) -> None:
    w.need(20 * mm)
    w.text(MARGIN, f"{marker} ATM／網路銀行轉帳  Bank or ATM transfer", 11, CJK_FONT)
    w.y -= 7 * mm
    w.text(MARGIN + 4 * mm, "轉入帳號 Account", 10, CJK_FONT, _GREY)
    w.text(MARGIN + 40 * mm, format_account(account), 14, MONO_FONT)
    w.y -= 5.5 * mm
    w.text(
        MARGIN + 4 * mm,
        f"請轉入正確金額 {money(total)}，金額不符將無法銷帳。Transfer exactly this amount.",
        8.5,
        CJK_FONT,
        _GREY,
    )
    w.y -= 9 * mm


def _online(w: _Writer, url: str, marker: str) -> None:
    size = 30 * mm
    w.need(size + 12 * mm)
    w.text(MARGIN, f"{marker} 線上繳費（信用卡）  Pay online by card", 11, CJK_FONT)
    w.y -= 3 * mm
    widget = QrCodeWidget(url, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, w.c, MARGIN + 2 * mm, w.y - size)
    saved = w.y
    w.y -= 12 * mm
    w.text(MARGIN + size + 8 * mm, "以手機掃描 QR Code，或開啟：", 9, CJK_FONT, _GREY)
    w.y -= 5 * mm
    for line in _wrap(url, LATIN_FONT, 9, PAGE_WIDTH - 2 * MARGIN - size - 10 * mm):
        w.text(MARGIN + size + 8 * mm, line, 9, LATIN_FONT)
        w.y -= 4.5 * mm
    w.y = saved - size - 6 * mm


def render_payment_notice(notice: PaymentNotice) -> bytes:
    """The notice as PDF bytes (A4, one page unless the item list is long)."""
    _register_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True, pageCompression=1)
    canvas.setTitle(f"繳款單 {notice.order_number}")
    canvas.setAuthor(f"{notice.city_name} {notice.agency_name}")
    canvas.setSubject("Payment notice")
    w = _Writer(canvas, notice)
    _heading(w, notice)
    _items(w, notice)
    w.need(10 * mm)
    w.text(MARGIN, "繳費方式（擇一） How to pay — choose one", 12, CJK_FONT)
    w.y -= 8 * mm
    markers = iter("①②③")
    if notice.barcodes is not None:
        _store_barcodes(w, notice.barcodes, next(markers))
    if notice.virtual_account:
        _virtual_account(w, notice.virtual_account, notice.total, next(markers))
    _online(w, notice.payment_url, next(markers))
    w.need(12 * mm)
    w.rule()
    w.y -= 5 * mm
    w.text(
        MARGIN,
        "逾期請勿使用本單繳費，請洽開單機關重新開單。Do not pay with this notice after the due date.",
        8.5,
        CJK_FONT,
        _GREY,
    )
    w.footer()
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
