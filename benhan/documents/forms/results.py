"""The result sheets of TT 32/2023 PL XXIX (forms-tt32.md §1.3), one per DiagnosticReport, printed as
"labresult:<report id>" or "imagingresult:<report id>":

- the laboratory sheets — 17/BV2 huyết học, 19/BV2 đông cầm máu, 22/BV2 hoá sinh máu, 23/BV2 hoá
  sinh nước tiểu, 16/BV2 chung when the tests are of several kinds — each test with its result,
  unit, reference range and the H/L flag of the Observation; the technician and the validating
  doctor; when the specimen was taken and the result given;
- the imaging and functional-exploration sheets — 08/BV2 X-quang, 09/BV2 CT, 10/BV2 MRI, 11/BV2
  siêu âm, 12/BV2 điện tim, 13/BV2 điện não, 14/BV2 nội soi, 15/BV2 chức năng hô hấp — with the
  technique, the description, the conclusion and the doctor.

Which sheet a report is printed on comes from the vocabulary (fhir.lab-result-form by the kind of
its tests, fhir.imaging-result-form by words of the service's name); the code and title are set per
report (`ResultForm.for_item`). Who is who: the technician is the report's performer (a laboratory
system sends it), else the person who entered the results; the validating doctor its
resultsInterpreter when that is someone else. Nothing is guessed: a time or a name the record does
not hold prints as the paper's dotted line."""
from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Callable

from benhan import errors
from benhan.clinical import orders, signers
from benhan.clinical.common import ref_id, recorder, vn_datetime
from benhan.documents.forms import sources as s, vocabulary
from benhan.documents.forms.data import FormData
from benhan.documents.layout.model import Column, DateLine, Field, Form, Line, Signature, Signatures, Table
from benhan.fhir.text import fold
from benhan.vn.display import number, unit

LAB = "LAB"
HIDDEN_DIAGNOSIS = "(không hiển thị: người in không được xem chẩn đoán)"


@dataclasses.dataclass(frozen=True)
class ResultForm(Form):
    """A result sheet: the same fields for every report of its kind, the PL XXIX code and title of
    the report printed (`for_item`)."""
    kind: str = "lab"

    def for_item(self, d: FormData) -> Form:
        """The sheet of the report named; without one, the blank sheet (every field dotted)."""
        if not d.part:
            return self
        report = _report(self.kind)(d)
        code = _sheet_code(self.kind, report, _order(d))
        title = dict(vocabulary.options("result-sheet")).get(code, self.title)
        return dataclasses.replace(self, code=code or self.code, title=title)


def _is_lab(report: dict) -> bool:
    return any(c.get("code") == LAB for cat in report.get("category", []) for c in cat.get("coding", []))


def _report(kind: str) -> Callable[[FormData], dict]:
    def read(d: FormData) -> dict:
        report = next((r for r in d.ctx.rec.reports if r.get("id") == d.part), None)
        if report is None or _is_lab(report) != (kind == "lab"):
            raise errors.NotFound(f"no {'laboratory' if kind == 'lab' else 'imaging'} result {d.part!r} in this visit")
        return report
    return read


def _current(d: FormData) -> dict:
    return next((r for r in d.ctx.rec.reports if r.get("id") == d.part), {})


def _order(d: FormData) -> dict:
    ids = {ref_id(b) for b in _current(d).get("basedOn", [])}
    return next((o for o in d.ctx.rec.orders if o.get("id") in ids), {})


def _sheet_code(kind: str, report: dict, order: dict) -> str:
    if kind == "lab":
        kinds = {t.panel for t in orders.tests_of(order)}
        return vocabulary.option_for("lab-result-form", kinds.pop() if len(kinds) == 1 else "")
    name = fold((order.get("code") or report.get("code") or {}).get("text", ""))
    for words, code in vocabulary.options("imaging-result-form-words"):
        if fold(words) in name:
            return code
    return ""


# --- the sources ---

def report_number(d: FormData) -> str:
    r = _current(d)
    return next((i.get("value", "") for i in r.get("identifier", [])), "") or r.get("id", "")[:8].upper()


def requested(d: FormData) -> str:
    return (_order(d).get("code") or {}).get("text", "") or (_current(d).get("code") or {}).get("text", "")


def requested_at(d: FormData) -> str:
    return vn_datetime(_order(d).get("authoredOn"))


def requested_by(d: FormData) -> str:
    return signers.full_name(_order(d).get("requester"), d.ctx.practitioners)


def diagnosis(d: FormData) -> str:
    """The diagnosis the order gives (its reasonCode), else the visit's diagnoses with their codes."""
    reasons = [cc.get("text") or ", ".join(c.get("display", "") for c in cc.get("coding", []))
               for cc in _order(d).get("reasonCode", [])]
    if not any(reasons) and not d.ctx.rec.permitted("Condition"):
        # The printer may not read diagnoses (the lab technician): said, so the blank is not read as "none".
        return HIDDEN_DIAGNOSIS
    return "; ".join(r for r in reasons if r) or s.diagnoses_with_codes(d)


def specimen_taken(d: FormData) -> str:
    """When the specimen was taken: the report's effective time (FHIR: the specimen's collection for a
    laboratory report), but not when it is only the moment the results were entered (benhan's own
    entry sets effective and issued to that moment)."""
    r = _current(d)
    effective = r.get("effectiveDateTime") or (r.get("effectivePeriod") or {}).get("start")
    return vn_datetime(effective) if effective and effective != r.get("issued") else ""


def reported_at(d: FormData) -> str:
    return vn_datetime(_current(d).get("issued"))


def reported_on(d: FormData):  # noqa: ANN201 - date | None
    issued = _current(d).get("issued") or ""
    return s._as_date(issued)


def technician(d: FormData) -> str:
    r = _current(d)
    people = [p for p in r.get("performer", []) if (p.get("reference") or "").startswith("Practitioner/")
              or ("display" in p and not p.get("reference"))]
    if people:
        return signers.full_name(people[0], d.ctx.practitioners)
    return signers.full_name({"display": recorder(r)}) if recorder(r) else ""


def validator(d: FormData) -> str:
    name = signers.full_name((_current(d).get("resultsInterpreter") or [None])[0], d.ctx.practitioners)
    return "" if name == technician(d) else name


def interpreter(d: FormData) -> str:
    """The imaging doctor: the report's resultsInterpreter, else its performer or who entered it."""
    return (signers.full_name((_current(d).get("resultsInterpreter") or [None])[0], d.ctx.practitioners)
            or technician(d))


def _observations(d: FormData) -> list[dict]:
    by_id = {o.get("id"): o for o in d.ctx.rec.observations}
    return [by_id[i] for i in (ref_id(x) for x in _current(d).get("result", [])) if i in by_id]


def _range(o: dict) -> str:
    rr = (o.get("referenceRange") or [{}])[0]
    low, high = (rr.get("low") or {}).get("value"), (rr.get("high") or {}).get("value")
    if low is None and high is None:
        return rr.get("text", "")
    return f"{'' if low is None else number(low)} – {'' if high is None else number(high)}"


def _flag(o: dict) -> str:
    """The Observation's interpretation (H, L, HH, LL, A …; N prints nothing); without one, H or L from
    its value against its reference range."""
    if o.get("status") == "entered-in-error":
        return ""
    if o.get("interpretation"):
        code = ((o["interpretation"][0]).get("coding") or [{}])[0].get("code", "")
        return "" if code == "N" else code
    value = (o.get("valueQuantity") or {}).get("value")
    rr = (o.get("referenceRange") or [{}])[0]
    low, high = (rr.get("low") or {}).get("value"), (rr.get("high") or {}).get("value")
    if value is None:
        return ""
    return "L" if low is not None and value < low else "H" if high is not None and value > high else ""


def result_rows(d: FormData) -> list[list[str]]:
    rows = []
    for o in _observations(d):
        q = o.get("valueQuantity") or {}
        value = number(q["value"]) if q.get("value") is not None else o.get("valueString", "")
        if o.get("status") == "entered-in-error":
            continue
        rows.append([(o.get("code") or {}).get("text", ""), value, unit(q.get("unit", "")), _range(o), _flag(o)])
    return rows


def technique(d: FormData) -> str:
    """The technique performed: the service the report is of (the MoH technique name)."""
    return (_current(d).get("code") or {}).get("text", "") or requested(d)


def description(d: FormData) -> str:
    """The findings: a text attached to the report (presentedForm), else its text-valued results."""
    for form in _current(d).get("presentedForm", []):
        if (form.get("contentType") or "").startswith("text/plain") and form.get("data"):
            try:
                return base64.b64decode(form["data"]).decode("utf-8").strip()
            except (binascii.Error, UnicodeDecodeError):
                continue
    return "\n".join(o["valueString"] for o in _observations(d) if o.get("valueString"))


def conclusion(d: FormData) -> str:
    return _current(d).get("conclusion", "")


PATIENT = (
    Line((Field("Họ tên người bệnh", s.name, key="name", width=0.5, caps=True),
          Field("Tuổi", s.age, key="age", width=0.2, code=True),
          Field("Giới tính", s.gender_words, key="gender", width=0.3))),
    Field("Địa chỉ", s.address, key="address"),
    Line((Field("Số thẻ BHYT", s.bhyt_number, key="bhyt", width=0.5, code=True),
          Field("Khoa", s.department, key="department", width=0.5))),
    Field("Chẩn đoán", diagnosis, key="diagnosis"),
)
REQUEST = (
    Field("Yêu cầu", requested, key="requested"),
    Line((Field("Chỉ định lúc", requested_at, key="requested-at", width=0.4, code=True),
          Field("Bác sĩ chỉ định", requested_by, key="requested-by", width=0.6))),
)
IDENTIFIERS = (Field("Số", report_number, key="report-number", code=True),
               Field("Số hồ sơ", s.record_number, key="record-number", code=True))

LAB_SHEET = ResultForm(
    key="labresult", code="16/BV2", title="PHIẾU XÉT NGHIỆM", national_heading=False, kind="lab",
    identifiers=IDENTIFIERS, record_number=s.record_number,
    needs=("ServiceRequest", "DiagnosticReport", "Observation"),
    document_type=("11502-2", "Laboratory report"),
    body=(
        *PATIENT, *REQUEST,
        Line((Field("Lấy mẫu lúc", specimen_taken, key="specimen-at", width=0.5, code=True),
              Field("Trả kết quả lúc", reported_at, key="reported-at", width=0.5, code=True))),
        Table("results", (Column("Tên xét nghiệm", 0.38), Column("Kết quả", 0.14), Column("Đơn vị", 0.14),
                          Column("Trị số tham chiếu", 0.22), Column("Bất thường", 0.12)), result_rows,
              min_rows=3),
    ),
    closing=(
        DateLine(reported_on),
        Signatures((Signature(s.title("lab-technician"), technician, key="technician"),
                    Signature(s.title("lab-validator"), validator, key="validator", role="author"))),
    ),
)

IMAGING_SHEET = ResultForm(
    key="imagingresult", code="", title="PHIẾU KẾT QUẢ CHẨN ĐOÁN HÌNH ẢNH - THĂM DÒ CHỨC NĂNG",
    national_heading=False, kind="imaging",
    identifiers=IDENTIFIERS, record_number=s.record_number,
    needs=("ServiceRequest", "DiagnosticReport"),
    document_type=("18748-4", "Diagnostic imaging study"),
    body=(
        *PATIENT, *REQUEST,
        Field("Kỹ thuật", technique, key="technique"),
        Field("Mô tả", description, key="description", lines=6),
        Field("Kết luận", conclusion, key="conclusion", lines=2),
        Field("Trả kết quả lúc", reported_at, key="reported-at", code=True),
    ),
    closing=(
        DateLine(reported_on),
        Signatures((Signature(s.title("imaging-doctor"), interpreter, key="doctor", role="author"),)),
    ),
)
