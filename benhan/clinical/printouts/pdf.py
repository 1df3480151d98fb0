"""A printout as an A4 PDF, with fpdf2: pure Python (no system libraries to install on an old PC;
WeasyPrint would need Pango), a few tens of milliseconds per page on a slow CPU.

Vietnamese needs a Unicode font embedded in the file (a viewer's built-in PDF fonts have no ầ, ữ,
đ …): the DejaVu Sans shipped in fonts/ (Bitstream Vera licence, fonts/LICENSE-DejaVu.txt), subset
to the characters used, so a one-page form is some 30–60 KB.
"""
from __future__ import annotations

from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from benhan.clinical.printouts.forms import Printout

FONTS = Path(__file__).resolve().parent / "fonts"
FAMILY = "DejaVu"


class _Pdf(FPDF):
    def __init__(self, printout: Printout):
        super().__init__(format="A4")
        self.printout = printout
        self.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_margins(15, 12, 15)
        self.set_auto_page_break(True, margin=28)
        self.set_title(f"{printout.title} — {printout.patient_name}")
        self.set_creator(printout.mark.system)

    def footer(self) -> None:
        # The electronic-to-paper mark (NĐ 137/2024 Đ5) on every page, with the page number.
        self.set_y(-26)
        self.set_font(FAMILY, "", 6.5)
        self.set_draw_color(120)
        self.line(15, self.get_y(), 195, self.get_y())
        for line in self.printout.mark.lines():
            self.multi_cell(0, 3.2, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.cell(0, 3.2, f"Trang {self.page_no()}/{{nb}}", align="R")


def render(p: Printout) -> bytes:
    pdf = _Pdf(p)
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.set_font(FAMILY, "", 8.5)
    pdf.cell(120, 4.5, p.facility)
    pdf.cell(0, 4.5, p.form_code, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if p.department:
        pdf.cell(120, 4.5, f"Khoa/phòng: {p.department}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.set_font(FAMILY, "B", 14)
    pdf.cell(0, 8, p.title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for block in p.blocks:
        if block.new_page:
            pdf.add_page()
        if block.heading:
            pdf.ln(1.5)
            pdf.set_font(FAMILY, "B", 10)
            pdf.multi_cell(0, 5.5, block.heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        for row in block.rows:
            pdf.set_font(FAMILY, "B", 9)
            pdf.write(4.8, f"{row.label}: ")
            pdf.set_font(FAMILY, "", 9)
            pdf.write(4.8, row.value or "…")
            pdf.ln(5.2)
        if block.header is not None:
            pdf.set_font(FAMILY, "", 8.5)
            with pdf.table(text_align="LEFT", line_height=4.6, padding=1) as table:
                head = table.row()
                for title in block.header:
                    head.cell(title)
                for values in block.table or [["—"] + [""] * (len(block.header) - 1)]:
                    r = table.row()
                    for v in values:
                        r.cell(v)
    pdf.ln(6)
    pdf.set_font(FAMILY, "B", 9)
    width = 180 / max(1, len(p.signatures))
    for title in p.signatures:
        pdf.cell(width, 5, title, align="C")
    pdf.ln(5)
    pdf.set_font(FAMILY, "", 7.5)
    for _ in p.signatures:
        pdf.cell(width, 4, "(Ký, ghi rõ họ tên)", align="C")
    if any(p.signers):
        # Room for the signature, then the signer's full name (ký, ghi rõ họ tên).
        pdf.ln(16)
        pdf.set_font(FAMILY, "B", 9)
        for name in p.signers:
            pdf.cell(width, 5, name, align="C")
    return bytes(pdf.output())
