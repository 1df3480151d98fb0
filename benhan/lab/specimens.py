"""Specimen collection (lấy mẫu) for a laboratory order, and its barcode label.

The technician collects the sample for an active lab order: a FHIR Specimen is created whose
accessionIdentifier is the order's placer number — the ServiceRequest id, which the analyser reads
from the tube's barcode and sends back in OBR-2 (benhan/lab/oru.py matches orders by it). The
Specimen points to its order (Specimen.request) and the order to its Specimen
(ServiceRequest.specimen), in one transaction. Collecting twice for the same order is refused.

The label is a small PDF (50 × 25 mm, the common thermal label) with a Code 128 barcode of the
accession number, the patient's name and birth year, the test and the collection time. The bars
come from python-barcode (its module pattern only); fpdf2 draws them, as the other printouts.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from barcode.charsets import code128
from fpdf import FPDF

from benhan.auth.actor import Actor
from benhan.clinical import orders
from benhan.clinical.common import BENHAN, name_of, now, ref, ref_id, stamp, vn_datetime
from benhan.clinical.printouts.pdf import FAMILY, FONTS
from benhan.store.repository import Repository

ACCESSION = f"{BENHAN}/sid/lab-accession"
SNOMED = "http://snomed.info/sct"
# Specimen types (SNOMED CT) by the words of the order: blood unless it says urine or stool.
BLOOD = {"system": SNOMED, "code": "119297000", "display": "Blood specimen"}
URINE = {"system": SNOMED, "code": "122575003", "display": "Urine specimen"}
STOOL = {"system": SNOMED, "code": "119339001", "display": "Stool specimen"}
LABEL_MM = (50.0, 25.0)


class CollectionRefused(Exception):
    """Why a collection is refused; `key` is the message id the UI translates."""

    def __init__(self, key: str, english: str):
        super().__init__(english)
        self.key = key


def specimen_type(order: dict) -> dict:
    words = " ".join([order.get("code", {}).get("text", "")] +
                     [c.get("display", "") for c in order.get("code", {}).get("coding", [])]).lower()
    if "nước tiểu" in words or "urine" in words:
        return {"coding": [URINE], "text": "Nước tiểu"}
    if "phân" in words.split() or "stool" in words:
        return {"coding": [STOOL], "text": "Phân"}
    return {"coding": [BLOOD], "text": "Máu"}


def collect(repo: Repository, actor: Actor, order_id: str, tz: str = "+07:00") -> str:
    """Create the order's Specimen; returns its id. Refused when the order is not an active lab
    order or already has a specimen (a second tube would carry the same accession)."""
    order = repo.read("ServiceRequest", order_id).json()
    if orders.kind_of(order) != "lab" or order.get("status") != "active":
        raise CollectionRefused("ui.lab.err.not_collectable", "the order is not an active laboratory order")
    if order.get("specimen"):
        raise CollectionRefused("ui.lab.err.already_collected", "a specimen was already collected for this order")
    version = int(order.get("meta", {}).get("versionId", "0")) or None
    specimen_id = str(uuid.uuid4())
    specimen = stamp({
        "resourceType": "Specimen", "status": "available",
        "accessionIdentifier": {"system": ACCESSION, "value": order_id},
        "type": specimen_type(order), "subject": order.get("subject"),
        "request": [ref("ServiceRequest", order_id)],
        "collection": {"collectedDateTime": now(tz).isoformat(),
                       "collector": {"display": actor.display or actor.name}},
    }, actor)
    body = {k: v for k, v in order.items() if k != "meta"}
    body["specimen"] = [ref("Specimen", specimen_id)]
    # Both or neither: the If-Match on the order refuses a second collection made at the same moment.
    repo.commit([repo.prepare("POST", "Specimen", specimen_id, specimen, create_only=True),
                 repo.prepare("PUT", "ServiceRequest", order_id, body, if_match=version)], "transaction")
    from benhan.lab import orm   # the order to the analyser (ORM^O01), when an address is set
    if orm.address(repo.store.config):
        from benhan.outbox.queue import Outbox
        orm.queue(repo, Outbox(repo.store.db), order, specimen["collection"]["collectedDateTime"])
    return specimen_id


def specimen_of(order: dict) -> str:
    """The id of the order's collected Specimen, '' when not collected yet."""
    return ref_id((order.get("specimen") or [{}])[0]) or ""


@dataclass(frozen=True)
class Label:
    accession: str
    patient: str
    birth_year: str
    test: str
    collected: str   # dd/mm/yyyy hh:mm


def label_of(repo: Repository, specimen_id: str) -> Label:
    """What the label shows (reads of the Specimen, its order and patient: audited)."""
    specimen = repo.read("Specimen", specimen_id).json()
    order = repo.read("ServiceRequest", ref_id((specimen.get("request") or [{}])[0]) or "").json()
    patient = repo.read("Patient", ref_id(specimen.get("subject")) or "").json()
    return Label(specimen.get("accessionIdentifier", {}).get("value", ""), name_of(patient),
                 (patient.get("birthDate") or "")[:4], order.get("code", {}).get("text", ""),
                 vn_datetime(specimen.get("collection", {}).get("collectedDateTime")))


_START_B = 104          # Code 128 "Start Code B"


def bars(text: str) -> str:
    """The Code 128 modules ('1' a bar, '0' a space) of `text`, quiet zones excluded: all in code set B
    (an order id is printable ASCII), with the library's module patterns. Not the library's own encoder:
    python-barcode 0.16 drops a leading "99" (it opens in code set C and switches to B before writing the
    pair), so one label in about 250 scanned as another number and its result found no order."""
    values = [_START_B] + [ord(c) - 32 for c in text]
    if any(not 0 <= v < 96 for v in values[1:]):
        raise ValueError(f"a label's accession must be printable ASCII: {text!r}")
    check = (values[0] + sum(i * v for i, v in enumerate(values[1:], 1))) % 103
    return "".join(code128.CODES[v] for v in [*values, check]) + code128.STOP + "11"


def label_pdf(label: Label) -> bytes:
    width, height = LABEL_MM
    pdf = FPDF(unit="mm", format=(width, height))
    pdf.set_margins(2, 1.5, 2)
    pdf.set_auto_page_break(False)
    pdf.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(f"Nhãn mẫu {label.accession}")
    pdf.add_page()
    pdf.set_font(FAMILY, "B", 7)
    pdf.cell(width - 4, 3, f"{label.patient} ({label.birth_year})"[:48], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 5.5)
    pdf.cell(width - 4, 2.6, label.test[:60], new_x="LMARGIN", new_y="NEXT")
    pdf.cell(width - 4, 2.6, f"Lấy mẫu: {label.collected}", new_x="LMARGIN", new_y="NEXT")
    modules = bars(label.accession)
    module = min(0.33, (width - 4) / len(modules))   # the bar width that fits the label
    x0, y0, bar_h = (width - module * len(modules)) / 2, pdf.get_y() + 0.8, 9.0
    start = None
    for i, m in enumerate(modules + "0"):
        if m == "1" and start is None:
            start = i
        elif m == "0" and start is not None:
            pdf.rect(x0 + start * module, y0, (i - start) * module, bar_h, style="F")
            start = None
    pdf.set_xy(2, y0 + bar_h + 0.3)
    pdf.set_font(FAMILY, "", 5.5)
    pdf.cell(width - 4, 2.4, label.accession, align="C")
    return bytes(pdf.output())
