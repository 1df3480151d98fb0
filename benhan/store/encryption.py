"""Encryption at rest of a SQLite node's database (SQLCipher 4: AES-256 pages with an HMAC each).

A stolen commune-station PC, or a copied database file, must not give away records (CV 365 III.1.2,
issue 17). The design a part-time IT person can live with:

- The **database key** is 32 bytes derived from a **recovery key** (256 random bits, written as 13
  groups of 4 Crockford base32 characters and a checksum group, the format of backup_crypto) by
  HKDF-SHA256. The server reads the database key from the **key file** (JSON, owner-only), by
  default ``benhan.key`` beside the database, or wherever ``database_key_file`` says (a USB stick).
- The recovery key is printed ONCE and never stored: with it, ``benhan key recover`` re-creates the
  key file on a new machine. Lost key file AND lost recovery key = nobody can read the database.
- The raw key is given to SQLCipher as ``x'…'``, so no password hash runs per connection.

The key file travels in the URL: ``Config.sqlalchemy_url`` adds ``?key_file=…`` when the setting is
set, so every ``Database(url)`` (server, CLI, backup, doctor) opens the database the same way; the
default location needs nothing in the URL. A database is opened encrypted exactly when its key file
exists.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.engine import make_url

from benhan import errors
from benhan.store.private_files import create_private

PLAIN_HEADER = b"SQLite format 3\x00"
KEY_SUFFIX = ".key"
KEY_FILE_QUERY = "key_file"        # the URL query option naming the key file (removed before SQLAlchemy)


def available() -> bool:
    try:
        import sqlcipher3  # noqa: F401
    except ImportError:
        return False
    return True


def dbapi():  # noqa: ANN201
    """The SQLCipher DB-API module (sqlcipher3-binary bundles SQLCipher 4 with OpenSSL)."""
    try:
        from sqlcipher3 import dbapi2
    except ImportError:
        raise errors.ConfigError("the database is encrypted but SQLCipher is not installed here: "
                                 "pip install sqlcipher3-binary (docs/operations.md)") from None
    return dbapi2


# --- keys ---------------------------------------------------------------------------------------

def key_from_recovery(recovery: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, None, b"benhan-database-v1 key").derive(recovery)


def key_id(key: bytes) -> str:
    """A short name of a key for messages (not secret: a hash, not the key)."""
    return hashlib.sha256(b"benhan-database-key-id" + key).hexdigest()[:8]


def new_recovery() -> tuple[bytes, str]:
    """A new database key and the text of the recovery key it is derived from."""
    from benhan.store.backup_crypto import format_recovery_key
    recovery = os.urandom(32)
    return key_from_recovery(recovery), format_recovery_key(recovery)


def parse_recovery(text: str) -> bytes:
    """The database key from a recovery key as typed; a typo is one line."""
    from benhan.store.backup_crypto import parse_recovery_key
    try:
        return key_from_recovery(parse_recovery_key(text))
    except errors.BenhanError as exc:
        raise errors.ConfigError(exc.message) from None


def write_key_file(path: Path, key: bytes) -> Path:
    """Write the key file owner-only, atomically (a half-written key file would lock the data out)."""
    from benhan.store.private_files import private_dir
    path = Path(path)
    private_dir(path.parent)
    partial = path.with_name(path.name + ".part")
    with create_private(partial, "w") as f:
        json.dump({"version": 1, "cipher": "sqlcipher4", "key": key.hex(), "key_id": key_id(key)}, f)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, path)
    return path


def read_key_file(path: Path) -> bytes:
    try:
        key = bytes.fromhex(json.loads(Path(path).read_text())["key"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise errors.ConfigError(f"the database key file {path} cannot be read ({exc}); re-create it with "
                                 f"`benhan key recover --recovery-key …`") from None
    if len(key) != 32:
        raise errors.ConfigError(f"the database key file {path} does not hold a 256-bit key; re-create it "
                                 f"with `benhan key recover --recovery-key …`")
    return key


# --- where the key file is ----------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """A SQLite database as the URL names it: its file, its key file, and the URL SQLAlchemy gets."""
    url: str                # without the key_file option
    database: Path | None   # None: in memory
    key_file: Path | None


def default_key_file(database: Path) -> Path:
    return Path(database).with_suffix(KEY_SUFFIX)


def target(url: str) -> Target:
    u = make_url(url)
    named = u.query.get(KEY_FILE_QUERY)
    clean = u.difference_update_query([KEY_FILE_QUERY]).render_as_string(hide_password=False) if named else url
    db = u.database
    if not db or db == ":memory:" or db.startswith("file:"):
        return Target(clean, None, None)
    database = Path(db)
    return Target(clean, database, Path(named) if named else default_key_file(database))


def url_with_key_file(url: str, key_file: Path) -> str:
    u = make_url(url)
    return u.update_query_dict({KEY_FILE_QUERY: str(Path(key_file).resolve())}).render_as_string(hide_password=False)


def is_plain_file(database: Path) -> bool | None:
    """True: a plain SQLite file; False: not readable as plain SQLite (encrypted, or damaged);
    None: no database yet (missing or empty)."""
    try:
        with open(database, "rb") as f:
            head = f.read(16)
    except FileNotFoundError:
        return None
    if not head:
        return None
    return head == PLAIN_HEADER


# --- connections --------------------------------------------------------------------------------

def connect(database: Path, key: bytes | None, **kwargs):  # noqa: ANN201, ANN003
    """A SQLCipher connection with the key applied before anything reads the file."""
    con = dbapi().connect(str(database), **kwargs)
    cur = con.cursor()
    cur.execute("PRAGMA cipher_log_level = NONE")   # SQLCipher logs a wrong key's HMAC failures to stderr
    if key is not None:
        cur.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    cur.close()
    return con


def wrong_key_line(database: Path, key_file: Path) -> str:
    return (f"the key in {key_file} does not open the database {database} (wrong or old key file); put the "
            f"right key file there, or re-create it with `benhan key recover --recovery-key …`")


def check_opens(database: Path, key: bytes, key_file: Path) -> None:
    """Refuse at once, in one line, a key that does not open an existing database."""
    plain = is_plain_file(database)
    if plain is None:
        return
    if plain:
        raise errors.ConfigError(f"the database {database} is not encrypted but the key file {key_file} exists "
                                 f"(a plain backup restored?): encrypt it with `benhan key encrypt-database` (it "
                                 f"uses this key), or move the key file away")
    con = connect(database, key)
    try:
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except dbapi().DatabaseError:
        raise errors.ConfigError(wrong_key_line(database, key_file)) from None
    finally:
        con.close()


def key_for(t: Target) -> bytes | None:
    """The key to open this database with, or None for a plain one (no key file)."""
    if t.database is None or t.key_file is None:
        return None
    pending = t.key_file.with_name(t.key_file.name + ".new")
    if not t.key_file.exists():
        if pending.exists() and is_plain_file(t.database) is False:
            # `benhan key encrypt-database` stopped between the swap and renaming the key file.
            check_opens(t.database, read_key_file(pending), pending)
            os.replace(pending, t.key_file)
        else:
            return None
    key = read_key_file(t.key_file)
    if pending.exists():
        # `benhan key rotate` stopped between PRAGMA rekey and renaming the new key file: whichever
        # of the two opens the database is the key now.
        new = read_key_file(pending)
        for candidate in (new, key):
            try:
                check_opens(t.database, candidate, t.key_file)
            except errors.ConfigError:
                continue
            if candidate is new:
                os.replace(pending, t.key_file)
            else:
                pending.unlink()
            return candidate
    check_opens(t.database, key, t.key_file)
    return key


def read_without_key(exc: BaseException, url: str) -> str | None:
    """An encrypted database read by code that opens it with the plain sqlite3 module (not through
    Database): say so instead of calling the file damaged."""
    import sqlite3
    try:
        t = target(url)
    except Exception:  # noqa: BLE001
        return None
    if (type(exc).__module__ != sqlite3.DatabaseError.__module__ or t.database is None or t.key_file is None
            or not t.key_file.exists() or is_plain_file(t.database) is not False):
        return None
    return (f"the database file {t.database} is encrypted (key file {t.key_file}) and this command opens it "
            f"without the key (an unencrypted backup of it is not made: `benhan backup init-key` makes backups "
            f"encrypted); the file itself is not damaged")


def missing_key_hint(url: str) -> str:
    """Added to the 'damaged' line when the file may simply be encrypted with its key file gone."""
    try:
        t = target(url)
    except Exception:  # noqa: BLE001 — a hint must never hide the message it belongs to
        return ""
    if t.database is None or t.key_file is None or t.key_file.exists() or is_plain_file(t.database) is not False:
        return ""
    return (f"; if it is an encrypted database, its key file {t.key_file} is missing: copy it back or "
            f"re-create it with `benhan key recover --recovery-key …`")


# --- operations (benhan key …; the server must be stopped for rotate and encrypt-database) -------

def _sqlite_target(url: str) -> Target:
    if not url.startswith("sqlite"):
        raise errors.ConfigError("encryption at rest here is for SQLite nodes; a PostgreSQL server is protected by "
                                 "disk encryption and TLS to the database (docs/security.md)")
    t = target(url)
    if t.database is None or t.key_file is None:
        raise errors.ConfigError("an in-memory database cannot be encrypted")
    return t


def refuse_if_in_use(database: Path) -> None:
    """Refuse while another process (a running server) has the database open: every process with a
    WAL database open holds a read lock on one byte of its -shm file (SQLite's unix VFS, offset 128);
    a write lock on that byte succeeds only when nobody else has it open."""
    in_use = errors.ConfigError(f"{database} is in use; stop the server first")
    try:
        import fcntl
    except ImportError:
        return
    try:
        fd = os.open(str(database) + "-shm", os.O_RDWR)
    except FileNotFoundError:
        return
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 128)
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, 128)
    except OSError:
        raise in_use from None
    finally:
        os.close(fd)


def status(url: str) -> dict:
    """What `benhan key status` and `benhan doctor` say about the database's encryption."""
    if not url.startswith("sqlite"):
        return {"backend": "postgresql", "encrypted": None}
    t = target(url)
    plain = is_plain_file(t.database) if t.database else None
    out = {"backend": "sqlite", "database": str(t.database), "key_file": str(t.key_file),
           "key_file_exists": bool(t.key_file and t.key_file.exists()),
           "encrypted": None if plain is None else not plain}
    if out["key_file_exists"]:
        out["key_id"] = key_id(read_key_file(t.key_file))
    return out


def create_key(url: str) -> str:
    """A key file for a database that does not exist yet (or is empty); returns the recovery key's text."""
    t = _sqlite_target(url)
    if t.key_file.exists():
        raise errors.ConfigError(f"the key file {t.key_file} already exists; nothing was changed "
                                 f"(`benhan key rotate` makes a new key)")
    if is_plain_file(t.database):
        raise errors.ConfigError(f"{t.database} already holds a plain database: encrypt it with "
                                 f"`benhan key encrypt-database`")
    if is_plain_file(t.database) is False:
        raise errors.ConfigError(f"{t.database} is already encrypted (or damaged) and its key file is missing: "
                                 f"`benhan key recover --recovery-key …`")
    dbapi()                                 # SQLCipher must be here before a key is promised
    key, text = new_recovery()
    write_key_file(t.key_file, key)
    return text


def ensure_at_first_start(url: str, wanted: bool) -> str | None:
    """`database_encryption = true`: a new database gets its key (returns the recovery key to print
    once); a plain existing one is refused in one line. Nothing when the setting is off."""
    if not wanted or not url.startswith("sqlite"):
        return None
    t = _sqlite_target(url)
    if t.key_file.exists():
        return None
    if is_plain_file(t.database):
        raise errors.ConfigError(f"database_encryption is on but {t.database} is a plain database: stop here and "
                                 f"run `benhan key encrypt-database` (it takes a backup first)")
    return create_key(url)


def recover(url: str, recovery_text: str) -> Path:
    """Re-create the key file from the recovery key (a new machine, a lost USB stick)."""
    t = _sqlite_target(url)
    key = parse_recovery(recovery_text)
    if is_plain_file(t.database) is False:
        con = connect(t.database, key)
        try:
            con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except dbapi().DatabaseError:
            raise errors.ConfigError(f"the recovery key does not open the database {t.database} (another "
                                     f"database's key, or an old one from before `benhan key rotate`)") from None
        finally:
            con.close()
    elif is_plain_file(t.database):
        raise errors.ConfigError(f"{t.database} is not encrypted; it needs no key")
    return write_key_file(t.key_file, key)


def rotate(url: str) -> str:
    """Re-key the database (PRAGMA rekey) with a new key from a new recovery key; returns its text.
    The new key file is written first as <key file>.new, so an interruption leaves a key that opens
    the database either way (key_for picks it)."""
    t = _sqlite_target(url)
    old = key_for(t)
    if old is None:
        raise errors.ConfigError(f"{t.database} is not encrypted (no key file {t.key_file})")
    refuse_if_in_use(t.database)
    key, text = new_recovery()
    pending = t.key_file.with_name(t.key_file.name + ".new")
    write_key_file(pending, key)
    con = connect(t.database, old)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.execute(f"PRAGMA rekey = \"x'{key.hex()}'\"")
    finally:
        con.close()
    os.replace(pending, t.key_file)
    return text


@dataclass(frozen=True)
class Encrypted:
    recovery_key: str | None        # None: the existing key file's key was used
    tables: dict[str, int]          # rows per table, the same before and after
    kept_plain: Path | None


def _fingerprint(con) -> dict[str, tuple[int, str]]:  # noqa: ANN001
    """Rows and a SHA-256 of every table's content in rowid order (tables without rowid by all columns)."""
    out = {}
    names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                       "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    for name in names:
        h, n = hashlib.sha256(), 0
        quoted = '"' + name.replace('"', '""') + '"'
        try:
            rows = con.execute(f"SELECT * FROM {quoted} ORDER BY rowid")
        except dbapi().OperationalError:
            rows = con.execute(f"SELECT * FROM {quoted} ORDER BY 1")
        for row in rows:
            h.update(repr(row).encode())
            n += 1
        out[name] = (n, h.hexdigest())
    return out


def _shred(path: Path) -> None:
    """Overwrite a file with zeros before unlinking it. On SSDs and journalling file systems the old
    blocks may survive elsewhere (docs/security.md says so); this removes the easy recovery."""
    size = path.stat().st_size
    with open(path, "r+b") as f:
        left = size
        block = b"\0" * (1 << 20)
        while left > 0:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n
        f.flush()
        os.fsync(f.fileno())
    path.unlink()


def encrypt_database(url: str, *, keep_plain: Path | None = None) -> Encrypted:
    """Encrypt an existing plain database in place: sqlcipher_export into a new file, every table
    compared (rows and content hash), the key file written, the new file swapped in atomically, and
    the plain file overwritten and removed (or kept at `keep_plain`). The caller takes a backup first."""
    t = _sqlite_target(url)
    if is_plain_file(t.database) is not True:
        raise errors.ConfigError(f"{t.database} is not a plain SQLite database (missing, empty, or already "
                                 f"encrypted)")
    if keep_plain is not None and Path(keep_plain).exists():
        raise errors.ConfigError(f"{keep_plain} already exists; name a new file for the plain copy")
    refuse_if_in_use(t.database)
    if t.key_file.exists():
        # A plain database beside its key file: a plain backup restored over an encrypted database.
        # It is encrypted again with the same key, so the recovery key on paper stays valid.
        key, text = read_key_file(t.key_file), None
    else:
        key, text = new_recovery()
    staged = t.database.with_name(t.database.name + ".encrypting")
    for leftover in (staged, Path(str(staged) + "-wal"), Path(str(staged) + "-shm")):
        leftover.unlink(missing_ok=True)
    from benhan.store.private_files import prepare_sqlite
    prepare_sqlite(staged)                                  # owner-only from the first byte
    src = connect(t.database, None)
    try:
        src.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        src.execute("BEGIN IMMEDIATE")                      # nobody writes while it is copied
        before = _fingerprint(src)
        version = src.execute("PRAGMA user_version").fetchone()[0]
        src.execute(f"ATTACH DATABASE ? AS encrypted KEY \"x'{key.hex()}'\"", (str(staged),))
        src.execute("SELECT sqlcipher_export('encrypted')")
        src.execute(f"PRAGMA encrypted.user_version = {int(version)}")
        src.execute("COMMIT")
        src.execute("DETACH DATABASE encrypted")
    finally:
        src.close()
    dst = connect(staged, key)
    try:
        dst.execute("PRAGMA journal_mode = WAL")
        after = _fingerprint(dst)
    finally:
        dst.close()
    if after != before:
        staged.unlink(missing_ok=True)
        differ = sorted(n for n in set(before) | set(after) if before.get(n) != after.get(n))
        raise errors.ConfigError(f"the encrypted copy differs from the database in {', '.join(differ)}; nothing "
                                 f"was changed")
    pending = t.key_file.with_name(t.key_file.name + ".new")
    if text is not None:
        write_key_file(pending, key)                         # before the swap: whatever happens, a key opens it
    aside = Path(keep_plain) if keep_plain is not None else t.database.with_name(t.database.name + ".plain-old")
    os.link(t.database, aside)                               # the plain file stays reachable until shredded
    os.replace(staged, t.database)                           # the swap: one rename
    for companion in ("-wal", "-shm"):
        Path(str(t.database) + companion).unlink(missing_ok=True)   # the plain database's, now empty
    if text is not None:
        os.replace(pending, t.key_file)
    if keep_plain is None:
        _shred(aside)
    return Encrypted(text, {n: v[0] for n, v in after.items()}, Path(keep_plain) if keep_plain else None)


def plain_snapshot(url: str, into: Path) -> Path:
    """A consistent plain copy of an encrypted database (for backup.py, whose files are compressed
    or encrypted with the backup key, so a backup does not depend on the database key): one read
    transaction, sqlcipher_export into an unencrypted attached file. The server may keep running."""
    t = target(url)
    key = key_for(t)
    if key is None:
        raise errors.ConfigError(f"{t.database} is not encrypted")
    into = Path(into)
    into.unlink(missing_ok=True)
    from benhan.store.private_files import prepare_sqlite
    prepare_sqlite(into)
    con = connect(t.database, key, timeout=30)
    try:
        con.execute("BEGIN")
        version = con.execute("PRAGMA user_version").fetchone()[0]
        con.execute("ATTACH DATABASE ? AS plain KEY ''", (str(into),))
        con.execute("SELECT sqlcipher_export('plain')")
        con.execute(f"PRAGMA plain.user_version = {int(version)}")
        con.execute("COMMIT")
        con.execute("DETACH DATABASE plain")
    finally:
        con.close()
    return into


def encrypt_copy(plain: Path, key: bytes, into: Path) -> Path:
    """An encrypted copy of a plain SQLite file with this key (a restore onto an encrypted node)."""
    into = Path(into)
    into.unlink(missing_ok=True)
    from benhan.store.private_files import prepare_sqlite
    prepare_sqlite(into)
    con = connect(Path(plain), None)
    try:
        version = con.execute("PRAGMA user_version").fetchone()[0]
        con.execute(f"ATTACH DATABASE ? AS encrypted KEY \"x'{key.hex()}'\"", (str(into),))
        con.execute("SELECT sqlcipher_export('encrypted')")
        con.execute(f"PRAGMA encrypted.user_version = {int(version)}")
        con.execute("DETACH DATABASE encrypted")
    finally:
        con.close()
    return into
