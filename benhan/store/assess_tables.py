"""The numbers `benhan assess` judges a facility by, and the hub's provincial dashboard rows
(docs/operations.md "benhan assess", docs/sync.md "The provincial dashboard").

Every count here is an aggregate over an index (the search index, the user table, the outbox):
no resource body is read, so the assessment of a large facility and a dashboard page view stay
cheap.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from benhan.store.schema import (assess_answer, idx_token, outbox_item, province_daily, province_report,
                                 resource, user_account)
from benhan.store.signed_versions import SIGNED_CODE, SIGNED_SYSTEM

LOINC = "http://loinc.org"
DISCHARGE_LOINC = "18842-5"


# --- at a facility: what the software can tell -----------------------------------------------------

def count_resources(conn: Connection, res_type: str) -> int:
    return conn.execute(select(func.count()).select_from(resource).where(
        and_(resource.c.res_type == res_type, resource.c.deleted.is_(False)))).scalar() or 0


def count_with_token(conn: Connection, res_type: str, param: str, system: str, code: str | None = None) -> int:
    """Current resources of a type whose `param` holds a token of `system` (and `code`)."""
    cond = [idx_token.c.res_type == res_type, idx_token.c.param == param, idx_token.c.system == system]
    if code is not None:
        cond.append(idx_token.c.code == code)
    return conn.execute(select(func.count(func.distinct(idx_token.c.resource_pk))).where(and_(*cond))).scalar() or 0


def discharge_papers(conn: Connection) -> tuple[int, int]:
    """(discharge summaries, of which signed): Compositions typed LOINC 18842-5, and those whose
    current version carries the signed tag (signed_versions.py)."""
    papers = (select(idx_token.c.resource_pk).where(and_(
        idx_token.c.res_type == "Composition", idx_token.c.param == "type", idx_token.c.system == LOINC,
        idx_token.c.code == DISCHARGE_LOINC)).distinct())
    total = conn.execute(select(func.count()).select_from(papers.subquery())).scalar() or 0
    signed_tag = idx_token.alias("signed_tag")
    signed = conn.execute(select(func.count(func.distinct(signed_tag.c.resource_pk))).where(and_(
        signed_tag.c.res_type == "Composition", signed_tag.c.param == "_tag",
        signed_tag.c.system == SIGNED_SYSTEM, signed_tag.c.code == SIGNED_CODE,
        signed_tag.c.resource_pk.in_(papers)))).scalar() or 0
    return total, signed


@dataclass(frozen=True)
class Accounts:
    active: int                 # not disabled
    without_role: int
    with_hours: int             # an access time window set (CV 365 III.1.1 g)
    admins: int
    admins_with_mfa: int
    idle_45_days: int           # active accounts unused for 45 days (TCVN 14423)


def accounts(conn: Connection, now_us: int) -> Accounts:
    rows = conn.execute(select(user_account.c.roles, user_account.c.access_hours, user_account.c.mfa_enabled,
                               user_account.c.last_activity, user_account.c.last_login, user_account.c.created)
                        .where(user_account.c.disabled_at.is_(None))).all()
    idle_before = now_us - 45 * 86400 * 1_000_000
    admins = [r for r in rows if "facility_admin" in (r.roles or "").split()]
    return Accounts(
        active=len(rows), without_role=sum(1 for r in rows if not (r.roles or "").strip()),
        with_hours=sum(1 for r in rows if (r.access_hours or "").strip()),
        admins=len(admins), admins_with_mfa=sum(1 for r in admins if r.mfa_enabled),
        idle_45_days=sum(1 for r in rows if max(r.last_activity or 0, r.last_login or 0, r.created) < idle_before))


def claims_sent(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(outbox_item).where(and_(
        outbox_item.c.kind == "bhyt-claim", outbox_item.c.state == "sent"))).scalar() or 0


# --- at a facility: the council's answers ------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    item_id: str
    met: bool
    ref: str
    answered_by: str
    answered_at: int


def answers(conn: Connection) -> dict[str, Answer]:
    return {r.item_id: Answer(r.item_id, bool(r.met), r.ref, r.answered_by, r.answered_at)
            for r in conn.execute(select(assess_answer))}


def put_answer(conn: Connection, answer: Answer) -> None:
    conn.execute(delete(assess_answer).where(assess_answer.c.item_id == answer.item_id))
    conn.execute(insert(assess_answer).values(item_id=answer.item_id, met=answer.met, ref=answer.ref,
                                              answered_by=answer.answered_by, answered_at=answer.answered_at))


# --- at the hub: the provincial dashboard ----------------------------------------------------------

def add_records(conn: Connection, node_name: str, day: str, records: int) -> None:
    """Count versions applied from a node's push on that day (called in the push's transaction)."""
    if records <= 0:
        return
    done = conn.execute(update(province_daily).where(and_(province_daily.c.node_name == node_name,
                                                          province_daily.c.day == day))
                        .values(records=province_daily.c.records + records)).rowcount
    if not done:
        try:
            with conn.begin_nested():
                conn.execute(insert(province_daily).values(node_name=node_name, day=day, records=records))
        except IntegrityError:      # another worker inserted the day's row first
            add_records(conn, node_name, day, records)


def put_report(conn: Connection, node_name: str, day: str, values: dict) -> None:
    """Keep a node's latest report, and that day's readiness for the history chart."""
    conn.execute(delete(province_report).where(province_report.c.node_name == node_name))
    conn.execute(insert(province_report).values(node_name=node_name, **values))
    done = conn.execute(update(province_daily).where(and_(province_daily.c.node_name == node_name,
                                                          province_daily.c.day == day))
                        .values(met=values["met"], total=values["total"])).rowcount
    if not done:
        conn.execute(insert(province_daily).values(node_name=node_name, day=day, records=0,
                                                   met=values["met"], total=values["total"]))


def reports(conn: Connection) -> dict[str, object]:
    """Each node's latest report's summary columns (not the posted JSON: a page view stays small)."""
    cols = [c for c in province_report.c if c.name != "report"]
    return {r.node_name: r for r in conn.execute(select(*cols))}


def report_json(conn: Connection, node_name: str) -> str | None:
    return conn.execute(select(province_report.c.report).where(province_report.c.node_name == node_name)).scalar()


def daily(conn: Connection, since_day: str) -> list:
    """(node_name, day, records, met, total) from `since_day` on, oldest first."""
    return conn.execute(select(province_daily).where(province_daily.c.day >= since_day)
                        .order_by(province_daily.c.day, province_daily.c.node_name)).all()


def readiness_before(conn: Connection, day: str) -> dict[str, tuple[int, int]]:
    """Each node's last known readiness (met, total) on a day before `day`: where the history chart
    starts when a node posted before the window."""
    last = (select(province_daily.c.node_name, func.max(province_daily.c.day).label("day"))
            .where(and_(province_daily.c.day < day, province_daily.c.met.is_not(None)))
            .group_by(province_daily.c.node_name).subquery())
    rows = conn.execute(select(province_daily.c.node_name, province_daily.c.met, province_daily.c.total)
                        .join(last, and_(last.c.node_name == province_daily.c.node_name,
                                         last.c.day == province_daily.c.day))).all()
    return {r.node_name: (r.met, r.total) for r in rows}
