"""The staff case list as an Excel workbook (openpyxl, write-only so memory stays flat)."""

import io

from django.db.models import QuerySet
from django.utils import timezone
from openpyxl import Workbook

from .models import FineCase

MAX_EXPORT_ROWS = 100_000

COLUMNS = [
    ("案號 Case number", 14), ("機關代碼 Agency code", 16), ("機關 Agency", 26), ("項目代碼 Item code", 12),
    ("項目 Item", 28), ("類別 Kind", 8), ("繳款人類別 Payer kind", 10), ("繳款人 Payer", 18),
    ("身分證/統編 ID / BAN", 14), ("法規 Statute", 24), ("條文 Article", 14), ("金額 Amount (NT$)", 14),
    ("繳費期限 Due date", 12), ("狀態 State", 14), ("開單時間 Issued at", 18), ("繳款時間 Paid at", 18),
    ("繳款單號 Order number", 18),
]  # fmt: skip


def _local(value):
    return timezone.localtime(value).replace(tzinfo=None) if value else None


def cases_workbook(cases: QuerySet[FineCase]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("cases")
    for index, (_title, width) in enumerate(COLUMNS):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append([title for title, _width in COLUMNS])
    rows = cases.select_related("agency", "item", "payment_order").order_by("-created_at", "-id")
    for case in rows[:MAX_EXPORT_ROWS].iterator(chunk_size=2000):
        sheet.append([
            case.number, case.agency.code, case.agency.name_zh, case.item.code, case.item.name,
            case.get_kind_display(), case.get_payer_kind_display(), case.payer_name,
            case.payer_company_ban or case.payer_identifier_masked, case.statute, case.article, case.amount,
            case.due_date, case.get_state_display(), _local(case.created_at), _local(case.paid_at),
            case.payment_order.number if case.payment_order_id else "",
        ])  # fmt: skip
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
