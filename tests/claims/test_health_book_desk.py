"""The VNeID health book from the record to the gateway and on the desk, on both databases: the real
app in-process, real logins, the stand-in on a free port, the seal from a local CA. Visits ended the
way the workflows end them; the serve worker's round queues what is ready (insured: the claim's
tables; no card: XML1 + XML8) and holds the visit whose summary is not written; the doctor writes it
on the visit page after the close and the next round sends it; a correction is a replacement; a
refusal is shown with its reasons and re-queued from the desk; the facility's withheld codes."""
from __future__ import annotations

import re
from datetime import timedelta

from benhan.auth import consent
from benhan.claims import health_book, service
from benhan.claims.gateway import Gateway
from benhan.claims.runner import SCAN_SECONDS, ClaimsRunner
from benhan.signing import xmldsig
from benhan.signing.local_ca import LocalCA
from benhan.clinical import discharge
from tests.billing.charges_world import DOCTOR, at
from tests.claims.conftest import PASSWORD
from tests.claims.test_claims_desk import Staff, claims_config, demo_facility_code, desk, standin_for
from tests.claims.test_record import DAY, bhyt_visit, diagnose, ma_lk

FOUR = {"d_qua_trinh_benh_ly": "Sốt 2 ngày, ho khan", "d_ket_qua_can_lam_sang": "Bạch cầu 9,1 G/L; X-quang phổi bình thường",
        "d_phuong_phap_dieu_tri": "Hạ sốt, kháng sinh uống 5 ngày", "d_huong_dieu_tri_tiep": "Tái khám nếu sốt quá 3 ngày"}


def plain_visit(world, cccd: str, name: str, icd: str = "J06.9", hour: int = 13) -> str:  # noqa: ANN001
    """A visit without BHYT, diagnosed and ended (no summary written at the close)."""
    eid = world.visit(world.patient(cccd, name), at(DAY, hour))
    diagnose(world, eid, icd, "Viêm đường hô hấp trên cấp")
    world.end(eid, at(DAY, hour, 40))
    return eid


def write_summary(doctor: Staff, eid: str, **more) -> object:  # noqa: ANN003
    return doctor.post(f"/ui/encounters/{eid}/closing-summary", {**FOUR, **more})


def rows(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-encounter="([^"]+)" class="hb-([a-z\-]+)"', html))


def test_closed_visits_reach_the_health_book_held_until_summarised_corrected_and_requeued(db_config, tmp_path,
                                                                                         seal_p12, seal) -> None:  # noqa: ANN001
    with standin_for(seal.cert_pem) as gateway, desk(claims_config(db_config, tmp_path, gateway=gateway.url,
                                                                   seal=seal_p12)) as (world, app):
        insured, plain, held = bhyt_visit(world), plain_visit(world, "001090123410", "Đinh Văn Phúc"), \
            plain_visit(world, "001090123411", "Hà Thị Giang", hour=14)
        left = world.visit(world.patient("001090123414", "Kiều Văn Lâm"), at(DAY, 9))     # left before being seen
        discharge.close(world.system, DOCTOR, world.system.read("Encounter", left).json(), when=at(DAY, 9, 30))
        doctor, cashier = Staff(app, "bacsi"), Staff(app, "thungan")
        assert write_summary(doctor, insured).status_code == 303
        assert write_summary(doctor, plain).status_code == 303
        runner = ClaimsRunner(world.store, interval=3600)
        later = at(DAY, 16)
        found = runner.queue_health_books(later)
        assert sorted(found.queued) == sorted([ma_lk(world, insured), ma_lk(world, plain)])
        assert [b.ep.ma_lk for b in found.held] == [ma_lk(world, held)]
        assert found.held[0].missing == health_book.PARTS
        assert [b.ep.ma_lk for b in found.untreated] == [ma_lk(world, left)]      # nothing to report, never queued
        code = demo_facility_code()
        gw = Gateway(gateway.url, f"{code}_BV", PASSWORD, code, "")
        runner.outbox.run_once(service.senders(gw, runner.outbox))
        sent = {b["ma_lk"]: b for b in gateway.state.stats()["health_book"]}
        assert sent[ma_lk(world, plain)]["tables"] == ["XML1", "XML8"] and sent[ma_lk(world, plain)]["card"] == ""
        assert sent[ma_lk(world, insured)]["card"] == "DN4790123456701"
        assert "XML2" in sent[ma_lk(world, insured)]["tables"] and "XML8" in sent[ma_lk(world, insured)]["tables"]
        assert ma_lk(world, held) not in sent

        day = cashier.get(f"/ui/claims/health-book?day={DAY.isoformat()}")
        assert day.status_code == 200
        assert rows(day.text) == {insured: "accepted", plain: "accepted", held: "held", left: "untreated"}
        assert "Chờ bác sĩ viết tóm tắt hồ sơ bệnh án: thiếu quá trình bệnh lý" in day.text
        visit_page = doctor.get(f"/ui/encounters/{held}").text
        assert 'data-health-book="held"' in visit_page

        # The doctor writes it after the close; the next round sends it.
        refused = doctor.post(f"/ui/encounters/{held}/closing-summary", {**FOUR, "d_huong_dieu_tri_tiep": ""})
        assert refused.status_code == 400 and 'data-health-book="held"' in refused.text
        assert write_summary(doctor, held).status_code == 303
        assert 'data-health-book="held"' not in doctor.get(f"/ui/encounters/{held}").text
        again = runner.queue_health_books(later + timedelta(seconds=SCAN_SECONDS))
        assert again.queued == [ma_lk(world, held)] and again.held == []
        assert sorted(again.already) == sorted([ma_lk(world, insured), ma_lk(world, plain)])    # never twice

        # A correction needs a reason and makes a replacement; the gateway, meanwhile, refuses the seal.
        assert write_summary(doctor, held, d_huong_dieu_tri_tiep="Tái khám sau 1 tuần").status_code == 400
        assert write_summary(doctor, held, d_huong_dieu_tri_tiep="Tái khám sau 1 tuần",
                             summary_reason="Bác sĩ sửa hẹn tái khám").status_code == 303
        third = runner.queue_health_books(later + timedelta(seconds=2 * SCAN_SECONDS))
        assert third.queued == [ma_lk(world, held)]
        other = LocalCA("http://127.0.0.1:9").issue("Khác", organization="Khác")
        registered, gateway.state.cert_pem = gateway.state.cert_pem, xmldsig.key_from_pkcs12(
            other.pkcs12("x"), "x").cert_pem
        runner.outbox.run_once(service.senders(gw, runner.outbox))
        items = runner.outbox.items(kind=health_book.KIND, subject=ma_lk(world, held))
        assert [i.state for i in items] == ["rejected", "rejected"]        # the newest refused; the first replaced
        assert "bản sửa mới hơn" in items[1].last_error
        day = cashier.get(f"/ui/claims/health-book?day={DAY.isoformat()}").text
        assert rows(day)[held] == "refused" and "CHUKYDONVI" in day and "Gửi lại" in day

        gateway.state.cert_pem = registered           # the facility registers its certificate; the clerk re-sends
        requeued = cashier.post(f"/ui/claims/health-book/{held}/queue?day={DAY.isoformat()}")
        assert requeued.status_code == 303
        assert "Đã đưa vào hàng đợi" in cashier.get(requeued.headers["location"]).text
        assert rows(cashier.get(f"/ui/claims/health-book?day={DAY.isoformat()}").text)[held] == "accepted"
        assert [b["ma_lk"] for b in gateway.state.stats()["health_book"]].count(ma_lk(world, held)) == 1
        assert cashier.post(f"/ui/claims/health-book/{held}/queue").status_code == 303   # again: nothing new
        assert [b["ma_lk"] for b in gateway.state.stats()["health_book"]].count(ma_lk(world, held)) == 1

        cashier.http.cookies.set("lang", "en")
        english = cashier.get(f"/ui/claims/health-book?day={DAY.isoformat()}").text
        assert "VNeID health book: sending queue" in english and "Accepted by the gateway" in english
        assert doctor.post(f"/ui/claims/health-book/{held}/queue").status_code == 403       # not the desk's


def test_the_facilitys_withheld_codes_keep_a_visit_out_and_the_desk_says_why(db_config, tmp_path, seal_p12,
                                                                          seal) -> None:  # noqa: ANN001
    with desk(claims_config(db_config, tmp_path, gateway="http://127.0.0.1:9/", seal=seal_p12,
                            health_book_withheld_icd="B20-B24, F20")) as (world, app):
        kept_out = plain_visit(world, "001090123412", "Lý Văn Hải", icd="B20.9")
        goes = plain_visit(world, "001090123413", "Mai Thị Hoa", hour=15)
        # Her "do not share outside this facility" does not stop the push: it is the law's (NĐ 102/2025).
        her = world.system.read("Encounter", goes).json()["subject"]["reference"].split("/")[1]
        consent.record_do_not_share(world.system, her, method="written")
        assert not consent.may_leave_facility(world.store, her)
        doctor = Staff(app, "bacsi")
        for eid in (kept_out, goes):
            assert write_summary(doctor, eid).status_code == 303
        found = ClaimsRunner(world.store, interval=3600).queue_health_books(at(DAY, 16))
        assert found.queued == [ma_lk(world, goes)] and [b.withheld for b in found.withheld] == [("B20.9",)]
        assert {i.subject for i in queued_items(world)} == {ma_lk(world, goes)}
        day = Staff(app, "thungan").get(f"/ui/claims/health-book?day={DAY.isoformat()}").text
        assert rows(day) == {kept_out: "withheld", goes: "queued"}
        assert "mã B20.9 thuộc danh mục không đưa lên Sổ sức khỏe điện tử" in day


def queued_items(world):  # noqa: ANN001, ANN201
    from benhan.outbox.queue import Outbox
    return Outbox(world.store.db).items()
