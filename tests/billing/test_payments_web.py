"""The cashier's pages on both databases, with the inputs a fuzzer (or a tired cashier) sends:
negative, fractional and huge amounts, text, an unknown bill, a refund without a reason, a bank file
that is not a statement — each answered with a translated message or the translated 404 page, never
a 500, and nothing recorded; a bank statement uploaded through the page pays its bill."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from benhan.auth import users
from benhan.auth.actor import Actor
from benhan.billing import accounts, payments
from benhan.clinical.common import now
from benhan.store.repository import Repository
from tests.billing.charges_world import XRAY, at, make_world

PASSWORD = "một câu mật khẩu thật dài"


@pytest.fixture
def desk(anonymous_client, store):  # noqa: ANN001, ANN201
    world = make_world(store)
    # No card: exam 50,600 + chest X-ray 65,400 = 116,000 owed.
    eid = world.visit(world.patient("001090123458", "Lê Thị Hoa"), at(date(2026, 11, 20)))
    world.order(eid, XRAY, at(date(2026, 11, 20), 9))
    bill = accounts.bill_for_encounter(world.system, eid, now=now())
    assert bill.patient_due == Decimal(116000)
    repo = Repository(store, Actor.system())
    users.create_user(store, "thungan", "Vũ Thị Thu", ["cashier"], password=PASSWORD)
    c = anonymous_client
    csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
    c.post("/login", data={"username": "thungan", "password": PASSWORD, "csrf": csrf}, follow_redirects=False)
    home = c.get("/")
    assert home.url.path == "/ui/cashier"            # the cashier's home page is her desk
    csrf = re.search(r'name="csrf" value="([^"]+)"', home.text).group(1)
    return {"client": c, "csrf": csrf, "bill": bill, "repo": repo}


BAD_AMOUNTS = [
    ("-150000", "Số tiền phải là số nguyên đồng"), ("0", "Số tiền phải là số nguyên đồng"),
    ("1.5", "Số tiền phải là số nguyên đồng"), ("9" * 40, "Số tiền phải là số nguyên đồng"),
    ("1e308", "Số tiền phải là số nguyên đồng"), ("mười nghìn", "Số tiền phải là số nguyên đồng"),
    ("", "Số tiền phải là số nguyên đồng"), ("116001", "lớn hơn số còn phải trả 116.000 đ"),
]


def test_a_bad_amount_is_a_translated_message_and_nothing_is_recorded(desk):  # noqa: ANN001
    c, bill = desk["client"], desk["bill"]
    for amount, words in BAD_AMOUNTS:
        _refused(c, desk["csrf"], bill, amount, words)
    assert payments.paid_for(desk["repo"], bill.invoice_id) == 0


def _refused(c, csrf: str, bill, amount: str, words: str) -> None:  # noqa: ANN001
    for method in ("cash", "vietqr"):
        r = c.post(f"/ui/cashier/bills/{bill.invoice_id}/pay", data={"csrf": csrf, "method": method,
                                                                    "amount": amount, "_form": "cash"})
        assert r.status_code == 400 and words in r.text, amount
    if words.startswith("Số tiền"):       # an advance has no ceiling, but it is a whole number of đồng too
        r = c.post(f"/ui/cashier/bills/{bill.invoice_id}/advance", data={"csrf": csrf, "method": "cash",
                                                                        "amount": amount, "_form": "advance"})
        assert r.status_code == 400 and words in r.text, amount


def test_an_unknown_bill_is_the_translated_not_found_page_and_a_post_to_it_no_500(desk):  # noqa: ANN001
    for path in ("/ui/cashier/bills/no-such-bill", "/ui/cashier/bills/no-such-bill/receipt.pdf"):
        r = desk["client"].get(path)
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
        assert "Không tìm thấy" in r.text or "not found" in r.text.lower()
    for path in ("/ui/cashier/bills/no-such-bill/pay", "/ui/cashier/bills/%2e%2e/refund",
                 "/ui/cashier/bills/" + "x" * 300 + "/pay", "/ui/cashier/bills/a'b/advance"):
        r = desk["client"].post(path, data={"csrf": desk["csrf"], "method": "cash", "amount": "1000"})
        assert 400 <= r.status_code < 500, path


def test_an_unknown_method_and_a_refund_without_reason_are_messages(desk):  # noqa: ANN001
    c, bill = desk["client"], desk["bill"]
    r = c.post(f"/ui/cashier/bills/{bill.invoice_id}/pay", data={"csrf": desk["csrf"], "method": "bitcoin",
                                                                "amount": "1000", "_form": "cash"})
    assert r.status_code == 400 and "Chọn hình thức thu" in r.text
    r = c.post(f"/ui/cashier/bills/{bill.invoice_id}/pay", data={"csrf": desk["csrf"], "method": "cash",
                                                                "amount": "116.000", "_form": "cash"},
               follow_redirects=False)
    assert r.status_code == 303
    rid = payments.receipts_for(desk["repo"], f"Invoice/{bill.invoice_id}")[0].id
    r = c.post(f"/ui/cashier/bills/{bill.invoice_id}/refund", data={"csrf": desk["csrf"], "receipt": rid,
                                                                   "amount": "1000", "reason": " ", "_form": "refund"})
    assert r.status_code == 400 and "Ghi lý do hoàn tiền" in r.text
    r = c.post(f"/ui/cashier/bills/{bill.invoice_id}/refund", data={"csrf": desk["csrf"], "receipt": "nope",
                                                                   "amount": "1000", "reason": "sai", "_form": "refund"})
    assert r.status_code == 404
    r = c.post(f"/ui/cashier/bills/{bill.invoice_id}/pay", data={"method": "cash", "amount": "1"})
    assert r.status_code == 403                       # no CSRF token: refused, nothing written
    assert payments.paid_for(desk["repo"], bill.invoice_id) == Decimal(116000)


def test_a_bank_file_that_is_not_a_statement_is_a_message(desk):  # noqa: ANN001
    for content in (b"", b"\xff\xfe\x00garbage", b"a;b;c\n1;2;3\n", b"x" * (5 * 1024 * 1024 + 10),
                    "Ngày;Số tiền;Nội dung\n06/12/2026;nhiều;x\n".encode()):
        r = desk["client"].post("/ui/cashier/bank", data={"csrf": desk["csrf"]},
                                files={"statement": ("sao-ke.csv", content, "text/csv")})
        assert r.status_code == 400 and 'class="field-error"' in r.text, content[:20]


def test_a_statement_uploaded_through_the_page_pays_its_bill_once(desk):  # noqa: ANN001
    c, bill = desk["client"], desk["bill"]
    day = now().strftime("%d/%m/%Y")
    csv = f"Ngày giao dịch;Số tiền;Nội dung;Số tham chiếu\n{day};116.000;VP {bill.number};FT1\n{day};5.000;abc;FT2\n"
    for _ in range(2):
        r = c.post("/ui/cashier/bank", data={"csrf": desk["csrf"]},
                   files={"statement": ("sao-ke.csv", csv.encode(), "text/csv")})
        assert r.status_code == 200
    assert "Đã ghi trước đó: 1" in r.text and "Không khớp: 1" in r.text
    assert payments.paid_for(desk["repo"], bill.invoice_id) == Decimal(116000)
    assert desk["repo"].read("Invoice", bill.invoice_id).json()["status"] == "balanced"


FUZZ_VALUES = ["\x00", "a\x00b", "x" * 60_000, "Tạm ứng 🙂", "\udcff", "%zz", "-1e9999", "1" * 400, "NaN", " ", "<script>"]


def test_every_cashier_route_takes_malformed_values_as_a_cashier_without_a_5xx(desk):  # noqa: ANN001
    c, bill = desk["client"], desk["bill"]
    posts = ["/ui/cashier/visit", "/ui/cashier/closing", "/ui/cashier/bank"] + [
        f"/ui/cashier/bills/{bill.invoice_id}/{a}" for a in ("pay", "advance", "apply-advance", "refund")]
    for raw in FUZZ_VALUES:
        value = raw.encode("utf-8", "surrogatepass").decode("utf-8", "replace")    # what a browser can send
        data = {"csrf": desk["csrf"], "ma_lk": value, "amount": value, "method": value, "reference": value,
                "reason": value, "receipt": value, "_form": value}
        for path in posts:
            r = c.post(path, data=data)
            assert r.status_code < 500, (path, value[:20], r.status_code)
        for path in (f"/ui/cashier/bills/{value[:300]}", f"/ui/cashier/bills/{value[:300]}/receipt.pdf",
                     f"/ui/cashier/bills/{bill.invoice_id}?done={value[:300]}"):
            r = c.get(path.replace("\x00", "%00").replace("%zz", "%25zz"))
            assert r.status_code < 500, (path[:60], r.status_code)
    # Whatever was thrown at it, only whole-đồng amounts could be recorded, none of them here.
    assert payments.paid_for(desk["repo"], bill.invoice_id) == 0
