"""The check-in (XML0) at the first cost of a BHYT visit (vietnam-billing.md §3.4, QĐ 130 Đ3 k1 as
amended by QĐ 4750 Đ2): sent when the visit has its first chargeable item, again at the first cost in
an inpatient, day-care or outpatient-treatment ward; never for an emergency (MA_DOITUONG_KCB 2) nor
without a card. It is a status message only (never a basis for payment).

One check-in per visit and per visit type: the idempotency key is ``bhyt-checkin:<MA_LK>:<MA_LOAI_KCB>``,
not a hash of the content. XML0 carries the first line and the provisional object code, which may
change as the record grows; a content key would check the visit in again at the end. A ward
admission is a new Encounter in benhan (its own MA_LK, MA_LOAI_KCB 03/04), so it gets its own
check-in; a visit whose type changes is checked in again under the new type.

It is queued by the serve worker (claims/runner.py, ``scan``), not where an order or a prescription
is written: the clinical act never waits or fails because of the gateway, every way a cost enters
the record (the web, the API, sync) is covered, and a round missed is caught up by the next.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime

from benhan import errors
from benhan.billing.lines import ChargeLine
from benhan.claims import service
from benhan.claims.episode import Episode
from benhan.claims.record import VISIT_TYPES, episode_or_why
from benhan.clinical.visits import is_inpatient, kind_of
from benhan.outbox.queue import Outbox
from benhan.signing import xmldsig
from benhan.vn.identifiers import MA_LK_SYSTEM

log = logging.getLogger(__name__)
CLOSED = ("cancelled", "entered-in-error")


def key_for(ma_lk: str, visit_type: str) -> str:
    return f"{service.CHECKIN}:{ma_lk}:{visit_type}"


def queue(outbox: Outbox, ep: Episode, lines: list[ChargeLine], key: xmldsig.XmlKey,
          made: datetime) -> tuple[int, bool] | None:
    """Queue the visit's check-in once per visit type; (the message, whether new), or None when no
    check-in is due (no card, an emergency). Raises ClaimInvalid / SealNotConfigured like a claim."""
    idem = key_for(ep.ma_lk, ep.visit_type)
    if not ep.insured or ep.object_code == "2":
        return None
    known = outbox.by_key(idem)
    if known is not None:                 # not signed again: the first one stands
        return known.pk, False
    prepared = service.prepare_checkin(ep, lines, key, made)
    if prepared is None:
        return None
    if not prepared.report.ok:
        raise errors.ClaimInvalid(prepared.report.text())
    if prepared.signed is None:
        raise errors.SealNotConfigured("chưa có con dấu số của cơ sở để ký hồ sơ | the facility seal is needed to sign")
    return outbox.put(service.CHECKIN, idem, ep.ma_lk, prepared.signed, patient=ep.name)


@dataclass
class Scan:
    queued: list[str] = field(default_factory=list)       # MA_LK checked in by this round
    invalid: list[str] = field(default_factory=list)      # MA_LK whose XML0 does not validate (logged)


def _ma_lk(res_id: str, encounter: dict) -> str:
    return next((i.get("value", "") for i in encounter.get("identifier", []) if i.get("system") == MA_LK_SYSTEM),
                "") or res_id


def _visit_type(encounter: dict) -> str:
    """MA_LOAI_KCB as claims/record.py derives it, without reading the whole record."""
    return VISIT_TYPES.get(kind_of(encounter), "03" if is_inpatient(encounter) else "01")


def scan(repo, outbox: Outbox, key: xmldsig.XmlKey, since: date, now: datetime) -> Scan:  # noqa: ANN001
    """Check in every BHYT visit active since ``since`` that has at least one charge line and no
    check-in yet for its visit type. A visit already checked in costs one outbox look-up, not a
    recomputation of its bill."""
    result = Scan()
    cursor = None
    while True:
        page = repo.search_type("Encounter", [("date", f"ge{since.isoformat()}"), ("_count", "200")]
                                + ([("_cursor", cursor)] if cursor else []))
        for match in page.matches:
            encounter = match.json()
            if encounter.get("status") in CLOSED:
                continue
            if outbox.by_key(key_for(_ma_lk(match.res_id, encounter), _visit_type(encounter))) is not None:
                continue
            made = episode_or_why(repo, match.res_id)
            if isinstance(made, str):             # one visit's problem never stops the round
                log.warning("claims: no check-in for %s: %s", match.res_id, made)
                continue
            ep, lines = made
            if not lines:
                continue                          # no cost yet: the next round looks again
            try:
                queued = queue(outbox, ep, lines, key, now)
            except errors.ClaimInvalid:
                result.invalid.append(_ma_lk(match.res_id, encounter))
                log.warning("claims: the check-in of %s does not validate", match.res_id)
                continue
            except errors.BenhanError as exc:     # one visit's problem never stops the round
                log.warning("claims: no check-in for %s: %s", match.res_id, exc.message)
                continue
            if queued is not None and queued[1]:
                result.queued.append(ep.ma_lk)
        if not page.has_next or not page.next_cursor:
            return result
        cursor = page.next_cursor
