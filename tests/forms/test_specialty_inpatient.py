"""02/BV1 Nhi khoa, 03/BV1 Truyền nhiễm, 04/BV1 Phụ khoa, 05/BV1 Sản khoa and 10/BV1 Ngoại khoa drawn by
the layout engine from a stay recorded through the app (tests/forms/stay_seed.py) with its specialty
part written as the doctor writes it (clinical.specialty_record.save): a distinct value for every
specialty item, each found in its own box by position (pdfplumber), each tick box ticked by what was
recorded and nothing else, diacritics exact; the cover, part A and part B stay 01/BV1's. SQLite and
PostgreSQL; PDF and PNGs kept in .artifacts/forms."""
from __future__ import annotations

import pytest

from benhan.auth.actor import Actor
from benhan.clinical import specialty_record as sr
from benhan.documents import whole_record
from benhan.documents.forms import FORMS, specialty_inpatient, vocabulary
from benhan.store.repository import Repository
from tests.clinical.test_inpatient_record import DOCTOR, enc, ward  # noqa: F401 - the ward fixture
from tests.forms import stay_seed
from tests.forms.conftest import keep, pages, text_in
from tests.forms.test_golden import A4, check_values, no_page_of_signatures_only
from tests.forms.test_inpatient import dotted, every_page, render

S = stay_seed.S

# A distinct value for every text item (what a doctor writes), Vietnamese with its diacritics.
TEXTS = {
    "nhi-ho-ten-bo": "Trịnh Văn Hải", "nhi-van-hoa-bo": "Lớp 12/12", "nhi-nghe-bo": "Thợ xây",
    "nhi-ho-ten-me": "Lê Thị Hồng", "nhi-van-hoa-me": "Đại học", "nhi-nghe-me": "Giáo viên mầm non",
    "nhi-con-thu": "Thứ hai", "nhi-tien-thai": "Para 2002, một lần sảy", "nhi-can-nang-sinh": "3150",
    "nhi-di-tat": "Không phát hiện dị tật", "nhi-phat-trien": "Biết đi lúc mười hai tháng, nói rõ câu",
    "nhi-benh-da-mac": "Viêm tiểu phế quản lúc tám tháng", "nhi-cai-sua": "Mười tám",
    "nhi-tiem-chung-khac": "Phế cầu hai mũi", "nhi-vong-dau": "47,5",
    "tn-noi-o": "Xã Nga Thạch có ổ dịch sốt xuất huyết tuần trước", "tn-tiep-xuc": "Em trai sốt cao cùng nhà",
    "tn-thoi-gian": "Bảy ngày trước khi khởi phát", "tn-dich-te-khac": "Nhà gần ao tù, nhiều muỗi",
    "pk-thay-kinh": "Mười ba tuổi", "pk-tinh-chat-kinh": "Đều, đỏ sẫm", "pk-chu-ky": "Hai mươi tám",
    "pk-so-ngay-kinh": "Năm ngày", "pk-luong-kinh": "Vừa phải", "pk-kinh-cuoi": "14/02/2025",
    "pk-dau-bung-kinh": "Đau ngày đầu", "pk-lay-chong": "Hai mươi hai tuổi", "pk-het-kinh": "Chưa mãn kinh",
    "pk-para": "Para 2012", "pk-benh-phu-khoa": "Viêm lộ tuyến cổ tử cung đã đốt điện",
    "pk-sinh-duc-thu-phat": "Phát triển bình thường", "pk-moi-lon": "Cân đối", "pk-moi-be": "Không sùi",
    "pk-am-vat": "Bình thường", "pk-am-ho": "Không loét", "pk-mang-trinh": "Rách cũ",
    "pk-am-dao": "Khí hư trắng đục", "pk-tang-sinh-mon": "Chắc, không sa",
    "pk-co-tu-cung": "Lộ tuyến rộng, chạm dễ chảy máu", "pk-than-tu-cung": "Kích thước bình thường, di động",
    "pk-phan-phu": "Khối bên phải ấn đau", "pk-tui-cung": "Túi cùng sau đầy",
    "sk-chuyen-da-luc": "02 giờ 10/03/2025", "sk-dau-hieu": "Đau bụng từng cơn, ra nhầy hồng",
    "sk-thay-kinh": "Mười bốn tuổi", "sk-tinh-chat-kinh": "Không đều", "sk-chu-ky": "Ba mươi",
    "sk-luong-kinh": "Ít", "sk-lay-chong": "Hai mươi ba tuổi", "sk-para": "1001",
    "sk-tien-thai": "Lần một đẻ thường năm 2021, bé trai 3200 gam", "sk-kinh-cuoi": "03/06/2024",
    "sk-du-kien-de": "10/03/2025", "sk-tuoi-thai": "Ba mươi chín", "sk-kham-thai-tai": "Trạm y tế xã Nga Yên",
    "sk-so-lan-kham": "Sáu", "sk-seo-mo": "Không có sẹo", "sk-tu-the-tc": "Trung gian",
    "sk-chieu-cao-tc": "Ba mươi mốt", "sk-vong-bung": "Chín mươi tư", "sk-con-co": "Ba cơn trong mười phút",
    "sk-tim-thai": "Một trăm bốn mươi", "sk-vu": "Núm vú lồi, tiết sữa non", "sk-bishop": "Bảy điểm",
    "sk-am-ho-am-dao": "Âm đạo thông, không u", "sk-co-tu-cung": "Xóa hết, mở bốn phân",
    "sk-oi-vo-luc": "05 giờ 10/03/2025", "sk-nuoc-oi": "Trong, khoảng ba trăm mililít", "sk-ngoi": "Chỏm",
    "sk-the": "Trái", "sk-kieu-the": "Trước", "sk-do-lot": "Lọt cao", "sk-de-luc": "09 giờ 45 10/03/2025",
    "sk-ngoi-thai": "Ngôi chỏm", "sk-kiem-soat-tc": "Không kiểm soát", "sk-tre-can-nang": "3350",
    "sk-apgar": "8 – 9 – 10", "sk-tre-di-tat": "Không dị tật", "sk-tre-tinh-trang": "Khóc to, hồng hào, bú tốt",
    "sk-rau-mo-ta": "Bánh rau đủ, màng đủ, cuống rau dài năm mươi phân", "sk-rau-can-nang": "520",
    "sk-mat-mau": "Hai trăm", "sk-khau": "Khâu vắt một lớp, bảy mũi",
    "nk-tai-cho": "Hố chậu phải có khối ấn đau, phản ứng thành bụng, Mc Burney dương tính",
}
# What is ticked (a non-first option, so a default cannot pass for it).
TICKS = {"nhi-tinh-trang-sinh": ["giac-hut"], "nhi-nuoi-duong": ["hon-hop"], "nhi-cham-soc": ["tai-nha"],
         "nhi-tiem-chung": ["bcg", "ho-ga", "viem-gan-b"], "sk-uon-van": ["2-mui"], "sk-hinh-dang-tc": ["doc"],
         "sk-oi": ["da-vo"], "sk-cach-de": ["giac-hut"], "sk-tre-gioi": ["female"], "sk-rau-bong": ["boc-rau"],
         "sk-tang-sinh-mon": ["cat"]}
KEYS = {"nhi-khoa": "inpatient-paediatric", "truyen-nhiem": "inpatient-infectious", "phu-khoa": "inpatient-gynaecology",
        "san-khoa": "inpatient-obstetric", "ngoai-khoa": "inpatient-surgical"}


def form_values(specialty: str) -> dict[str, str]:
    out = {"sp_form": specialty}
    for item in sr.items_of(specialty):
        if not item.options:
            out[item.field] = TEXTS[item.code]
        elif item.many:
            out.update({item.option_field(o): "on" for o in TICKS[item.code]})
        else:
            out[item.field] = TICKS[item.code][0]
    return out


def test_every_item_has_a_distinct_value_and_every_tick_list_its_words_in_the_vocabulary():
    assert set(TEXTS) | set(TICKS) == {i.code for i in sr.ITEMS}
    assert len(set(TEXTS.values())) == len(TEXTS)
    for name, options in sr.OPTIONS.items():        # the page's options are the paper's, in its order
        assert vocabulary.options(name) == [(code, vi) for code, (vi, _) in options.items()], name


@pytest.mark.parametrize("specialty", sorted(KEYS))
def test_specialty_record_every_item_in_its_box(ward, specialty):  # noqa: ANN001, F811
    eid = stay_seed.stay(ward)
    sr.save(ward["repo"], DOCTOR, enc(ward, eid), form_values(specialty), None)
    key = KEYS[specialty]
    p = render(ward, eid, key)
    form = FORMS[key]
    keep(f"{form.code.replace('/', '-')}-{key}", p.pdf)
    every_page(p.pdf, A4, f"MS: {form.code}", S["name"])
    assert form.title in pages(p.pdf)[0][2] and "BỆNH ÁN NỘI KHOA" not in pages(p.pdf)[0][2]
    texts = {i.code: TEXTS[i.code] for i in sr.items_of(specialty) if not i.options}
    ticks = {i.code: TICKS[i.code][0] for i in sr.items_of(specialty) if i.options and not i.many}
    check_values(p, texts, digits={}, ticks=ticks)
    assert p.warnings == []          # no abbreviation the facility's list does not have (TT 32 Đ52 k2 c)
    for item in sr.items_of(specialty):
        if item.many:
            regions = p.rendered.regions
            ticked = sorted(r.split("=")[1] for r in regions if r.startswith(f"{item.code}=")
                            and "X" in text_in(p.pdf, regions[r]).split())
            assert ticked == sorted(TICKS[item.code]), item.code
    # 01/BV1's own items are all there, in their boxes, and the record is the stay's.
    check_values(p, {"reason": S["reason"], "history": S["history"], "plan": S["plan"], "course": S["course"],
                     "main-dx": "(K35.2)", "record-doctor": "Lê Văn Hùng"},
                 digits={"main-dx-icd": "K35.2", "days": "10"}, ticks={"route": "cap-cuu", "result": "2"})
    no_page_of_signatures_only(p)


def test_the_surgical_record_lists_the_stays_surgeries_and_procedures(ward):  # noqa: ANN001, F811
    eid = stay_seed.stay(ward)
    sr.save(ward["repo"], DOCTOR, enc(ward, eid), form_values("ngoai-khoa"), None)
    p = render(ward, eid, "inpatient-surgical")
    table = " ".join(text_in(p.pdf, p.rendered.regions["surgery-table"]).split())
    for row in (f"14:30 03/03/2025 {S['surgery']} / Gây mê nội khí quản Lê Văn Hùng Trần Thị Hương",
                f"13:05 03/03/2025 {S['procedure']} Nguyễn Thị Mai"):
        assert row in table, table
    assert p.rendered.regions["surgery-table"].page > p.rendered.regions["plan"].page      # in part B


def test_an_item_not_written_is_a_dotted_line_and_other_specialties_items_are_not_kept(ward):  # noqa: ANN001, F811
    eid = stay_seed.stay(ward)
    values = {k: v for k, v in form_values("san-khoa").items() if k != sr.BY_CODE["sk-tim-thai"].field}
    values[sr.BY_CODE["nhi-vong-dau"].field] = "50"          # another form's item: not this record's
    sr.save(ward["repo"], DOCTOR, enc(ward, eid), values, None)
    part = sr.of_visit(ward["repo"], eid)
    assert "nhi-vong-dau" not in sr.texts(part) and "sk-tim-thai" not in sr.texts(part)
    p = render(ward, eid, "inpatient-obstetric")
    assert dotted(p, "sk-tim-thai")
    assert not [r for r in p.rendered.regions if r.startswith("sk-tre-gioi=male")
                and "X" in text_in(p.pdf, p.rendered.regions[r]).split()]


def test_the_stays_record_form_is_the_chosen_specialtys_else_the_departments_else_01bv1(ward):  # noqa: ANN001, F811
    repo = Repository(ward["repo"].store, Actor.system())
    eid = stay_seed.stay(ward)
    ctx = stay_seed.context(ward, eid)
    assert whole_record.record_form(ctx, None) == "inpatient"
    surgery_ward = {"type": [{"coding": [{"system": sr.SPECIALTY_SYSTEM, "code": "ngoai-khoa"}]}]}
    assert whole_record.record_form(ctx, surgery_ward) == "inpatient-surgical"
    sr.save(repo, DOCTOR, enc(ward, eid), form_values("san-khoa"), None)
    ctx = stay_seed.context(ward, eid)
    part = sr.of_visit(repo, eid)
    assert whole_record.record_form(ctx, surgery_ward, part) == "inpatient-obstetric"   # the doctor's choice first
    assert specialty_inpatient.record_form_for("noi-khoa") == "inpatient"
