"""The EMR self-assessment (`benhan assess`): the TT 13/2025 + CV 365 (+ TCVN 14423:2026) checklist
as data (checklist.py), judged against the live installation where the software can tell and by
the facility's documented answers otherwise (evaluate.py), printed as the report the appraisal
council signs (report_pdf.py) and posted to the hub's provincial dashboard."""
