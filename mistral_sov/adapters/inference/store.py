"""The on-disk model store for air-gapped sites, and the SHA-256 verdict cache.

Layout (everything under one directory; the platformdirs user data dir by default,
``--store DIR`` or ``MISTRAL_SOV_MODEL_STORE`` to override)::

    blobs/sha256-<64 hex>.gguf     the weights, named by content (deduplicated)
    manifests/<name>.json          name, sha256, size, source, imported_at, GGUF governance metadata
    hash-cache.json                (path, size, mtime, ctime, inode, device) -> sha256, so a 4 GB
                                   model is not re-hashed (15 s) at every start (POSIX only:
                                   ctime cannot be restored with os.utime; integrity.py)

Imports stream the source once: bytes are hashed while being copied to a temporary file in
``blobs/``, which is fsynced, **read back and hashed again** (what ends up in the store is what
is verified, not the source), and renamed into place only when complete (atomic). An existing
blob of that name is kept only if its own bytes hash to the name; otherwise it is replaced. Manifests and
the cache are written atomically too. Paths go through pathlib only (Windows is first-class).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mistral_sov.adapters.fileio import atomic_write_text
from mistral_sov.adapters.inference.gguf_header import GGUFHeader, read_header
from mistral_sov.adapters.inference.integrity import TRUSTS_CHANGE_TIME, FileIdentity, PinnedModel, sha256_fd
from mistral_sov.adapters.inference.seal import SUFFIX as SEALED_SUFFIX
from mistral_sov.errors import InputError, ModelRefusedError

ENV_STORE = "MISTRAL_SOV_MODEL_STORE"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CHUNK = 1 << 20
CACHE_FILE = "hash-cache.json"
CACHE_VERSION = 2


def default_store_dir() -> Path:
    env = os.environ.get(ENV_STORE)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("mistral-sov", appauthor=False)) / "models"


def sha256_file(path: Path, progress: Callable[[int], None] | None = None) -> str:
    """Streaming SHA-256 of a file (1 MiB chunks, constant memory)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            if progress is not None:
                progress(len(chunk))
    return digest.hexdigest()


class HashCache:
    """SHA-256 verdicts keyed by resolved path, valid while the file's identity (size, mtime,
    ctime, inode, device) is unchanged. Any write, ``utime``, chmod or replacement changes the
    ctime (set by the kernel, not restorable) and forces a full re-hash. Where the change time is
    not available (Windows' ``os.stat``), no verdict is trusted: every start re-hashes."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self._lock = threading.Lock()

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
            return {}
        entries = data.get("entries")
        return entries if isinstance(entries, dict) else {}

    def lookup(self, path: Path, identity: FileIdentity) -> str | None:
        if not TRUSTS_CHANGE_TIME:
            return None
        entry = self._load().get(str(Path(path).resolve()))
        if (
            isinstance(entry, dict)
            and entry.get("identity") == identity.as_dict()
            and isinstance(entry.get("sha256"), str)
        ):
            return str(entry["sha256"])
        return None

    def store(self, path: Path, sha256: str, identity: FileIdentity) -> None:
        if not TRUSTS_CHANGE_TIME:
            return
        key = str(Path(path).resolve())
        with self._lock:
            entries = self._load()
            entries[key] = {"identity": identity.as_dict(), "sha256": sha256, "verified_at": _now()}
            # forget files that no longer exist
            entries = {k: v for k, v in entries.items() if Path(k).exists()}
            with contextlib.suppress(OSError):
                atomic_write_text(self.file, json.dumps({"version": CACHE_VERSION, "entries": entries}, indent=1))

    def sha256(self, path: Path) -> tuple[str, bool]:
        """(sha256, from_cache). Hashes when the cache has no valid verdict for this file."""
        pinned = PinnedModel(path)
        try:
            return self.pinned_sha256(pinned)
        finally:
            pinned.close()

    def pinned_sha256(self, pinned: PinnedModel) -> tuple[str, bool]:
        """(sha256, from_cache) of an open file: the descriptor is what gets hashed."""
        cached = self.lookup(pinned.path, pinned.identity)
        if cached is not None:
            return cached, True
        digest = pinned.hash()
        if pinned.current() == pinned.identity:  # the file did not change while we read it
            self.store(pinned.path, digest, pinned.identity)
        return digest, False


@dataclass
class StoredModel:
    name: str
    sha256: str
    size: int
    path: Path
    manifest: dict[str, Any]

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.manifest.get("gguf", {})
        return meta if isinstance(meta, dict) else {}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class ModelStore:
    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_store_dir()
        self.blobs = self.root / "blobs"
        self.manifests = self.root / "manifests"
        self.cache = HashCache(self.root / CACHE_FILE)

    # --- queries ----------------------------------------------------------------------
    def list(self) -> list[StoredModel]:
        if not self.manifests.is_dir():
            return []
        out = []
        for file in sorted(self.manifests.glob("*.json")):
            model = self._read_manifest(file)
            if model is not None:
                out.append(model)
        return out

    def get(self, name: str) -> StoredModel | None:
        if not NAME_RE.match(name):
            return None
        file = self.manifests / f"{name}.json"
        return self._read_manifest(file) if file.is_file() else None

    def require(self, name: str) -> StoredModel:
        model = self.get(name)
        if model is None:
            known = ", ".join(m.name for m in self.list()) or "none"
            raise InputError(
                f"no model named '{name}' in the store {self.root}",
                hint=f"stored models: {known}; import one with `mistral-sov local models import PATH`",
            )
        return model

    def by_sha256(self, sha256: str) -> StoredModel | None:
        return next((m for m in self.list() if m.sha256 == sha256.lower()), None)

    def blob_path(self, sha256: str) -> Path:
        return self.blobs / f"sha256-{sha256}.gguf"

    def _read_manifest(self, file: Path) -> StoredModel | None:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            return StoredModel(
                name=str(data["name"]),
                sha256=str(data["sha256"]),
                size=int(data["size"]),
                path=self.blob_path(str(data["sha256"])),
                manifest=data,
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    # --- changes ----------------------------------------------------------------------
    def import_file(
        self, source: Path, name: str | None = None, *, progress: Callable[[int], None] | None = None
    ) -> StoredModel:
        """Copy a GGUF into the store (streaming SHA-256, atomic), recording its metadata.

        The header is validated *before* copying (a non-GGUF or truncated file is refused
        without writing anything), and re-read from the copy afterwards."""
        source = Path(source)
        if not source.is_file():
            raise InputError(f"'{source}' is not a file", hint="pass the path of a .gguf model file")
        header = read_header(source)  # raises ModelRefusedError on a bad file
        name = name or _default_name(source)
        if not NAME_RE.match(name):
            raise InputError(
                f"invalid model name '{name}'",
                hint="use letters, digits, '.', '_' or '-' (at most 64 characters); pass --name",
            )
        existing = self.get(name)
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.manifests.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(prefix=".import-", suffix=".tmp", dir=self.blobs)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out, source.open("rb") as src:
                while chunk := src.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                    if progress is not None:
                        progress(len(chunk))
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            if existing is not None and existing.sha256 != sha:
                raise InputError(
                    f"a different model is already stored as '{name}' ({existing.sha256[:12]}…)",
                    hint="pick another --name, or `mistral-sov local models remove` the old one first",
                )
            written = PinnedModel(tmp)
            try:  # what ends up in the store is what is verified: read the copy back
                if written.hash() != sha:
                    raise InputError(
                        f"the copy of '{source}' in the store does not match what was read (disk or memory fault)",
                        hint="check the disk and import again",
                    )
            finally:
                written.close()
            blob = self.blob_path(sha)
            sealed = blob.with_name(blob.name + SEALED_SUFFIX)
            if sealed.exists() and not blob.exists():
                # the model is stored sealed (`local models seal`): never bring a clear copy back
                # beside it (serve would prefer the clear one); the sealed blob stays the only copy
                tmp.unlink()
            elif blob.exists() and _blob_is(blob, sha):
                tmp.unlink()
            else:  # absent, or present with other bytes (tampered, truncated): replace it
                tmp.replace(blob)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        if size != header.file_size:
            raise InputError(f"'{source}' changed while it was being copied", hint="copy it again")
        if not blob.exists():  # kept sealed: its plaintext SHA-256 is checked when serve decrypts it
            return self._record(name, sha, size, source, blob, header=header)
        copied = read_header(blob)
        final = PinnedModel(blob)
        try:
            if final.hash() != sha:  # replaced or altered between the check and now
                raise ModelRefusedError(
                    f"the stored blob {blob.name} does not hash to its name",
                    hint="something is writing to the model store; check its permissions and import again",
                )
            self.cache.store(blob, sha, final.current())
        finally:
            final.close()
        return self._record(name, sha, size, source, blob, header=copied)

    def _record(self, name: str, sha: str, size: int, source: Path, blob: Path, *, header: GGUFHeader) -> StoredModel:
        manifest = {
            "name": name,
            "sha256": sha,
            "size": size,
            "source": str(source),
            "imported_at": _now(),
            "gguf": header.governance(),
        }
        atomic_write_text(self.manifests / f"{name}.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        return StoredModel(name, sha, size, blob, manifest)

    def remove(self, name: str) -> StoredModel:
        model = self.require(name)
        (self.manifests / f"{name}.json").unlink()
        if not any(m.sha256 == model.sha256 for m in self.list()):
            with contextlib.suppress(FileNotFoundError):
                model.path.unlink()
            with contextlib.suppress(FileNotFoundError):  # its sealed form (`local models seal`)
                model.path.with_name(model.path.name + SEALED_SUFFIX).unlink()
        return model


def entry_path(entry: Any, policy_path: Path) -> Path | None:
    """A policy entry's ``file:`` (``~`` expanded; relative to the policy file), or None."""
    if not getattr(entry, "file", None):
        return None
    path = Path(entry.file).expanduser()
    return path if path.is_absolute() else Path(policy_path).parent / path


def locate_model(entry: Any, policy_path: Path, store: ModelStore) -> Path | None:
    """Where an approved model lives on this machine — the one rule shared by ``local serve/run``
    and the CI gate: its ``file:`` if it names one, else the store's blob for its SHA-256; None
    when that file is absent."""
    path = entry_path(entry, policy_path)
    if path is None:
        path = store.blob_path(str(entry.sha256).strip().lower())
    return path if path.is_file() else None


def _blob_is(blob: Path, sha256: str) -> bool:
    try:
        pinned = PinnedModel(blob)
    except OSError:
        return False
    try:
        return sha256_fd(pinned.fd) == sha256
    finally:
        pinned.close()


def _default_name(source: Path) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", source.stem).strip("-._") or "model"
    return stem[:64]


@dataclass
class VerifiedFile:
    path: Path
    sha256: str
    size: int
    header: GGUFHeader
    from_cache: bool
    seconds: float
    pinned: PinnedModel

    def close(self) -> None:
        self.pinned.close()


def verify_file(path: Path, cache: HashCache) -> VerifiedFile:
    """Header check (refuses non-GGUF/truncated files), then the SHA-256 of the **open
    descriptor** (cached by identity), which the caller keeps open and hands to the engine."""
    path = Path(path)
    if not path.is_file():
        raise ModelRefusedError(
            f"model file '{path}' is missing",
            hint="re-import the approved model (`mistral-sov local models import PATH`)",
        )
    t0 = time.perf_counter()
    try:
        pinned = PinnedModel(path)
    except OSError as exc:
        raise ModelRefusedError(
            f"cannot open model file '{path}': {exc.strerror or exc}", hint="check permissions"
        ) from None
    try:
        header = read_header(path)
        if not pinned.path_still_names_it():
            raise ModelRefusedError(
                f"model file '{path}' changed while it was being verified",
                hint="stop whatever is writing to it (or swapping a symlink), then start again",
            )
        if header.file_size != pinned.identity.size:
            raise ModelRefusedError(f"model file '{path}' changed while it was being verified", hint="start again")
        sha, cached = cache.pinned_sha256(pinned)
    except BaseException:
        pinned.close()
        raise
    return VerifiedFile(path, sha, header.file_size, header, cached, time.perf_counter() - t0, pinned)
