"""Writing an export bundle atomically, and checking a bundle on disk for drift.

``write_bundle`` builds the whole bundle in a temporary directory beside ``out``
(``.NAME.tmp-XXXX``), then swaps it in: the old bundle is renamed aside (``.NAME.old-XXXX``),
the new one renamed into place, the old one deleted. Renames within one directory are atomic
on NTFS, ext4, APFS…, so at any instant ``out`` is the complete old bundle or the complete new
one. The one gap (between the two renames) leaves ``out`` absent with the old bundle intact
beside it: ``recover_bundle`` (run first by every export) puts it back and deletes leftover
temporary directories of killed runs. Portable: only ``Path.replace`` (``os.replace``) and ``shutil``.

Run one export per output directory at a time.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mistral_sov.errors import InputError, Location
from mistral_sov.ports import Artifact

MANIFEST = "manifest.json"
_TMP = ".tmp-"
_OLD = ".old-"


@dataclass(frozen=True)
class DriftItem:
    """A difference between the bundle on disk and what the policy exports now."""

    path: str
    status: str  # "changed", "missing" or "unexpected"

    def describe(self) -> str:
        return f"{self.status}: {self.path}"

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "status": self.status}


def _siblings(out: Path, tag: str) -> list[Path]:
    prefix = f".{out.name}{tag}"
    if not out.parent.is_dir():
        return []
    return sorted(p for p in out.parent.iterdir() if p.name.startswith(prefix) and p.is_dir())


def recover_bundle(out: Path) -> None:
    """Repair what a killed export left: restore the old bundle if it was renamed aside and
    the new one never arrived, then delete leftover temporary and old directories."""
    out = Path(out)
    olds = _siblings(out, _OLD)
    if olds and not out.exists():
        # Killed between the two renames: the old bundle is complete, the new one may be too,
        # but only the old one is known to have been in place; put it back.
        newest = max(olds, key=lambda p: p.stat().st_mtime_ns)
        newest.replace(out)
        olds.remove(newest)
    for leftover in [*_siblings(out, _TMP), *olds]:
        shutil.rmtree(leftover, ignore_errors=True)


def _is_bundle(out: Path) -> bool:
    try:
        doc = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("tool") == "mistral-sov"


def _guard(out: Path, is_ours: Callable[[Path], bool] = _is_bundle) -> None:
    """Refuse to replace anything that is not an earlier bundle (or an empty directory)."""
    if not out.exists():
        return
    if not out.is_dir():
        raise InputError(
            f"'{out}' exists and is not a directory",
            location=Location(str(out)),
            hint="pass --out with a new directory name, e.g. --out ./mistral-sov-bundle",
        )
    if any(out.iterdir()) and not is_ours(out):
        raise InputError(
            f"'{out}' is not empty and holds no mistral-sov bundle (no manifest.json written by "
            "mistral-sov); refusing to replace it",
            location=Location(str(out)),
            hint="pass --out with a new or empty directory; the export replaces the whole directory",
        )


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    # Directories cannot be opened on Windows; there the rename is durable on its own.
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_bundle(out: Path, artifacts: Sequence[Artifact], *, is_ours: Callable[[Path], bool] = _is_bundle) -> None:
    """Write ``artifacts`` as the directory ``out``, replacing an earlier bundle atomically.
    ``is_ours(dir)`` says whether a non-empty ``out`` is an earlier output that may be replaced."""
    out = Path(out).absolute()
    if out.name in ("", ".", ".."):
        out = out.resolve()  # "--out ..": name the directory itself
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"cannot create '{parent}': {exc.strerror}",
            location=Location(str(parent)),
            hint="check the path and its permissions",
        ) from None
    recover_bundle(out)
    _guard(out, is_ours)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}{_TMP}", dir=parent))
    except OSError as exc:
        raise InputError(
            f"cannot write in '{parent}': {exc.strerror}",
            location=Location(str(parent)),
            hint="check the permissions of the output directory's parent",
        ) from None
    token = tmp.name[len(f".{out.name}{_TMP}") :]
    old = parent / f".{out.name}{_OLD}{token}"
    try:
        if out.is_dir():
            shutil.copymode(out, tmp)
        else:
            tmp.chmod(0o755)  # mkdtemp makes it private; a bundle is meant to be shared
        for artifact in artifacts:
            _write_file(tmp.joinpath(*artifact.path.split("/")), artifact.data)
        _fsync_dir(tmp)
        if out.exists():
            out.replace(old)
            try:
                tmp.replace(out)
            except BaseException:
                old.replace(out)
                raise
            _fsync_dir(parent)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.replace(out)
            _fsync_dir(parent)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise InputError(
            f"cannot write the bundle to '{out}': {exc.strerror or exc}",
            location=Location(str(out)),
            hint="check permissions and free space; on Windows close programs that have files "
            "of the bundle open (the previous bundle is left as it was)",
        ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def check_bundle(out_dir: Path, artifacts: Sequence[Artifact]) -> list[DriftItem]:
    """Compare the bundle on disk with ``artifacts`` (from ``render_bundle``): files whose
    bytes differ, files missing, and files present that the export would not write."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(
            f"'{out}' is not a directory", location=Location(str(out)), hint="pass --out with the bundle directory"
        )
    expected = {a.path: a.data for a in artifacts}
    drift: list[DriftItem] = []
    for path, data in expected.items():
        target = out.joinpath(*path.split("/"))
        if not target.is_file():
            drift.append(DriftItem(path, "missing"))
        elif target.read_bytes() != data:
            drift.append(DriftItem(path, "changed"))
    if out.is_dir():
        for file in out.rglob("*"):
            if file.is_file() or file.is_symlink():
                rel = file.relative_to(out).as_posix()
                if rel not in expected:
                    drift.append(DriftItem(rel, "unexpected"))
    return sorted(drift, key=lambda d: d.path)
