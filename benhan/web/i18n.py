"""Vietnamese first, English too: the UI's messages by key, and the language of a request
(the `lang` cookie set by /lang, else the browser's Accept-Language, else Vietnamese)."""
from __future__ import annotations

from starlette.requests import Request

LANGUAGES = ("vi", "en")
MESSAGES: dict[str, tuple[str, str]] = {
    "app.title": ("Bệnh án điện tử benhan", "benhan electronic medical record"),
    "login.title": ("Đăng nhập", "Log in"),
    "login.username": ("Tên đăng nhập", "User name"),
    "login.password": ("Mật khẩu", "Password"),
    "login.submit": ("Đăng nhập", "Log in"),
    "login.invalid": ("Tên đăng nhập hoặc mật khẩu không đúng.", "Wrong user name or password."),
    "login.locked": ("Tài khoản tạm khóa do nhập sai nhiều lần. Thử lại sau hoặc liên hệ quản trị.",
                     "The account is locked after repeated failures. Try again later or ask the admin."),
    "login.disabled": ("Tài khoản đã bị vô hiệu hóa. Liên hệ quản trị.", "The account is disabled. Ask the admin."),
    "login.inactive": ("Tài khoản không dùng quá 45 ngày nên đã bị vô hiệu hóa. Liên hệ quản trị.",
                       "The account was unused for too long and has been disabled. Ask the admin."),
    "login.outside-hours": ("Ngoài khung giờ được phép truy cập của tài khoản.",
                            "Outside this account's permitted access hours."),
    "login.invalid-mfa-code": ("Mã xác thực không đúng.", "Wrong verification code."),
    "login.expired": ("Biểu mẫu đã hết hạn, vui lòng thử lại.", "The form expired; please try again."),
    "mfa.title": ("Xác thực hai bước", "Two-step verification"),
    "mfa.code": ("Mã 6 số trên ứng dụng xác thực", "6-digit code from your authenticator app"),
    "mfa.submit": ("Xác nhận", "Verify"),
    "mfa.setup.title": ("Bật xác thực hai bước", "Turn on two-step verification"),
    "mfa.setup.help": ("Thêm khóa sau vào ứng dụng xác thực (Google Authenticator, Microsoft Authenticator, FreeOTP…), rồi nhập mã 6 số.",
                       "Add this key to an authenticator app (Google Authenticator, Microsoft Authenticator, FreeOTP…), then type the 6-digit code."),
    "mfa.setup.required": ("Tài khoản quản trị bắt buộc dùng xác thực hai bước.", "Admin accounts must use two-step verification."),
    "mfa.setup.key": ("Khóa bí mật", "Secret key"),
    "password.title": ("Đổi mật khẩu", "Change password"),
    "password.required": ("Bạn cần đặt mật khẩu mới trước khi tiếp tục.", "Set a new password before you go on."),
    "password.current": ("Mật khẩu hiện tại", "Current password"),
    "password.new": ("Mật khẩu mới", "New password"),
    "password.repeat": ("Nhập lại mật khẩu mới", "Repeat the new password"),
    "password.mismatch": ("Hai lần nhập mật khẩu mới không giống nhau.", "The two new passwords differ."),
    "password.rules": ("Ít nhất {n} ký tự (8 nếu dùng xác thực hai bước); không chứa tên đăng nhập; có thể dùng cụm từ tiếng Việt có dấu.",
                       "At least {n} characters (8 with two-step verification); not containing the user name; a Vietnamese phrase with diacritics is fine."),
    "password.too_short": ("Mật khẩu phải có ít nhất {n} ký tự.", "The password must be at least {n} characters."),
    "password.too_long": ("Mật khẩu dài tối đa {n} ký tự.", "The password may be at most {n} characters."),
    "password.has_username": ("Mật khẩu không được chứa tên đăng nhập.", "The password must not contain the user name."),
    "password.too_easy": ("Mật khẩu quá dễ đoán.", "The password is too easy to guess."),
    "password.wrong_current": ("Mật khẩu hiện tại không đúng.", "The current password is not right."),
    "password.saved": ("Đã đổi mật khẩu.", "Password changed."),
    "common.save": ("Lưu", "Save"),
    "common.logout": ("Đăng xuất", "Log out"),
    "common.logout_everywhere": ("Đăng xuất mọi thiết bị", "Log out everywhere"),
    "common.language": ("English", "Tiếng Việt"),
    "home.title": ("Trang chính", "Home"),
    "home.hello": ("Xin chào, {name}", "Hello, {name}"),
    "home.roles": ("Vai trò", "Roles"),
    "home.departments": ("Khoa/phòng", "Departments"),
    "home.all_departments": ("Toàn cơ sở", "The whole facility"),
    "btg.title": ("Truy cập khẩn cấp (phá kính)", "Emergency access (break-the-glass)"),
    "btg.help": ("Người bệnh này không thuộc khoa hoặc danh sách chăm sóc của bạn. Chỉ mở hồ sơ khi cần cho cấp cứu hoặc điều trị; mọi thao tác được ghi lại và lãnh đạo sẽ xem xét.",
                 "This patient is not in your departments or care list. Open the record only when care requires it; every action is recorded and reviewed by the director."),
    "btg.patient": ("Mã người bệnh", "Patient id"),
    "btg.reason": ("Lý do", "Reason"),
    "btg.submit": ("Mở hồ sơ trong {minutes} phút", "Open the record for {minutes} minutes"),
    "btg.unknown_patient": ("Không có người bệnh nào mang mã {patient}. Kiểm tra lại mã người bệnh.",
                            "No patient has the id {patient}. Check the patient id."),
    "btg.bad_id": ("{patient} không phải là mã người bệnh hợp lệ (chữ, số, dấu - và dấu chấm, tối đa 64 ký tự).",
                   "{patient} is not a valid patient id (letters, digits, - and ., at most 64 characters)."),
    "btg.reason_short": ("Vui lòng ghi rõ lý do (ít nhất 10 ký tự).", "Give the reason (at least 10 characters)."),
    "btg.banner": ("Đang truy cập khẩn cấp hồ sơ {patient} đến {until} — mọi thao tác đều được ghi lại.",
                   "Emergency access to {patient}'s record until {until} — every action is recorded."),
    "btg.not_allowed": ("Vai trò của bạn không được dùng truy cập khẩn cấp.", "Your role may not use emergency access."),
    "review.title": ("Xem xét truy cập khẩn cấp", "Review of emergency accesses"),
    "review.when": ("Thời điểm", "When"),
    "review.who": ("Người truy cập", "Who"),
    "review.patient": ("Người bệnh", "Patient"),
    "review.reason": ("Lý do", "Reason"),
    "review.until": ("Hết hạn", "Until"),
    "review.status": ("Kết luận", "Review"),
    "review.note": ("Ghi chú xem xét", "Review note"),
    "review.submit": ("Đã xem xét", "Mark reviewed"),
    "review.empty": ("Chưa có truy cập khẩn cấp nào.", "No emergency accesses yet."),
    "error.forbidden": ("Bạn không có quyền thực hiện thao tác này.", "You are not permitted to do this."),
    "error.outside_scope": ("Người bệnh không thuộc khoa hoặc danh sách chăm sóc của bạn. Có thể dùng truy cập khẩn cấp nếu cần.",
                            "This patient is outside your departments and care list. Use emergency access if care requires it."),
    "sync.status": ("Đồng bộ với tuyến tỉnh: lần cuối {last} · chờ gửi {pending} · xung đột {conflicts}",
                    "Sync with the provincial hub: last {last} · waiting {pending} · conflicts {conflicts}"),
    "sync.never": ("chưa lần nào", "never"),
    "sync.offline": ("chưa kết nối được, sẽ tự thử lại", "not reachable, retrying by itself"),
    "error.not_found": ("Không tìm thấy trang này.", "No such page."),
}

from benhan.web.ui.messages import UI_MESSAGES  # noqa: E402  (the clinician pages' keys, kept in their own module)
MESSAGES.update(UI_MESSAGES)


def language(request: Request) -> str:
    chosen = request.cookies.get("lang")
    if chosen in LANGUAGES:
        return chosen
    accept = request.headers.get("accept-language", "").lower()
    first = accept.split(",")[0].strip()
    return "en" if first.startswith("en") else "vi"


def translate(key: str, lang: str, **values: object) -> str:
    pair = MESSAGES.get(key)
    if pair is None:
        return key
    text = pair[LANGUAGES.index(lang) if lang in LANGUAGES else 0]
    return text.format(**values) if values else text
