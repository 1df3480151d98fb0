"""Validation catches each class of error a clerk meets (one seeded error per test), and says so in
Vietnamese naming the patient, the MA_LK, the table, the row and the field."""
from __future__ import annotations

from collections.abc import Callable

import pytest

from benhan.claims import tables, validation
from tests.claims import episodes


def seeded(change: Callable[[dict[str, tables.Table]], None],
           episode: Callable = episodes.inpatient_surgery_referral) -> validation.Report:
    ep, lines = episode()
    ts = tables.claim_tables(ep, lines)
    assert validation.validate(ts).ok        # clean before the error is seeded
    change({t.name: t for t in ts})
    return validation.validate(ts)


def only(report: validation.Report, rule: str) -> validation.Problem:
    assert not report.ok
    assert {p.rule for p in report.problems} == {rule}, report.text()
    return report.problems[0]


def test_a_mandatory_field_left_empty() -> None:
    def change(t): t["XML1"].rows[0]["CHAN_DOAN_RV"] = ""  # noqa: ANN001, E704
    p = only(seeded(change), "required")
    assert (p.table, p.field) == ("XML1", "CHAN_DOAN_RV")


def test_a_field_too_long() -> None:
    def change(t): t["XML1"].rows[0]["MA_LK"] = "X" * 101  # noqa: ANN001, E704
    report = seeded(change)
    assert "size" in {p.rule for p in report.problems}
    assert any(p.field == "MA_LK" and "tối đa 100" in p.message for p in report.problems)


def test_a_value_of_the_wrong_type() -> None:
    def change(t): t["XML2"].rows[0]["NGAY_YL"] = "02/11/2026 10:00"  # noqa: ANN001, E704
    p = only(seeded(change), "type")
    assert (p.table, p.row, p.field) == ("XML2", 1, "NGAY_YL")
    assert "yyyyMMddHHmm" in p.message


def test_money_with_a_comma_or_three_decimals_is_the_wrong_type() -> None:
    def change(t): t["XML3"].rows[0]["DON_GIA_BH"] = "321000,5"  # noqa: ANN001, E704
    p = only(seeded(change), "type")
    assert p.field == "DON_GIA_BH"


def test_a_code_not_in_its_list() -> None:
    def change(t): t["XML1"].rows[0]["MA_LOAI_RV"] = "9"  # noqa: ANN001, E704
    p = only(seeded(change), "code")
    assert p.field == "MA_LOAI_RV"


def test_an_unknown_object_code() -> None:
    def change(t): t["XML1"].rows[0]["MA_DOITUONG_KCB"] = "1.99"  # noqa: ANN001, E704
    assert only(seeded(change), "code").field == "MA_DOITUONG_KCB"


def test_a_malformed_card_number() -> None:
    def change(t): t["XML1"].rows[0]["MA_THE_BHYT"] = "ZZ4790123456789"  # noqa: ANN001, E704
    assert only(seeded(change), "code").field == "MA_THE_BHYT"


def test_an_icd10_code_that_does_not_exist() -> None:
    def change(t): t["XML1"].rows[0]["MA_BENH_CHINH"] = "K99.9"  # noqa: ANN001, E704
    p = only(seeded(change), "icd")
    assert p.field == "MA_BENH_CHINH" and "TT 06/2026" in p.message   # the episode ended after 01/07/2026


def test_an_icd10_code_not_allowed_as_the_main_disease() -> None:
    from benhan.claims.validation import icd_codes
    from datetime import date
    not_primary = next(c for c, r in icd_codes(date(2026, 11, 5)).items() if r.get("not_primary") == "1")

    def change(t): t["XML1"].rows[0]["MA_BENH_CHINH"] = not_primary  # noqa: ANN001, E704
    p = only(seeded(change), "icd")
    assert "bệnh chính" in p.message


def test_dates_out_of_order() -> None:
    def change(t):  # noqa: ANN001
        t["XML3"].rows[1]["NGAY_KQ"] = "202611021200"         # before its order at 14:00
    p = only(seeded(change), "dates")
    assert (p.table, p.row, p.field) == ("XML3", 2, "NGAY_KQ")


def test_discharge_before_admission() -> None:
    def change(t): t["XML1"].rows[0]["NGAY_RA"] = "202611010800"  # noqa: ANN001, E704
    report = seeded(change)
    assert any(p.rule == "dates" and p.field == "NGAY_RA" for p in report.problems)


def test_a_line_whose_parts_do_not_add_up() -> None:
    def change(t):  # noqa: ANN001
        t["XML2"].rows[0]["T_BNTT"] = "10.00"                  # BV ≠ BNTT + BNCCT + BHTT + NGUONKHAC
    report = seeded(change)
    assert {p.rule for p in report.problems} == {"line", "sum"}   # and XML1's T_BNTT no longer matches
    assert any(p.table == "XML2" and p.field == "THANH_TIEN_BV" for p in report.problems)


def test_a_line_amount_that_is_not_quantity_times_price() -> None:
    def change(t):  # noqa: ANN001
        r = t["XML2"].rows[0]
        r["SO_LUONG"] = "21"                                   # 21 × 5,432.1 ≠ 108,642.00
    p = only(seeded(change), "line")
    assert p.field == "THANH_TIEN_BV" and "114074.10" in p.message


def test_a_fund_share_that_is_not_the_benefit_level() -> None:
    def change(t):  # noqa: ANN001
        r = t["XML3"].rows[0]
        r["T_BHTT"], r["T_BNCCT"] = "963000.00", "0.00"        # 100 % declared on an 80 % card
        t["XML1"].rows[0]["T_BHTT"] = "94089913.60"
        t["XML1"].rows[0]["T_BNCCT"] = "23281728.40"
    p = only(seeded(change), "line")
    assert p.field == "T_BHTT" and "770400.00" in p.message


def test_xml1_totals_that_differ_from_the_lines() -> None:
    def change(t): t["XML1"].rows[0]["T_TONGCHI_BV"] = "123521641.99"  # noqa: ANN001, E704
    p = only(seeded(change), "sum")
    assert p.field == "T_TONGCHI_BV" and "123521642.00" in p.message


def test_a_row_of_another_episode() -> None:
    def change(t): t["XML3"].rows[2]["MA_LK"] = "01013-NT-20261102-0043"  # noqa: ANN001, E704
    p = only(seeded(change), "link")
    assert (p.table, p.row) == ("XML3", 3)


def test_an_inpatient_claim_without_its_discharge_paper() -> None:
    ep, lines = episodes.inpatient_surgery_referral()
    ts = [t for t in tables.claim_tables(ep, lines) if t.name != "XML7"]
    p = only(validation.validate(ts), "table")
    assert p.table == "XML7"


@pytest.mark.parametrize("episode", [episodes.outpatient, episodes.emergency, episodes.thong_tuyen,
                                     episodes.inpatient_surgery_referral])
def test_the_demo_episodes_pass(episode) -> None:  # noqa: ANN001
    ep, lines = episode()
    report = validation.validate(tables.claim_tables(ep, lines))
    assert report.ok, report.text()
    assert report.text().endswith("đạt, có thể gửi cổng giám định.")


def test_the_report_names_the_patient_the_record_the_row_and_the_field_in_vietnamese() -> None:
    def change(t):  # noqa: ANN001
        t["XML1"].rows[0]["MA_BENH_CHINH"] = ""
        t["XML2"].rows[0]["DON_VI_TINH"] = ""
    text = seeded(change).text()
    assert text.splitlines()[0] == ("Hồ sơ 01013-NT-20261102-0042 — người bệnh Trần Thị Bình: "
                                    "2 lỗi cần sửa trước khi gửi:")
    assert "  1. XML1 dòng 1, trường mã bệnh chính (MA_BENH_CHINH): bắt buộc nhưng đang để trống." in text
    assert "  2. XML2 dòng 1, trường đơn vị tính (DON_VI_TINH): bắt buộc nhưng đang để trống." in text


def test_treatment_days_that_do_not_follow_the_dates() -> None:
    def change(t): t["XML1"].rows[0]["SO_NGAY_DTRI"] = "3"  # noqa: ANN001, E704
    p = only(seeded(change), "dates")
    assert p.field == "SO_NGAY_DTRI" and "phải là 4" in p.message        # 02/11 → 05/11: 5 − 2 + 1


def test_more_bed_days_than_days_of_treatment() -> None:
    def change(t):  # noqa: ANN001
        r = t["XML3"].rows[0]                                  # 5 bed-days × 321,000 on a 4-day stay
        r["SO_LUONG"], r["THANH_TIEN_BV"], r["THANH_TIEN_BH"] = "5", "1605000.00", "1605000.00"
        r["T_BHTT"], r["T_BNCCT"] = "1284000.00", "321000.00"
        x1 = t["XML1"].rows[0]
        x1["T_TONGCHI_BV"], x1["T_TONGCHI_BH"] = "124163642.00", "118013642.00"
        x1["T_BHTT"], x1["T_BNCCT"] = "94410913.60", "23602728.40"
    p = only(seeded(change), "beds")
    assert (p.table, p.field) == ("XML3", "SO_LUONG") and "vượt số ngày điều trị 4" in p.message


def test_bed_days_on_an_outpatient_exam() -> None:
    def change(t):  # noqa: ANN001
        t["XML3"].rows[0]["MA_NHOM"] = "15"                    # the exam line coded as a bed-day
    p = only(seeded(change, episodes.outpatient), "beds")
    assert (p.table, p.row, p.field) == ("XML3", 1, "MA_NHOM")


def test_a_department_code_not_of_the_list() -> None:
    def change(t): t["XML1"].rows[0]["MA_KHOA"] = "K01;KHOA-NGOAI"  # noqa: ANN001, E704
    p = only(seeded(change), "code")
    assert p.field == "MA_KHOA" and "KHOA-NGOAI" in p.message
