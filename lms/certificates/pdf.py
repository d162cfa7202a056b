"""PDF documents drawn with reportlab: the certificate (A4 landscape, vector, embedded font, QR code)
and the learner's CPD record. Output is deterministic: the same certificate gives the same bytes."""
from __future__ import annotations

import io
import os
from functools import cache
from xml.sax.saxutils import escape

import reportlab
from reportlab import rl_config
from reportlab.graphics.barcode import qrencoder
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

rl_config.useA85 = 0  # binary streams: smaller files, and no pure-Python ASCII85 pass per PDF

BRAND = colors.HexColor("#0a4250")
ACCENT = colors.HexColor("#b8520f")
INK = colors.HexColor("#1c2430")
SOFT = colors.HexColor("#4a5566")


@cache
def _fonts() -> tuple[str, str, str]:
    """Bitstream Vera, shipped inside reportlab, embedded in every PDF."""
    folder = os.path.join(os.path.dirname(reportlab.__file__), "fonts")
    for name, file in (("LmsSans", "Vera.ttf"), ("LmsSans-Bold", "VeraBd.ttf"), ("LmsSans-Italic", "VeraIt.ttf")):
        pdfmetrics.registerFont(TTFont(name, os.path.join(folder, file)))
    return "LmsSans", "LmsSans-Bold", "LmsSans-Italic"


def _fit(text: str, font: str, size: float, width: float, minimum: float = 14) -> float:
    while size > minimum and pdfmetrics.stringWidth(text, font, size) > width:
        size -= 1
    return size


def _draw_qr(pdf: canvas.Canvas, text: str, *, x: float, y: float, side: float) -> None:
    """A QR code as one vector path. The mask pattern is fixed rather than searched for:
    any of the eight is a valid code, and the search costs ten times the encoding."""
    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(text)
    code.version = code.calculate_version()
    code.makeImpl(False, 2)
    count = code.getModuleCount()
    quiet = 2
    cell = side / (count + 2 * quiet)
    pdf.setFillColor(colors.white)
    pdf.rect(x, y, side, side, stroke=0, fill=1)
    path = pdf.beginPath()
    for row in range(count):
        col = 0
        while col < count:  # one rectangle per run of dark modules
            if not code.isDark(row, col):
                col += 1
                continue
            start = col
            while col < count and code.isDark(row, col):
                col += 1
            path.rect(x + (start + quiet) * cell, y + side - (row + quiet + 1) * cell, (col - start) * cell, cell)
    pdf.setFillColor(colors.black)
    pdf.drawPath(path, stroke=0, fill=1)


def certificate_pdf(*, holder: str, course: str, level: str, hours: str, completed: str, number: str, issuer: str,
                    verify_url: str, short_url: str, expires: str | None, status_note: str | None = None) -> bytes:
    regular, bold, _ = _fonts()
    buffer = io.BytesIO()
    width, height = landscape(A4)
    pdf = canvas.Canvas(buffer, pagesize=(width, height), invariant=1, pageCompression=1)
    pdf.setTitle(f"Certificate {number}: {course}")
    pdf.setAuthor(issuer)
    pdf.setSubject(f"Certificate of completion for {holder}")

    # Frame
    pdf.setStrokeColor(BRAND)
    pdf.setLineWidth(3)
    pdf.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    pdf.setStrokeColor(ACCENT)
    pdf.setLineWidth(0.8)
    pdf.rect(16 * mm, 16 * mm, width - 32 * mm, height - 32 * mm)
    pdf.setFillColor(BRAND)
    pdf.rect(12 * mm, height - 40 * mm, width - 24 * mm, 28 * mm, stroke=0, fill=1)

    # Mark and issuer
    pdf.setFillColor(ACCENT)
    pdf.circle(30 * mm, height - 26 * mm, 7 * mm, stroke=0, fill=1)
    pdf.setFillColor(colors.white)
    pdf.circle(27.5 * mm, height - 26 * mm, 3.2 * mm, stroke=0, fill=1)
    pdf.setFillColor(colors.Color(1, 1, 1, alpha=0.6))
    pdf.circle(32.5 * mm, height - 26 * mm, 3.2 * mm, stroke=0, fill=1)
    pdf.setFillColor(colors.white)
    pdf.setFont(bold, 18)
    pdf.drawString(42 * mm, height - 28.5 * mm, issuer)
    pdf.setFont(regular, 10)
    pdf.drawRightString(width - 22 * mm, height - 28.5 * mm, "Accredited training in community cohesion and integration")

    centre = width / 2
    pdf.setFillColor(ACCENT)
    pdf.setFont(bold, 12)
    pdf.drawCentredString(centre, height - 62 * mm, "CERTIFICATE OF COMPLETION")
    pdf.setFillColor(SOFT)
    pdf.setFont(regular, 13)
    pdf.drawCentredString(centre, height - 76 * mm, "This certifies that")
    pdf.setFillColor(INK)
    size = _fit(holder, bold, 34, width - 70 * mm)
    pdf.setFont(bold, size)
    pdf.drawCentredString(centre, height - 93 * mm, holder)
    pdf.setStrokeColor(ACCENT)
    pdf.setLineWidth(1)
    pdf.line(centre - 80 * mm, height - 98 * mm, centre + 80 * mm, height - 98 * mm)
    pdf.setFillColor(SOFT)
    pdf.setFont(regular, 13)
    pdf.drawCentredString(centre, height - 110 * mm, "has completed the course")
    pdf.setFillColor(BRAND)
    size = _fit(course, bold, 24, width - 70 * mm)
    pdf.setFont(bold, size)
    pdf.drawCentredString(centre, height - 123 * mm, course)
    pdf.setFillColor(INK)
    pdf.setFont(regular, 12)
    pdf.drawCentredString(centre, height - 134 * mm, f"{level}  ·  {hours} CPD hours  ·  completed {completed}")
    if expires:
        pdf.setFont(regular, 11)
        pdf.setFillColor(SOFT)
        pdf.drawCentredString(centre, height - 142 * mm, f"Valid until {expires}; renew within the 90 days before.")

    # Footer: reference, verification and QR code
    pdf.setFillColor(INK)
    pdf.setFont(bold, 10)
    pdf.drawString(24 * mm, 36 * mm, "Certificate number")
    pdf.setFont(regular, 10)
    pdf.drawString(24 * mm, 31 * mm, number)
    pdf.setFont(bold, 10)
    pdf.drawString(24 * mm, 24 * mm, "Check it at")
    pdf.setFont(regular, 10)
    pdf.setFillColor(BRAND)
    pdf.drawString(24 * mm, 19.5 * mm, short_url)
    pdf.linkURL(verify_url, (24 * mm, 18 * mm, 24 * mm + pdfmetrics.stringWidth(short_url, regular, 10), 23 * mm))
    pdf.setFillColor(INK)
    pdf.setFont(regular, 9)
    pdf.drawCentredString(centre, 24 * mm, f"Issued by {issuer}")

    _draw_qr(pdf, verify_url, x=width - 24 * mm - 30 * mm, y=18 * mm, side=30 * mm)

    if status_note:
        pdf.saveState()
        pdf.setFillColor(colors.Color(0.64, 0.15, 0.17, alpha=0.25))
        pdf.setFont(bold, 64)
        pdf.translate(centre, height / 2)
        pdf.rotate(20)
        pdf.drawCentredString(0, 0, status_note)
        pdf.restoreState()
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def cpd_record_pdf(*, name: str, email: str, issuer: str, generated: str, years: list[dict],
                   entries: list[dict]) -> bytes:
    """The learner's CPD record: totals by year and category against the target, then every entry."""
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
    regular, bold, _ = _fonts()
    body = ParagraphStyle("body", fontName=regular, fontSize=9.5, leading=12.5, textColor=INK)
    heading = ParagraphStyle("heading", fontName=bold, fontSize=16, leading=20, textColor=BRAND, spaceAfter=6)
    small = ParagraphStyle("small", parent=body, fontSize=8.5, leading=11, textColor=SOFT)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm,
                            bottomMargin=18 * mm, title=f"CPD record: {name}", author=issuer, invariant=1)
    story = [Paragraph("Continuing professional development record", heading),
             Paragraph(escape(f"{name} ({email}) · produced by {issuer} on {generated}"), small), Spacer(1, 8)]
    table_style = TableStyle([("FONT", (0, 0), (-1, 0), bold, 9), ("FONT", (0, 1), (-1, -1), regular, 9),
                              ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6f1f3")),
                              ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#d9dee6")),
                              ("VALIGN", (0, 0), (-1, -1), "TOP")])
    for year in years:
        story.append(Paragraph(f"{year['year']}: {year['total']} of {year['target']} hours", heading))
        rows = [["Category", "Hours"]] + [[c, h] for c, h in year["categories"]]
        table = Table(rows, colWidths=[120 * mm, 30 * mm])
        table.setStyle(table_style)
        story += [table, Spacer(1, 8)]
    story.append(Paragraph("Activities", heading))
    rows = [["Date", "Activity", "Category", "Hours"]]
    for entry in entries:  # learner-written text: escaped before it meets reportlab's markup
        detail = escape(entry["title"])
        if entry["learned"]:
            detail += f"<br/><i>What I learned:</i> {escape(entry['learned'])}"
        if entry["apply"]:
            detail += f"<br/><i>How I will use it:</i> {escape(entry['apply'])}"
        rows.append([entry["date"], Paragraph(detail, body), Paragraph(escape(entry["category"]), body),
                     entry["hours"]])
    table = Table(rows, colWidths=[22 * mm, 90 * mm, 40 * mm, 16 * mm], repeatRows=1)
    table.setStyle(table_style)
    story.append(table)
    doc.build(story)
    return buffer.getvalue()
