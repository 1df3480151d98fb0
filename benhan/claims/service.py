"""Making, checking, signing and queueing the claim files of an episode, and the outbox's senders.

- ``prepare``: the tables of an episode, validated; a report, and the signed envelope if it passed.
- ``queue_checkin`` / ``queue_claim``: into the outbox with an idempotency key made of MA_LK and a
  hash of the tables, so queueing the same content twice is one message and a corrected file is a
  new one (the gateway replaces an MA_LK's file on resend).
- ``senders``: the outbox's delivery functions for both kinds through one Gateway.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from benhan import errors
from benhan.billing.lines import ChargeLine
from benhan.claims import envelope, tables, validation
from benhan.claims.episode import Episode
from benhan.claims.gateway import Gateway, delivery
from benhan.outbox.queue import Outbox, Sender
from benhan.signing import xmldsig

CHECKIN, CLAIM = "bhyt-checkin", "bhyt-claim"
SEAL_PASSWORD_ENV = "BENHAN_SEAL_PASSWORD"        # the same variable the paper conversion reads
GATEWAY_PASSWORD_ENV = "BENHAN_BHXH_PASSWORD"


@dataclass
class Prepared:
    report: validation.Report
    tables: list[tables.Table]
    signed: bytes | None          # the signed GIAMDINHHS when the report is clean

    @property
    def key(self) -> str:
        return idempotency_key(CLAIM if self.tables and self.tables[0].name != "XML0" else CHECKIN,
                               self.report.ma_lk, self.tables)


def idempotency_key(kind: str, ma_lk: str, content: list[tables.Table]) -> str:
    digest = hashlib.sha256(b"".join(tables.to_xml(t) for t in content)).hexdigest()[:24]
    return f"{kind}:{ma_lk}:{digest}"


def prepare(ep: Episode, lines: list[ChargeLine], key: xmldsig.XmlKey | None, made: datetime) -> Prepared:
    if not ep.insured:
        raise errors.ClaimNotPossible(f"lượt khám {ep.ma_lk} không có thẻ BHYT: không lập hồ sơ giám định | "
                                      f"visit {ep.ma_lk} has no BHYT card: no claim")
    content = tables.claim_tables(ep, lines)
    report = validation.validate(content)
    signed = envelope.sign(envelope.build(ep.facility, made, content), key) if report.ok and key else None
    return Prepared(report, content, signed)


def prepare_checkin(ep: Episode, lines: list[ChargeLine], key: xmldsig.XmlKey | None, made: datetime) -> Prepared | None:
    """The check-in, or None when none is due: no card, or an emergency (MA_DOITUONG_KCB 2)."""
    if not ep.insured or ep.object_code == "2":
        return None
    content = [tables.xml0(ep, lines)]
    report = validation.validate_checkin(content[0])
    signed = envelope.sign(envelope.build(ep.facility, made, content), key) if report.ok and key else None
    return Prepared(report, content, signed)


def _queue(outbox: Outbox, kind: str, prepared: Prepared, ep: Episode, due: datetime | None) -> tuple[int, bool]:
    if not prepared.report.ok:
        raise errors.ClaimInvalid(prepared.report.text())
    if prepared.signed is None:
        raise errors.SealNotConfigured("chưa có con dấu số của cơ sở để ký hồ sơ | the facility seal is needed to sign")
    return outbox.put(kind, idempotency_key(kind, ep.ma_lk, prepared.tables), ep.ma_lk, prepared.signed,
                      patient=ep.name, due=due)


def queue_checkin(outbox: Outbox, ep: Episode, lines: list[ChargeLine], key: xmldsig.XmlKey,
                  made: datetime) -> tuple[int, bool] | None:
    from benhan.claims import checkin     # once per MA_LK and visit type, whoever asks (checkin.py)
    return checkin.queue(outbox, ep, lines, key, made)


def queue_claim(outbox: Outbox, ep: Episode, lines: list[ChargeLine], key: xmldsig.XmlKey, made: datetime,
                within_hours: int = 24) -> tuple[int, bool]:
    due = ep.discharged + timedelta(hours=within_hours) if ep.discharged else None
    return _queue(outbox, CLAIM, prepare(ep, lines, key, made), ep, due)


def senders(gateway: Gateway, outbox: Outbox | None = None) -> dict[str, Sender]:
    """The BHXH gateway's kinds: the check-in, the claim and the VNeID health book (claims/health_book.py;
    with ``outbox``, a health book replaced by a later correction is not sent)."""
    from benhan.claims import health_book
    return {CHECKIN: lambda item: delivery(lambda: gateway.check_in(item.payload, item.idem_key)),
            CLAIM: lambda item: delivery(lambda: gateway.send_claim(item.payload, item.idem_key)),
            health_book.KIND: health_book.sender(gateway, outbox)}


# --- configuration -------------------------------------------------------------------------------

def _secret(env: str, path: Path, what: str) -> str:
    value = os.environ.get(env)
    if value:
        return value
    if str(path) not in ("", "."):
        try:
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise errors.ConfigError(f"không đọc được {path.name} | {what} file {path} cannot be read: {exc.strerror}") from None
    return ""


def seal_key(cfg) -> xmldsig.XmlKey:  # noqa: ANN001 - a benhan.config.Config
    """The facility seal (facility_seal_file, its password from BENHAN_SEAL_PASSWORD or
    facility_seal_password_file) as the XML signer takes it."""
    path = Path(str(cfg.facility_seal_file))
    if str(path) in ("", "."):
        raise errors.SealNotConfigured("chưa cấu hình con dấu số của cơ sở (facility_seal_file): không ký được hồ sơ "
                                       "BHYT | the facility's seal is not configured (facility_seal_file): claims "
                                       "cannot be signed")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise errors.SealNotConfigured(f"không đọc được tệp con dấu số {path.name} | the seal file {path} cannot be "
                                       f"read: {exc.strerror}") from None
    password = _secret(SEAL_PASSWORD_ENV, Path(str(cfg.facility_seal_password_file)), "the seal password")
    if not password:
        raise errors.SealNotConfigured(f"chưa có mật khẩu con dấu số: đặt {SEAL_PASSWORD_ENV} hoặc "
                                       f"facility_seal_password_file | the seal's password is not set")
    return xmldsig.key_from_pkcs12(data, password)


def gateway_from_config(cfg, facility: str = "") -> Gateway:  # noqa: ANN001
    if not cfg.bhxh_gateway_url:
        raise errors.ClaimNotPossible("chưa cấu hình cổng BHXH (bhxh_gateway_url) | the BHXH gateway is not "
                                      "configured (bhxh_gateway_url)")
    username = cfg.bhxh_username or (f"{facility}_BV" if facility else "")
    password = _secret(GATEWAY_PASSWORD_ENV, Path(str(cfg.bhxh_password_file)), "the gateway password")
    if not username or not password:
        raise errors.ClaimNotPossible("chưa cấu hình tài khoản cổng BHXH (bhxh_username, BENHAN_BHXH_PASSWORD hoặc "
                                      "bhxh_password_file) | the BHXH gateway account is not configured")
    return Gateway(cfg.bhxh_gateway_url, username, password, facility, cfg.bhxh_province)


# --- the day's claims at once --------------------------------------------------------------------

@dataclass
class Batch:
    queued: list[str]                         # MA_LK queued (new)
    already: list[str]                        # MA_LK whose same claim was already queued
    not_bhyt: list[str]                       # visits without BHYT: no claim
    invalid: list[validation.Report]          # to fix, with the clerk's report
    unreadable: list[tuple[str, str]] = field(default_factory=list)   # (Encounter id, why): no claim could be built


def queue_finished(repo, outbox: Outbox, key: xmldsig.XmlKey, since: str, now: datetime,  # noqa: ANN001
                   within_hours: int = 24) -> Batch:
    """Queue the check-in and the claim of every visit finished since ``since`` (an ISO date or
    instant): the day's claims in one step. A visit whose tables do not validate is left out and
    its report returned, one whose record cannot be read is named in `unreadable`; queueing again
    later skips what is already queued (same idempotency key)."""
    from benhan.claims.record import episode_or_why
    batch = Batch([], [], [], [])
    for page in repo.search_pages("Encounter", [("status", "finished"), ("date", f"ge{since}")]):
        for match in page.matches:
            made = episode_or_why(repo, match.res_id)
            if isinstance(made, str):       # the desk lists it as unreadable
                batch.unreadable.append((match.res_id, made))
                continue
            ep, lines = made
            if not ep.insured:
                batch.not_bhyt.append(ep.ma_lk)
                continue
            prepared = prepare(ep, lines, key, now)
            if not prepared.report.ok:
                batch.invalid.append(prepared.report)
                continue
            queue_checkin(outbox, ep, lines, key, now)
            _, new = _queue(outbox, CLAIM, prepared, ep,
                            ep.discharged + timedelta(hours=within_hours) if ep.discharged else None)
            (batch.queued if new else batch.already).append(ep.ma_lk)
    return batch
