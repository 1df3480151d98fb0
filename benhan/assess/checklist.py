"""The checklist a facility's appraisal council goes through before announcing EMR completion
(TT 13/2025 has no formal procedure: the council self-assesses against TT 13 Đ1–Đ3 and NHIC's
CV 365 technical guide; ../shared/vietnam.md §1.1, §1.2, §1.7).

Each item is data: its id, the article it comes from, the requirement in Vietnamese and English,
and how it is judged — `check` names an automatic check in evaluate.py (the software reads its own
state), or None: a question the facility answers with a document reference
(`benhan assess answer ITEM --ref "QĐ số …" --by NAME`). The texts paraphrase the sources; the
council reads the articles themselves.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    id: str
    source: str
    vi: str
    en: str
    check: str | None = None        # the automatic check's name; None: a question

    @property
    def automatic(self) -> bool:
        return self.check is not None


ITEMS: tuple[Item, ...] = (
    Item("tt13-d1-k2-content", "TT 13/2025 Đ1 k2; TT 32/2023 Chương X",
         "Nội dung HSBA điện tử đầy đủ theo các mẫu của TT 32/2023 Chương X (đã rà soát các mẫu cơ sở dùng)",
         "Record content complete per the TT 32/2023 Chapter X forms (the forms the facility uses were reviewed)"),
    Item("tt13-d1-k3-cccd", "TT 13/2025 Đ1 k3; NĐ 102/2025 Đ6",
         "HSBA gắn với số định danh cá nhân (CCCD) của người bệnh — ít nhất 90 % người bệnh có số định danh",
         "Records linked to the patient's personal ID number (CCCD) — at least 90 % of patients have one",
         "cccd"),
    Item("tt13-d2-k1-backup", "TT 13/2025 Đ2 k1; CV 365 III.1.2 a, III.2 c",
         "Có lưu trữ dự phòng: sao lưu tự động gần đây, không lỗi",
         "Backup storage in place: a recent automatic backup, without failure", "backup"),
    Item("tt13-d2-k4-restore", "TT 13/2025 Đ2 k4; CV 365 III.1.2 a; TCVN 14423:2026",
         "Sẵn sàng khôi phục dữ liệu: bản sao lưu đã được thử khôi phục thành công",
         "Ready to restore: a backup has been restore-tested successfully", "restore_test"),
    Item("cv365-iii2-c-copy", "CV 365 III.2 c",
         "Một bản sao lưu giữ tại cơ sở và một bản ở nơi thứ hai",
         "One backup copy kept at the facility and one in a second place", "second_copy"),
    Item("tt13-d3-signatures", "TT 13/2025 Đ3; Luật GDĐT 20/2023 Đ22–23",
         "Ký số/xác nhận điện tử đang được dùng: mọi giấy ra viện/tóm tắt ra viện đã ký số",
         "Digital signatures in use: every discharge summary is digitally signed", "signatures"),
    Item("tt13-d6-k3b-regulation", "TT 13/2025 Đ6 k3 b",
         "Cơ sở đã ban hành quy chế tạo lập, cập nhật, quản lý, lưu trữ, sử dụng và bảo mật HSBA điện tử",
         "The facility has issued its regulation on creating, updating, managing, storing, using and securing EMRs"),
    Item("cv365-v-signing-rules", "CV 365 V; TT 13/2025 Đ3",
         "Cơ sở đã ban hành quy định quản lý chữ ký số, xác thực điện tử",
         "The facility has issued its rules for managing e-signatures and e-authentication"),
    Item("cv365-iii11-a-pdf", "CV 365 III.1.1 a, e",
         "Xem và in HSBA theo mẫu của Bộ Y tế, tối thiểu ở dạng .pdf",
         "Records viewed and printed on the MoH forms, at least as .pdf", "pdf"),
    Item("cv365-iii11-c-roles", "CV 365 III.1.1 c, g",
         "Phân quyền theo vai trò: mọi tài khoản đang dùng đều có vai trò",
         "Role-based permissions: every active account has a role", "roles"),
    Item("cv365-iii11-g-hours", "CV 365 III.1.1 g",
         "Giới hạn thời gian truy cập theo từng tài khoản đã được cấu hình",
         "Per-account access time windows are configured", "access_hours"),
    Item("cv365-iii11-d-export", "CV 365 III.1.1 d, IV; phụ lục HoSoBenhAn",
         "Xuất HSBA ra XML/JSON theo phụ lục HoSoBenhAn khi có yêu cầu",
         "Records exported as XML/JSON in the HoSoBenhAn appendix schema on request", "export"),
    Item("cv365-iii11-dd-audit", "CV 365 III.1.1 đ, III.1.2 b",
         "Giám sát, truy vết mọi thao tác: nhật ký kiểm tra toàn vẹn (chuỗi băm không bị sửa)",
         "Every action monitored and traceable: the audit log verifies (its hash chain is unbroken)", "audit"),
    Item("cv365-iii11-h-codes", "CV 365 III.1.1 h; TT 06/2026",
         "Dùng danh mục dùng chung của Bộ Y tế (ICD-10, đơn vị hành chính, dân tộc…) đã được nạp",
         "The MoH shared code lists (ICD-10, administrative units, ethnicity…) are loaded", "code_lists"),
    Item("cv365-iii11-h-icd10", "CV 365 III.1.1 h; TT 06/2026",
         "Chẩn đoán mã hoá ICD-10: ít nhất 95 % chẩn đoán có mã ICD-10",
         "Diagnoses coded in ICD-10: at least 95 % of diagnoses carry an ICD-10 code", "icd10"),
    Item("cv365-iii12-b-https", "CV 365 III.1.2 b",
         "Mã hoá đường truyền: HTTPS khi phục vụ qua mạng",
         "Encryption in transit: HTTPS when served over the network", "https"),
    Item("nd102-d23-sync", "NĐ 102/2025 Đ10 k5 b, Đ23 k2; CV 365 III.1.1 b",
         "Kết nối, đồng bộ dữ liệu với hệ thống của tỉnh (hub) đang hoạt động (trong 48 giờ qua)",
         "Connected to the province's system (hub), synced within the last 48 hours", "sync"),
    Item("tcvn14423-mfa-admin", "TCVN 14423:2026; CV 365 III.1.2 b",
         "Tài khoản quản trị dùng xác thực nhiều yếu tố",
         "Administrator accounts use multi-factor authentication", "admin_mfa"),
    Item("tcvn14423-idle-45", "TCVN 14423:2026",
         "Tài khoản không dùng quá 45 ngày bị vô hiệu hoá",
         "Accounts unused for 45 days are disabled", "idle_accounts"),
    Item("cv365-iii12-a-encryption", "CV 365 III.1.2 a; NĐ 356/2025 Đ12 k4",
         "Có khả năng mã hoá dữ liệu lưu trữ; cơ sở đã quyết định và áp dụng (ghi số văn bản)",
         "Stored data can be encrypted; the facility decided and applied it (cite the document)"),
    Item("cv365-iii4-level2", "CV 365 III.4; NĐ 331/2026 Đ12",
         "Hồ sơ đề xuất cấp độ an toàn hệ thống thông tin (tối thiểu cấp độ 2) đã được phê duyệt",
         "The information-system security level dossier (at least level 2) is approved"),
    Item("cv365-iii2-a-location", "CV 365 III.2 a, đ",
         "Dữ liệu đặt tại hạ tầng của cơ sở hoặc điện toán đám mây tại Việt Nam; dữ liệu thuộc về cơ sở",
         "Data on the facility's own infrastructure or a cloud in Vietnam; the data belongs to the facility"),
    Item("cv365-iii6-personal-data", "CV 365 III.6; Luật 91/2025 Đ21",
         "Bảo vệ dữ liệu cá nhân: đã lập và nộp hồ sơ đánh giá tác động xử lý dữ liệu cá nhân",
         "Personal-data protection: the processing impact assessment (DPIA) is made and filed"),
)

BY_ID = {i.id: i for i in ITEMS}
