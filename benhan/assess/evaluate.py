"""Judging the checklist against the live installation, and keeping the council's answers.

An automatic item is met or not met from what the software reads (counts over the indexes, the
backup status, the audit chain, the sync status — `benhan doctor`'s own checks where it has one);
a question is unanswered until the facility answers it with a document reference, which is stored
and audited. The report is plain data (`as_json`); report_pdf.py prints it.
"""
from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from benhan import errors
from benhan.assess.checklist import BY_ID, ITEMS, Item
from benhan.ops import doctor
from benhan.store import assess_tables as at
from benhan.store import audit_log
from benhan.store.audit_log import AuditRecord
from benhan.store.store import Store
from benhan.terminology.icd10 import URL as ICD10_SYSTEM
from benhan.vn.identifiers import CCCD_SYSTEM

MET, NOT_MET, UNANSWERED = "met", "not_met", "unanswered"
STATUS_VI = {MET: "Đạt", NOT_MET: "Chưa đạt", UNANSWERED: "Chưa trả lời"}
STATUS_EN = {MET: "Met", NOT_MET: "Not met", UNANSWERED: "Unanswered"}
CCCD_SHARE, ICD10_SHARE = 0.90, 0.95
REPORT_KIND = "benhan-emr-self-assessment"


@dataclass
class Outcome:
    item: Item
    status: str
    evidence: tuple[str, str]               # (Vietnamese, English)
    answer: at.Answer | None = None

    def as_json(self) -> dict:
        out = {"id": self.item.id, "source": self.item.source,
               "requirement": {"vi": self.item.vi, "en": self.item.en},
               "how": "automatic" if self.item.automatic else "question", "status": self.status,
               "evidence": {"vi": self.evidence[0], "en": self.evidence[1]}}
        if self.answer is not None:
            out["answer"] = {"met": self.answer.met, "ref": self.answer.ref, "by": self.answer.answered_by,
                             "at": _iso(self.answer.answered_at)}
        return out


@dataclass
class Assessment:
    generated_at: dt.datetime
    facility: dict
    node_id: str
    outcomes: list[Outcome]
    metrics: dict = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    def as_json(self) -> dict:
        return {"kind": REPORT_KIND, "version": 1, "generated_at": self.generated_at.isoformat(timespec="seconds"),
                "facility": self.facility, "node_id": self.node_id,
                "summary": {"met": self.count(MET), "not_met": self.count(NOT_MET),
                            "unanswered": self.count(UNANSWERED), "total": len(self.outcomes)},
                "metrics": self.metrics, "items": [o.as_json() for o in self.outcomes]}


def _iso(us: int | None) -> str | None:
    return dt.datetime.fromtimestamp(us / 1e6, dt.timezone.utc).isoformat(timespec="seconds") if us else None


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.1f} %)" if whole else "0/0"


def _vi(share: str) -> str:
    return share.replace(".", ",")      # 97,5 % as Vietnamese writes it


# --- facts read once per assessment ------------------------------------------------------------------

@dataclass
class Facts:
    store: Store
    now: dt.datetime
    doctor: dict[str, doctor.Result]
    patients: int = 0
    with_cccd: int = 0
    conditions: int = 0
    with_icd10: int = 0
    discharge: int = 0
    signed: int = 0
    claims_sent: int = 0
    accounts: at.Accounts | None = None
    missing_lists: list[str] = field(default_factory=list)


def _facts(store: Store, now: dt.datetime) -> Facts:
    from benhan.terminology.load import missing
    checks = (doctor.check_backups, doctor.check_https, doctor.check_audit_chain, doctor.check_sync)
    found = doctor.run(store.config, now=now, db=store.db, checks=checks)
    f = Facts(store, now, {r.id: r for r in found.results})
    now_us = int(now.timestamp() * 1e6)
    with store.db.read() as conn:
        f.patients = at.count_resources(conn, "Patient")
        f.with_cccd = at.count_with_token(conn, "Patient", "identifier", CCCD_SYSTEM)
        f.conditions = at.count_resources(conn, "Condition")
        f.with_icd10 = at.count_with_token(conn, "Condition", "code", ICD10_SYSTEM)
        f.discharge, f.signed = at.discharge_papers(conn)
        f.claims_sent = at.claims_sent(conn)
        f.accounts = at.accounts(conn, now_us)
    f.missing_lists = missing(store)
    return f


def _from_doctor(f: Facts, check_id: str, *, warn_is_met: bool = False) -> tuple[bool, tuple[str, str]]:
    r = f.doctor.get(check_id)
    if r is None:
        return False, ("không kiểm tra được", "could not be checked")
    met = r.status == doctor.OK or (warn_is_met and r.status == doctor.WARN)
    return met, r.evidence


def _cccd(f: Facts):
    share = _share(f.with_cccd, f.patients)
    return (f.patients > 0 and f.with_cccd >= CCCD_SHARE * f.patients,
            (f"{_vi(share)} người bệnh có số định danh cá nhân", f"{share} patients have a personal ID number"))


def _backup(f: Facts):
    return _from_doctor(f, "backup.age")


def _restore_test(f: Facts):
    return _from_doctor(f, "backup.restore_test")


def _second_copy(f: Facts):
    from benhan.store import backup_status
    st = backup_status.status(f.store.config.backups)
    if st.second_place_ok:
        return True, ("bản sao thứ hai đã chép thành công", "the second copy was written")
    if st.second_place_ok is False:
        return False, (f"chép bản sao thứ hai lỗi: {st.second_place_error}", f"the second copy failed: "
                       f"{st.second_place_error}")
    return False, ("chưa cấu hình nơi lưu bản sao thứ hai", "no second place configured")


def _signatures(f: Facts):
    share = _share(f.signed, f.discharge)
    if not f.discharge:
        return False, ("chưa có giấy ra viện/tóm tắt ra viện nào", "no discharge summary yet")
    return (f.signed == f.discharge, (f"{_vi(share)} giấy ra viện/tóm tắt ra viện đã ký số",
                                      f"{share} discharge summaries digitally signed"))


def _pdf(f: Facts):
    return True, ("benhan in các mẫu TT 32/2023 ra PDF (trang hồ sơ → In)",
                  "benhan prints the TT 32/2023 forms as PDF (record page → Print)")


def _roles(f: Facts):
    a = f.accounts
    return (a.active > 0 and a.without_role == 0,
            (f"{a.active - a.without_role}/{a.active} tài khoản đang dùng có vai trò",
             f"{a.active - a.without_role}/{a.active} active accounts have a role"))


def _access_hours(f: Facts):
    a = f.accounts
    return (a.with_hours > 0, (f"{a.with_hours}/{a.active} tài khoản có khung giờ truy cập",
                               f"{a.with_hours}/{a.active} accounts have an access time window"))


def _export(f: Facts):
    return True, ("xuất HoSoBenhAn XML/JSON: benhan export hosobenhan, GET /hosobenhan/…",
                  "HoSoBenhAn XML/JSON export: benhan export hosobenhan, GET /hosobenhan/…")


def _audit(f: Facts):
    return _from_doctor(f, "audit_chain")


def _code_lists(f: Facts):
    if f.missing_lists:
        return False, ("chưa nạp: " + ", ".join(f.missing_lists), "not loaded: " + ", ".join(f.missing_lists))
    return True, ("đã nạp đủ các danh mục (benhan terminology load)", "every list is loaded (benhan terminology load)")


def _icd10(f: Facts):
    share = _share(f.with_icd10, f.conditions)
    return (f.conditions > 0 and f.with_icd10 >= ICD10_SHARE * f.conditions,
            (f"{_vi(share)} chẩn đoán có mã ICD-10", f"{share} diagnoses carry an ICD-10 code"))


def _https(f: Facts):
    return _from_doctor(f, "https")


def _sync(f: Facts):
    if f.store.config.role != "node":
        return False, (f"chưa kết nối hub (vai trò: {f.store.config.role or 'độc lập'})",
                       f"not connected to a hub (role: {f.store.config.role or 'standalone'})")
    return _from_doctor(f, "sync", warn_is_met=True)


def _admin_mfa(f: Facts):
    a = f.accounts
    return (a.admins > 0 and a.admins_with_mfa == a.admins,
            (f"{a.admins_with_mfa}/{a.admins} tài khoản quản trị bật xác thực nhiều yếu tố",
             f"{a.admins_with_mfa}/{a.admins} administrator accounts use MFA"))


def _idle_accounts(f: Facts):
    a = f.accounts
    return (a.idle_45_days == 0, (f"{a.idle_45_days} tài khoản còn bật nhưng không dùng quá 45 ngày",
                                  f"{a.idle_45_days} enabled accounts unused for over 45 days"))


CHECKS: dict[str, Callable[[Facts], tuple[bool, tuple[str, str]]]] = {
    "cccd": _cccd, "backup": _backup, "restore_test": _restore_test, "second_copy": _second_copy,
    "signatures": _signatures, "pdf": _pdf, "roles": _roles, "access_hours": _access_hours, "export": _export,
    "audit": _audit, "code_lists": _code_lists, "icd10": _icd10, "https": _https, "sync": _sync,
    "admin_mfa": _admin_mfa, "idle_accounts": _idle_accounts,
}


def _facility(store: Store) -> dict:
    from benhan.auth.actor import Actor
    from benhan.store.repository import Repository
    repo = Repository(store, Actor.system("assess"))
    found = repo.search_type("Organization", [("_count", "50")])
    orgs = [m.json() for m in found.matches]
    # The facility: the Organization with a MA_CSKCB (identifier), else the first one.
    org = next((o for o in orgs if o.get("identifier")), orgs[0] if orgs else {})
    address = (org.get("address") or [{}])[0]
    code = next((i.get("value", "") for i in org.get("identifier", []) if i.get("value")), "")
    return {"name": org.get("name") or "benhan", "code": code,
            "province": address.get("state") or None, "commune": address.get("city") or address.get("district")
            or None}


def assess(store: Store, *, now: dt.datetime | None = None) -> Assessment:
    now = now or dt.datetime.now(dt.timezone.utc)
    f = _facts(store, now)
    with store.db.read() as conn:
        given = at.answers(conn)
    outcomes = []
    for item in ITEMS:
        if item.automatic:
            try:
                met, evidence = CHECKS[item.check](f)
            except Exception as exc:  # noqa: BLE001 - a check that cannot run is "not met", saying why
                met, evidence = False, (f"không kiểm tra được: {type(exc).__name__}", f"could not be checked: {exc}")
            outcomes.append(Outcome(item, MET if met else NOT_MET, evidence))
        else:
            a = given.get(item.id)
            if a is None:
                outcomes.append(Outcome(item, UNANSWERED, ("chưa có văn bản", "no document yet")))
            else:
                who = f"{a.ref} — {a.answered_by}, {_iso(a.answered_at)[:10]}"
                outcomes.append(Outcome(item, MET if a.met else NOT_MET, (who, who), a))
    backup = f.doctor.get("backup.age")
    metrics = {"patients": f.patients, "patients_with_cccd": f.with_cccd, "conditions": f.conditions,
               "conditions_with_icd10": f.with_icd10, "discharge_papers": f.discharge, "discharge_signed": f.signed,
               "signed_share": round(f.signed / f.discharge, 4) if f.discharge else None,
               "claims_sent": f.claims_sent,
               "backup_ok": backup is not None and backup.status == doctor.OK,
               "last_backup": _iso((backup.numbers or {}).get("last_success_us")) if backup else None}
    return Assessment(now, _facility(store), store.node_id, outcomes, metrics)


def answer(store: Store, item_id: str, *, ref: str, by: str, met: bool = True) -> at.Answer:
    """Record the facility's answer to a question item (the document that shows it), audited."""
    item = BY_ID.get(item_id)
    if item is None:
        raise errors.InvalidUserSetting(f"no checklist item {item_id!r} (benhan assess lists them)")
    if item.automatic:
        raise errors.InvalidUserSetting(f"item {item_id} is checked automatically; it takes no answer")
    ref, by = ref.strip(), by.strip()
    if not ref or len(ref) > 500:
        raise errors.InvalidUserSetting("--ref: the document's number and date (1–500 characters)")
    if not by or len(by) > 200:
        raise errors.InvalidUserSetting("--by: who answers (1–200 characters)")
    now = time.time_ns() // 1000
    given = at.Answer(item_id, met, ref, by, now)
    with store.db.write() as conn:
        at.put_answer(conn, given)
        audit_log.write(conn, [AuditRecord(recorded=now, interaction="update", agent=by[:128], subtype="assess-answer",
                                           detail=json.dumps({"item": item_id, "met": met, "ref": ref},
                                                             ensure_ascii=False))])
    return given
