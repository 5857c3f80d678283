"""Sealed weights: a stored model encrypted at rest under a key the operating system holds.

File format (version 1), all integers little-endian::

    header  = b"MSOVSEAL" | version u8 (=1) | chunk_size u32 | plaintext_size u64
              | plaintext SHA-256 (32) | key check (16) | salt (16)            (85 bytes)
    chunk i = AES-256-GCM(file_key, nonce = u32 0 | u64 i,
                          aad = header | u64 i | final u8) -> ciphertext | tag (16)

``file_key = HKDF-SHA256(master_key, salt, info="mistral-sov sealed weights v1")``: a fresh key
per file, so counter nonces never repeat. Authenticating the header, the index and a final flag
in every chunk makes a reordered, dropped, truncated or extended file fail, not just a flipped
byte. ``key check = HMAC-SHA256(master_key, "mistral-sov key check")[:16]`` tells a wrong key
(another machine's) from damage before any chunk is read.

Master key: on Linux/macOS a 32-byte root-only file (``/etc/mistral-sov/seal.key``, mode 0400);
on Windows a DPAPI blob protected in *machine* scope (``CRYPTPROTECT_LOCAL_MACHINE``) in
``%ProgramData%\\mistral-sov\\seal.key.dpapi``: only this machine can unprotect it, so a copied
store is useless elsewhere. A TPM-bound key is future work (docs/enterprise.md).

``unseal_to_memory`` decrypts into an anonymous memory file (Linux ``memfd_create``) while
hashing, and refuses (exit 5) unless the plaintext SHA-256 is the expected one; nothing is
written to disk in clear. ``cryptography`` is imported on first use.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from mistral_sov.errors import InputError, Location, MissingBackendError, ModelRefusedError

MAGIC = b"MSOVSEAL"
VERSION = 1
CHUNK = 4 * 1024 * 1024
TAG = 16
_HEADER = struct.Struct("<8sBIQ32s16s16s")
HEADER_SIZE = _HEADER.size
INFO = b"mistral-sov sealed weights v1"
KEY_CHECK_LABEL = b"mistral-sov key check"
SUFFIX = ".sealed"


def default_key_path() -> Path:
    if sys.platform == "win32":
        base = Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData"))
        return base / "mistral-sov" / "seal.key.dpapi"
    return Path("/etc/mistral-sov/seal.key")


def key_path() -> Path:
    env = os.environ.get("MISTRAL_SOV_SEAL_KEY")
    return Path(env) if env else default_key_path()


# --------------------------------------------------------------------------- OS-held key


def _dpapi(data: bytes, protect: bool) -> bytes:  # pragma: no cover - Windows only
    import ctypes
    from ctypes import wintypes

    class Blob(ctypes.Structure):
        _fields_ = [("cbData", wintypes.DWORD), ("pbData", ctypes.POINTER(ctypes.c_char))]

    crypt32 = ctypes.WinDLL("crypt32", use_last_error=True)  # type: ignore[attr-defined,unused-ignore]
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined,unused-ignore]
    buf = ctypes.create_string_buffer(data, len(data))
    blob_in = Blob(len(data), ctypes.cast(buf, ctypes.POINTER(ctypes.c_char)))
    blob_out = Blob()
    flags = 0x4 | 0x1  # CRYPTPROTECT_LOCAL_MACHINE | CRYPTPROTECT_UI_FORBIDDEN
    fn = crypt32.CryptProtectData if protect else crypt32.CryptUnprotectData
    ok = fn(ctypes.byref(blob_in), None, None, None, None, flags, ctypes.byref(blob_out))
    if not ok:
        raise MissingBackendError(
            f"Windows DPAPI refused to {'protect' if protect else 'unprotect'} the sealing key "
            f"(error {ctypes.get_last_error()})",  # type: ignore[attr-defined,unused-ignore]
            hint="a key sealed on another machine cannot be used here: re-import and re-seal the model",
        )
    try:
        return ctypes.string_at(blob_out.pbData, blob_out.cbData)
    finally:
        kernel32.LocalFree(blob_out.pbData)


def load_key(path: Path | None = None) -> bytes:
    """The machine's sealing key. A missing or loosely protected key is an error (exit 4)."""
    path = path or key_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise MissingBackendError(
            f"no sealing key at {path}",
            hint="seal a model first (`mistral-sov local models seal NAME` creates the key), or copy "
            "nothing: a sealed store is only usable on the machine that sealed it",
            location=Location(str(path)),
        ) from None
    except OSError as exc:
        raise MissingBackendError(
            f"cannot read the sealing key {path}: {exc.strerror}",
            hint="serve as the account that sealed the model (root on Linux)",
            location=Location(str(path)),
        ) from None
    if sys.platform == "win32":  # pragma: no cover
        raw = _dpapi(raw, protect=False)
    elif os.name == "posix":
        st = path.stat()
        if st.st_mode & 0o077:
            raise MissingBackendError(
                f"the sealing key {path} is readable by other accounts (mode {st.st_mode & 0o777:o})",
                hint=f"chmod 400 {path} (and chown it to the serving account)",
                location=Location(str(path)),
            )
    if len(raw) != 32:
        raise MissingBackendError(f"the sealing key {path} is not 32 bytes", location=Location(str(path)))
    return raw


def create_key(path: Path | None = None) -> bytes:
    """Create the machine's sealing key if there is none (mode 0400 / DPAPI machine scope)."""
    path = path or key_path()
    if path.exists():
        return load_key(path)
    key = os.urandom(32)
    data = _dpapi(key, protect=True) if sys.platform == "win32" else key
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o400)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.replace(path)
    return key


# --------------------------------------------------------------------------- format


def key_check(master: bytes) -> bytes:
    return hmac.new(master, KEY_CHECK_LABEL, hashlib.sha256).digest()[:16]


def _file_key(master: bytes, salt: bytes) -> Any:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return AESGCM(HKDF(hashes.SHA256(), 32, salt, INFO).derive(master))


def _nonce(i: int) -> bytes:
    return struct.pack("<IQ", 0, i)


def _aad(header: bytes, i: int, final: bool) -> bytes:
    return header + struct.pack("<QB", i, int(final))


def _chunks(size: int, chunk: int) -> int:
    return max(1, -(-size // chunk))


def seal_stream(src: IO[bytes], dst: IO[bytes], size: int, sha256: str, master: bytes, *, chunk: int = CHUNK) -> None:
    """Encrypt ``size`` bytes of ``src`` (whose SHA-256 is ``sha256``) into ``dst``. The hash is
    recomputed while reading; a source that changed under us is refused."""
    salt = os.urandom(16)
    header = _HEADER.pack(MAGIC, VERSION, chunk, size, bytes.fromhex(sha256), key_check(master), salt)
    aes = _file_key(master, salt)
    dst.write(header)
    digest = hashlib.sha256()
    n = _chunks(size, chunk)
    for i in range(n):
        plain = src.read(chunk)
        if len(plain) != min(chunk, size - i * chunk):
            raise InputError("the model file changed size while it was being sealed", hint="seal it again")
        digest.update(plain)
        dst.write(aes.encrypt(_nonce(i), plain, _aad(header, i, i == n - 1)))
    if src.read(1):
        raise InputError("the model file grew while it was being sealed", hint="seal it again")
    if digest.hexdigest() != sha256:
        raise ModelRefusedError(
            "the model file's SHA-256 changed while it was being sealed", hint="check the store, then seal it again"
        )


@dataclass(frozen=True)
class SealedHeader:
    chunk: int
    size: int
    sha256: str
    key_check: bytes
    salt: bytes
    raw: bytes


def read_header(f: IO[bytes], where: str) -> SealedHeader:
    raw = f.read(HEADER_SIZE)
    if len(raw) != HEADER_SIZE or raw[:8] != MAGIC:
        raise ModelRefusedError(f"{where} is not a sealed model", location=Location(where))
    _magic, version, chunk, size, sha, check, salt = _HEADER.unpack(raw)
    if version != VERSION or not (4096 <= chunk <= 64 * 1024 * 1024):
        raise ModelRefusedError(f"{where}: unsupported sealed format (version {version})", location=Location(where))
    return SealedHeader(chunk, size, sha.hex(), check, salt, raw)


def unseal_chunks(path: Path, master: bytes, expected_sha256: str | None = None) -> Iterator[bytes]:
    """Yield the plaintext chunk by chunk, each authenticated; after the last one the plaintext
    SHA-256 has been compared with the header's (and ``expected_sha256``). Raises
    ModelRefusedError (exit 5) on a wrong key, damage, truncation or a hash mismatch."""
    from cryptography.exceptions import InvalidTag

    where = str(path)
    with path.open("rb") as f:
        h = read_header(f, where)
        if expected_sha256 is not None and h.sha256 != expected_sha256:
            raise ModelRefusedError(
                f"{where} holds model {h.sha256[:16]}…, not the approved {expected_sha256[:16]}…",
                location=Location(where),
            )
        if not hmac.compare_digest(h.key_check, key_check(master)):
            raise ModelRefusedError(
                f"{where} was sealed with another key (another machine, or a replaced sealing key)",
                hint="a sealed store works only on the machine that sealed it: import the original model "
                "file here and seal it again",
                location=Location(where),
            )
        aes = _file_key(master, h.salt)
        digest = hashlib.sha256()
        n = _chunks(h.size, h.chunk)
        for i in range(n):
            want = min(h.chunk, h.size - i * h.chunk) + TAG
            data = f.read(want)
            if len(data) != want:
                raise ModelRefusedError(f"{where} is truncated (chunk {i + 1} of {n})", location=Location(where))
            try:
                plain = aes.decrypt(_nonce(i), data, _aad(h.raw, i, i == n - 1))
            except InvalidTag:
                raise ModelRefusedError(
                    f"{where} is damaged or was altered: chunk {i + 1} of {n} fails authentication",
                    hint="restore the model from its approved source and seal it again",
                    location=Location(where),
                ) from None
            digest.update(plain)
            yield plain
        if f.read(1):
            raise ModelRefusedError(f"{where} has data after its last chunk", location=Location(where))
    if digest.hexdigest() != h.sha256:  # cannot happen without the key, checked anyway
        raise ModelRefusedError(f"{where}: decrypted model does not match its SHA-256", location=Location(where))


@dataclass
class MemoryModel:
    """A decrypted model in an anonymous memory file; ``path`` opens it (``/proc/self/fd/N``)."""

    fd: int
    size: int
    sha256: str

    @property
    def path(self) -> Path:
        return Path(f"/proc/{os.getpid()}/fd/{self.fd}")

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> MemoryModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def unseal_to_memory(
    path: Path, master: bytes, expected_sha256: str, *, progress: Callable[[int], None] | None = None
) -> MemoryModel:
    """Decrypt into an anonymous memory file (never a disk file) and verify the SHA-256."""
    memfd_create = getattr(os, "memfd_create", None)
    if memfd_create is None:
        raise MissingBackendError(
            "serving a sealed model needs an anonymous memory file (Linux memfd_create)",
            hint="on this system serve the model unsealed, or serve it from a Linux host (docs/enterprise.md)",
        )
    fd = memfd_create("mistral-sov-model", 0)  # inheritable: an engine child process may open it
    done = 0
    try:
        for plain in unseal_chunks(path, master, expected_sha256):
            view = memoryview(plain)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            done += len(plain)
            if progress is not None:
                progress(done)
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return MemoryModel(fd, done, expected_sha256)


def seal_file(plain: Path, sealed: Path, sha256: str, master: bytes, *, chunk: int = CHUNK) -> None:
    """Seal ``plain`` into ``sealed`` atomically (temporary file, fsync, rename)."""
    tmp = sealed.with_name(sealed.name + f".tmp{os.getpid()}")
    try:
        with plain.open("rb") as src, tmp.open("wb") as dst:
            seal_stream(src, dst, plain.stat().st_size, sha256, master, chunk=chunk)
            dst.flush()
            os.fsync(dst.fileno())
        tmp.replace(sealed)
    finally:
        tmp.unlink(missing_ok=True)
