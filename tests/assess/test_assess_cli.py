"""`benhan assess` on the demo facility, as a facility's IT person runs it: a Vietnamese report on
the screen, the same as JSON and as a PDF whose text holds every item and its status; answering a
question item changes its status and is audited; bad input is one line and a non-zero exit."""
from __future__ import annotations

import json
from pathlib import Path

import pdfplumber
import pytest
from sqlalchemy import select

from benhan import config as config_mod
from benhan.assess.checklist import ITEMS
from benhan.auth.actor import Actor
from benhan.store.repository import Repository
from benhan.store.schema import audit_event
from benhan.store.store import Store
from benhan.vn.identifiers import CCCD_SYSTEM
from tests.server_process import run_benhan


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from benhan.clinical.load_demo import load_demo
    data_dir = tmp_path_factory.mktemp("assess") / "data"
    store = Store.open(config_mod.load(env={}, data_dir=data_dir))
    try:
        load_demo(store, patients=4, seed=7)
    finally:
        store.close()
    return data_dir


def _json(data_dir: Path) -> dict:
    done = run_benhan("assess", "--json", "--data-dir", str(data_dir))
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout)


def test_the_demo_facility_gets_a_vietnamese_report_as_text_json_and_pdf(demo: Path, tmp_path: Path):
    pdf_file = tmp_path / "tu-danh-gia.pdf"
    done = run_benhan("assess", "--pdf", str(pdf_file), "--data-dir", str(demo))
    assert done.returncode == 1, done.stderr          # not everything is met on a fresh demo
    assert "BÁO CÁO TỰ ĐÁNH GIÁ HỒ SƠ BỆNH ÁN ĐIỆN TỬ" in done.stdout
    assert "Trung tâm Y tế" in done.stdout

    report = _json(demo)
    assert report["kind"] == "benhan-emr-self-assessment"
    assert [i["id"] for i in report["items"]] == [i.id for i in ITEMS]
    s = report["summary"]
    assert s["met"] + s["not_met"] + s["unanswered"] == s["total"] == len(ITEMS)
    for item in report["items"]:
        assert item["status"] in ("met", "not_met", "unanswered")
        assert item["requirement"]["vi"] and item["evidence"]["vi"] and item["source"]
        assert (item["how"] == "question") == (item["status"] == "unanswered" or "answer" in item)

    # The CCCD share is what the records say (read here without the code under test's counts).
    store = Store.open(config_mod.load(env={}, data_dir=demo), upgrade=False)
    try:
        patients = [m.json() for m in Repository(store, Actor.system("test")).search_type(
            "Patient", [("_count", "1000")]).matches]
    finally:
        store.close()
    with_cccd = sum(any(i.get("system") == CCCD_SYSTEM for i in p.get("identifier", [])) for p in patients)
    assert (report["metrics"]["patients"], report["metrics"]["patients_with_cccd"]) == (len(patients), with_cccd)
    cccd = next(i for i in report["items"] if i["id"] == "tt13-d1-k3-cccd")
    assert cccd["status"] == ("met" if with_cccd >= 0.9 * len(patients) else "not_met")
    assert f"{with_cccd}/{len(patients)}" in cccd["evidence"]["vi"]

    with pdfplumber.open(pdf_file) as pdf:
        text = "\n".join(page.extract_text() or "" for page in pdf.pages)
    assert "BÁO CÁO TỰ ĐÁNH GIÁ" in text and "CHỦ TỊCH HỘI ĐỒNG" in text
    flat = text.replace("\n", " ")
    for item in ITEMS:
        assert item.id in flat, item.id
    # Each status word as often as the JSON says (the PDF prints "Đạt", "Chưa đạt", "Chưa trả lời").
    assert flat.count("Chưa trả lời") == s["unanswered"]
    assert flat.count("Chưa đạt") == s["not_met"]
    assert flat.count("Đạt") == s["met"]
    assert f"{s['met']}/{s['total']} tiêu chí đạt" in flat


def test_answering_a_question_changes_its_status_and_is_audited(demo: Path):
    item = "cv365-iii4-level2"
    before = {i["id"]: i for i in _json(demo)["items"]}[item]
    assert before["status"] == "unanswered"
    ref, by = "QĐ số 45/QĐ-TTYT ngày 02/12/2026 phê duyệt cấp độ 2", "Giám đốc Lê Thị Hoa"
    done = run_benhan("assess", "answer", item, "--ref", ref, "--by", by, "--data-dir", str(demo))
    assert done.returncode == 0, done.stderr
    after = {i["id"]: i for i in _json(demo)["items"]}[item]
    assert after["status"] == "met" and after["answer"]["ref"] == ref and after["answer"]["by"] == by
    assert ref in after["evidence"]["vi"]

    done = run_benhan("assess", "answer", item, "--ref", "chưa phê duyệt", "--by", by, "--not-met",
                      "--data-dir", str(demo))
    assert done.returncode == 0, done.stderr
    assert {i["id"]: i for i in _json(demo)["items"]}[item]["status"] == "not_met"

    store = Store.open(config_mod.load(env={}, data_dir=demo), upgrade=False)
    try:
        with store.db.read() as conn:
            rows = conn.execute(select(audit_event.c.agent, audit_event.c.detail)
                                .where(audit_event.c.subtype == "assess-answer")).all()
    finally:
        store.close()
    details = [json.loads(r.detail) for r in rows if r.agent == by]
    assert [(d["item"], d["met"], d["ref"]) for d in details][-2:] == [(item, True, ref), (item, False, "chưa phê duyệt")]


@pytest.mark.parametrize("args, said", [
    (("answer", "khong-co-muc-nay", "--ref", "QĐ 1", "--by", "A"), "no checklist item"),
    (("answer", "tt13-d1-k3-cccd", "--ref", "QĐ 1", "--by", "A"), "checked automatically"),
    (("answer", "cv365-iii4-level2", "--ref", "  ", "--by", "A"), "--ref"),
])
def test_bad_answers_are_one_line_and_a_non_zero_exit(demo: Path, args: tuple, said: str):
    done = run_benhan("assess", *args, "--data-dir", str(demo))
    assert done.returncode != 0 and "Traceback" not in done.stderr + done.stdout
    assert said in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_posting_without_a_hub_says_so_in_one_line(demo: Path):
    done = run_benhan("assess", "--post", "--data-dir", str(demo))
    assert done.returncode != 0 and "not enrolled" in done.stderr and "Traceback" not in done.stderr
