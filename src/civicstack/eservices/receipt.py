"""The application's receipt as a PDF (申辦收據): receipt number, item, offices, deadline, the
answers as filed and the pickup code. Chinese text uses the platform's PDF font
(``core.pdf_fonts``), as the payment notices do, so no font file is shipped."""

import io

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from civicstack.core.identity import mask_name
from civicstack.core.pdf_fonts import cjk_font

from .models import Application


def _answer_text(spec: dict, value) -> str:
    if spec.get("format") == "attachment":
        return "已附檔案"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def render_receipt(application: Application, *, city_name: str) -> bytes:
    font = cjk_font()
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=22, spaceAfter=6)
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=14)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                                 topMargin=18 * mm, bottomMargin=18 * mm, title=f"申辦收據 {application.number}")  # fmt: skip
    submitted = application.submitted_at
    rows = [
        ["收件編號 Receipt number", application.number],
        ["申辦項目 Item", f"{application.item.name}({application.item.code})"],
        ["申請人 Applicant", mask_name(application.applicant_name)],
        ["收件機關 Receiving office", application.receiving_office.name_zh],
        ["承辦機關 Handling office", application.handling_office.name_zh],
        ["跨區申辦 Cross-district", "是" if application.is_cross_district else "否"],
        ["送件時間 Submitted", f"{submitted:%Y-%m-%d %H:%M}" if submitted else "—"],
        ["處理期限 Due by", f"{application.due_date:%Y-%m-%d}" if application.due_date else "—"],
        ["表單版本 Form version", f"v{application.form.version}"],
        ["超商取件碼 Pickup code", application.pickup_code or "—"],
    ]
    if application.fee:
        rows.append(
            ["規費 Fee", f"NT${application.fee:,}" + (" 已繳" if application.fee_paid_at else " 待繳")]
        )
    properties = application.form.schema.get("properties", {})
    answers = [[Paragraph(str(spec.get("title", name)), body), Paragraph(_answer_text(spec, application.data[name]), body)]
               for name, spec in properties.items() if name in application.data]  # fmt: skip
    style = TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 10),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ])  # fmt: skip
    story = [
        Paragraph(f"{city_name} 線上申辦收據", title),
        Table(rows, colWidths=[55 * mm, 115 * mm], style=style),
        Spacer(1, 8 * mm),
        Paragraph("申請內容 Answers as filed", title),
        Table(answers or [["—", "—"]], colWidths=[55 * mm, 115 * mm], style=style),
        Spacer(1, 6 * mm),
        Paragraph("可至超商多媒體機台輸入取件碼查詢或繳納規費。Enter the pickup code at a convenience-store kiosk "
                  "to look up this application or pay its fee.", body),
    ]  # fmt: skip
    document.build(story)
    return buffer.getvalue()
