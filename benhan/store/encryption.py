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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
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
        raise errors.ConfigError(f"the database {database} is not encrypted but the key file {key_file} exists: "
                                 f"encrypt it with `benhan key encrypt-database`, or move the key file away")
    con = connect(database, key)
    try:
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except dbapi().DatabaseError:
        raise errors.ConfigError(wrong_key_line(database, key_file)) from None
    finally:
        con.close()


def key_for(t: Target) -> bytes | None:
    """The key to open this database with, or None for a plain one (no key file)."""
    if t.database is None or t.key_file is None or not t.key_file.exists():
        return None
    key = read_key_file(t.key_file)
    pending = t.key_file.with_name(t.key_file.name + ".new")
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
