"""The Traditional Chinese font of every PDF the platform writes (payment notices, application
receipts): reportlab's built-in CID font ``MSung-Light``, so no font file is shipped."""

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont

CJK_FONT = "MSung-Light"


def cjk_font() -> str:
    """Register the font once (with the right CMap) and return its name."""
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        font = UnicodeCIDFont(CJK_FONT)
        # reportlab 5.1 gives MSung-Light the Simplified Chinese CMap (UniGB-UCS2-H); the font's
        # collection is Adobe-CNS1, whose UTF-16 CMap is UniCNS-UCS2-H. With the wrong name,
        # strict readers (poppler: Evince, pdftotext, many printers' RIPs) drop every Chinese
        # glyph. The text itself is written as UTF-16BE either way, so only the name changes.
        font.encodingName = "UniCNS-UCS2-H"
        pdfmetrics.registerFont(font)
    return CJK_FONT
