"""The command line: a thin shell over the Python API. Errors print one line and exit non-zero."""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Optional

# Plain help and usage errors (click's layout), not rich's boxes: rich costs ~20 MiB and most of a
# second on an old PC at every `--help` or mistyped option (bench/bench_startup.py). Read by typer
# when it is first imported, hence before it.
os.environ.setdefault("TYPER_USE_RICH", "0")

import typer  # noqa: E402

from benhan import __version__, config as config_mod, errors
from benhan import cli_documents, cli_ops
from benhan.cli_paper import paper_app
from benhan.cli_prescriptions import prescription_app
from benhan.cli_record import record_app
from benhan.cli_claims import claims_app
from benhan.cli_einvoice import einvoice_app
from benhan.cli_import import import_app
from benhan.cli_export import export_app
from benhan.cli_common import DataDir, DbUrl, open_store
from benhan.cli_backup import backup_app, restore as cli_backup_restore
from benhan.cli_oauth import client_app, token_app
from benhan.cli_key import at_first_start as encryption_at_first_start, key_app
from benhan.cli_sync import node_app, sync_app
from benhan.cli_users import user_app

app = typer.Typer(help="benhan — electronic medical record on HL7 FHIR R4.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
config_app = typer.Typer(help="Show the configuration or write its documentation.", no_args_is_help=True)
errors_app = typer.Typer(help="The error codes.", no_args_is_help=True)
WORKER_HEALTHCHECK_S = 30   # see serve: how long a busy worker may miss its health ping
app.add_typer(config_app, name="config")
app.add_typer(errors_app, name="errors")
app.add_typer(user_app, name="user")
app.add_typer(client_app, name="client")
app.add_typer(token_app, name="token")
app.add_typer(node_app, name="node")
app.add_typer(sync_app, name="sync")
app.command("sign")(cli_documents.sign)
app.command("verify")(cli_documents.verify)
app.command("seal")(cli_documents.seal)
app.add_typer(paper_app, name="paper")
app.add_typer(claims_app, name="claims")
app.add_typer(einvoice_app, name="einvoice")
app.add_typer(prescription_app, name="prescription")
app.add_typer(record_app, name="record")
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.add_typer(key_app, name="key")
from benhan.cli_retention import retention_app  # noqa: E402  (retention: TT 33/2025)
app.add_typer(retention_app, name="retention")
from benhan.cli_dsr import dsr_app  # noqa: E402  (data-subject requests: NĐ 356/2025)
app.add_typer(dsr_app, name="dsr")
from benhan.cli_lab import lab_app  # noqa: E402  (laboratory analysers over HL7 v2/MLLP)
app.add_typer(lab_app, name="lab")
app.command("doctor")(cli_ops.doctor)
app.command("upgrade")(cli_ops.upgrade)



def _config(data_dir: Optional[Path] = None, database_url: Optional[str] = None, **more) -> config_mod.Config:
    return config_mod.load(data_dir=data_dir, database_url=database_url, **more)


def _echo(message: str) -> None:
    typer.echo(message)


@app.command()
def version() -> None:
    """Print the version."""
    _echo(f"benhan {__version__}")


@app.command()
def serve(data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl,
          host: Optional[str] = typer.Option(None, help="Listen address (default 127.0.0.1)."),
          port: Optional[int] = typer.Option(None, help="Port (default 8080)."),
          demo: bool = typer.Option(False, "--demo", help="Load the demo facility if the database is empty."),
          code_lists: bool = typer.Option(True, "--code-lists/--no-code-lists",
                                          help="Load the packaged code lists (ICD-10…) that the database lacks."),
          workers: int = typer.Option(1, help="Worker processes: reads run in parallel; on SQLite writes still take turns. Background work runs in one of them.")) -> None:
    """Start the server (migrating the database first, with a backup)."""
    from benhan import cli_memory
    from benhan.cli_listen import browser_urls, check_port_free
    cfg = _config(data_dir, database_url, host=host, port=port)
    check_port_free(cfg.host, cfg.port)   # before any work: a taken port fails at once, saying which
    tls_args = _tls_args(cfg)   # before migrating: a wrong certificate path fails at once, in one line
    _serve_logging(cfg)
    # The start-up work (migration, the search index, the demo, the code lists, the accounts) runs in
    # a child process: what it took (the demo loader's objects, the migration tool, the code lists)
    # is given back to the system when it ends, not kept by the serving process for its lifetime.
    # The server's own modules are imported meanwhile, on the other core.
    prepare = _start_prepare(data_dir, database_url, host, port, demo=demo, code_lists=code_lists)
    try:
        import uvicorn

        from benhan.web import log_redaction, server_protocol
        from benhan.web.app import create_app
    except BaseException:     # Ctrl-C (or a broken install) meanwhile: the child stops too
        _stop_prepare(prepare)
        raise
    _wait_prepare(prepare)
    # The access log costs a third of a read's CPU and writes query strings (patient identifiers)
    # to the log; it is on only at log level debug.
    access_log = cfg.log_level == "debug"
    # uvicorn's four start-up lines would follow the block above and bury it; at the default level
    # only its warnings and errors are shown (log_level = debug shows everything).
    server_log = "warning" if cfg.log_level == "info" else cfg.log_level
    # Several workers on SQLite: reads in parallel (WAL); writes still one at a time, across the
    # processes by SQLite's own lock (BEGIN IMMEDIATE, busy timeout) — every rule that relies on the
    # single writer holds. The background workers run in one of them (web/background.py).
    _serving_banner(cfg, browser_urls(cfg.host, cfg.port, "https" if tls_args else "http"), bool(tls_args))
    # uvloop and httptools named, not left to uvicorn's "auto" (which takes them silently when
    # installed, and silently not): a response's head and body in one write (web/server_protocol.py).
    server_args = {"loop": server_protocol.loop_name(), "http": server_protocol.http_protocol(),
                   "log_level": server_log, "proxy_headers": False, "access_log": access_log,
                   "log_config": log_redaction.uvicorn_log_config(), **tls_args}
    if workers > 1:
        import os
        os.environ.update({f"BENHAN_{k.upper()}": str(v) for k, v in cfg.values.items() if str(v) not in ("", ".")})
        # uvicorn's supervisor kills a worker that misses its health ping for 5 s; a busy hub on two
        # cores (200 nodes pushing) missed it and lost the pushes in flight (they were re-sent, but
        # the work was wasted). 30 s still replaces a hung worker.
        # Each worker builds web.app's app_from_environment, with the memory trimmer (cli_memory.py).
        uvicorn.run("benhan.cli_memory:worker_app", factory=True, host=cfg.host, port=cfg.port,
                    workers=workers, timeout_worker_healthcheck=WORKER_HEALTHCHECK_S, **server_args)
    else:
        # Freed memory back to the system after a large request (a Bundle of thousands of entries).
        cli_memory.Trimmer().start()
        uvicorn.run(create_app(cfg), host=cfg.host, port=cfg.port, **server_args)


def _serve_logging(cfg: config_mod.Config) -> None:
    from benhan.web import log_redaction
    logging.basicConfig(level=cfg.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log_redaction.install()     # no password, token or cookie in any log line
    if cfg.log_level != "debug":
        logging.getLogger("alembic").setLevel(logging.WARNING)   # six lines per start otherwise
        logging.getLogger("pikepdf._core").setLevel(logging.WARNING)   # "logger bridge initialized"


def _start_prepare(data_dir: Optional[Path], database_url: Optional[str], host: Optional[str],
                   port: Optional[int], *, demo: bool, code_lists: bool) -> Optional[int]:
    """`serve`'s start-up work in a forked child (its output on ours); its pid. Where there is no
    fork (Windows) the work is done here, and None returned."""
    work = lambda: _prepare(data_dir, database_url, host, port, demo=demo, code_lists=code_lists)  # noqa: E731
    if not hasattr(os, "fork"):
        work()
        return None
    import benhan.store.store  # noqa: F401 - both need it: imported once, before the fork
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:        # the child: errors as main() prints them (one line), its exit code ours
        _guarded(work)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)    # nothing of the parent's (atexit, open files' buffers) runs twice


def _exit_code(pid: int, block: bool = True) -> Optional[int]:
    done, status = os.waitpid(pid, 0 if block else os.WNOHANG)
    return os.waitstatus_to_exitcode(status) if done else None


def _wait_prepare(child: Optional[int]) -> None:
    """Wait for the start-up child; its failure (already told in one line) is this command's exit code."""
    import signal
    if child is None:
        return
    try:
        code = _exit_code(child)
    except KeyboardInterrupt:
        _stop_prepare(child)
        raise
    if code is not None and code < 0 and code != -signal.SIGINT:     # killed (the OOM killer …): say so
        typer.echo(f"benhan: the start-up work (migration, demo, code lists) was ended by signal {-code}", err=True)
    if code:
        sys.exit(130 if code == -signal.SIGINT else code if code > 0 else 1)


def _stop_prepare(child: Optional[int]) -> None:
    """We were interrupted: so is the start-up child (Ctrl-C in a terminal reached it already), which
    stops cleanly (its transaction rolled back, the database closed)."""
    import signal
    import time
    if child is None:
        return
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if _exit_code(child, block=False) is not None:
            return
        time.sleep(0.05)
    os.kill(child, signal.SIGINT)
    _exit_code(child)


def _prepare(data_dir: Optional[Path], database_url: Optional[str], host: Optional[str], port: Optional[int],
             *, demo: bool, code_lists: bool) -> None:
    from benhan.store.store import Store
    cfg = _config(data_dir, database_url, host=host, port=port)
    _serve_logging(cfg)
    encryption_at_first_start(cfg)   # database_encryption: a new database's key, its recovery key printed once
    store = Store.open(cfg)
    try:
        _index_current(store)    # before serving: an index built with other search definitions misses matches
        if demo:
            from benhan.clinical.load_demo import load_demo_if_empty
            if store.is_empty():
                _echo("đang tạo cơ sở y tế mẫu (khoảng 1 phút) | loading the demo facility (about a minute)…")
            loaded = load_demo_if_empty(store, progress=_echo)
            if loaded:
                _echo(f"demo facility loaded: {loaded} resources")
        if code_lists:      # a new install, or a release with a new list: diagnoses need ICD-10 from the start
            from benhan.terminology.load import ensure as ensure_code_lists
            ensure_code_lists(store, progress=_echo)
        _accounts_at_start(store, demo)
    finally:
        store.close()

def _index_current(store) -> None:  # noqa: ANN001
    from benhan.store import index_version
    if index_version.is_stale(store) and not store.is_empty():
        _echo("đang xây lại chỉ mục tìm kiếm (định nghĩa mới) | rebuilding the search index for new definitions…")
    rebuilt = index_version.reindex_if_stale(store)
    if rebuilt is not None:
        _echo(f"search index rebuilt: {rebuilt} resources" if rebuilt else "search index updated")


def _serving_banner(cfg: config_mod.Config, urls: list[str], https: bool) -> None:
    """The block a person reads after the start: where to open the app, where the API is, how to stop."""
    rule = "─" * 72
    _echo(rule)
    _echo(f"benhan {__version__} đang chạy | is running (database: {_safe_url(cfg.sqlalchemy_url)})")
    _echo(f"  Mở trình duyệt | open in a browser:  {urls[0]}/login")
    for url in urls[1:]:
        _echo(f"  Máy khác trong mạng | other PCs on the LAN:  {url}/login")
    if cfg.host in ("127.0.0.1", "::1", "localhost"):
        _echo("  Chỉ máy này truy cập được; cho cả mạng nội bộ: --host 0.0.0.0 | "
              "only this PC can connect; for the LAN: --host 0.0.0.0")
    elif not https:
        _echo("  Cảnh báo: mạng nội bộ dùng HTTP không mã hoá; bật HTTPS: benhan tls self-signed | "
              "warning: plain HTTP on the LAN; turn on HTTPS with: benhan tls self-signed")
    _echo(f"  FHIR R4 API:  {urls[0]}/fhir")
    _echo("  Dừng | stop:  Ctrl-C")
    _echo(rule)


def _accounts_at_start(store, demo: bool) -> None:  # noqa: ANN001
    """Demo staff (with --demo) or the first admin on a new database, printed once; accounts unused
    for too long are disabled."""
    from benhan.auth import setup, users
    if demo:
        made = {c.username: c for c in setup.demo_staff(store)}
        # Printed at every demo start (the password is public): who can log in, as what.
        _echo("demo accounts (password for all: " + setup.DEMO_PASSWORD + "):")
        for username, _, role in setup.DEMO_STAFF:
            secret = made[username].totp_secret if username in made else None
            extra = (f"  (two-step login key: {secret})" if secret
                     else "  (two-step login: the key printed at the first start)" if role == "facility_admin" else "")
            _echo(f"  {username:<10} {role}{extra}")
    admin = setup.first_admin(store)
    if admin:
        _echo(f"first administrator: user 'admin', one-time password {admin.password} "
              "(shown only now; change it at first login)")
    for name in users.disable_inactive(store):
        _echo(f"account {name} disabled: unused for {store.config.inactive_disable_days} days")


def _tls_args(cfg: config_mod.Config) -> dict[str, str]:
    """uvicorn's ssl_certfile/ssl_keyfile when HTTPS is configured, checked; {} for plain HTTP."""
    from benhan.web import tls
    cert, key = (str(cfg.tls_cert_file), str(cfg.tls_key_file))
    if cert in ("", ".") and key in ("", "."):
        return {}
    if cert in ("", ".") or key in ("", "."):
        raise errors.ConfigError("set both tls_cert_file and tls_key_file (or neither, for plain HTTP)")
    checked = tls.check_pair(cfg.tls_cert_file, cfg.tls_key_file)
    warning = tls.expiry_warning(checked)
    if warning:
        typer.echo(warning, err=True)
    return {"ssl_certfile": cert, "ssl_keyfile": key}


def _safe_url(url: str) -> str:
    from benhan.store.database import display_url
    return display_url(url)


@app.command()
def migrate(data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Bring the database schema up to date (backing up first)."""
    from benhan.store import migrate as m
    from benhan.store.database import Database
    cfg = _config(data_dir, database_url)
    if cfg.sqlalchemy_url.startswith("sqlite"):
        from benhan.store.private_files import private_dir
        private_dir(cfg.data_dir)
    from benhan.store.upgrade import safe_upgrade
    db = Database(cfg.sqlalchemy_url)
    try:       # a failed migration is rolled back to the backup it took first (store/upgrade.py)
        done = safe_upgrade(db, cfg.backups, keep=cfg.backup_keep, label="pre-migrate", by=_operator(),
                            data_dir=cfg.data_dir)
        for note in done.notes:
            _echo(note)
        before = done.state if done.state != "behind" else done.before
        _echo(f"schema {m.head_revision()} ({'already current' if before == 'current' else 'from ' + before})")
    finally:
        db.dispose()


def _operator() -> str:
    import getpass
    return f"cli:{getpass.getuser()}"


# `benhan backup` (init-key, test) and `benhan restore`: cli_backup.py (encrypted backups, recovery key).
app.add_typer(backup_app, name="backup")
# `benhan assess`: the EMR self-assessment and its report (cli_assess.py, benhan/assess).
from benhan.cli_assess import assess_app  # noqa: E402
app.add_typer(assess_app, name="assess")
app.command("restore")(cli_backup_restore)


@app.command()
def demo(data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl,
         patients: int = typer.Option(200, "--patients", min=1, max=999_999, help="Synthetic patients to make."),
         seed: int = typer.Option(2026, "--seed", help="The same seed makes the same data."),
         workers: Optional[int] = typer.Option(None, "--workers", min=0, help="Processes for a bulk load "
                                               "(default: none up to 1,000 patients, else one per core).")) -> None:
    """Load the demo facility (a district health centre, its staff and 200 synthetic patients), or with
    --patients N a bulk data set of N patients and their records."""
    import os

    encryption_at_first_start(_config(data_dir, database_url))
    store = open_store(data_dir, database_url)
    try:
        if patients <= 1000 and not workers:
            from benhan.clinical.load_demo import load_demo
            _echo(f"demo facility loaded: {load_demo(store, patients=patients, seed=seed, progress=_echo)} resources")
            return
        from benhan.clinical.synth.bulk import generate
        from benhan.terminology.load import ensure as ensure_code_lists
        ensure_code_lists(store, progress=_echo)
        f = generate(store, patients=patients, seed=seed, workers=os.cpu_count() or 1 if workers is None else workers,
                     progress=lambda f: typer.echo(f"  {f.resources:,} resources, {f.per_second:,.0f}/s", err=True))
    finally:
        store.close()
    _echo(f"demo facility loaded: {f.resources} resources ({patients} patients, {f.seconds:.0f} s, "
          f"{f.per_second:,.0f} resources/s" + (f"; search indexes built in {f.index_seconds:.0f} s)"
                                                if f.index_seconds else ")"))


catalogue_app = typer.Typer(help="The facility's catalogues of drugs, services and supplies.", no_args_is_help=True)
app.add_typer(catalogue_app, name="catalogue")


@catalogue_app.command("import")
def catalogue_import(kind: str = typer.Argument(..., help="drug, service or supply."),
                     file: Path = typer.Argument(..., help="A .csv or .xlsx file in the insurer's layout."),
                     data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Import a catalogue (docs/catalogues.md): one line per row; exit 1 if any row failed (the others are kept)."""
    from benhan.clinical.catalogue.importer import import_file
    from benhan.clinical.catalogue.layouts import FileProblem
    store = open_store(data_dir, database_url)
    try:
        report = import_file(store, kind, file, progress=lambda r: _echo(r.text()))
    except FileProblem as exc:
        typer.echo(f"benhan: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        store.close()
    _echo(report.summary())
    if report.errors:
        raise typer.Exit(1)


@app.command()
def reindex(data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl,
            resource_type: Optional[str] = typer.Option(None, "--type", help="Only this resource type.")) -> None:
    """Rebuild the search index from the stored resources (after the definitions change)."""
    from benhan.store.reindex import reindex as run
    store = open_store(data_dir, database_url)
    try:
        if resource_type and resource_type not in store.resource_types:
            raise errors.UnknownResourceType(f"{resource_type!r} is not a FHIR R4 resource type")
        n = run(store, resource_type=resource_type,
                progress=lambda done, _pk: typer.echo(f"  {done} resources reindexed", err=True))
        if not resource_type:
            from benhan.store.index_version import mark_current
            mark_current(store)     # the whole index is of this version now: serve need not redo it
    finally:
        store.close()
    _echo(f"reindexed {n} resources")


terminology_app = typer.Typer(help="The code systems (ICD-10, administrative units, ethnicity…).", no_args_is_help=True)
app.add_typer(terminology_app, name="terminology")


@terminology_app.command("load")
def terminology_load(data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl,
                     only: Optional[list[str]] = typer.Option(None, "--only", help="Only these (repeatable): "
                                                              "icd10-tt06, icd10-qd4469, provinces, wards, legacy-admin, "
                                                              "ethnicity, bhyt-card-type, bhyt-visit-type, "
                                                              "bhyt-beneficiary, occupation, encounter-type, lab-tests.")) -> None:
    """Load the code systems and value sets into the database (again: changes nothing)."""
    from benhan.terminology.load import load
    store = open_store(data_dir, database_url)
    try:
        done = load(store, only or None, progress=lambda r: _echo(r.line()))
    finally:
        store.close()
    changed = sum(r.outcome != "unchanged" for r in done)
    _echo(f"{len(done)} resources: {changed} written, {len(done) - changed} unchanged")


tls_app = typer.Typer(help="HTTPS certificates.", no_args_is_help=True)
app.add_typer(tls_app, name="tls")


@tls_app.command("self-signed")
def tls_self_signed(data_dir: Optional[Path] = DataDir,
                    host: Optional[list[str]] = typer.Option(None, "--host", help="A name or IP address browsers "
                                                             "will use (repeatable; default: this PC's name and LAN "
                                                             "address). localhost and 127.0.0.1 are always added."),
                    days: int = typer.Option(825, "--days", help="Days the certificate is valid."),
                    force: bool = typer.Option(False, "--force", help="Replace an existing certificate.")) -> None:
    """Make a self-signed certificate and key for HTTPS on the LAN (in <data_dir>/tls/)."""
    from benhan.web import tls
    cfg = _config(data_dir)
    made = tls.self_signed(cfg.data_dir / "tls", host or tls.default_hosts(), days=days, overwrite=force)
    _echo(f"certificate: {made.cert_file}")
    _echo(f"  valid until {made.not_after:%Y-%m-%d} for {', '.join(made.names)}")
    _echo(f"key:         {made.key_file} (readable by this user only)")
    _echo(f"SHA-256 fingerprint: {made.fingerprint}")
    _echo("Compare it with the fingerprint the browser shows before trusting the certificate.")
    _echo("To serve HTTPS, put these in benhan.toml (or set BENHAN_TLS_CERT_FILE / BENHAN_TLS_KEY_FILE):")
    # TOML literal strings: a Windows path's backslashes need no escaping.
    _echo(f"tls_cert_file = '{made.cert_file}'")
    _echo(f"tls_key_file = '{made.key_file}'")


audit_app = typer.Typer(help="The audit trail: verify its hash chain, report who saw a patient's record.",
                        no_args_is_help=True)
app.add_typer(audit_app, name="audit")


def _open_for_reading(data_dir: Optional[Path], database_url: Optional[str]):  # noqa: ANN202
    # No migration: reading the trail must not change the database it inspects.
    from benhan.store.store import Store
    return Store.open(_config(data_dir, database_url), upgrade=False)


@audit_app.command("verify")
def audit_verify(data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl,
                 expect: Optional[str] = typer.Option(None, "--expect", help="POS:HASH noted from an earlier "
                                                      "verify (its head); the chain must still hold it.")) -> None:
    """Check the audit trail's hash chain, and that it still holds the heads noted beside the backups
    and in the node setting; one line, exit 1 at the first broken link."""
    from benhan.audit.verify import verify
    anchor = None
    if expect:
        pos, _, digest = expect.partition(":")
        if not (pos.isascii() and pos.isdigit() and len(digest) == 64):
            raise errors.ConfigError("--expect takes POS:HASH (a chain position and its 64-digit hash)")
        anchor = (int(pos), digest.lower())
    from benhan.store.backup_audit import read_sidecars
    store = _open_for_reading(data_dir, database_url)
    try:
        # The heads noted beside the backups (and, inside verify, in the node setting): a trail
        # cut or wiped since shows as truncated, not as "intact: 0 events".
        report = verify(store, expect=anchor, anchors=read_sidecars(store.config.backups))
    finally:
        store.close()
    if not report.intact:
        raise errors.AuditChainBroken(report.line())
    _echo(report.line())


@audit_app.command("report")
def audit_report(patient_id: str = typer.Argument(..., help="The Patient's id."),
                 data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl,
                 limit: int = typer.Option(1000, "--limit", help="At most this many events (newest first).")) -> None:
    """Who looked at this patient's record, and when (newest first)."""
    from benhan.audit.trail import report_for_patient
    from benhan.fhir.datetimes import format_instant, from_us
    import getpass

    from benhan.auth.actor import Actor
    store = _open_for_reading(data_dir, database_url)
    try:
        # Running the report is itself an audited look at the patient's record, by this OS user.
        rows = report_for_patient(store, patient_id, Actor(name=f"cli:{getpass.getuser()}", kind="system"),
                                  limit=limit)
    finally:
        store.close()
    _echo(f"{'when (UTC)':<24}  {'who':<32}  {'roles':<16}  {'what':<18}  {'resource':<48}  {'from':<15}  flags")
    for a in rows:
        who = f"{a.display} ({a.username})" if a.display else a.username
        flags = " ".join(f for f, on in (("BREAK-GLASS", a.break_glass), (f"outcome={a.outcome}", a.outcome != "0"))
                         if on)
        _echo(f"{format_instant(from_us(a.when)):<24}  {who:<32}  {' '.join(a.roles):<16}  {a.interaction:<18}  "
              f"{a.resource or '':<48}  {a.source_address or '':<15}  {flags}".rstrip())
    _echo(f"{len(rows)} events for Patient/{patient_id}")


@config_app.command("show")
def config_show(data_dir: Optional[Path] = DataDir) -> None:
    """Print each setting and its value."""
    cfg = _config(data_dir)
    for s in config_mod.SETTINGS:
        value = cfg.values[s.name]
        if s.name == "database_url" and value:
            value = _safe_url(value)
        elif s.name.endswith(("_key", "_password", "_secret")) and value:
            value = "****"          # a secret is never printed (the SMS gateway's key …)
        _echo(f"{s.name} = {value}")


@config_app.command("docs")
def config_docs() -> None:
    """Print docs/configuration.md."""
    sys.stdout.write(config_mod.docs_markdown())


@errors_app.command("docs")
def errors_docs() -> None:
    """Print docs/errors.md."""
    sys.stdout.write(errors.docs_markdown())


def _database_failed(exc: Exception) -> bool:
    """Any command: the database (not the command) failed — unreachable, refusing, damaged in a way
    store.database did not already name (DatabaseDamaged). One line with what it said and the way out."""
    from benhan.store.database import failure_line
    line = failure_line(exc)
    if line:
        typer.echo(f"benhan: {line}", err=True)
    return line is not None


def main() -> None:
    _guarded(app)


def _guarded(run) -> None:  # noqa: ANN001
    """Run a command: a failure is one line on stderr and a non-zero exit, never a traceback."""
    try:
        run()
    except errors.BenhanError as exc:
        typer.echo(f"benhan: {exc.code}: {exc.message}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # one line, never a traceback
        if _database_failed(exc):
            sys.exit(1)
        logging.getLogger("benhan").debug("unexpected", exc_info=True)
        typer.echo(f"benhan: unexpected error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
