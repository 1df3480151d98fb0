"""Importing the BHYT XML tables of a previous HIS (XML1–XML5 of past episodes) as FHIR records
(docs/operations.md "Coming into benhan"): the reverse of claims.tables, over the same field list
(claims.fields) and the same reader (claims.his_read → tables.from_xml).

One episode (one MA_LK) becomes, in one transaction:
- XML1 → the Patient (an existing one found by CCCD, then by BHYT card, is used as it is, never
  duplicated: the identifier rules allow one current Patient per CCCD and card), a finished
  Encounter (MA_LK identifier, class and kind from MA_LOAI_KCB, period NGAY_VAO–NGAY_RA, reason,
  treatment result KET_QUA_DTRI, discharge type MA_LOAI_RV) and a Condition per ICD-10 code of
  MA_BENH_CHINH (rank 1) and MA_BENH_KT (ranks 2…), role "discharge diagnosis";
- XML2 → MedicationRequests (completed; MA_THUOC coded, quantity, dose text);
- XML3 → ServiceRequests for services (MA_DICH_VU) and DeviceRequests for supplies (MA_VAT_TU);
- XML4 → laboratory Observations (the indicator and service codes, the value, the time);
- XML5 → progress notes (ClinicalImpression, as notes.add writes them).
Every resource carries meta.source naming the old HIS's facility and the file, and a meta.tag
saying it was imported. Ids come from MA_CSKCB + MA_LK + table + STT, so importing a file again
writes nothing new (same content, no new version). Each row that cannot be mapped is reported
with the reason (a bad date, an unknown ICD-10 code, no code, no XML1 for its MA_LK …).
"""
from __future__ import annotations

import json
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from urllib.parse import quote

from benhan import errors
from benhan.auth.actor import Actor
from benhan.claims import his_read
from benhan.claims.his_report import HisReport
from benhan.claims.tables import Table
from benhan.claims.fields import FIELDS
from benhan.clinical.catalogue.layouts import DRUG, SERVICE, SUPPLY
from benhan.clinical.catalogue.resources import CODE_SYSTEM
from benhan.clinical.common import BENHAN, OBS_CATEGORY
from benhan.clinical.diagnoses import ROLE
from benhan.clinical.discharge import DISPOSITION, RESULT_EXT, RESULT_SYSTEM, RESULTS
from benhan.clinical.notes import KINDS, NOTE_SYSTEM
from benhan.clinical.registration import ETHNICITY_EXT, ethnicities, find_by_cccd
from benhan.clinical.visits import ACT_CODE
from benhan.fhir.datetimes import local_zone
from benhan.fhir.resource_json import JsonDecimal
from benhan.store import audit_log
from benhan.store.audit_log import AuditRecord
from benhan.store.repository import Repository, now_us
from benhan.terminology import icd10, sources
from benhan.terminology.curated import ENCOUNTER_TYPE_URL, ENCOUNTER_TYPES
from benhan.terminology.small_lists import ETHNICITY_URL
from benhan.vn.bhyt import bhyt_problems, normalize
from benhan.vn.identifiers import BHYT_SYSTEM, CCCD_SYSTEM, MA_LK_SYSTEM, cccd_problems

NAMESPACE = uuid.UUID("0b6f1f5e-2f59-4c8e-9a55-6a3c1d2e7b41")
SOURCE_BASE = "https://benhan.vn/fhir/source/bhyt-xml"
ORIGIN = {"system": f"{BENHAN}/CodeSystem/record-origin", "code": "his-bhyt-xml",
          "display": "Nhập từ bảng XML BHYT của phần mềm cũ"}
HIS_PATIENT_SYSTEM = "https://benhan.vn/sid/his-ma-bn"     # MA_BN of the old HIS, per facility (below)
INDICATOR_SYSTEM = "https://benhan.vn/sid/ma-chi-so"       # MA_CHI_SO of XML4 (QĐ 1227/2025)
IMPORTED = ("XML1", "XML2", "XML3", "XML4", "XML5")
# MA_LOAI_KCB → (encounter kind, class): the first kind the desk's list gives each code.
_VISIT = {}
for _kind, _name, _klass, _loai in ENCOUNTER_TYPES:
    _VISIT.setdefault(_loai, (_kind, _name, _klass))
_DISCHARGE = {"1": "home", "2": "other-hcf", "3": "oth", "4": "aadvice"}   # MA_LOAI_RV (claims.record, reversed)
_KIND = {name: {f.name: f.kind for f in fields} for name, fields in FIELDS.items()}
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


FILE = "\x00file"          # the file a row came from, kept in the row (no tag can have this name)


class RowProblem(Exception):
    """A row that cannot be mapped; the message is the reason."""


# --- values ----------------------------------------------------------------------------------------
def _text(row: dict, name: str) -> str:
    return (row.get(name) or "").strip()


def _moment(row: dict, name: str, *, required: bool = False) -> str | None:
    """A T field (yyyyMMddHHmm, the facility's local time) as a FHIR dateTime with its offset."""
    value = _text(row, name)
    if not value:
        if required:
            raise RowProblem(f"{name} trống | is empty")
        return None
    try:
        if len(value) != 12 or not value.isdigit():
            raise ValueError
        moment = datetime.strptime(value, "%Y%m%d%H%M")
        if not 1900 <= moment.year <= 2100:
            raise ValueError
    except ValueError:
        raise RowProblem(f"{name}: ngày giờ sai | bad date {value!r} (yyyyMMddHHmm)") from None
    return moment.replace(tzinfo=local_zone()).isoformat(timespec="seconds")


def _birth(value: str) -> str:
    """NGAY_SINH yyyyMMddHHmm (HHmm 0000 when unknown; month/day 00 when only the year is known)."""
    digits = value.strip()
    if len(digits) not in (8, 12) or not digits.isdigit():
        raise RowProblem(f"NGAY_SINH: ngày sinh sai | bad birth date {value!r}")
    y, m, d = digits[:4], digits[4:6], digits[6:8]
    try:
        if m == "00":
            text = y
        elif d == "00":
            datetime(int(y), int(m), 1)
            text = f"{y}-{m}"
        else:
            datetime(int(y), int(m), int(d))
            text = f"{y}-{m}-{d}"
        if not 1880 <= int(y) <= 2100:
            raise ValueError
    except ValueError:
        raise RowProblem(f"NGAY_SINH: ngày sinh sai | bad birth date {value!r}") from None
    return text


def _quantity(row: dict, name: str, unit_field: str) -> dict | None:
    value = _text(row, name)
    if not value:
        return None
    if not _NUMBER.match(value):
        raise RowProblem(f"{name}: không phải số | not a number {value!r}")
    try:
        Decimal(value)
    except InvalidOperation:
        raise RowProblem(f"{name}: không phải số | not a number {value!r}") from None
    out: dict = {"value": JsonDecimal(value)}
    if _text(row, unit_field):
        out["unit"] = _text(row, unit_field)
    return out


@cache
def _icd10() -> dict[str, tuple[str, str]]:
    """ICD-10 codes of the packaged lists (TT 06/2026 and QĐ 4469), by code without the dot → (code, name)."""
    out: dict[str, tuple[str, str]] = {}
    for source in (sources.ICD10_QD4469, sources.ICD10_TT06):
        for r in sources.rows(source):
            out[r["code"].replace(".", "").upper()] = (r["code"], r["name_vi"])
    return out


def _ref(res_type: str, res_id: str) -> dict:
    return {"reference": f"{res_type}/{res_id}"}


# --- the import ------------------------------------------------------------------------------------
@dataclass
class _Episode:
    file: str
    facility: str
    ma_lk: str
    xml1: dict | None = None
    rows: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))


class HisImporter:
    def __init__(self, repo: Repository, report: HisReport):
        self.repo = repo
        self.report = report

    def meta(self, episode: _Episode) -> dict:
        name = quote(Path(episode.file).name, safe="")
        return {"source": f"{SOURCE_BASE}/{quote(episode.facility or '-', safe='')}/{name}", "tag": [ORIGIN]}

    def rid(self, episode: _Episode, *parts: str) -> str:
        return str(uuid.uuid5(NAMESPACE, "|".join((episode.facility, episode.ma_lk, *parts))))

    # --- XML1
    def patient(self, ep: _Episode, row: dict, out: list[dict]) -> str:
        """The Patient's id: an existing one (by CCCD, then by card), else a new one from this row."""
        report, file = self.report, ep.file
        cccd = re.sub(r"\s", "", _text(row, "SO_CCCD"))
        if cccd and cccd_problems(cccd):
            report.problem(file, "XML1", ep.ma_lk, _text(row, "STT"), f"SO_CCCD {cccd!r}: {cccd_problems(cccd)[0]}; "
                           "người bệnh nhập không có CCCD | patient imported without it", mapped=True)
            cccd = ""
        card = normalize(_text(row, "MA_THE_BHYT").split(";")[0]) if _text(row, "MA_THE_BHYT") else ""
        if card and bhyt_problems(card):
            card = ""
        found = find_by_cccd(self.repo, cccd) if cccd else None
        if found is None and card:
            hits = self.repo.search_type("Patient", [("identifier", f"{BHYT_SYSTEM}|{card}"), ("_count", "2")]).matches
            found = hits[0].res_id if len(hits) == 1 else None
        if found is None and not cccd:
            report.problem(file, "XML1", ep.ma_lk, _text(row, "STT"), "không có CCCD: người bệnh tìm theo MA_BN của "
                           "phần mềm cũ | no CCCD: the patient is matched by the old HIS's MA_BN only", mapped=True)
        if found is not None:
            report.patients_matched += 1
            return found
        pid = str(uuid.uuid5(NAMESPACE, f"cccd|{cccd}" if cccd else f"ma-bn|{ep.facility}|{_text(row, 'MA_BN')}"))
        name = _text(row, "HO_TEN")
        if not name:
            raise RowProblem("HO_TEN trống | is empty")
        words = name.split()
        human: dict = {"use": "official", "text": " ".join(words)}
        if len(words) >= 2:
            human.update(family=words[0], given=words[1:])
        identifiers = []
        if cccd:
            identifiers.append({"use": "official", "system": CCCD_SYSTEM, "value": cccd})
        if card and card != cccd:
            identifiers.append({"system": BHYT_SYSTEM, "value": card})
        if _text(row, "MA_BN"):
            identifiers.append({"use": "old", "system": f"{HIS_PATIENT_SYSTEM}/{ep.facility or '-'}",
                                "value": _text(row, "MA_BN")})
        body: dict = {"resourceType": "Patient", "id": pid, "meta": self.meta(ep), "identifier": identifiers,
                      "active": True, "name": [human],
                      "gender": {"1": "male", "2": "female"}.get(_text(row, "GIOI_TINH"), "unknown")}
        ethnicity = _text(row, "MA_DANTOC").zfill(2) if _text(row, "MA_DANTOC") else ""
        if ethnicity in dict(ethnicities()):
            body["extension"] = [{"url": ETHNICITY_EXT, "valueCodeableConcept": {"coding": [
                {"system": ETHNICITY_URL, "code": ethnicity, "display": dict(ethnicities())[ethnicity]}]}}]
        if _text(row, "NGAY_SINH"):
            try:
                body["birthDate"] = _birth(_text(row, "NGAY_SINH"))
            except RowProblem as exc:
                report.problem(file, "XML1", ep.ma_lk, _text(row, "STT"), f"{exc}; không ghi ngày sinh | "
                               "birth date left out", mapped=True)
        if _text(row, "DIEN_THOAI"):
            body["telecom"] = [{"system": "phone", "value": _text(row, "DIEN_THOAI")}]
        if _text(row, "DIA_CHI"):
            body["address"] = [{"use": "home", "text": _text(row, "DIA_CHI"), "country": "VN"}]
        out.append(body)
        report.patients_new += 1
        return pid

    def encounter(self, ep: _Episode, row: dict, pid: str, out: list[dict]) -> str:
        stt = _text(row, "STT")
        start = _moment(row, "NGAY_VAO", required=True)
        end = _moment(row, "NGAY_RA")
        eid = self.rid(ep, "Encounter")
        loai = _text(row, "MA_LOAI_KCB")
        kind, kind_name, klass = _VISIT.get(loai, ("", "", "AMB"))
        body: dict = {"resourceType": "Encounter", "id": eid, "meta": self.meta(ep), "status": "finished",
                      "identifier": [{"system": MA_LK_SYSTEM, "value": ep.ma_lk}],
                      "class": {"system": ACT_CODE, "code": klass}}
        if kind:
            body["type"] = [{"coding": [{"system": ENCOUNTER_TYPE_URL, "code": kind, "display": kind_name}]}]
        elif loai:
            self.report.problem(ep.file, "XML1", ep.ma_lk, stt, f"MA_LOAI_KCB {loai!r}: mã không biết | unknown "
                                "code; lượt khám nhập là khám ngoại trú | imported as an outpatient visit", mapped=True)
        body["subject"] = _ref("Patient", pid)
        body["period"] = {"start": start, **({"end": end} if end and end >= start else {})}
        if _text(row, "LY_DO_VV"):
            body["reasonCode"] = [{"text": _text(row, "LY_DO_VV")}]
        diagnoses = []
        codes = [("MA_BENH_CHINH", _text(row, "MA_BENH_CHINH"))] + [
            ("MA_BENH_KT", c.strip()) for c in _text(row, "MA_BENH_KT").split(";") if c.strip()]
        for rank, (fname, code) in enumerate((c for c in codes if c[1]), start=1):
            known = _icd10().get(code.replace(".", "").upper())
            if known is None:
                self.report.problem(ep.file, "XML1", ep.ma_lk, stt, f"{fname} {code!r}: mã ICD-10 không có | unknown "
                                    "ICD-10 code; chẩn đoán này không nhập | this diagnosis is left out", mapped=True)
                continue
            cid = self.rid(ep, "Condition", known[0])
            out.append({"resourceType": "Condition", "id": cid, "meta": self.meta(ep),
                        "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                           "condition-ver-status", "code": "confirmed"}]},
                        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                                  "code": "encounter-diagnosis"}]}],
                        "code": {"coding": [{"system": icd10.URL, "code": known[0], "display": known[1]}],
                                 "text": known[1]},
                        "subject": _ref("Patient", pid), "encounter": _ref("Encounter", eid),
                        "recordedDate": end or start})
            diagnoses.append({"condition": _ref("Condition", cid),
                              "use": {"coding": [{"system": ROLE, "code": "DD"}]}, "rank": len(diagnoses) + 1})
        if diagnoses:
            body["diagnosis"] = diagnoses
        result = _text(row, "KET_QUA_DTRI")
        if result in RESULTS:
            body["extension"] = [{"url": RESULT_EXT, "valueCoding": {"system": RESULT_SYSTEM, "code": result,
                                                                     "display": RESULTS[result][0]}}]
        disposition = _DISCHARGE.get(_text(row, "MA_LOAI_RV"))
        if result == "5":
            disposition = "exp"
        if disposition:
            body["hospitalization"] = {"dischargeDisposition": {"coding": [{"system": DISPOSITION,
                                                                           "code": disposition}]}}
        out.insert(0, body)
        return eid

    # --- XML2 … XML5: one resource per row
    def drug(self, ep: _Episode, row: dict, pid: str, eid: str) -> dict:
        code = _text(row, "MA_THUOC")
        if not code:
            raise RowProblem("MA_THUOC trống | is empty")
        name = _text(row, "TEN_THUOC") or code
        body: dict = {"resourceType": "MedicationRequest", "id": self.rid(ep, "XML2", _text(row, "STT")),
                      "meta": self.meta(ep), "status": "completed", "intent": "order",
                      "medicationCodeableConcept": {"coding": [{"system": CODE_SYSTEM[DRUG], "code": code,
                                                                "display": name}],
                                                    "text": " ".join(x for x in (name, _text(row, "HAM_LUONG")) if x)},
                      "subject": _ref("Patient", pid), "encounter": _ref("Encounter", eid),
                      "authoredOn": _moment(row, "NGAY_YL", required=True)}
        dose = "; ".join(x for x in (_text(row, "LIEU_DUNG"), _text(row, "CACH_DUNG")) if x)
        route = _text(row, "DUONG_DUNG")
        if dose or route:
            body["dosageInstruction"] = [{**({"text": dose} if dose else {}),
                                          **({"route": {"text": route}} if route else {})}]
        quantity = _quantity(row, "SO_LUONG", "DON_VI_TINH")
        if quantity:
            body["dispenseRequest"] = {"quantity": quantity}
        return body

    def service(self, ep: _Episode, row: dict, pid: str, eid: str) -> dict:
        service, supply = _text(row, "MA_DICH_VU"), _text(row, "MA_VAT_TU")
        if not service and not supply:
            raise RowProblem("không có MA_DICH_VU hay MA_VAT_TU | neither MA_DICH_VU nor MA_VAT_TU")
        authored = _moment(row, "NGAY_YL", required=True)
        done = _moment(row, "NGAY_TH_YL")
        quantity = _quantity(row, "SO_LUONG", "DON_VI_TINH")
        common = {"id": self.rid(ep, "XML3", _text(row, "STT")), "meta": self.meta(ep), "status": "completed",
                  "intent": "order"}
        if service:
            name = _text(row, "TEN_DICH_VU") or service
            body: dict = {"resourceType": "ServiceRequest", **common,
                          "code": {"coding": [{"system": CODE_SYSTEM[SERVICE], "code": service, "display": name}],
                                   "text": name}}
            if quantity:
                body["quantityQuantity"] = quantity
            body.update({"subject": _ref("Patient", pid), "encounter": _ref("Encounter", eid)})
            if done:
                body["occurrenceDateTime"] = done
            body["authoredOn"] = authored
            return body
        name = _text(row, "TEN_VAT_TU") or supply
        body = {"resourceType": "DeviceRequest", **common,
                "codeCodeableConcept": {"coding": [{"system": CODE_SYSTEM[SUPPLY], "code": supply, "display": name}],
                                        "text": name}}
        if quantity:
            body["parameter"] = [{"code": {"text": "quantity"}, "valueQuantity": quantity}]
        body.update({"subject": _ref("Patient", pid), "encounter": _ref("Encounter", eid), "authoredOn": authored})
        if done:
            body["occurrenceDateTime"] = done
        return body

    def result(self, ep: _Episode, row: dict, pid: str, eid: str) -> dict:
        service, indicator = _text(row, "MA_DICH_VU"), _text(row, "MA_CHI_SO")
        if not service and not indicator:
            raise RowProblem("không có MA_DICH_VU hay MA_CHI_SO | neither MA_DICH_VU nor MA_CHI_SO")
        name = _text(row, "TEN_CHI_SO") or indicator or service
        codings = []
        if indicator:
            codings.append({"system": INDICATOR_SYSTEM, "code": indicator, "display": name})
        if service:
            codings.append({"system": CODE_SYSTEM[SERVICE], "code": service})
        when = _moment(row, "NGAY_KQ")
        body: dict = {"resourceType": "Observation", "id": self.rid(ep, "XML4", _text(row, "STT")),
                      "meta": self.meta(ep), "status": "final",
                      "category": [{"coding": [{"system": OBS_CATEGORY, "code": "laboratory"}]}],
                      "code": {"coding": codings, "text": name},
                      "subject": _ref("Patient", pid), "encounter": _ref("Encounter", eid)}
        if when:
            body["effectiveDateTime"] = when
            body["issued"] = when
        value = _text(row, "GIA_TRI")
        if value and _NUMBER.match(value):
            body["valueQuantity"] = _quantity(row, "GIA_TRI", "DON_VI_DO")
        elif value:
            body["valueString"] = value
        notes = [x for x in (_text(row, "MO_TA"), _text(row, "KET_LUAN")) if x]
        if notes:
            body["note"] = [{"text": n} for n in notes]
        return body

    def progress(self, ep: _Episode, row: dict, pid: str, eid: str) -> dict:
        text = _text(row, "DIEN_BIEN_LS")
        if not text:
            raise RowProblem("DIEN_BIEN_LS trống | is empty")
        when = _moment(row, "THOI_DIEM_DBLS", required=True)
        body: dict = {"resourceType": "ClinicalImpression", "id": self.rid(ep, "XML5", _text(row, "STT")),
                      "meta": self.meta(ep), "status": "completed",
                      "code": {"coding": [{"system": NOTE_SYSTEM, "code": "progress", "display": KINDS["progress"]}],
                               "text": KINDS["progress"]},
                      "subject": _ref("Patient", pid), "encounter": _ref("Encounter", eid),
                      "effectiveDateTime": when, "date": when, "summary": text}
        notes = [f"{label}: {_text(row, f)}" for f, label in (("GIAI_DOAN_BENH", "Giai đoạn bệnh"),
                                                             ("HOI_CHAN", "Hội chẩn"), ("PHAU_THUAT", "Phẫu thuật"),
                                                             ("NGUOI_THUC_HIEN", "Người thực hiện")) if _text(row, f)]
        if notes:
            body["note"] = [{"text": n} for n in notes]
        return body

    # --- one episode, one transaction
    def episode(self, ep: _Episode) -> None:
        report = self.report
        report.episodes += 1
        resources: list[dict] = []
        counted: list[tuple[str, str, str | None, str]] = []      # (table, stt, reason or None, file)
        try:
            pid = self.patient(ep, ep.xml1 or {}, resources)
            eid = self.encounter(ep, ep.xml1 or {}, pid, resources)
        except RowProblem as exc:
            self._episode_failed(ep, f"{exc}", "XML1")
            return
        counted.append(("XML1", _text(ep.xml1 or {}, "STT"), None, ep.file))
        for table, build in (("XML2", self.drug), ("XML3", self.service), ("XML4", self.result),
                             ("XML5", self.progress)):
            for row in ep.rows.get(table, []):
                try:
                    resources.append(build(ep, row, pid, eid))
                    counted.append((table, _text(row, "STT"), None, row.get(FILE, ep.file)))
                except RowProblem as exc:
                    counted.append((table, _text(row, "STT"), str(exc), row.get(FILE, ep.file)))
        try:
            pending = [self.repo.prepare("PUT", r["resourceType"], r["id"], r) for r in resources]
            stored = self.repo.commit(pending, "update")
        except errors.BenhanError as exc:
            where = f" [{exc.expression}]" if exc.expression else ""
            self._episode_failed(ep, f"{exc.code}: {exc.message}{where}", "XML1", counted)
            return
        for s in stored:
            key = "unchanged" if s.noop else "created" if s.created else "updated"
            report.resources[key] += 1
        for table, stt, reason, file in counted:
            report.row(table, reason is None)
            if reason is not None:
                report.problem(file, table, ep.ma_lk, stt, reason)

    def _episode_failed(self, ep: _Episode, reason: str, table: str, counted=()) -> None:  # noqa: ANN001
        """Nothing of the episode is written: its XML1 and every other row count as not mapped."""
        report = self.report
        report.episodes_failed += 1
        report.row("XML1", False)
        report.problem(ep.file, table, ep.ma_lk, _text(ep.xml1 or {}, "STT"), reason)
        for t in IMPORTED[1:]:
            for _ in ep.rows.get(t, []):
                report.row(t, False)
        for t, stt, row_reason, file in counted:
            if t != "XML1" and row_reason is not None:
                report.problem(file, t, ep.ma_lk, stt, row_reason)


def _episodes(parts: list[tuple[str, str, Table]], report: HisReport) -> list[_Episode]:
    """Rows grouped by MA_LK (from one envelope, or from the table files of a folder: XML1.xml,
    XML2.xml …); rows of tables not imported, and rows with no XML1, reported."""
    by_lk: dict[str, _Episode] = {}
    for file, facility, table in parts:
        for row in table.rows:
            row[FILE] = file
            ma_lk = _text(row, "MA_LK")
            if table.name not in IMPORTED:
                report.row(table.name, False)
                report.problem(file, table.name, ma_lk, _text(row, "STT"), "bảng này chưa được nhập | this table is "
                               "not imported (XML1–XML5 are)")
                continue
            if not ma_lk:
                report.row(table.name, False)
                report.problem(file, table.name, "", _text(row, "STT"), "MA_LK trống | is empty")
                continue
            ep = by_lk.setdefault(ma_lk, _Episode(file, facility or _text(row, "MA_CSKCB"), ma_lk))
            if table.name == "XML1":
                if ep.xml1 is not None:
                    report.row("XML1", False)
                    report.problem(file, "XML1", ma_lk, _text(row, "STT"),
                                   "MA_LK lặp lại trong XML1 | repeated in XML1")
                    continue
                ep.xml1, ep.file = row, file
                ep.facility = facility or _text(row, "MA_CSKCB")
            else:
                ep.rows[table.name].append(row)
    out = []
    for ep in by_lk.values():
        if ep.xml1 is None:
            for t, rows in ep.rows.items():
                for row in rows:
                    report.row(t, False)
                    report.problem(row[FILE], t, ep.ma_lk, _text(row, "STT"), "không có XML1 cho MA_LK này | no XML1 "
                                   "for this MA_LK")
            continue
        out.append(ep)
    return out


def import_files(repo: Repository, paths: list[Path]) -> HisReport:
    """Import every file (a folder: its *.xml); a file that cannot be read is reported, the others go
    on. An envelope's episodes are written as it is read; table files are put together by MA_LK
    and written at the end."""
    report = HisReport()
    importer = HisImporter(repo, report)
    loose: list[tuple[str, str, Table]] = []
    for path in his_read.xml_files(paths):
        report.files.append(str(path))
        try:
            read = his_read.read(path)
        except errors.ImportUnreadable as exc:
            report.file_errors.append({"file": str(path), "reason": exc.message})
            continue
        for table, reason in read.problems:
            report.file_errors.append({"file": str(path), "reason": f"{table}: {reason}"})
        parts = [(str(path), read.facility, t) for t in read.tables]
        if read.envelope:
            for ep in _episodes(parts, report):
                importer.episode(ep)
        else:
            loose += parts
    for ep in _episodes(loose, report):
        importer.episode(ep)
    _audit(repo, report)
    return report


def _audit(repo: Repository, report: HisReport) -> None:
    actor: Actor = repo.actor
    detail = {"kind": "bhyt-xml", "files": [Path(f).name for f in report.files][:50], "episodes": report.episodes,
              "episodesFailed": report.episodes_failed, **report.resources, "tables": report.tables}
    audit_log.append(repo.store.db, [AuditRecord(
        recorded=now_us(), interaction="import", subtype="import", agent=actor.name,
        source_address=actor.source_address,
        role=" ".join(actor.roles) or None, outcome="0" if report.ok else "4", query="benhan import bhyt-xml",
        detail=json.dumps(detail, ensure_ascii=False, sort_keys=True))])
