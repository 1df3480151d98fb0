"""The record on paper: the MoH forms of a visit as one data structure (forms.py), rendered as an
HTML print view by the web layer and as a PDF here (pdf.py), each with the electronic-to-paper mark
of NĐ 137/2024 Đ5, and every print written to the audit trail (audit.py)."""
