"""Issue 15 item 6: the monthly (01/BH) and quarterly (02/BH) BHYT summary of TT 12/2026 as a spreadsheet,
from the claims the gateway accepted in the month. Its sums are checked against the accepted claim files
read here independently (base64 + XML, not benhan's reader), and the form's column checks (col 2 =
3 + 6 + 7, col 3 = 4 + 5) on every row. Both databases, the stand-in gateway, the CLI as a clerk runs it."""
from __future__ import annotations

import base64
import io
from collections import defaultdict
from datetime import datetime, timezone
from decimal import Decimal

from lxml import etree
from openpyxl import load_workbook

from benhan.claims import monthly, service
from benhan.claims.gateway import Gateway
from benhan.claims.runner import ClaimsRunner
from tests.billing.charges_world import AUGMENTIN, CT, HAPACOL, XRAY, at
from tests.claims.conftest import PASSWORD
from tests.claims.test_claims_desk import claims_config, demo_facility_code, desk, standin_for
from tests.claims.test_cli import run
from tests.claims.test_record import DAY, diagnose, ma_lk

MADE = datetime(2026, 12, 2, 9, tzinfo=timezone.utc)
SUMS = ("T_TONGCHI_BV", "T_TONGCHI_BH", "T_BHTT", "T_BNCCT", "T_BNTT", "T_NGUONKHAC")


def _visit(world, cccd: str, name: str, card: str, hour: int, orders, drug=None) -> str:  # noqa: ANN001
    pid = world.patient(cccd, name, bhyt=card)
    eid = world.visit(pid, at(DAY, hour), route="dang-ky")
    for n, code in enumerate(orders):
        world.order(eid, code, at(DAY, hour, 10 + n))
    if drug:
        world.prescribe(eid, drug[0], drug[1], at(DAY, hour, 30))
    diagnose(world, eid, "I10", "Bệnh lý tăng huyết áp vô căn (nguyên phát)")
    world.end(eid, at(DAY, hour, 50))
    return eid


def _accepted_summaries(outbox) -> list[dict[str, str]]:  # noqa: ANN001
    """The XML1 rows of the accepted claim files, read without benhan's code."""
    rows = []
    for item in outbox.items(kind="bhyt-claim", state="sent", limit=None):
        root = etree.fromstring(item.payload)
        for f in root.iter("FILEHOSO"):
            if f.findtext("LOAIHOSO") == "XML1":
                table = etree.fromstring(base64.b64decode(f.findtext("NOIDUNGFILE")))
                row = next(table.iter("TONG_HOP"), None)
                if row is None:
                    row = next(e for e in table.iter() if e.find("T_TONGCHI_BV") is not None)
                rows.append({child.tag: child.text or "" for child in row})
    return rows


def _rows(ws) -> list[list]:  # noqa: ANN001
    return [list(r) for r in ws.iter_rows(min_row=5, values_only=True)]


def test_the_month_of_accepted_claims_sums_to_their_xml1_totals(db_config, tmp_path, seal_p12,
                                                                seal) -> None:  # noqa: ANN001
    with standin_for(seal.cert_pem) as gateway, desk(claims_config(db_config, tmp_path, gateway=gateway.url,
                                                                   seal=seal_p12)) as (world, _app):
        visits = [_visit(world, "001090123401", "Nguyễn Văn An", "DN4790123456701", 8, [XRAY, CT], (AUGMENTIN, 10)),
                  _visit(world, "001090123402", "Trần Thị Bình", "GD4790123456702", 9, [XRAY], (HAPACOL, 20)),
                  _visit(world, "001090123403", "Lê Văn Cường", "DN4790123456703", 10, [])]
        cash = world.visit(world.patient("001090123404", "Võ Văn Dũng"), at(DAY, 11))
        world.order(cash, XRAY, at(DAY, 11, 10))
        world.end(cash, at(DAY, 11, 30))
        runner = ClaimsRunner(world.store, interval=3600)
        assert sorted(runner.queue_finished_visits(at(DAY, 16)).queued) == sorted(ma_lk(world, v) for v in visits)
        code = demo_facility_code()
        runner.outbox.run_once(service.senders(Gateway(gateway.url, f"{code}_BV", PASSWORD, code, "")))
        assert len(gateway.state.stats()["accepted"]) == 3

        expected = _accepted_summaries(runner.outbox)
        assert len(expected) == 3
        sums = {name: sum(Decimal(r[name]) for r in expected) for name in SUMS}
        assert sums["T_TONGCHI_BV"] > 0 and sums["T_BNCCT"] > 0          # a month with money in it

        book = load_workbook(io.BytesIO(monthly.report(world.store, monthly.period("2026-11"), made=MADE)))
        assert book.sheetnames[0] == "01-BH"
        rows = _rows(book["01-BH"])
        grand = next(r for r in rows if r[1] == "Tổng cộng")
        assert grand[2:] == [3, *(int(sums[n]) for n in SUMS)]
        section_i = next(r for r in rows if r[0] == "I")
        assert section_i[2:] == grand[2:]                                 # all three were exams (MA_LOAI_KCB 01)
        for r in rows:                                                    # the form's column checks
            if isinstance(r[2], int):
                assert r[3] == r[4] + r[7] + r[8] and r[4] == r[5] + r[6], r

        per_card: dict[str, Decimal] = defaultdict(Decimal)
        for r in expected:
            per_card[r["MA_THE_BHYT"][:2]] += Decimal(r["T_BHTT"])
        assert {r[0]: r[5] for r in _rows(book["Theo doi tuong"])} == {k: int(v) for k, v in per_card.items()}
        groups = _rows(book["Theo nhom chi phi"])
        assert sum(r[3] for r in groups) == int(sums["T_TONGCHI_BV"])    # the lines add up to the summaries
        assert {r[0] for r in groups} >= {"4", "13"}                      # drugs, exams
        assert sorted(r[0] for r in _rows(book["Danh sach ho so"])) == sorted(ma_lk(world, v) for v in visits)

        # Another month has none of them; the quarter has them all, as 02/BH.
        other = load_workbook(io.BytesIO(monthly.report(world.store, monthly.period("2026-10"), made=MADE)))
        assert next(r for r in _rows(other["01-BH"]) if r[1] == "Tổng cộng")[2] == 0
        quarter = load_workbook(io.BytesIO(monthly.report(world.store, monthly.period("2026-Q4"), made=MADE)))
        assert next(r for r in _rows(quarter["02-BH"]) if r[1] == "Tổng cộng")[2:] == grand[2:]

        # The clerk's command writes the same table; a bad month is one clear line.
        out = tmp_path / "thang-11.xlsx"
        done = run(world.store, "report", "--month", "2026-11", "--xlsx", str(out))
        assert done.returncode == 0, done.stderr
        assert next(r for r in _rows(load_workbook(out)["01-BH"]) if r[1] == "Tổng cộng")[2:] == grand[2:]
        bad = run(world.store, "report", "--month", "2026-13", "--xlsx", str(out))
        assert bad.returncode == 1 and "Traceback" not in bad.stderr and "2026-13" in bad.stderr


def test_claims_built_from_the_record_fall_in_their_sections(store, tmp_path) -> None:  # noqa: ANN001
    from tests.billing.charges_world import make_world
    world = make_world(store)
    exam = _visit(world, "001090123401", "Nguyễn Văn An", "DN4790123456701", 8, [XRAY])
    pid = world.patient("001090123402", "Trần Thị Bình", bhyt="GD4790123456702")
    ward = world.visit(pid, at(DAY, 9), kind="noi-tru")
    world.order(ward, CT, at(DAY, 10))
    diagnose(world, ward, "I10", "Bệnh lý tăng huyết áp vô căn (nguyên phát)")
    world.end(ward, at(DAY.replace(day=22), 10))
    claims = monthly.built_claims(world.system, monthly.period("2026-11"))
    assert sorted(c.ma_lk for c in claims) == sorted([ma_lk(world, exam), ma_lk(world, ward)])
    sections = {head.key: head for head, _ in monthly.sections(claims)}
    assert (sections["I"].count, sections["IV"].count, sections["II"].count) == (1, 1, 0)
    ward_claim = next(c for c in claims if c.ma_lk == ma_lk(world, ward))
    assert sections["IV"].money[0] == Decimal(ward_claim.summary["T_TONGCHI_BV"]) > 0
    assert monthly.total(claims).money[0] == sum(Decimal(c.summary["T_TONGCHI_BV"]) for c in claims)


def test_a_visit_whose_claim_cannot_be_built_is_named_in_the_report_not_left_out_in_silence(store, tmp_path) -> None:  # noqa: ANN001
    """A finished visit the record cannot make a claim of (here its patient is not in the record: an
    Encounter a HIS import brought without its Patient) was skipped without a word, so the month's
    totals came out short; the report now says how many were left out and lists them with the reason."""
    from tests.billing.charges_world import make_world
    world = make_world(store)
    exam = _visit(world, "001090123401", "Nguyễn Văn An", "DN4790123456701", 8, [XRAY])
    orphan = world.system.read("Encounter", world.visit(world.patient("001090123409", "Đỗ Văn Hải",
                                                                      bhyt="DN4790123456709"), at(DAY, 9))).json()
    orphan = {k: v for k, v in orphan.items() if k not in ("id", "meta", "identifier")}
    orphan["subject"] = {"reference": "Patient/khong-co-trong-ho-so"}
    lost = world.system.create("Encounter", orphan).res_id
    world.end(lost, at(DAY, 9, 30))
    left_out: list[monthly.LeftOut] = []
    claims = monthly.built_claims(world.system, monthly.period("2026-11"), left_out)
    assert [c.ma_lk for c in claims] == [ma_lk(world, exam)]
    assert [x.encounter_id for x in left_out] == [lost] and "khong-co-trong-ho-so" in left_out[0].reason

    book = load_workbook(io.BytesIO(monthly.report(store, monthly.period("2026-11"), source="built", made=MADE)))
    rows = _rows(book["01-BH"])
    assert next(r for r in rows if r[1] == "Tổng cộng")[2] == 1
    assert any(str(r[1]).startswith("CHƯA TÍNH 1 lượt khám") for r in rows)
    assert [r[1] for r in _rows(book["Khong lap duoc"])] == [lost]
    accepted = load_workbook(io.BytesIO(monthly.report(store, monthly.period("2026-11"), made=MADE)))
    assert "Khong lap duoc" not in accepted.sheetnames

    # The clerk's command says so too, beside the file it wrote.
    out = tmp_path / "thang-11.xlsx"
    done = run(store, "report", "--month", "2026-11", "--source", "built", "--xlsx", str(out))
    assert done.returncode == 0, done.stderr
    assert "chưa tính 1 lượt khám" in done.stderr and str(out) in done.stdout
    assert [r[1] for r in _rows(load_workbook(out)["Khong lap duoc"])] == [lost]
