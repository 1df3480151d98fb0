"""Every setting, declared once.

A setting is read, in order of precedence, from the environment (``BENHAN_<NAME>``), from the
config file (TOML; ``BENHAN_CONFIG`` or ``<data_dir>/benhan.toml``) and from its default.
docs/configuration.md is generated from this table (``benhan config docs``) and a test keeps the
two equal, so the docs cannot drift from the code.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benhan.errors import ConfigError


@dataclass(frozen=True)
class Setting:
    name: str
    type: type
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("data_dir", Path, Path("data"),
            "Folder holding the SQLite database, backups and the config file."),
    Setting("database_url", str, "",
            "SQLAlchemy URL of the database. Empty: SQLite at <data_dir>/benhan.sqlite. "
            "PostgreSQL: postgresql+psycopg://user@host/dbname (TLS: add ?sslmode=verify-full&sslrootcert=…)."),
    Setting("database_encryption", bool, False,
            "SQLite: encrypt the database at rest (SQLCipher). The first start of a new database makes the key "
            "file and prints the recovery key once; an existing plain database is encrypted with "
            "`benhan key encrypt-database` (docs/operations.md)."),
    Setting("database_key_file", Path, Path(""),
            "SQLite: where the database key file is (e.g. on a USB stick, so a stolen disk alone reveals "
            "nothing). Empty: benhan.key beside the database. A database is opened encrypted when its key file exists."),
    Setting("host", str, "127.0.0.1", "Address the server listens on (0.0.0.0 for the whole LAN)."),
    Setting("port", int, 8080, "TCP port of the server."),
    Setting("base_url", str, "",
            "Public base URL used in Location headers and Bundle links. Empty: taken from each request."),
    Setting("max_body_bytes", int, 32 * 1024 * 1024,
            "Largest request body accepted, in bytes; larger bodies get 413."),
    Setting("default_page_size", int, 20, "Page size of searches and histories without _count."),
    Setting("max_page_size", int, 1000, "Largest _count honoured; larger values are capped."),
    Setting("export_expiry_hours", float, 24.0,
            "Hours a Bulk Data $export's files are kept after it finished; then they are deleted (docs/fhir-api.md)."),
    Setting("node_id", str, "",
            "Name of this node in the change log (sync origin). Empty: generated once and kept in the database."),
    Setting("backup_dir", Path, Path(""),
            "Folder for backups, including the automatic one taken before a migration. Empty: <data_dir>/backups."),
    Setting("backup_keep", int, 10, "How many automatic pre-migration backups to keep."),
    Setting("backup_hour", int, 2,
            "Local hour (0-23, `timezone`) of the daily encrypted backup the server takes by itself; -1 turns the "
            "scheduled backups off (docs/operations.md)."),
    Setting("backup_hourly", bool, True, "On SQLite, also take a scheduled backup every hour."),
    Setting("backup_keep_hourly", int, 24, "Scheduled backups: how many of the newest to keep in any case."),
    Setting("backup_keep_daily", int, 7, "Scheduled backups: keep the newest of each of this many last days."),
    Setting("backup_keep_weekly", int, 4, "Scheduled backups: keep the newest of each of this many last weeks."),
    Setting("backup_keep_monthly", int, 12, "Scheduled backups: keep the newest of each of this many last months."),
    Setting("backup_copy_dir", Path, Path(""),
            "Second place for every scheduled backup (a USB disk or a mounted network share). Empty: none. "
            "A missing folder is reported on the admin page, the backup itself still succeeds."),
    Setting("backup_restore_test_days", int, 7,
            "Every this many days the server restores its newest scheduled backup into a scratch copy and checks it."),
    Setting("log_level", str, "info", "Server log level: debug, info, warning, error."),
    Setting("timezone", str, "+07:00",
            "Zone of dates and times that carry none (a birth date, a day searched for). "
            "After changing it on a database with data, run `benhan reindex`."),
    Setting("sqlite_busy_timeout_ms", int, 30000,
            "How long a SQLite connection waits for the write lock before giving up."),
    Setting("session_idle_minutes", int, 30,
            "A web session unused for this long ends; the user logs in again (typed text is kept in the browser)."),
    Setting("session_max_hours", int, 12, "A web session ends this many hours after login, used or not."),
    Setting("lockout_attempts", int, 5, "Failed logins in a row that lock an account."),
    Setting("lockout_minutes", int, 15, "How long a locked account stays locked (an admin can unlock it sooner)."),
    Setting("inactive_disable_days", int, 45, "Accounts not used for this many days are disabled (TCVN 14423)."),
    Setting("password_min_length", int, 14, "Shortest password accepted for an account without MFA (TCVN 14423)."),
    Setting("password_min_length_mfa", int, 8, "Shortest password accepted for an account with MFA."),
    Setting("break_glass_minutes", int, 120, "How long a break-the-glass access lasts."),
    Setting("access_token_minutes", int, 60, "Lifetime of an OAuth access token."),
    Setting("refresh_token_days", int, 30, "Lifetime of an OAuth refresh token (apps with offline_access)."),
    Setting("tls_cert_file", Path, Path(""),
            "PEM certificate (chain) for HTTPS. Empty: plain HTTP (behind a TLS proxy, or on localhost only)."),
    Setting("tls_key_file", Path, Path(""), "PEM private key of tls_cert_file."),
    Setting("cors_origins", str, "",
            "Origins allowed to call the FHIR API from a browser, comma-separated (e.g. https://app.example.vn). "
            "Empty: none."),
    Setting("pool_size", int, 20, "Database connections kept open per server process (PostgreSQL; up to twice as many more under load). "
            "Enough for the server's 16 request threads and its background work, so that no connection is opened per request; "
            "with --workers N the server holds N times as many, and each process up to 2 more for reads by id "
            "(PostgreSQL's max_connections must allow them)."),
    # --- digital signatures (docs/signatures.md) ---
    Setting("signing_trust_dir", Path, Path(""),
            "Folder of the CA certificates signatures are checked against (the NEAC roots and the licensed CAs: "
            ".crt/.cer/.pem/.der). Empty: <data_dir>/trust."),
    Setting("facility_seal_file", Path, Path(""),
            "PKCS#12 file of the facility's seal (its organisation certificate), which signs paper documents converted "
            "to electronic (NĐ 137/2024 Đ4). Its password comes from the environment variable BENHAN_SEAL_PASSWORD or "
            "facility_seal_password_file, never from the database. Empty: paper conversion is refused."),
    Setting("facility_seal_password_file", Path, Path(""),
            "A file (readable by the server only) holding the seal's password, when BENHAN_SEAL_PASSWORD is not set."),
    Setting("signing_offline", str, "refuse",
            "When a signer's certificate status cannot be checked (no OCSP/CRL answer): refuse, or "
            "sign-and-recheck (sign, record it, check again when the link is back)."),
    Setting("signing_tsa_url", str, "",
            "The RFC 3161 time-stamping authority (a licensed TSA) that timestamps every signature (PAdES-B-LTA). "
            "Empty: signatures carry the signer's own time only, recorded as 'không có dấu thời gian'. When the TSA "
            "does not answer, the document is signed without a timestamp and that is recorded."),
    Setting("signing_tsa_username", str, "", "Account at the TSA, when it asks for one (HTTP basic authentication)."),
    Setting("signing_tsa_password", str, "", "Password of signing_tsa_username (better set as BENHAN_SIGNING_TSA_PASSWORD)."),
    Setting("signing_recheck_minutes", int, 15,
            "How often the server checks again the signatures made while OCSP and CRL could not be reached "
            "(signing_offline = sign-and-recheck); nothing runs while none is pending. 0: never in the server."),
    Setting("pkcs11_module", Path, Path(""),
            "The PKCS#11 library of the staff's USB tokens (the CA's driver, e.g. a .so from VNPT-CA or Viettel-CA). "
            "Empty: none configured (signing with a token is refused with this setting's name)."),
    Setting("remote_signing_url", str, "",
            "The remote-signing service (the signer's key in the CA's HSM, approval on the phone), reached "
            "through an adapter that speaks benhan's contract (benhan/signing/remote.py). Empty: none."),
    Setting("remote_signing_key", str, "", "The remote-signing service's API key (sent as a bearer token)."),
    Setting("sms_gateway_url", str, "",
            "The SMS gateway that sends patients their confirmation codes (docs/signatures.md). Empty: no SMS; "
            "patient confirmation by OTP is not offered."),
    Setting("sms_gateway_key", str, "", "The SMS gateway's API key (sent as a bearer token)."),
    Setting("sms_brandname", str, "BENHAN", "The sender name (brandname) registered with the SMS provider."),
    # --- appointments (docs/ui.md) ---
    Setting("appointment_slot_capacity", int, 20,
            "How many patients a clinic takes in one 30-minute appointment slot; a booking over it is refused."),
    Setting("appointment_reminder_hour", int, 17,
            "The local hour of the day before an appointment from which its SMS reminder is queued and sent "
            "(needs sms_gateway_url)."),
    # --- sync between facility nodes and the hub (docs/sync.md) ---
    Setting("role", str, "",
            "Sync role: node (a facility that syncs with a hub), hub (the province's server nodes sync with) "
            "or empty (standalone, no sync)."),
    Setting("hub_url", str, "",
            "Base URL of the hub (a node). Empty: the URL given to `benhan node enroll`."),
    Setting("hub_ca_file", Path, Path(""),
            "PEM certificate a node trusts for the hub's HTTPS, e.g. the hub's own from `benhan tls self-signed` "
            "(copied to the node). Empty: the system's trusted certificate authorities."),
    Setting("sync_interval_seconds", int, 60,
            "How often a node syncs when all is well; after a failure it retries sooner, then backs off up to 5 minutes."),
    Setting("hub_backup_max_mb", int, 2048,
            "A hub: the largest encrypted backup file a node may copy to it (MB); beyond, the upload is refused (413)."),
    Setting("hub_backup_keep", int, 7,
            "A hub: how many of each node's newest encrypted backup copies it keeps (under node-backups/ in its data folder)."),
    # --- the cashier's VietQR codes (docs/cashier.md): payments go straight into this account (NĐ 52/2024) ---
    Setting("vietqr_bank_bin", str, "",
            "NAPAS BIN of the facility's bank (6 digits, e.g. 970436 Vietcombank, 970415 VietinBank), from the bank. "
            "Empty: no VietQR code is shown; the cashier takes cash only."),
    Setting("vietqr_account", str, "", "The facility's account number at that bank (up to 19 digits), which patients pay into."),
    Setting("vietqr_account_name", str, "",
            "The account holder's name as the bank shows it (printed under the code so the patient can check it)."),
    Setting("facility_head_title", str, "",
            "Title of the facility's head on the record forms' signature block (e.g. 'Trạm trưởng', 'Giám đốc'). "
            "Empty: from the facility's name (Trạm Y tế: Trạm trưởng; Trung tâm Y tế: Giám đốc trung tâm; "
            "Bệnh viện: Giám đốc bệnh viện; otherwise Thủ trưởng đơn vị)."),
    Setting("facility_authority", str, "",
            "The facility's parent authority, first line of the forms' top-left block (e.g. 'Sở Y tế Thanh Hóa'). "
            "Empty: the facility Organization's partOf (its display); without one the line prints dotted."),
    Setting("transfusion_form_code", str, "25/BV-01",
            "The code printed on the blood transfusion sheet (phiếu truyền máu), which TT 32/2023 gives no number: "
            "the old layout's MS 25/BV-01 by default; a facility that numbers it otherwise sets its own."),
    Setting("dose_late_minutes", int, 60,
            "Minutes after its scheduled time a medication dose not yet recorded shows late (trễ giờ) on the nurse's "
            "Thuốc dùng trong ngày and doses-due pages (docs/ui.md); it shows due (đến giờ) from as long before."),
    Setting("dose_missed_minutes", int, 240,
            "Minutes after its scheduled time a medication dose not yet recorded shows missed (bỏ lỡ)."),
    Setting("vitals_hours_care_1", int, 3,
            "Hours between vital-signs rounds for a stay at care level cấp I (chăm sóc cấp I, the doctor's order): "
            "the next round is due this long after the last vital signs (docs/ui.md). benhan's default, not a MoH number."),
    Setting("vitals_hours_care_2", int, 6,
            "Hours between vital-signs rounds for a stay at care level cấp II (chăm sóc cấp II, the doctor's order): "
            "the next round is due this long after the last vital signs (docs/ui.md). benhan's default, not a MoH number."),
    Setting("vitals_hours_care_3", int, 12,
            "Hours between vital-signs rounds for a stay at care level cấp III (chăm sóc cấp III, the doctor's order): "
            "the next round is due this long after the last vital signs (docs/ui.md). benhan's default, not a MoH number."),
    Setting("form_abbreviations_file", Path, Path(""),
            "The facility's published list of allowed abbreviations (TT 32/2023 Đ52 k2 c), a TOML file of "
            "ABBREVIATION = \"full words\" lines (docs/forms.md). Empty: the list shipped in "
            "benhan/documents/forms/abbreviations.toml."),
    Setting("national_prescription_url", str, "",
            "The national e-prescription system (Hệ thống đơn thuốc quốc gia) prescriptions are sent to "
            "(TT 26/2025 Đ12; connection per QĐ 808/QĐ-BYT). Empty: not configured (sending is refused, printing works)."),
    Setting("national_prescription_linking_code", str, "",
            "The facility's linking code (mã liên thông) issued by the national system (QĐ 425/QĐ-BYT Đ20)."),
    Setting("national_prescription_password", str, "",
            "Password of the linking code (better set as BENHAN_NATIONAL_PRESCRIPTION_PASSWORD)."),
    # --- BHYT claims to the BHXH gateway (docs/claims.md) ---
    Setting("bhxh_gateway_url", str, "",
            "Base URL of the BHXH gateway (https://egw.baohiemxahoi.gov.vn) or of benhan's stand-in "
            "(`benhan claims standin`). Empty: claims are queued but not sent, and the card check is not offered."),
    Setting("bhxh_username", str, "", "The facility's gateway account (usually <MA_CSKCB>_BV)."),
    Setting("bhxh_password_file", Path, Path(""),
            "A file (readable by the server only) holding the gateway password, when BENHAN_BHXH_PASSWORD is not set."),
    Setting("bhxh_province", str, "", "maTinh sent with each file: the facility's province code at the gateway."),
    Setting("claims_interval_seconds", int, 60,
            "How often `benhan serve` sends what is due in the outbox (check-ins, claims); 0: not at all."),
    Setting("claims_send_within_hours", int, 24,
            "A claim sent later than this after the episode ends is listed in the late-sending log with the reason "
            "(TT 48/2017 Đ7–8; a draft asks for 3 hours from 2027)."),
    Setting("health_book_withheld_icd", str, "",
            "ICD-10 codes or ranges (e.g. \"B20-B24, F20\") whose visits are not pushed to the patient's VNeID health "
            "book: the facility's own decision (benhan's sources name no legal exception; docs/claims.md). Empty: "
            "every closed visit is pushed."),
    # --- e-invoices (NĐ 254/2026 + TT 91/2026) through the facility's provider (docs/einvoice.md) ---
    Setting("einvoice_provider_url", str, "",
            "Base URL of the facility's e-invoice provider (VNPT, Viettel, MISA… as benhan's provider contract) or "
            "of benhan's stand-in (`benhan einvoice standin`). Empty: no e-invoices are made; payments work as before."),
    Setting("einvoice_username", str, "", "The facility's account at the e-invoice provider."),
    Setting("einvoice_password_file", Path, Path(""),
            "A file (readable by the server only) holding the provider password, when BENHAN_EINVOICE_PASSWORD is not set."),
    Setting("einvoice_seller_tax_code", str, "", "The facility's tax code (MST, 10 or 13 digits), the seller on every invoice."),
    Setting("einvoice_seller_address", str, "", "The facility's address as registered with the tax office (NBan/DChi)."),
    Setting("einvoice_series", str, "",
            "The invoice symbol KHHDon registered with the tax office, without the year: C (coded) or K, then T, M or L, "
            "then 2 letters (e.g. CTBV gives C26TBV in 2026). Numbers run from 1 per symbol and year."),
    Setting("einvoice_template", str, "2",
            "The template digit KHMSHDon: 1 VAT invoice, 2 sales invoice (⚠ which one a public hospital uses depends "
            "on how it declares VAT; ask the tax office)."),
    Setting("einvoice_vat", str, "KCT",
            "VAT treatment of medical services (TSuat): KCT = not subject to VAT (⚠ the VAT Law 48/2024 article is "
            "not checked), or a rate such as 5%."),
    Setting("einvoice_provider_tax_code", str, "", "Tax code of the invoice-solution provider (MSTTCGP)."),
    Setting("einvoice_daily_summary", bool, False,
            "NĐ 254 Đ9 k4 m: patients who do not ask for an invoice are covered by one summary invoice a day "
            "(`benhan einvoice daily`) instead of an invoice per payment."),
    Setting("einvoice_bhxh_name", str, "Bảo hiểm xã hội tỉnh",
            "The buyer on the invoice for the BHYT share at settlement: the BHXH agency that pays the facility."),
    Setting("einvoice_bhxh_tax_code", str, "", "That BHXH agency's tax code (or budget unit code)."),
    Setting("lab_mllp_port", int, 0,
            "TCP port on which `benhan serve` also receives the laboratory analysers' results (HL7 v2 ORU^R01 "
            "over MLLP, docs/lab.md); 0 = off (or run `benhan lab listen`)."),
    Setting("lab_orm_address", str, "",
            "host:port of the laboratory system that takes orders (HL7 v2 ORM^O01 over MLLP, docs/lab.md), sent "
            "through the outbox when a specimen is collected; empty = no orders sent."),
    Setting("pacs_viewer_url", str, "",
            "The PACS viewer's address for an imaging result, e.g. https://pacs.local/viewer?accession={accession}"
            "&study={study_uid}; shown as a link on the visit page (http/https only); empty = no link."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def _coerce(setting: Setting, raw: Any, source: str) -> Any:
    try:
        if setting.type is bool:
            if isinstance(raw, bool):
                return raw
            return str(raw).strip().lower() in ("1", "true", "yes", "on")
        if setting.type is Path:
            return Path(str(raw)).expanduser()
        return setting.type(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: {setting.name} must be {setting.type.__name__}, got {raw!r}") from None


@dataclass(frozen=True)
class Config:
    values: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def sqlalchemy_url(self) -> str:
        url = self.values["database_url"] or f"sqlite:///{(self.values['data_dir'] / 'benhan.sqlite').resolve()}"
        key_file = self.values.get("database_key_file")
        if url.startswith("sqlite") and key_file is not None and str(key_file) not in ("", "."):
            # The key file travels in the URL, so every Database(url) opens it (store/encryption.py).
            from urllib.parse import quote
            return url + ("&" if "?" in url else "?") + "key_file=" + quote(str(Path(key_file).resolve()), safe="/")
        return url

    @property
    def backups(self) -> Path:
        b = self.values["backup_dir"]
        return b if str(b) not in ("", ".") else self.values["data_dir"] / "backups"

    @property
    def trust_dir(self) -> Path:
        t = self.values["signing_trust_dir"]
        return t if str(t) not in ("", ".") else self.values["data_dir"] / "trust"

    def replace(self, **changes: Any) -> "Config":
        unknown = set(changes) - set(_BY_NAME)
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        merged = dict(self.values)
        for k, v in changes.items():
            merged[k] = _coerce(_BY_NAME[k], v, "argument")
        return Config(merged)


def load(env: dict[str, str] | None = None, **overrides: Any) -> Config:
    """Build the configuration: overrides > environment > config file > defaults."""
    env = dict(os.environ if env is None else env)
    values = {s.name: s.default for s in SETTINGS}
    data_dir = Path(overrides.get("data_dir") or env.get("BENHAN_DATA_DIR") or values["data_dir"])
    file = Path(env["BENHAN_CONFIG"]) if env.get("BENHAN_CONFIG") else data_dir / "benhan.toml"
    if file.is_file():
        try:
            from_file = tomllib.loads(file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{file}: not valid TOML ({exc})") from None
        for key, raw in from_file.items():
            if key not in _BY_NAME:
                raise ConfigError(f"{file}: unknown setting {key!r}")
            values[key] = _coerce(_BY_NAME[key], raw, str(file))
    elif env.get("BENHAN_CONFIG"):
        raise ConfigError(f"config file {file} does not exist")
    for s in SETTINGS:
        raw = env.get("BENHAN_" + s.name.upper())
        if raw is not None and raw != "":
            values[s.name] = _coerce(s, raw, "BENHAN_" + s.name.upper())
    for k, v in overrides.items():
        if v is None:
            continue
        if k not in _BY_NAME:
            raise ConfigError(f"unknown setting {k!r}")
        values[k] = _coerce(_BY_NAME[k], v, "argument")
    return Config(values)


def docs_markdown() -> str:
    """The text of docs/configuration.md."""
    lines = [
        "# Configuration",
        "",
        "Generated from `benhan/config.py` by `benhan config docs`; a test keeps it in step.",
        "",
        "Each setting is read from the environment variable `BENHAN_<NAME>`, else from the TOML config",
        "file (`BENHAN_CONFIG`, or `benhan.toml` in the data folder), else its default.",
        "",
        "| setting | environment | type | default | meaning |",
        "|---|---|---|---|---|",
    ]
    for s in SETTINGS:
        default = str(s.default) if str(s.default) not in ("", ".") else "(empty)"
        lines.append(f"| `{s.name}` | `BENHAN_{s.name.upper()}` | {s.type.__name__} | `{default}` | {s.help} |")
    return "\n".join(lines) + "\n"
