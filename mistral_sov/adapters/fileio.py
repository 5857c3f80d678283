"""Safe file writes, and the one translation of operating-system errors into exit codes.

* ``atomic_write_bytes``: write a temporary file beside the target, fsync, rename. An
  interrupted write leaves the previous file intact. A symlink is resolved and its *target*
  is written (the link stays a link); the file keeps its mode and, when we may, its owner;
  a read-only file is refused (exit 2), never silently replaced; a file with several hard
  links is rewritten in place (after a full copy is safely on disk beside it), so every
  link still sees the new content; a device, FIFO or socket (``/dev/null``, ``/dev/stdout``)
  is written into, never replaced by a regular file.
* ``edit_lock`` + ``expect=``: read-modify-write without losing an update. The lock
  serialises mistral-sov's own writers (10 concurrent ``allowlist add`` all land); the
  ``expect`` comparison just before the rename catches anyone else (an editor) and refuses
  with exit 2 instead of overwriting their change.
* ``translate_os_error``: an ``OSError`` on a path becomes an ``InputError`` (exit 2: the
  user's path — missing, a folder, no permission, a name too long) or an
  ``EnvironmentProblem`` (exit 4: read-only file system, full disk, quota, I/O error).
  The CLI's translator calls it for any OSError that reaches it, so no file error is ever
  reported as an internal error (exit 70).

Text is always written with an explicit encoding and line ending (the consumer's).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from mistral_sov.errors import EnvironmentProblem, InputError, Location, MistralSovError

if TYPE_CHECKING:
    from filelock import FileLock

# errno values that say "the machine cannot do it" rather than "this path is wrong"
_ENVIRONMENT = {
    errno.EROFS,
    errno.ENOSPC,
    errno.EIO,
    errno.EMFILE,
    errno.ENFILE,
    errno.ENOMEM,
    errno.EFBIG,
    *([errno.EDQUOT] if hasattr(errno, "EDQUOT") else []),
}
_HINTS = {
    errno.ENOENT: "check the path: a folder in it does not exist",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "the path is a folder; give a file name",
    errno.EACCES: "check the permissions of the file and its folder",
    errno.EPERM: "check the permissions of the file and its folder",
    errno.ENAMETOOLONG: "use a shorter path",
    errno.ELOOP: "the path has a symlink loop",
    errno.EEXIST: "remove it first, or choose another path",
    errno.EROFS: "the file system is mounted read-only: write somewhere else or remount it",
    errno.ENOSPC: "the disk is full: free space and run again",
    errno.EIO: "the disk reported an I/O error",
    errno.EFBIG: "the file is too large for this file system",
}
if hasattr(errno, "EDQUOT"):
    _HINTS[errno.EDQUOT] = "your disk quota is exhausted: free space and run again"


def translate_os_error(
    exc: OSError, path: Path | str | None = None, action: str = "use", *, kept: str = ""
) -> MistralSovError:
    """The one mapping of an OSError to a user-facing error (exit 2 or 4)."""
    target = path if path is not None else (exc.filename or "")
    reason = exc.strerror or str(exc) or type(exc).__name__
    hint = _HINTS.get(exc.errno or 0, "check the path and its permissions")
    if kept:
        hint = f"{hint} ({kept})"
    where = Location(str(target)) if target else None
    message = f"cannot {action} '{target}': {reason}" if target else f"cannot {action}: {reason}"
    if exc.errno in _ENVIRONMENT:
        return EnvironmentProblem(message, hint=hint, location=where)
    return InputError(message, hint=hint, location=where)


def real_target(path: Path) -> Path:
    """The file a write to ``path`` must change: symlinks resolved (a dangling link names
    the file it will create)."""
    return Path(os.path.realpath(Path(path).absolute()))


def _readonly(st: os.stat_result) -> bool:
    return not st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def _lock_file_for(target: Path) -> Path:
    key = hashlib.sha256(str(target).encode("utf-8", "surrogatepass")).hexdigest()[:32]
    folder = Path(tempfile.gettempdir()) / "mistral-sov-locks"
    folder.mkdir(mode=0o1777, exist_ok=True)
    return folder / f"{key}.lock"


def lock_for(path: Path, timeout: float) -> FileLock:
    """A cross-process lock named after ``path``'s resolved target. The lock file lives in
    the temp folder (``mistral-sov-locks/``), never beside or inside the user's files."""
    from filelock import FileLock

    return FileLock(str(_lock_file_for(real_target(path))), timeout=timeout, mode=0o666)


@contextlib.contextmanager
def edit_lock(path: Path, timeout: float = 30.0) -> Iterator[None]:
    """Hold an exclusive lock for read-modify-write of ``path`` (exit 2 after ``timeout``)."""
    from filelock import Timeout

    try:
        with lock_for(path, timeout):
            yield
    except Timeout:
        raise InputError(
            f"'{path}' is being edited by another mistral-sov process",
            location=Location(str(path)),
            hint="wait for it to finish and run again",
        ) from None


def atomic_write_bytes(path: Path, data: bytes, *, expect: bytes | None = None) -> None:
    """Replace the file at ``path`` with ``data`` (see the module docstring).

    ``expect``: the bytes the caller read and edited; if the file no longer holds them, it
    was changed meanwhile and the write is refused (exit 2) — nothing is lost.
    """
    path = Path(path)
    target = real_target(path)
    try:
        st: os.stat_result | None = target.stat()
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise translate_os_error(exc, path, "write") from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise InputError(f"'{path}' is a folder", location=Location(str(path)), hint="give a file name")
        if _readonly(st):
            raise InputError(
                f"'{path}' is read-only; refusing to replace it",
                location=Location(str(path)),
                hint="make it writable (chmod u+w / clear the read-only attribute) if the change is intended",
            )
    if expect is not None:
        try:
            current = target.read_bytes()
        except OSError as exc:
            raise translate_os_error(exc, path, "read") from None
        if current != expect:
            raise InputError(
                f"'{path}' was changed by someone else while mistral-sov edited it; nothing was written",
                location=Location(str(path)),
                hint="run the command again (it will edit the new content)",
            )
    try:
        if st is not None and not stat.S_ISREG(st.st_mode):
            # a device, FIFO or socket (/dev/null, /dev/stdout, a named pipe): write into it,
            # never rename a regular file over it
            with target.open("wb") as handle:
                handle.write(data)
                handle.flush()
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        if st is not None and st.st_nlink > 1 and os.name != "nt":
            _write_in_place(target, data)
        else:
            _write_and_rename(target, data, st)
    except OSError as exc:
        raise translate_os_error(exc, path, "write", kept="the file was left as it was") from None


def _write_and_rename(target: Path, data: bytes, st: os.stat_result | None) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        _copy_attributes(st, tmp)
        tmp.replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _write_in_place(target: Path, data: bytes) -> None:
    """Hard links share one inode: a rename would split them. Keep a full copy of the new
    content beside the file first (so a crash leaves one complete version on disk), then
    overwrite the inode in place."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".new", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        with target.open("r+b") as handle:
            handle.write(data)
            handle.truncate()
            handle.flush()
            os.fsync(handle.fileno())
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _copy_attributes(st: os.stat_result | None, tmp: Path) -> None:
    """mkstemp creates 0600 files: keep the target's mode and owner, or the umask default."""
    if os.name == "nt":
        return
    if st is None:
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)
        return
    tmp.chmod(stat.S_IMODE(st.st_mode))
    if hasattr(os, "chown") and (st.st_uid != os.geteuid() or st.st_gid != os.getegid()):
        with contextlib.suppress(OSError):  # only root (or the owner, for the group) may
            os.chown(tmp, st.st_uid, st.st_gid)


def atomic_write_text(path: Path, text: str, *, encoding: str = "utf-8", newline: str = "\n") -> None:
    """Write ``text`` (with ``\\n`` line ends) using ``newline`` and ``encoding``."""
    if newline != "\n":
        text = text.replace("\r\n", "\n").replace("\n", newline)
    atomic_write_bytes(path, text.encode(encoding))


def create_exclusive(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Create a new file that must not exist (private keys): written completely to a
    temporary file first and linked into place, so a failure never leaves a 0-byte or
    partial file that would block a retry."""
    path = Path(path)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise translate_os_error(exc, path, "create") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if os.name != "nt":
            tmp.chmod(mode)
        try:
            os.link(tmp, path)  # fails if path exists: never overwrites
        except FileExistsError:
            raise InputError(
                f"'{path}' already exists", location=Location(str(path)), hint="choose another path"
            ) from None
        except OSError:
            if path.exists():
                raise
            tmp.replace(path)  # file systems without hard links
    except OSError as exc:
        raise translate_os_error(exc, path, "write", kept="nothing was left behind") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
