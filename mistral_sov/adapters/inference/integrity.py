"""The hash lock: the engine serves exactly the bytes that were hashed, and a change is noticed.

* ``FileIdentity``: what a verdict cache may trust. POSIX: size, mtime, **ctime** (the kernel
  sets it on every write, chmod or ``utime`` and nobody can set it back), inode and device — so
  editing a model in place and restoring its mtime with ``os.utime`` invalidates the verdict.
  Windows: ``os.stat`` does not give the NTFS change time, so no verdict is trusted there and
  the file is re-hashed at every start (about 15 s for 4 GB, docs/local.md).
* ``PinnedModel``: open the file **once**, hash that open descriptor, and give the engine the
  same descriptor (Linux: ``/proc/self/fd/N`` in the child names exactly that inode, whatever
  happens to the path or a symlink afterwards). Elsewhere the engine gets the path and the
  identity is re-checked after it has loaded.
* ``ModelLock``: while serving, ``fstat`` the pinned descriptor before and after every
  generation; a changed identity triggers a re-hash of the descriptor: same SHA-256 (e.g. a
  chmod) → carry on; different → every further request is refused (503) and it is audited.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHUNK = 1 << 20
TRUSTS_CHANGE_TIME = sys.platform != "win32"


@dataclass(frozen=True)
class FileIdentity:
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    device: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileIdentity:
        return cls(
            st.st_size,
            st.st_mtime_ns,
            st.st_ctime_ns if TRUSTS_CHANGE_TIME else 0,
            int(getattr(st, "st_ino", 0) or 0),
            int(getattr(st, "st_dev", 0) or 0),
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "size": self.size,
            "mtime_ns": self.mtime_ns,
            "ctime_ns": self.ctime_ns,
            "inode": self.inode,
            "device": self.device,
        }


def sha256_fd(fd: int, progress: Callable[[int], None] | None = None) -> str:
    """SHA-256 of an open file from offset 0 (positional reads; the descriptor is not moved)."""
    digest = hashlib.sha256()
    offset = 0
    pread = getattr(os, "pread", None)
    while True:
        if pread is not None:
            chunk = pread(fd, CHUNK, offset)
        else:  # Windows: no pread
            os.lseek(fd, offset, os.SEEK_SET)
            chunk = os.read(fd, CHUNK)
        if not chunk:
            break
        digest.update(chunk)
        offset += len(chunk)
        if progress is not None:
            progress(len(chunk))
    return digest.hexdigest()


class PinnedModel:
    """An open, read-only descriptor on the model file (inheritable by the engine child)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
        self.fd = os.open(self.path, flags)
        self.identity = FileIdentity.of(os.fstat(self.fd))

    def current(self) -> FileIdentity:
        return FileIdentity.of(os.fstat(self.fd))

    def hash(self) -> str:
        return sha256_fd(self.fd)

    def engine_fd(self) -> int | None:
        """The descriptor to pass to the engine (Linux only: ``/proc/self/fd/N``)."""
        return self.fd if sys.platform.startswith("linux") else None

    def path_still_names_it(self) -> bool:
        """The path (through any symlink) still leads to the pinned file, unchanged."""
        try:
            return FileIdentity.of(self.path.stat()) == self.current()
        except OSError:
            return False

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


class ModelChanged(Exception):
    """The model file being served no longer has the approved SHA-256."""


class ModelLock:
    """Serve-time integrity: cheap ``fstat`` per check, re-hash only when the identity moved."""

    def __init__(
        self,
        pinned: PinnedModel,
        sha256: str,
        on_event: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.pinned = pinned
        self.sha256 = sha256
        self.identity = pinned.identity
        self.on_event = on_event
        self.broken = ""
        self.rehashes = 0
        self._lock = threading.Lock()

    def check(self) -> None:
        """Raise ``ModelChanged`` if the served bytes are (or were) not the approved ones. May
        re-hash (seconds for a large model): call from a worker thread, not an event loop."""
        if self.broken:
            raise ModelChanged(self.broken)
        try:
            now = self.pinned.current()
        except OSError as exc:
            self._break(f"the model file cannot be checked: {exc.strerror or exc}")
            raise ModelChanged(self.broken) from None
        if now == self.identity:
            return
        with self._lock:
            if self.broken:
                raise ModelChanged(self.broken)
            if self.pinned.current() == self.identity:
                return
            t0 = time.perf_counter()
            digest = self.pinned.hash()
            self.rehashes += 1
            seconds = round(time.perf_counter() - t0, 3)
            if digest == self.sha256:
                self.identity = self.pinned.current()
                self._emit("model_rehashed", result="unchanged", seconds=seconds, identity=self.identity.as_dict())
                return
            self._break(
                f"the model file changed while being served (SHA-256 now {digest}, approved {self.sha256}); "
                "further requests are refused"
            )
            raise ModelChanged(self.broken)

    def _break(self, reason: str) -> None:
        self.broken = reason
        self._emit("model_changed", reason=reason)

    def _emit(self, event: str, **fields: Any) -> None:
        if self.on_event is not None:
            with contextlib.suppress(Exception):
                self.on_event({"event": event, "file": str(self.pinned.path), **fields})
