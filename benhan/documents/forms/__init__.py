"""The MoH forms drawn by the layout engine (benhan.documents.layout), one module each: a form is its
definition (elements and the source of each value, sources.py) — adding one is data, see docs/forms.md."""
from __future__ import annotations

from benhan.documents.forms import followup, outpatient, prescription, referral, sick_leave
from benhan.documents.layout.model import Form

# In the order of issue 14: a commune station's first.
FORMS: dict[str, Form] = {f.key: f for f in (outpatient.FORM, prescription.FORM, referral.FORM, followup.FORM,
                                             sick_leave.FORM)}
# The specialty outpatient records 16/BV1 and 19/BV1: data variants of 15/BV1.
from benhan.documents.forms import outpatient_variants  # noqa: E402
FORMS.update({f.key: f for f in (outpatient_variants.DENTAL, outpatient_variants.TRADITIONAL)})
# The inpatient sheets: tờ điều trị and phiếu chăm sóc, the whole stay and one day ("treatment-day:2026-12-15"),
# phiếu công khai thuốc, dịch vụ.
from benhan.documents.forms import nursing_sheet, publicity_sheet, treatment_sheet  # noqa: E402
FORMS.update({f.key: f for f in (treatment_sheet.FORM, treatment_sheet.DAY, nursing_sheet.FORM, nursing_sheet.DAY,
                                 publicity_sheet.FORM)})
# The stay: 01/BV1, the discharge paper (TT 25/2025 Mẫu 02), the death notice (Mẫu 05).
from benhan.documents.forms import death, discharge, inpatient  # noqa: E402
FORMS.update({f.key: f for f in (inpatient.FORM, discharge.FORM, death.FORM)})
# The traditional-medicine records 18/BV1 and 20/BV1 (inpatient; 19/BV1 is outpatient_variants.TRADITIONAL).
from benhan.documents.forms import traditional_medicine  # noqa: E402
FORMS.update({f.key: f for f in (traditional_medicine.FORM, traditional_medicine.CHILD)})
# The vital-signs chart, and the result sheets, one per report ("labresult:<DiagnosticReport id>").
from benhan.documents.forms import results, vital_signs_chart  # noqa: E402
FORMS.update({f.key: f for f in (vital_signs_chart.FORM, results.LAB_SHEET, results.IMAGING_SHEET)})
# Surgery and its papers: the consent 01/BV2 ("consent:<Consent id>"), the surgery/procedure sheet 06/BV2
# ("surgery:<Procedure id>"), the record summary (TT 25/2025 Mẫu 03).
from benhan.documents.forms import consent, record_summary, surgery_sheet  # noqa: E402
FORMS.update({f.key: f for f in (consent.FORM, surgery_sheet.FORM, record_summary.FORM)})
# The specialty inpatient records 02, 03, 04, 05 and 10/BV1: data variants of 01/BV1 (specialty_inpatient.py).
from benhan.documents.forms import specialty_inpatient  # noqa: E402
FORMS.update({f.key: f for f in specialty_inpatient.VARIANTS})
# The other consent and commitment papers of PL XXIX, one per Consent of their kind ("consent-refusal:<id>"):
# 40/BV2 admission, 41/BV2 refusal of a service, 45/BV2 transfer at the patient's request, 46/BV2 leaving
# against medical advice (clinical.consent.KINDS).
FORMS.update({f.key: f for f in consent.PAPERS})
# The blood transfusion sheet, one per unit given ("transfusion:<Procedure id>"; its code a setting).
from benhan.documents.forms import transfusion_sheet  # noqa: E402
FORMS.update({transfusion_sheet.FORM.key: transfusion_sheet.FORM})
# 07/BV2 Phiếu theo dõi truyền dịch, the stay's infusions on one sheet.
from benhan.documents.forms import infusion_sheet  # noqa: E402
FORMS.update({infusion_sheet.FORM.key: infusion_sheet.FORM})
