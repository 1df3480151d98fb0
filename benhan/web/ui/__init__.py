"""The clinician web app: the registration desk, the chart, the forms posted from it, corrections
and history, and the MoH printouts. Server-rendered pages (templates/ui/), one small script
(static/ui.js) for the ICD-10 type-ahead, the commune picker and drafts kept across a lost session.
"""
from __future__ import annotations

from starlette.routing import Route

from benhan.web.ui import bench, corrections, desk, diagnosis_search, linking, printouts, signatures, visit
from benhan.web.ui import paper
from benhan.web.ui import referral as referral_ui
from benhan.web.ui import fluids as fluids_ui
from benhan.web.ui import care_plan as care_plan_ui
from benhan.web.ui import sick_leave as sick_leave_ui
from benhan.web.ui import specialty
from benhan.web.ui import amendment as amendment_pages
from benhan.web.ui import cashier
from benhan.web.ui import claims_desk
from benhan.web.ui import health_book_desk
from benhan.web.ui import hosobenhan
from benhan.web.ui import ward
from benhan.web.ui import lab_labels
from benhan.web.ui import pharmacy_stock
from benhan.web.ui import privacy
from benhan.web.ui import appointments as appointments_ui

_FORM = ["GET", "POST"]   # GET: after a lost session, the login returns to the form's page

routes = [
    Route("/ui/register", desk.register_page),
    Route("/ui/register/scan", desk.scan, methods=["POST"]),
    Route("/ui/register/patient", desk.register, methods=["POST"]),
    Route("/ui/communes", desk.communes),
    Route("/ui/patients/{id}", desk.patient_page),
    Route("/ui/patients/{id}/visits", desk.open_visit, methods=_FORM),
    Route("/ui/patients/{id}/card", desk.renew_card, methods=_FORM),
    Route("/ui/patients/{id}/link", linking.link_page, methods=_FORM),
    Route("/ui/patients/{id}/paper", paper.paper_page, methods=["GET", "POST"]),
    Route("/ui/encounters/{id}", visit.encounter_page),
    Route("/ui/encounters/{id}/vitals", visit.vitals_post, methods=_FORM),
    Route("/ui/encounters/{id}/record", visit.record_post, methods=_FORM),
    Route("/ui/encounters/{id}/traditional", visit.traditional_post, methods=_FORM),
    Route("/ui/encounters/{id}/diagnoses", visit.diagnosis_post, methods=_FORM),
    Route("/ui/icd10", diagnosis_search.icd10),
    Route("/ui/encounters/{id}/allergies", visit.allergy_post, methods=_FORM),
    Route("/ui/encounters/{id}/lab-flags", visit.lab_flag_post, methods=_FORM),
    Route("/ui/encounters/{id}/lab-validate", visit.lab_medical_post, methods=_FORM),
    Route("/ui/encounters/{id}/orders", visit.order_post, methods=_FORM),
    Route("/ui/encounters/{id}/results", visit.results_post, methods=_FORM),
    Route("/ui/encounters/{id}/prescriptions", visit.prescription_post, methods=_FORM),
    Route("/ui/encounters/{id}/notes", visit.note_post, methods=_FORM),
    Route("/ui/encounters/{id}/discharge", visit.discharge_post, methods=_FORM),
    Route("/ui/encounters/{id}/closing-summary", visit.closing_summary_post, methods=_FORM),
    Route("/ui/encounters/{id}/admission", visit.admission_post, methods=_FORM),
    Route("/ui/encounters/{id}/specialty", specialty.post, methods=_FORM),
    Route("/ui/encounters/{id}/transfer", visit.transfer_post, methods=_FORM),
    Route("/ui/encounters/{id}/procedures", visit.procedure_post, methods=_FORM),
    Route("/ui/encounters/{id}/complications", visit.complication_post, methods=_FORM),
    Route("/ui/encounters/{id}/consents", visit.consent_post, methods=_FORM),
    Route("/ui/encounters/{id}/consent-papers", visit.consent_paper_post, methods=_FORM),
    Route("/ui/encounters/{id}/transfusions", visit.transfusion_post, methods=_FORM),
    Route("/ui/encounters/{id}/infusions", visit.infusion_post, methods=_FORM),
    Route("/ui/encounters/{id}/referral", referral_ui.post, methods=_FORM),
    Route("/ui/encounters/{id}/sick-leave", sick_leave_ui.post, methods=_FORM),
    Route("/ui/encounters/{id}/fluids", fluids_ui.post, methods=_FORM),
    Route("/ui/encounters/{id}/care-plan", care_plan_ui.post, methods=_FORM),
    Route("/ui/encounters/{id}/care-plan/done", care_plan_ui.done_post, methods=_FORM),
    Route("/ui/encounters/{id}/print", printouts.print_view),
    Route("/ui/encounters/{id}/print.pdf", printouts.print_pdf),
    Route("/ui/encounters/{id}/record.pdf", printouts.whole_record_pdf),
    Route("/ui/encounters/{id}/hosobenhan", hosobenhan.download),
    Route("/ui/correct/{type}/{id}", corrections.correct, methods=_FORM),
    Route("/ui/history/{type}/{id}", corrections.history),
    Route("/ui/encounters/{id}/documents", signatures.documents_page),
    Route("/ui/encounters/{id}/sign", signatures.sign, methods=_FORM),
    Route("/ui/documents/{id}/pdf", signatures.document_pdf),
    Route("/ui/documents/{id}/verify", signatures.document_verify),
    Route("/ui/documents/{id}/amend", amendment_pages.amend, methods=_FORM),
    Route("/ui/documents/{id}/chain", amendment_pages.chain),
    Route("/ui/documents/{id}/otp", signatures.otp_send, methods=_FORM),
    Route("/ui/documents/{id}/otp/confirm", signatures.otp_confirm, methods=_FORM),
    Route("/ui/documents/{id}/seal", signatures.seal, methods=_FORM),
    Route("/ui/documents/{id}/pad", signatures.pad_page, methods=_FORM),
    Route("/ui/lab", bench.lab_worklist),
    Route("/ui/lab/{id}/results", bench.lab_results, methods=_FORM),
    Route("/ui/lab/reports/{id}/technical", bench.lab_technical, methods=_FORM),
    *lab_labels.routes,
    Route("/ui/pharmacy", bench.pharmacy),
    Route("/ui/pharmacy/dispense", bench.pharmacy_dispense, methods=_FORM),
    *pharmacy_stock.routes,
    *ward.routes,
    *cashier.routes,
    *privacy.routes,
    *health_book_desk.routes,          # before the claims desk's /ui/claims/{id}
    *claims_desk.routes,
    Route("/ui/appointments", appointments_ui.day_page),
    Route("/ui/appointments/book", appointments_ui.book, methods=_FORM),
    Route("/ui/appointments/{id}", appointments_ui.act, methods=_FORM),
]
