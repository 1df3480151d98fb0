"""`benhan doctor` and the health page: is this installation well, and if not, what to do.

Each check gives a status (ok / warn / fail), the evidence (numbers, and a line saying them) and,
when it is not ok, the fix in plain Vietnamese and English. A check that cannot run (a database
that does not answer, a file it may not read) is itself a "fail" line saying why — never a
traceback. The overall exit code follows Nagios: 0 all ok, 1 a warning, 2 a failure.

The checks read only; none migrates, creates or repairs anything. What each means and its fix are
listed in docs/operations.md "benhan doctor".
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from benhan import __version__
from benhan.config import Config

OK, WARN, FAIL = "ok", "warn", "fail"
EXIT = {OK: 0, WARN: 1, FAIL: 2}
_RANK = {OK: 0, WARN: 1, FAIL: 2}

# Thresholds (docs/operations.md): module constants so that a facility's IT person can read them.
DISK_FAIL_BYTES, DISK_FAIL_PCT = 1 << 30, 5.0        # below 1 GiB or 5 % free: SQLite cannot grow, backups fail
DISK_WARN_BYTES, DISK_WARN_PCT = 5 << 30, 10.0
BACKUP_FAIL_DAYS = 7            # no good backup for a week: a disk failure now loses a week of records
CERT_WARN_DAYS = 30
CLOCK_WARN_S, CLOCK_FAIL_S = 30.0, 120.0     # a node's token assertion lives 240 s
SYNC_WARN_HOURS, SYNC_FAIL_HOURS = 1, 48     # 48 h: the hub's dashboard calls the node silent
CHAIN_LINKS = 1000              # links verified without --full
OUTBOX_NAMES = {"bhyt-checkin": ("Check-in BHYT", "BHYT check-in"), "bhyt-claim": ("Hồ sơ BHYT", "BHYT claim"),
                "vneid-health-book": ("Sổ sức khỏe điện tử (VNeID)", "VNeID health book"),
                "einvoice": ("Hóa đơn điện tử", "e-invoice"),
                "eprescription": ("Đơn thuốc điện tử", "e-prescription")}


@dataclass
class Result:
    id: str
    status: str
    title: tuple[str, str]                 # (Vietnamese, English)
    evidence: tuple[str, str]
    fix: tuple[str, str] | None = None
    numbers: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        pair = lambda p: {"vi": p[0], "en": p[1]} if p else None  # noqa: E731
        return {"id": self.id, "status": self.status, "title": pair(self.title), "evidence": pair(self.evidence),
                "fix": pair(self.fix), "numbers": self.numbers}


@dataclass
class Report:
    results: list[Result]
    checked_at: dt.datetime

    @property
    def status(self) -> str:
        return max((r.status for r in self.results), key=_RANK.__getitem__, default=OK)

    @property
    def exit_code(self) -> int:
        return EXIT[self.status]

    def as_json(self) -> dict:
        return {"benhan": __version__, "status": self.status, "exit_code": self.exit_code,
                "checked_at": self.checked_at.isoformat(timespec="seconds"),
                "counts": {s: sum(r.status == s for r in self.results) for s in (OK, WARN, FAIL)},
                "checks": [r.as_json() for r in self.results]}


@dataclass
class Context:
    config: Config
    now: dt.datetime
    full: bool = False
    db: object = None                      # store.database.Database, opened by run() or given
    hub_clock: Callable | None = None      # sync.clock.hub_offset (injectable)

    @property
    def now_us(self) -> int:
        return int(self.now.timestamp() * 1_000_000)


def _v(vi: str, en: str) -> tuple[str, str]:
    return (vi, en)


def _days_hours(us: int, now_us: int) -> tuple[str, str]:
    hours = (now_us - us) / 3600e6
    if hours >= 48:
        return (f"{hours / 24:.1f} ngày", f"{hours / 24:.1f} days")
    return (f"{hours:.1f} giờ", f"{hours:.1f} hours")


def _gib(n: int) -> str:
    return f"{n / (1 << 30):.1f} GiB" if n >= 1 << 30 else f"{n / (1 << 20):.1f} MiB"


# --- the checks ---------------------------------------------------------------------------------

def check_disk(ctx: Context) -> list[Result]:
    out = []
    places = [("disk.data", ctx.config.data_dir, ("Thư mục dữ liệu", "Data folder")),
              ("disk.backups", ctx.config.backups, ("Thư mục sao lưu", "Backup folder"))]
    for cid, path, (vi, en) in places:
        title = (f"Dung lượng trống: {vi.lower()}", f"Free disk space: {en.lower()}")
        probe = Path(path)
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent            # a backup folder not made yet: the disk it will be on
        usage = shutil.disk_usage(probe)
        pct = 100.0 * usage.free / usage.total if usage.total else 0.0
        nums = {"path": str(path), "free_bytes": usage.free, "total_bytes": usage.total, "free_percent": round(pct, 1)}
        ev = (f"{path}: còn trống {_gib(usage.free)} trên {_gib(usage.total)} ({pct:.1f}%)",
              f"{path}: {_gib(usage.free)} free of {_gib(usage.total)} ({pct:.1f}%)")
        fix = _v(f"Giải phóng dung lượng trên ổ chứa {path} (xoá tệp không cần, chép các bản sao lưu cũ sang ổ khác) "
                 "hoặc chuyển thư mục sang ổ lớn hơn.",
                 f"Free space on the disk holding {path} (delete unneeded files, move old backups to another disk) "
                 "or move the folder to a larger disk.")
        if usage.free < DISK_FAIL_BYTES or pct < DISK_FAIL_PCT:
            out.append(Result(cid, FAIL, title, ev, fix, nums))
        elif usage.free < DISK_WARN_BYTES or pct < DISK_WARN_PCT:
            out.append(Result(cid, WARN, title, ev, fix, nums))
        else:
            out.append(Result(cid, OK, title, ev, None, nums))
    return out


def check_database(ctx: Context) -> list[Result]:
    from benhan.store import health_probes
    title = _v("Cơ sở dữ liệu: toàn vẹn", "Database integrity")
    restore = _v("Dừng máy chủ và khôi phục bản sao lưu tốt gần nhất: benhan restore TỆP (docs/operations.md). "
                 "Giữ lại tệp hỏng để kiểm tra ổ đĩa.",
                 "Stop the server and restore the last good backup: benhan restore FILE (docs/operations.md). "
                 "Keep the damaged file to check the disk.")
    if ctx.db.is_sqlite:
        path = health_probes.sqlite_file(ctx.config.sqlalchemy_url)
        found = health_probes.sqlite_integrity(path, full=ctx.full, url=ctx.config.sqlalchemy_url)
        pragma = "integrity_check" if ctx.full else "quick_check"
        nums = {"engine": "sqlite", "check": pragma, "size_bytes": found.size_bytes, "problems": found.problems}
        if found.ok:
            return [Result("database", OK, title, (f"SQLite {pragma}: ok ({_gib(found.size_bytes or 0)})",
                                                   f"SQLite {pragma}: ok ({_gib(found.size_bytes or 0)})"), None, nums)]
        said = "; ".join(found.problems[:3])
        return [Result("database", FAIL, title, (f"SQLite {pragma} báo lỗi: {said}", f"SQLite {pragma} found: {said}"),
                       restore, nums)]
    found = health_probes.postgres_health(ctx.db)
    nums = {"engine": "postgresql", "size_bytes": found.size_bytes, **found.detail}
    ev = (f"PostgreSQL {found.detail.get('server_version')}: kết nối được, {_gib(found.size_bytes or 0)}, "
          f"checksum_failures {found.detail.get('checksum_failures', 0)}, deadlocks {found.detail.get('deadlocks', 0)}",
          f"PostgreSQL {found.detail.get('server_version')}: connected, {_gib(found.size_bytes or 0)}, "
          f"checksum_failures {found.detail.get('checksum_failures', 0)}, deadlocks {found.detail.get('deadlocks', 0)}")
    if not found.ok:
        return [Result("database", FAIL, title, ev, restore, nums)]
    if found.detail.get("server_version_num", 0) < 130000:
        return [Result("database", WARN, title, ev, _v("Nâng cấp PostgreSQL lên phiên bản 13 trở lên.",
                                                         "Upgrade PostgreSQL to version 13 or later."), nums)]
    return [Result("database", OK, title, ev, None, nums)]


def check_schema(ctx: Context) -> list[Result]:
    from benhan.store import health_probes
    s = health_probes.schema_state(ctx.db)
    title = _v("Lược đồ cơ sở dữ liệu (migration)", "Database schema (migrations)")
    ev = (f"phiên bản {s['current']}, mới nhất {s['head']} ({s['state']})",
          f"revision {s['current']}, head {s['head']} ({s['state']})")
    if s["state"] == "current":
        return [Result("schema", OK, title, ev, None, s)]
    if s["state"] == "unknown":
        return [Result("schema", FAIL, title, ev, _v(
            "Cơ sở dữ liệu do một phiên bản benhan mới hơn ghi: cài lại phiên bản đó, hoặc khôi phục bản sao lưu.",
            "A newer benhan wrote this database: install that version again, or restore a backup."), s)]
    return [Result("schema", FAIL if s["state"] == "behind" else WARN, title, ev, _v(
        "Chạy: benhan upgrade (sao lưu trước, lỗi thì trả về như cũ); hoặc khởi động lại benhan serve.",
        "Run: benhan upgrade (backs up first, rolls back on failure); or restart benhan serve."), s)]


def _newest_backup_file(folder: Path) -> tuple[Path, int] | None:
    best = None
    if not folder.is_dir():
        return None
    for p in folder.iterdir():
        if p.name.startswith("benhan-") and p.name.endswith((".sqlite.gz", ".pgdump", ".enc")) and p.is_file():
            us = int(p.stat().st_mtime * 1_000_000)
            if best is None or us > best[1]:
                best = (p, us)
    return best


def check_backups(ctx: Context) -> list[Result]:
    from benhan.store import backup_status
    cfg, now_us = ctx.config, ctx.now_us
    st = backup_status.status(cfg.backups)
    hours = st.schedule_hours or (1.0 if cfg.backup_hourly and ctx.db.is_sqlite else 24.0)
    if cfg.backup_hour < 0:
        hours = 24.0
    last, source = st.last_success_at, "schedule"
    newest = _newest_backup_file(cfg.backups)
    if newest and (last is None or newest[1] > last):
        last, source = newest[1], newest[0].name       # a manual or pre-upgrade backup counts too
    title = _v("Sao lưu gần nhất", "Last backup")
    nums = {"folder": str(cfg.backups), "last_success_us": last, "source": source, "schedule_hours": hours,
            "last_scheduled_ok": st.last_ok, "last_error": st.last_error}
    fix = _v("Kiểm tra bản sao lưu tự động (trang Quản trị → Sao lưu; backup_hour trong benhan.toml) hoặc chạy ngay: "
             "benhan backup. Xem lỗi gần nhất ở cột bằng chứng.",
             "Check the scheduled backups (Admin → Backups; backup_hour in benhan.toml) or take one now: "
             "benhan backup. The last error is in the evidence.")
    out = []
    if last is None:
        out.append(Result("backup.age", WARN, title, ("chưa có bản sao lưu nào trong " + str(cfg.backups),
                                                      "no backup yet in " + str(cfg.backups)), fix, nums))
    else:
        age_vi, age_en = _days_hours(last, now_us)
        ev = (f"{age_vi} trước ({source})", f"{age_en} ago ({source})")
        if st.last_ok is False and st.last_error:
            ev = (ev[0] + f"; lần tự động gần nhất lỗi: {st.last_error}", ev[1] + f"; the last scheduled one failed: "
                  f"{st.last_error}")
        age_h = (now_us - last) / 3600e6
        status = FAIL if age_h > BACKUP_FAIL_DAYS * 24 else WARN if age_h > 2 * hours or st.last_ok is False else OK
        out.append(Result("backup.age", status, title, ev, fix if status != OK else None, nums))
    title = _v("Thử khôi phục bản sao lưu", "Backup restore test")
    nums = {"last_restore_test_us": st.last_restore_test_at, "ok": st.restore_test_ok,
            "detail": st.restore_test_detail, "every_days": cfg.backup_restore_test_days}
    fix = _v("Để máy chủ chạy qua lịch thử khôi phục (backup_restore_test_days), hoặc tự thử: khôi phục bản sao lưu "
             "mới nhất vào một thư mục khác (benhan restore TỆP --data-dir THƯ_MỤC_THỬ) và kiểm tra.",
             "Let the server run its scheduled restore test (backup_restore_test_days), or test by hand: restore the "
             "newest backup into another folder (benhan restore FILE --data-dir TEST_FOLDER) and check it.")
    if st.last_restore_test_at is None:
        out.append(Result("backup.restore_test", WARN, title, ("chưa từng thử khôi phục", "never restore-tested"),
                          fix, nums))
    elif st.restore_test_ok is False:
        out.append(Result("backup.restore_test", FAIL, title,
                          (f"lần thử gần nhất thất bại: {st.restore_test_detail}",
                           f"the last test failed: {st.restore_test_detail}"), fix, nums))
    else:
        age_vi, age_en = _days_hours(st.last_restore_test_at, now_us)
        late = now_us - st.last_restore_test_at > 2 * max(1, cfg.backup_restore_test_days) * 86400e6
        out.append(Result("backup.restore_test", WARN if late else OK, title,
                          (f"thành công, {age_vi} trước", f"passed, {age_en} ago"), fix if late else None, nums))
    return out


def check_sync(ctx: Context) -> list[Result]:
    from benhan.store import sync_tables as st
    cfg = ctx.config
    title = _v("Đồng bộ với hub", "Sync with the hub")
    if cfg.role != "node":
        return [Result("sync", OK, title, (f"không áp dụng (vai trò: {cfg.role or 'độc lập'})",
                                           f"not applicable (role: {cfg.role or 'standalone'})"), None,
                       {"role": cfg.role or "standalone"})]
    with ctx.db.read() as conn:
        s = st.get_settings(conn, "sync.")
        node = cfg.node_id or st.get_setting(conn, "node_id") or ""
        pending = st.count_own_changes(conn, node, int(s.get("sync.push_seq") or 0))
        conflicts = st.count_conflicts(conn)
    last = int(s["sync.last_sync"]) if s.get("sync.last_sync") else None
    nums = {"last_sync_us": last, "pending": pending, "conflicts": conflicts,
            "last_error": s.get("sync.last_error") or None, "enrolled": bool(s.get("sync.client_id"))}
    fix = _v("Kiểm tra đường mạng tới hub (hub_url), xem lỗi gần nhất ở trang Quản trị → Đồng bộ; máy chủ tự gửi lại "
             "khi có mạng. Chưa ghi danh: benhan node enroll.",
             "Check the link to the hub (hub_url) and the last error on Admin → Sync; the server sends again by "
             "itself when the link is back. Not enrolled: benhan node enroll.")
    if not nums["enrolled"] or last is None:
        return [Result("sync", FAIL if not nums["enrolled"] else WARN, title,
                       (f"chưa đồng bộ lần nào; {pending} thay đổi chờ gửi",
                        f"never synced; {pending} changes waiting"),
                       fix, nums)]
    age_h = (ctx.now_us - last) / 3600e6
    age_vi, age_en = _days_hours(last, ctx.now_us)
    ev = (f"lần cuối {age_vi} trước; {pending} thay đổi chờ gửi; {conflicts} xung đột",
          f"last {age_en} ago; {pending} changes waiting; {conflicts} conflicts")
    if nums["last_error"]:
        ev = (ev[0] + f"; lỗi: {nums['last_error'][:200]}", ev[1] + f"; error: {nums['last_error'][:200]}")
    status = FAIL if age_h > SYNC_FAIL_HOURS else WARN if age_h > SYNC_WARN_HOURS or conflicts else OK
    return [Result("sync", status, title, ev, fix if status != OK else None, nums)]


def check_clock(ctx: Context) -> list[Result]:
    cfg = ctx.config
    title = _v("Đồng hồ so với hub", "Clock against the hub")
    hub = str(cfg.hub_url or "")
    if not hub and ctx.db is not None and cfg.role == "node":
        from benhan.store import sync_tables as st
        with ctx.db.read() as conn:
            hub = st.get_setting(conn, "sync.hub_url") or ""
    ntp = _v("Bật đồng bộ giờ tự động của hệ điều hành (Windows: Cài đặt → Giờ → Đặt giờ tự động; Linux: timedatectl "
             "set-ntp true).", "Turn on the operating system's automatic time (Windows: Settings → Time → Set time "
             "automatically; Linux: timedatectl set-ntp true).")
    if not hub:
        if cfg.role == "node":
            return [Result("clock", WARN, title, ("nút chưa có hub_url: bỏ qua", "the node has no hub_url: skipped"),
                           ntp, {"hub_url": None})]
        return [Result("clock", OK, title, ("không có hub để so (máy chủ độc lập hoặc là hub): bỏ qua",
                                            "no hub to compare with (standalone or the hub itself): skipped"),
                       None, {"hub_url": None})]
    probe = ctx.hub_clock
    if probe is None:
        from benhan.sync.clock import hub_offset as probe
    ca = cfg.hub_ca_file if str(cfg.hub_ca_file) not in ("", ".") else None
    try:
        found = probe(hub, ca)
    except RuntimeError as exc:
        return [Result("clock", WARN, title, (f"không hỏi được giờ của hub: {exc}", f"could not ask the hub's time: "
                                              f"{exc}"), ntp, {"hub_url": hub})]
    off = found.offset_seconds
    nums = {"hub_url": hub, "offset_seconds": round(off, 1), "round_trip_seconds": round(found.round_trip_seconds, 3)}
    ev = (f"lệch {off:+.0f} giây so với hub", f"{off:+.0f} seconds from the hub")
    status = FAIL if abs(off) >= CLOCK_FAIL_S else WARN if abs(off) >= CLOCK_WARN_S else OK
    return [Result("clock", status, title, ev, ntp if status != OK else None, nums)]


def _loopback(host: str) -> bool:
    import ipaddress
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_https(ctx: Context) -> list[Result]:
    cfg = ctx.config
    tls = str(cfg.tls_cert_file) not in ("", ".") and str(cfg.tls_key_file) not in ("", ".")
    title = _v("HTTPS trong mạng nội bộ", "HTTPS on the LAN")
    nums = {"host": cfg.host, "port": cfg.port, "tls": tls}
    if tls:
        return [Result("https", OK, title, (f"HTTPS bật, lắng nghe {cfg.host}:{cfg.port}",
                                            f"HTTPS on, listening on {cfg.host}:{cfg.port}"), None, nums)]
    if _loopback(cfg.host):
        return [Result("https", OK, title, (f"chỉ máy này truy cập ({cfg.host}); HTTP không ra khỏi máy",
                                            f"this PC only ({cfg.host}); HTTP never leaves the machine"), None, nums)]
    return [Result("https", FAIL, title, (f"lắng nghe {cfg.host}:{cfg.port} bằng HTTP không mã hoá: hồ sơ đi qua mạng "
                                          "dạng rõ", f"listening on {cfg.host}:{cfg.port} over plain HTTP: records "
                                          "cross the LAN in clear text"),
                   _v("Tạo chứng thư: benhan tls self-signed, thêm tls_cert_file và tls_key_file vào benhan.toml rồi "
                      "khởi động lại (hoặc đặt host = '127.0.0.1' sau một proxy HTTPS).",
                      "Make a certificate: benhan tls self-signed, put tls_cert_file and tls_key_file in benhan.toml "
                      "and restart (or host = '127.0.0.1' behind an HTTPS proxy)."), nums)]


def _cert_result(cid: str, title: tuple[str, str], path: Path, not_after: dt.datetime, now: dt.datetime,
                 fix: tuple[str, str]) -> Result:
    days = (not_after - now).total_seconds() / 86400
    nums = {"file": str(path), "not_after": not_after.isoformat(), "days_left": int(days // 1)}
    when = f"{not_after:%d/%m/%Y}"
    if days <= 0:
        return Result(cid, FAIL, title, (f"{path}: đã hết hạn ngày {when}", f"{path}: expired on {when}"), fix, nums)
    ev = (f"{path}: còn {int(days)} ngày (đến {when})", f"{path}: {int(days)} days left (until {when})")
    return Result(cid, WARN if days < CERT_WARN_DAYS else OK, title, ev, fix if days < CERT_WARN_DAYS else None, nums)


def check_certificates(ctx: Context) -> list[Result]:
    from cryptography import x509
    cfg, now, out = ctx.config, ctx.now, []
    if str(cfg.tls_cert_file) not in ("", "."):
        title = _v("Chứng thư HTTPS", "HTTPS certificate")
        fix = _v("Tạo chứng thư mới: benhan tls self-signed --force (hoặc xin chứng thư mới), khởi động lại và cho các "
                 "trình duyệt tin cậy chứng thư mới.", "Make a new one: benhan tls self-signed --force (or get a new "
                 "certificate), restart, and have the browsers trust the new certificate.")
        try:
            cert = x509.load_pem_x509_certificates(Path(cfg.tls_cert_file).read_bytes())[0]
            out.append(_cert_result("cert.tls", title, cfg.tls_cert_file, cert.not_valid_after_utc, now, fix))
        except (OSError, ValueError) as exc:
            out.append(Result("cert.tls", FAIL, title, (f"{cfg.tls_cert_file}: không đọc được ({exc})",
                                                        f"{cfg.tls_cert_file}: cannot be read ({exc})"), fix,
                              {"file": str(cfg.tls_cert_file)}))
    if str(cfg.facility_seal_file) not in ("", "."):
        out.append(_seal(ctx))
    if str(cfg.hub_ca_file) not in ("", "."):
        title = _v("Chứng thư của hub (hub_ca_file)", "The hub's certificate (hub_ca_file)")
        fix = _v("Xin chứng thư mới của hub từ Sở Y tế và chép đè tệp hub_ca_file.",
                 "Get the hub's new certificate from the provincial department and copy it over hub_ca_file.")
        try:
            cert = x509.load_pem_x509_certificates(Path(cfg.hub_ca_file).read_bytes())[0]
            out.append(_cert_result("cert.hub_ca", title, cfg.hub_ca_file, cert.not_valid_after_utc, now, fix))
        except (OSError, ValueError) as exc:
            out.append(Result("cert.hub_ca", FAIL, title, (f"{cfg.hub_ca_file}: không đọc được ({exc})",
                                                           f"{cfg.hub_ca_file}: cannot be read ({exc})"), fix, {}))
    out.extend(_trust_list(ctx))
    if not out:
        out.append(Result("cert", OK, _v("Chứng thư", "Certificates"),
                          ("chưa cấu hình chứng thư nào (HTTPS, con dấu số)",
                           "no certificate configured (HTTPS, seal)"),
                          None, {}))
    return out


def _seal(ctx: Context) -> Result:
    from cryptography.hazmat.primitives.serialization import pkcs12
    cfg = ctx.config
    title = _v("Chứng thư con dấu số của cơ sở", "The facility seal's certificate")
    fix = _v("Gia hạn chứng thư số của cơ sở với nhà cung cấp (CA) và thay tệp facility_seal_file.",
             "Renew the facility's certificate with its CA and replace facility_seal_file.")
    path = Path(cfg.facility_seal_file)
    password = os.environ.get("BENHAN_SEAL_PASSWORD")
    pw_file = Path(str(cfg.facility_seal_password_file))
    try:
        if password is None and str(pw_file) not in ("", "."):
            password = pw_file.read_text(encoding="utf-8").strip()
        _key, cert, _chain = pkcs12.load_key_and_certificates(path.read_bytes(),
                                                              password.encode() if password else None)
    except (OSError, ValueError, TypeError) as exc:
        return Result("cert.seal", FAIL, title, (f"{path}: không mở được ({type(exc).__name__}: {exc})",
                                                 f"{path}: cannot be opened ({type(exc).__name__}: {exc})"),
                      _v("Kiểm tra facility_seal_file và mật khẩu (BENHAN_SEAL_PASSWORD hoặc "
                         "facility_seal_password_file).", "Check facility_seal_file and its password "
                         "(BENHAN_SEAL_PASSWORD or facility_seal_password_file)."), {"file": str(path)})
    if cert is None:
        return Result("cert.seal", FAIL, title, (f"{path}: không có chứng thư", f"{path}: holds no certificate"),
                      fix, {"file": str(path)})
    return _cert_result("cert.seal", title, path, cert.not_valid_after_utc, ctx.now, fix)


def _trust_list(ctx: Context) -> list[Result]:
    from benhan.signing import trust
    folder = ctx.config.trust_dir
    if not Path(folder).is_dir():
        return []
    title = _v("Danh sách CA tin cậy (ký số)", "Trusted CAs (signatures)")
    try:
        found = trust.load(Path(folder))
    except Exception as exc:  # noqa: BLE001 - a bad file in the folder is the finding
        return [Result("cert.trust", FAIL, title, (str(exc), str(exc)), _v(
            "Bỏ tệp hỏng khỏi thư mục signing_trust_dir.", "Remove the broken file from signing_trust_dir."), {})]
    certs = [*found.anchors, *found.intermediates]
    now = ctx.now
    valid = [c for c in certs if c["tbs_certificate"]["validity"]["not_after"].native > now]
    soon = [c for c in valid if (c["tbs_certificate"]["validity"]["not_after"].native - now).days < CERT_WARN_DAYS]
    nums = {"folder": str(folder), "certificates": len(certs), "valid": len(valid), "expiring_soon": len(soon)}
    # Expired roots stay on purpose: old signatures are checked against them (docs/signatures.md).
    ev = (f"{len(certs)} chứng thư, {len(valid)} còn hạn, {len(soon)} sắp hết hạn (< {CERT_WARN_DAYS} ngày)",
          f"{len(certs)} certificates, {len(valid)} valid, {len(soon)} expiring within {CERT_WARN_DAYS} days")
    if certs and not valid:
        return [Result("cert.trust", WARN, title, ev, _v("Thêm chứng thư gốc còn hạn của NEAC/CA vào "
                                                         "signing_trust_dir.",
                                                         "Add the current NEAC/CA roots to signing_trust_dir."), nums)]
    if soon:
        return [Result("cert.trust", WARN, title, ev, _v("Thêm chứng thư mới của CA sắp hết hạn vào signing_trust_dir "
                                                         "(giữ cả chứng thư cũ).", "Add the CA's new certificate to "
                                                         "signing_trust_dir (keep the old one too)."), nums)]
    return [Result("cert.trust", OK, title, ev, None, nums)]


def _mode_problem(path: Path, folder: bool) -> str | None:
    """'others' / 'group' when the path is readable beyond its owner, else None."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None
    if mode & 0o007:
        return f"{mode:04o} others"
    if mode & 0o070:
        return f"{mode:04o} group"
    return None


def check_permissions(ctx: Context) -> list[Result]:
    cfg = ctx.config
    title = _v("Quyền truy cập tệp (chỉ chủ sở hữu)", "File permissions (owner only)")
    if os.name != "posix":
        return [Result("permissions", OK, title, ("Windows: dùng ACL của thư mục, không kiểm ở đây",
                                                  "Windows: folder ACLs apply, not checked here"), None, {})]
    from benhan.store import health_probes
    targets: list[tuple[Path, bool]] = [(Path(cfg.data_dir), True), (Path(cfg.backups), True)]
    db_file = health_probes.sqlite_file(cfg.sqlalchemy_url)
    if db_file is not None:
        targets += [(Path(str(db_file) + s), False) for s in ("", "-wal", "-shm", "-journal")]
    for name in ("tls_key_file", "facility_seal_file", "facility_seal_password_file", "bhxh_password_file",
                 "einvoice_password_file"):
        if str(cfg.values[name]) not in ("", "."):
            targets.append((Path(cfg.values[name]), False))
    data = Path(cfg.data_dir)
    if data.is_dir():
        for p in data.iterdir():        # keys and secrets the server keeps in its data folder
            low = p.name.lower()
            if p.is_file() and ("key" in low or low.endswith((".p12", ".pfx"))):
                targets.append((p, False))
    if Path(cfg.backups).is_dir():
        targets += [(p, False) for p in Path(cfg.backups).iterdir() if p.is_file() and p.name.startswith("benhan")]
    seen, bad = set(), []
    for path, folder in targets:
        if path in seen:
            continue
        if not path.exists():
            continue
        seen.add(path)
        problem = _mode_problem(path, folder)
        if problem:
            bad.append((path, folder, problem))
    nums = {"checked": len(seen), "too_open": [{"path": str(p), "mode": m} for p, _f, m in bad]}
    if not bad:
        return [Result("permissions", OK, title, (f"{len(seen)} tệp/thư mục chỉ chủ sở hữu đọc được",
                                                  f"{len(seen)} files/folders readable by their owner only"),
                       None, nums)]
    # A file others can read is a leak (fail); a folder others can list shows names only (warn),
    # as does anything open to the group.
    worst = FAIL if any("others" in m and not f for _p, f, m in bad) else WARN
    listed = ", ".join(f"{p} ({m})" for p, _f, m in bad[:5]) + (" …" if len(bad) > 5 else "")
    cmds = " ; ".join(f"chmod {'700' if f else '600'} '{p}'" for p, f, _m in bad[:5])
    return [Result("permissions", worst, title, (f"người khác đọc được: {listed}", f"readable by others: {listed}"),
                   _v(f"Chạy: {cmds} (hoặc khởi động lại benhan serve: nó tự siết quyền cơ sở dữ liệu và bản sao lưu).",
                      f"Run: {cmds} (or restart benhan serve: it tightens the database and the backups itself)."),
                   nums)]


def check_audit_chain(ctx: Context) -> list[Result]:
    title = _v("Chuỗi nhật ký kiểm tra (audit)", "Audit trail chain")
    fix = _v("Có thể dữ liệu nhật ký đã bị sửa: giữ nguyên máy, chạy benhan audit verify để biết vị trí, báo cho người "
             "phụ trách an toàn thông tin và so với bản sao lưu.", "The trail may have been tampered with: leave the "
             "machine as it is, run benhan audit verify for the position, tell the security officer and compare "
             "with the backups.")
    if ctx.full:
        from benhan.audit.verify import verify
        from benhan.store.backup_audit import read_sidecars
        report = verify(SimpleNamespace(db=ctx.db), anchors=read_sidecars(ctx.config.backups))
        nums = {"events": report.events, "head": list(report.head) if report.head else None, "full": True}
        if report.intact:
            return [Result("audit_chain", OK, title, (f"toàn bộ {report.events} mắt xích nguyên vẹn",
                                                      f"all {report.events} links intact"), None, nums)]
        return [Result("audit_chain", FAIL, title, (report.line(), report.line()), fix, nums)]
    from benhan.store import health_probes
    from benhan.store.audit_log import link_hash
    tail = health_probes.chain_tail(ctx.db, CHAIN_LINKS)
    if tail.head is None or tail.head[0] == 0:
        return [Result("audit_chain", OK, title, ("chưa có sự kiện nào trong chuỗi", "no chained events yet"),
                       None, {"head": None})]
    rows = tail.rows
    problem = None
    for prev, row in zip(rows, rows[1:]):
        if row["chain_pos"] != prev["chain_pos"] + 1:
            problem = f"chain_pos {prev['chain_pos'] + 1} missing"
            break
        if link_hash(prev["hash"], row) != row["hash"]:
            problem = f"chain_pos {row['chain_pos']}: hash mismatch (altered)"
            break
    if problem is None and len(rows) == 1 and rows[0]["chain_pos"] == 1:
        from benhan.store.audit_log import GENESIS
        if link_hash(GENESIS, rows[0]) != rows[0]["hash"]:
            problem = "chain_pos 1: hash mismatch (altered)"
    if problem is None and (not rows or rows[-1]["chain_pos"] != tail.head[0] or rows[-1]["hash"] != tail.head[1]):
        problem = f"the head (chain_pos {tail.head[0]}) is not the last row"
    checked = max(0, len(rows) - 1) or len(rows)
    nums = {"head": list(tail.head), "links_checked": checked, "full": False}
    if problem:
        return [Result("audit_chain", FAIL, title, (f"hỏng: {problem}", f"broken: {problem}"), fix, nums)]
    return [Result("audit_chain", OK, title,
                   (f"{checked} mắt xích cuối nguyên vẹn (đầu chuỗi {tail.head[0]}); --full để kiểm cả chuỗi",
                    f"last {checked} links intact (head {tail.head[0]}); --full checks the whole chain"), None, nums)]


def check_outbox(ctx: Context) -> list[Result]:
    from benhan.store import health_probes
    title = _v("Hàng đợi gửi đi (BHYT, VNeID, hóa đơn, đơn thuốc)",
               "Outgoing queue (BHYT, VNeID, invoices, prescriptions)")
    kinds = health_probes.outbox_summary(ctx.db)
    now_us = ctx.now_us
    late_h = max(1, ctx.config.claims_send_within_hours)
    nums = {k.kind: {"waiting": k.waiting, "failed": k.failed, "oldest_waiting_us": k.oldest_waiting_us,
                     "oldest_failed_us": k.oldest_failed_us} for k in kinds}
    if not kinds:
        return [Result("outbox", OK, title, ("không có gì chờ gửi hoặc lỗi", "nothing waiting or failed"), None, nums)]
    parts_vi, parts_en, status = [], [], OK
    for k in kinds:
        vi, en = OUTBOX_NAMES.get(k.kind, (k.kind, k.kind))
        if k.waiting:
            a_vi, a_en = _days_hours(k.oldest_waiting_us, now_us)
            parts_vi.append(f"{vi}: {k.waiting} chờ gửi (cũ nhất {a_vi})")
            parts_en.append(f"{en}: {k.waiting} waiting (oldest {a_en})")
            if now_us - k.oldest_waiting_us > late_h * 3600e6:
                status = max(status, WARN, key=_RANK.__getitem__)
        if k.failed:
            parts_vi.append(f"{vi}: {k.failed} bị từ chối/ngừng gửi")
            parts_en.append(f"{en}: {k.failed} rejected/given up")
            status = FAIL
    fix = _v("Mở bàn BHYT / hóa đơn để xem lý do từng hồ sơ bị từ chối, sửa rồi gửi lại; hồ sơ chờ lâu: kiểm tra mạng "
             "và tài khoản cổng (bhxh_gateway_url, einvoice_provider_url).",
             "Open the BHYT / invoice desk for each refusal's reason, fix and re-send; long waits: check the link "
             "and the gateway accounts (bhxh_gateway_url, einvoice_provider_url).")
    return [Result("outbox", status, title, ("; ".join(parts_vi), "; ".join(parts_en)),
                   fix if status != OK else None, nums)]


# Order of the table: the database first (most of the others need it), then the rest.
DB_CHECKS: tuple[Callable[[Context], list[Result]], ...] = (
    check_database, check_schema, check_audit_chain, check_backups, check_sync, check_outbox)
FILE_CHECKS: tuple[Callable[[Context], list[Result]], ...] = (
    check_disk, check_permissions, check_https, check_certificates, check_clock)
CHECK_IDS = {check_database: "database", check_schema: "schema", check_audit_chain: "audit_chain",
             check_backups: "backup", check_sync: "sync", check_outbox: "outbox", check_disk: "disk",
             check_permissions: "permissions", check_https: "https", check_certificates: "cert",
             check_clock: "clock"}


def _cannot_run(check: Callable, why: str) -> Result:
    cid = CHECK_IDS.get(check, check.__name__)
    return Result(cid, FAIL, (f"Không chạy được kiểm tra: {cid}", f"Check could not run: {cid}"),
                  (why, why), _v("Đọc lý do ở cột bằng chứng; thường là cơ sở dữ liệu không mở được "
                                 "(xem dòng 'Cơ sở dữ liệu').", "Read the reason in the evidence; usually the "
                                 "database cannot be opened (see the 'Database' line)."), {"error": why})


def _run_one(check: Callable, ctx: Context) -> list[Result]:
    try:
        return check(ctx)
    except Exception as exc:  # noqa: BLE001 - a check that cannot run is a "fail" line, never a traceback
        said = (str(exc).strip().splitlines() or [""])[0][:300]
        return [_cannot_run(check, f"{type(exc).__name__}: {said}")]


def run(config: Config, *, full: bool = False, now: dt.datetime | None = None, db=None,  # noqa: ANN001
        hub_clock: Callable | None = None, checks: tuple[Callable, ...] | None = None) -> Report:
    """Every check (or those in `checks`), in order; `db`: an open store.database.Database (the
    server's), else one is opened here (never migrating, never creating a SQLite file) and closed
    afterwards."""
    now = now or dt.datetime.now(dt.timezone.utc)
    ctx = Context(config, now, full, db, hub_clock)
    results: list[Result] = []
    owned = False
    opened_error = None
    if ctx.db is None and (checks is None or any(c in DB_CHECKS for c in checks)):
        ctx.db, opened_error = _open(config)
        owned = ctx.db is not None
    try:
        for check in DB_CHECKS:
            if checks is not None and check not in checks:
                continue
            if ctx.db is None:
                results.append(_cannot_run(check, opened_error if check is check_database else
                                           "cần cơ sở dữ liệu | needs the database (see the database line)"))
            else:
                results.extend(_run_one(check, ctx))
        for check in FILE_CHECKS:
            if checks is None or check in checks:
                results.extend(_run_one(check, ctx))
    finally:
        if owned:
            ctx.db.dispose()
    return Report(results, now)


def _open(config: Config):  # noqa: ANN202
    from benhan.store import health_probes
    from benhan.store.database import Database
    path = health_probes.sqlite_file(config.sqlalchemy_url)
    if config.sqlalchemy_url.startswith("sqlite") and (path is None or not path.is_file()):
        return None, f"no database file at {path} (run benhan upgrade, or benhan serve, to create it)"
    try:
        return Database(config.sqlalchemy_url, busy_timeout_ms=5000), None
    except Exception as exc:  # noqa: BLE001
        return None, f"{type(exc).__name__}: {exc}"


# --- output -------------------------------------------------------------------------------------

STATUS_WORDS = {"vi": {OK: "OK", WARN: "CẢNH BÁO", FAIL: "LỖI"}, "en": {OK: "OK", WARN: "WARN", FAIL: "FAIL"}}
HEAD = {"vi": ("Trạng thái", "Kiểm tra", "Bằng chứng", "Cách khắc phục"),
        "en": ("Status", "Check", "Evidence", "Fix")}
SUMMARY = {"vi": "{ok} đạt, {warn} cảnh báo, {fail} lỗi — mã thoát {code}",
           "en": "{ok} ok, {warn} warnings, {fail} failures — exit code {code}"}


def table(report: Report, lang: str = "vi", width: int = 100) -> str:
    """A readable table: one block per check (status, what, evidence, and the fix when not ok)."""
    import textwrap
    i = 0 if lang == "vi" else 1
    words, head = STATUS_WORDS[lang], HEAD[lang]
    lines = [f"benhan doctor — {report.checked_at:%Y-%m-%d %H:%M} UTC", ""]
    for r in report.results:
        lines.append(f"[{words[r.status]:<8}] {r.title[i]}")
        for label, text in ((head[2], r.evidence[i]), (head[3], r.fix[i] if r.fix else None)):
            if text:
                wrapped = textwrap.wrap(text, width - 14) or [""]
                lines.append(f"           {label}: {wrapped[0]}")
                lines += [" " * (13 + len(label)) + w for w in wrapped[1:]]
    counts = {s: sum(r.status == s for r in report.results) for s in (OK, WARN, FAIL)}
    lines += ["", SUMMARY[lang].format(code=report.exit_code, **counts)]
    return "\n".join(lines)


def public_status(report: Report) -> str:
    """What GET /health says of the checks: "ok", or "degraded" when one fails (no detail)."""
    return "degraded" if report.status == FAIL else "ok"
