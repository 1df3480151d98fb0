"""Encrypted backups: the backup key, the recovery key and the streaming file format.

Keys
- The **data key** (32 random bytes) encrypts every backup. It lives in `<data_dir>/backup-key.json`
  (owner-only) so the server can back up unattended and test its own backups.
- The **recovery key** (32 random bytes, written as 13 groups of 4 Crockford base32 characters and
  one checksum group, e.g. `7K2Q-…-XW4M`) wraps the data key. It is shown ONCE, at creation, and never
  stored by benhan. Every backup carries the wrapped data key in its header, so a restore on a new
  machine needs only the backup file and the recovery key. Lost recovery key + lost machine = the
  backups cannot be read by anyone.

File format (version 1; all integers big-endian)
    header  = "BENHANBK" | version u8 (=1) | kind u8 (1 SQLite, 2 pg_dump custom) | key_id 8 bytes
              | file_salt 16 | wrap_salt 16 | wrap_nonce 12 | wrapped_key 48 (AES-256-GCM of the data
              key, AAD = magic+key_id) | meta_len u32 | meta (UTF-8 JSON: taken_us, label, resources,
              revision, chain_head, compression: "zlib" when the plaintext is zlib-compressed)
    chunk*  = flag u8 (0 more, 1 final) | length u32 | AES-256-GCM ciphertext+tag of ≤ 1 MiB
The file key is HKDF-SHA256(data key, salt=file_salt, info="benhan-backup-v1 file"): unique per
file, so the nonce can be the chunk's index (u64) and its flag (u32). Every chunk's AAD is the whole
header (meta included): changing the header, reordering, dropping, or appending chunks, or cutting
the file (no final chunk) fails authentication and is named in one line.
The KEK that wraps the data key is HKDF-SHA256(recovery key, salt=wrap_salt, info="benhan-backup-v1
kek"); the recovery key is 256 random bits, so no slow password hash is needed.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from benhan import errors
from benhan.store.private_files import create_private

MAGIC = b"BENHANBK"
VERSION = 1
KIND_SQLITE = 1
KIND_PG = 2
CHUNK = 1024 * 1024
KEY_FILE = "backup-key.json"
PENDING_RECOVERY_FILE = "backup-recovery-key.txt"   # shown on the admin page until confirmed, then deleted
_FIXED = struct.Struct(">8sBB8s16s16s12s48sI")
_CHUNK_HEAD = struct.Struct(">BI")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

WRONG_KEY = "khóa khôi phục không đúng / the recovery key does not match this backup"


class BackupDamaged(errors.RestoreRefused):
    """The backup file is not intact (one line says what)."""


class WrongRecoveryKey(errors.RestoreRefused):
    """The recovery key does not open this backup."""


# --- the recovery key as text -------------------------------------------------------------------

def _b32(data: bytes, chars: int) -> str:
    n = int.from_bytes(data, "big")
    bits = len(data) * 8
    pad = chars * 5 - bits
    n <<= pad
    return "".join(_CROCKFORD[(n >> (5 * i)) & 31] for i in reversed(range(chars)))


def format_recovery_key(raw: bytes) -> str:
    body = _b32(raw, 52)                                    # 256 bits → 52 characters
    check = _b32(hashlib.sha256(b"benhan-recovery" + raw).digest()[:3], 5)[:4]
    text = body + check
    return "-".join(text[i:i + 4] for i in range(0, len(text), 4))


def parse_recovery_key(text: str) -> bytes:
    """The 32 bytes of a recovery key as a person typed it: case, spaces and dashes do not matter;
    O is read as 0 and I, L as 1. A typo is caught by the checksum group (one line)."""
    cleaned = "".join(text.split()).replace("-", "").upper().translate(str.maketrans("OIL", "011"))
    if len(cleaned) != 56 or any(c not in _CROCKFORD for c in cleaned):
        raise errors.RestoreRefused("khóa khôi phục phải có 14 nhóm 4 ký tự / the recovery key must be "
                                    "14 groups of 4 characters")
    n = 0
    for c in cleaned[:52]:
        n = (n << 5) | _CROCKFORD.index(c)
    raw = (n >> 4).to_bytes(32, "big")
    if format_recovery_key(raw).replace("-", "") != cleaned:
        raise errors.RestoreRefused("khóa khôi phục gõ sai (nhóm kiểm tra không khớp) / the recovery key "
                                    "is mistyped (its check group does not match)")
    return raw


# --- the key file --------------------------------------------------------------------------------

@dataclass(frozen=True)
class BackupKey:
    key_id: bytes
    data_key: bytes
    wrap_salt: bytes
    wrap_nonce: bytes
    wrapped_key: bytes


def _kek(recovery: bytes, salt: bytes) -> AESGCM:
    return AESGCM(HKDF(hashes.SHA256(), 32, salt, b"benhan-backup-v1 kek").derive(recovery))


def new_key() -> tuple[BackupKey, str]:
    """A new data key wrapped by a new recovery key; returns the key and the recovery key's text."""
    recovery = os.urandom(32)
    data_key = AESGCM.generate_key(256)
    key_id, salt, nonce = os.urandom(8), os.urandom(16), os.urandom(12)
    wrapped = _kek(recovery, salt).encrypt(nonce, data_key, MAGIC + key_id)
    return BackupKey(key_id, data_key, salt, nonce, wrapped), format_recovery_key(recovery)


def key_path(data_dir: Path) -> Path:
    return Path(data_dir) / KEY_FILE


def save_key(data_dir: Path, key: BackupKey) -> Path:
    path = key_path(data_dir)
    enc = lambda b: base64.b64encode(b).decode()  # noqa: E731
    partial = path.with_name(path.name + ".part")
    with create_private(partial, "w") as f:
        json.dump({"version": 1, "key_id": key.key_id.hex(), "data_key": enc(key.data_key),
                   "wrap_salt": enc(key.wrap_salt), "wrap_nonce": enc(key.wrap_nonce),
                   "wrapped_key": enc(key.wrapped_key)}, f)
        f.flush()
        os.fsync(f.fileno())
    partial.rename(path)
    return path


def load_key(data_dir: Path) -> BackupKey | None:
    path = key_path(data_dir)
    if not path.is_file():
        return None
    try:
        d = json.loads(path.read_text())
        dec = base64.b64decode
        return BackupKey(bytes.fromhex(d["key_id"]), dec(d["data_key"]), dec(d["wrap_salt"]),
                         dec(d["wrap_nonce"]), dec(d["wrapped_key"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise errors.BackupFailed(f"the backup key file {path} cannot be read ({exc})") from None


def init_key(data_dir: Path, *, pending: bool = False) -> str | None:
    """Create the backup key if there is none; returns the recovery key's text (None if a key
    existed). `pending`: also keep the text in PENDING_RECOVERY_FILE (owner-only) for the admin
    page to show once (the server's first start; the CLI prints it instead)."""
    from benhan.store.private_files import private_dir
    private_dir(Path(data_dir))
    if key_path(data_dir).exists():
        return None
    key, text = new_key()
    save_key(data_dir, key)
    if pending:
        with create_private(Path(data_dir) / PENDING_RECOVERY_FILE, "w") as f:
            f.write(text + "\n")
    return text


# --- the stream ----------------------------------------------------------------------------------

def _file_key(data_key: bytes, salt: bytes) -> AESGCM:
    return AESGCM(HKDF(hashes.SHA256(), 32, salt, b"benhan-backup-v1 file").derive(data_key))


def _nonce(index: int, final: bool) -> bytes:
    return struct.pack(">QI", index, 1 if final else 0)


class Encryptor:
    """Writes the encrypted format into `out` (a binary file), a chunk at a time."""

    def __init__(self, out: BinaryIO, key: BackupKey, kind: int, meta: dict, *, compress: bool = True):
        self.out = out
        salt = os.urandom(16)
        # zlib (level 1) before encryption: SQLite pages of JSON shrink about 3×, and ciphertext
        # cannot be compressed afterwards. Named in the authenticated header.
        self.z = zlib.compressobj(1) if compress else None
        meta = dict(meta, compression="zlib") if compress else meta
        meta_b = json.dumps(meta, sort_keys=True).encode()
        self.header = _FIXED.pack(MAGIC, VERSION, kind, key.key_id, salt, key.wrap_salt, key.wrap_nonce,
                                  key.wrapped_key, len(meta_b)) + meta_b
        out.write(self.header)
        self.aead = _file_key(key.data_key, salt)
        self.index = 0
        self.buffer = bytearray()

    def write(self, data: bytes) -> None:
        self.buffer += self.z.compress(data) if self.z else data
        while len(self.buffer) > CHUNK:    # keep at least one byte back: the last chunk is final
            self._emit(bytes(self.buffer[:CHUNK]), False)
            del self.buffer[:CHUNK]

    def _emit(self, plain: bytes, final: bool) -> None:
        sealed = self.aead.encrypt(_nonce(self.index, final), plain, self.header)
        self.out.write(_CHUNK_HEAD.pack(1 if final else 0, len(sealed)) + sealed)
        self.index += 1

    def close(self) -> None:
        if self.z:
            self.buffer += self.z.flush()
        while len(self.buffer) > CHUNK:
            self._emit(bytes(self.buffer[:CHUNK]), False)
            del self.buffer[:CHUNK]
        self._emit(bytes(self.buffer), True)
        self.buffer.clear()


@dataclass(frozen=True)
class Header:
    kind: int
    key_id: bytes
    file_salt: bytes
    wrap_salt: bytes
    wrap_nonce: bytes
    wrapped_key: bytes
    meta: dict
    raw: bytes


def _read_exact(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    return data if data is not None else b""


def read_header(f: BinaryIO, name: str = "the backup") -> Header:
    fixed = _read_exact(f, _FIXED.size)
    if len(fixed) < 8 or fixed[:8] != MAGIC:
        raise BackupDamaged(f"{name} is not an encrypted benhan backup (its first bytes are wrong)")
    if len(fixed) < _FIXED.size:
        raise BackupDamaged(f"{name} is cut short inside its header")
    magic, version, kind, key_id, fsalt, wsalt, wnonce, wrapped, meta_len = _FIXED.unpack(fixed)
    if version != VERSION:
        raise BackupDamaged(f"{name} has format version {version}; this version of benhan reads {VERSION}")
    if kind not in (KIND_SQLITE, KIND_PG) or meta_len > 1 << 20:
        raise BackupDamaged(f"{name} has a damaged header")
    meta_b = _read_exact(f, meta_len)
    if len(meta_b) < meta_len:
        raise BackupDamaged(f"{name} is cut short inside its header")
    try:
        meta = json.loads(meta_b)
    except ValueError:
        raise BackupDamaged(f"{name} has a damaged header (its description is not readable)") from None
    return Header(kind, key_id, fsalt, wsalt, wnonce, wrapped, meta, fixed + meta_b)


def data_key_for(header: Header, *, key: BackupKey | None = None, recovery: str | None = None) -> bytes:
    """The data key of a backup: unwrapped with the recovery key, else the local key file's if its
    id matches. The header is checked here too (a changed meta fails on the first chunk)."""
    if recovery is not None:
        try:
            return _kek(parse_recovery_key(recovery), header.wrap_salt).decrypt(
                header.wrap_nonce, header.wrapped_key, MAGIC + header.key_id)
        except InvalidTag:
            raise WrongRecoveryKey(WRONG_KEY) from None
    if key is not None and key.key_id == header.key_id:
        return key.data_key
    raise WrongRecoveryKey("bản sao lưu này được mã hoá bằng khóa khác; hãy nhập khóa khôi phục "
                           "(--recovery-key) / this backup was encrypted with another key; give its "
                           "recovery key (--recovery-key)")


def decrypt_chunks(f: BinaryIO, header: Header, data_key: bytes, name: str = "the backup") -> Iterator[bytes]:
    """The plaintext, chunk by chunk, each authenticated before it is yielded."""
    aead = _file_key(data_key, header.file_salt)
    index = 0
    while True:
        head = _read_exact(f, _CHUNK_HEAD.size)
        if not head:
            raise BackupDamaged(f"{name} is cut short: it ends after chunk {index} without its final chunk")
        if len(head) < _CHUNK_HEAD.size:
            raise BackupDamaged(f"{name} is cut short inside chunk {index}")
        flag, length = _CHUNK_HEAD.unpack(head)
        if flag not in (0, 1) or length > CHUNK + 16:
            raise BackupDamaged(f"{name} is damaged at chunk {index} (its length or flag is wrong)")
        sealed = _read_exact(f, length)
        if len(sealed) < length:
            raise BackupDamaged(f"{name} is cut short inside chunk {index}")
        try:
            plain = aead.decrypt(_nonce(index, bool(flag)), sealed, header.raw)
        except InvalidTag:
            if index == 0:
                raise BackupDamaged(f"{name} is damaged or was changed: its header or first chunk "
                                    "fails authentication") from None
            raise BackupDamaged(f"{name} is damaged or was changed at chunk {index} "
                                "(it fails authentication)") from None
        yield plain
        index += 1
        if flag:
            if f.read(1):
                raise BackupDamaged(f"{name} has data after its final chunk (it was changed)")
            return


def decrypt_file(src: Path, dst: Path, *, key: BackupKey | None = None, recovery: str | None = None) -> Header:
    """Decrypt src into dst (created owner-only); dst is removed when anything fails."""
    try:
        with open(src, "rb") as fin, create_private(dst) as fout:
            header = read_header(fin, src.name)
            data_key = data_key_for(header, key=key, recovery=recovery)
            z = zlib.decompressobj() if header.meta.get("compression") == "zlib" else None
            for plain in decrypt_chunks(fin, header, data_key, src.name):
                fout.write(z.decompress(plain) if z else plain)
            if z:
                tail = z.flush()
                if not z.eof:       # authenticated, so only a writer's bug could cause it
                    raise BackupDamaged(f"{src.name}: its compressed stream is incomplete")
                fout.write(tail)
        return header
    except BaseException:
        Path(dst).unlink(missing_ok=True)
        raise
