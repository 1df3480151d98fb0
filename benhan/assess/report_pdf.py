"""The self-assessment report as the appraisal council signs it: A4, Vietnamese, with fpdf2 and
the DejaVu fonts of the printouts (a Unicode font embedded, so every diacritic prints).

Heading, the facility, a summary (met / not met / unanswered of the total), one row per item
(number, requirement and its source, status, evidence) and the council's signature block. The
report is the software's reading plus the council's answers; the signatures make it theirs.
"""
from __future__ import annotations

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from benhan.assess.evaluate import STATUS_VI, Assessment
from benhan.clinical.printouts.pdf import FAMILY, FONTS

WIDTHS = (9, 78, 22, 71)        # STT, requirement (+ source), status, evidence — 180 mm


class _Pdf(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, "", 7)
        self.cell(0, 4, f"Báo cáo tự đánh giá HSBA điện tử — benhan — Trang {self.page_no()}/{{nb}}", align="C")


def render(a: Assessment) -> bytes:
    pdf = _Pdf(format="A4")
    pdf.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_margins(15, 12, 15)
    pdf.set_auto_page_break(True, margin=16)
    pdf.set_title(f"Báo cáo tự đánh giá HSBA điện tử — {a.facility['name']}")
    pdf.set_creator("benhan")
    pdf.alias_nb_pages()
    pdf.add_page()
    nl = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}
    pdf.set_font(FAMILY, "B", 9)
    pdf.cell(90, 5, a.facility["name"].upper()[:60])
    pdf.cell(0, 5, "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM", align="C", **nl)
    pdf.set_font(FAMILY, "", 9)
    pdf.cell(90, 5, "HỘI ĐỒNG THẨM ĐỊNH")
    pdf.cell(0, 5, "Độc lập - Tự do - Hạnh phúc", align="C", **nl)
    pdf.ln(4)
    pdf.set_font(FAMILY, "B", 13)
    pdf.cell(0, 7, "BÁO CÁO TỰ ĐÁNH GIÁ", align="C", **nl)
    pdf.set_font(FAMILY, "B", 10)
    pdf.multi_cell(0, 5, "Mức độ đáp ứng yêu cầu triển khai hồ sơ bệnh án điện tử\n"
                   "(Thông tư 13/2025/TT-BYT; Công văn 365/TTYQG-GPQLCL; TCVN 14423:2026)", align="C", **nl)
    pdf.ln(2)
    pdf.set_font(FAMILY, "", 9)
    place = ", ".join(x for x in (a.facility.get("commune"), a.facility.get("province")) if x)
    lines = [f"Cơ sở: {a.facility['name']}" + (f" (mã {a.facility['code']})" if a.facility.get("code") else ""),
             f"Địa bàn: {place or '……'}",
             f"Thời điểm đánh giá: {a.generated_at.strftime('%H:%M ngày %d/%m/%Y')} (UTC)",
             f"Kết quả: {a.count('met')}/{len(a.outcomes)} tiêu chí đạt; {a.count('not_met')} chưa đạt; "
             f"{a.count('unanswered')} chưa trả lời."]
    for line in lines:
        pdf.multi_cell(0, 5, line, **nl)
    pdf.ln(2)
    _table(pdf, a)
    pdf.ln(4)
    pdf.set_font(FAMILY, "", 9)
    pdf.multi_cell(0, 5, "Các tiêu chí “tự động” do phần mềm đọc từ hệ thống đang chạy; các tiêu chí “câu hỏi” do cơ "
                   "sở trả lời kèm số văn bản. Hội đồng đối chiếu bằng chứng trước khi ký.", **nl)
    pdf.ln(4)
    if pdf.get_y() > 240:
        pdf.add_page()
    y = pdf.get_y()
    pdf.set_font(FAMILY, "B", 9)
    pdf.set_xy(15, y)
    pdf.cell(85, 5, "THƯ KÝ HỘI ĐỒNG", align="C")
    pdf.set_xy(100, y)
    pdf.cell(95, 5, "CHỦ TỊCH HỘI ĐỒNG", align="C", **nl)
    pdf.set_font(FAMILY, "", 8)
    pdf.set_x(15)
    pdf.cell(85, 4, "(Ký, ghi rõ họ tên)", align="C")
    pdf.set_x(100)
    pdf.cell(95, 4, "(Ký, ghi rõ họ tên, đóng dấu)", align="C", **nl)
    return bytes(pdf.output())


def _table(pdf: FPDF, a: Assessment) -> None:
    pdf.set_font(FAMILY, "B", 8.5)
    for w, head in zip(WIDTHS, ("STT", "Yêu cầu (căn cứ)", "Kết quả", "Bằng chứng")):
        pdf.cell(w, 6, head, border=1, align="C")
    pdf.ln()
    pdf.set_font(FAMILY, "", 8)
    for n, o in enumerate(a.outcomes, 1):
        how = "tự động" if o.item.automatic else "câu hỏi"
        cells = (str(n), f"{o.item.vi}\n[{o.item.source}; {how}; {o.item.id}]", STATUS_VI[o.status], o.evidence[0])
        # Row height: the tallest cell's line count.
        heights = [len(pdf.multi_cell(w, 4, text, dry_run=True, output="LINES")) for w, text in zip(WIDTHS, cells)]
        h = 4 * max(heights) + 1
        if pdf.get_y() + h > pdf.h - 16:
            pdf.add_page()
        x, y = pdf.get_x(), pdf.get_y()
        for w, text in zip(WIDTHS, cells):
            pdf.rect(x, y, w, h)
            pdf.set_xy(x, y + 0.5)
            if text == cells[2]:
                pdf.set_font(FAMILY, "B", 8)
            pdf.multi_cell(w, 4, text, align="C" if text in cells[:1] + cells[2:3] else "L")
            pdf.set_font(FAMILY, "", 8)
            x += w
        pdf.set_xy(15, y + h)
