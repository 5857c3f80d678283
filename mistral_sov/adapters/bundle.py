"""Writing an export bundle without ever touching what the export did not write, and
checking a bundle on disk for drift.

``write_bundle`` updates ``out`` file by file, as one transaction:

* **Ownership.** A file under ``out`` belongs to the export only if the previous
  ``manifest.json`` (a valid mistral-sov manifest) lists it *and* its bytes still have the
  SHA-256 listed there. Everything else — the policy file and its schema, a ``.git`` folder,
  notes, a file edited by hand — is someone else's: it is left where it is and reported.
  If the new bundle would have to overwrite such a file, the export refuses (exit 2) and
  names it. A stale file of the previous export (listed, unchanged, inside one of the
  export's own folders) is deleted; nothing else ever is. A forged ``manifest.json`` can
  therefore only ever name files byte-identical to what it claims, inside the export's
  folders.
* **Atomicity.** New files are staged in ``out/.mistral-sov-export/new``, a journal is
  written, the files to replace or delete are moved to ``…/old``, the new ones renamed into
  place, then ``COMMITTED`` is written and the staging folder removed. Every step is a
  rename within one file system. A run killed before ``COMMITTED`` is rolled back by the
  next export (or ``recover_bundle``): the previous bundle comes back byte for byte; a run
  killed after it is rolled forward. ``export --check`` reports an interrupted export.
* **One writer.** A lock (``fileio.lock_for``: a lock file in the temp folder, named after
  the resolved ``out``) serialises exports into the same folder; recovery never touches a
  transaction whose writer still holds the lock. Nothing but the bundle is left in ``out``.
* **Links.** A symlinked ``--out`` is resolved and the target folder updated (the link stays
  a link). A path inside the bundle that is a symlink, or a folder where a file is expected,
  is never followed or replaced: the export refuses.

Portable: ``os.replace``, ``os.rmdir`` and ``filelock`` only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mistral_sov.errors import Diagnostic, InputError, Location

if TYPE_CHECKING:
    from filelock import FileLock
from mistral_sov.ports import Artifact

MANIFEST = "manifest.json"
STAGING = ".mistral-sov-export"
RESERVED = frozenset({STAGING})
_JOURNAL = "journal.json"
_COMMITTED = "COMMITTED"
# the folders of the whole-folder writer of earlier versions, recovered for compatibility
_LEGACY_TMP = ".tmp-"
_LEGACY_OLD = ".old-"


@dataclass(frozen=True)
class DriftItem:
    """A difference between the bundle on disk and what the policy exports now."""

    path: str
    status: str  # "changed", "missing", "unexpected" or "interrupted"

    def describe(self) -> str:
        return f"{self.status}: {self.path}"

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "status": self.status}


@dataclass
class BundleWrite:
    """What ``write_bundle`` did: the out folder it wrote (symlinks resolved), files written
    (new or changed), unchanged, stale files of the previous export removed, and entries kept
    because the export did not write them (with the reason)."""

    out: Path
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "out": str(self.out),
            "written": self.written,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "kept": [{"path": p, "reason": r} for p, r in sorted(self.kept.items())],
        }


# --------------------------------------------------------------------------- helpers


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _valid_rel(rel: object) -> bool:
    if not isinstance(rel, str) or not rel or rel.startswith("/") or "\\" in rel or ":" in rel:
        return False
    parts = rel.split("/")
    return not any(p in ("", ".", "..") for p in parts) and parts[0] not in RESERVED


def _is_plain_file(path: Path) -> bool:
    try:
        st = path.lstat()
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode)


def files_listing(files: object) -> dict[str, str] | None:
    """``path -> sha256`` from a ``files`` list (``[{"path", "sha256", ...}]``) of a manifest
    or index; None when any entry is malformed or names a path outside the folder."""
    if not isinstance(files, list):
        return None
    listed: dict[str, str] = {}
    for entry in files:
        if not isinstance(entry, dict):
            return None
        rel, sha = entry.get("path"), entry.get("sha256")
        if not _valid_rel(rel) or not isinstance(sha, str) or len(sha) != 64:
            return None
        listed[str(rel)] = sha.lower()
    return listed


def read_json_file(file: Path) -> Any:
    """A small JSON control file (manifest, index), or None when absent/unreadable/not JSON."""
    if not _is_plain_file(file):
        return None
    try:
        return json.loads(file.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None


def read_manifest(out: Path) -> dict[str, str] | None:
    """``path -> sha256`` of a valid mistral-sov manifest in ``out``; None when there is no
    manifest or it is not one (a foreign ``manifest.json`` owns nothing)."""
    doc = read_json_file(out / MANIFEST)
    if not isinstance(doc, dict) or doc.get("tool") != "mistral-sov":
        return None
    return files_listing(doc.get("files"))


def _fsync_dir(path: Path) -> None:
    # Directories cannot be opened on Windows; there the rename is durable on its own.
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _keep_attributes(old: Path, new: Path) -> None:
    """A replaced file keeps its mode and (when we may) its owner."""
    try:
        st = old.lstat()
    except OSError:
        return
    with contextlib.suppress(OSError):
        new.chmod(stat.S_IMODE(st.st_mode))
    if hasattr(os, "chown") and hasattr(os, "geteuid") and os.geteuid() == 0:
        with contextlib.suppress(OSError):
            os.chown(new, st.st_uid, st.st_gid)


def _rmdir_up(path: Path, stop: Path) -> None:
    """Remove ``path`` and its parents up to (not including) ``stop`` while they are empty."""
    while path != stop and stop in path.parents:
        try:
            path.rmdir()
        except OSError:
            return
        path = path.parent


def _read_only(path: Path) -> bool:
    """No write permission bit at all: the owner marked it read-only (root would ignore it)."""
    try:
        return not path.lstat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    except OSError:
        return False


def resolve_out(out: Path) -> Path:
    """The folder the bundle goes to: absolute, with symlinks (of ``out`` and its parents)
    resolved so the link's target is updated and the link itself stays."""
    out = Path(out).absolute()
    return Path(os.path.realpath(out))


# --------------------------------------------------------------------------- recovery


def _legacy_siblings(out: Path, tag: str) -> list[Path]:
    prefix = f".{out.name}{tag}"
    if not out.parent.is_dir():
        return []
    return sorted(p for p in out.parent.iterdir() if p.name.startswith(prefix) and p.is_dir())


def _recover_legacy(out: Path) -> None:
    """Earlier versions swapped whole folders (``.NAME.tmp-*`` / ``.NAME.old-*`` siblings)."""
    olds = _legacy_siblings(out, _LEGACY_OLD)
    if olds and not out.exists():
        newest = max(olds, key=lambda p: p.stat().st_mtime_ns)
        newest.replace(out)
        olds.remove(newest)
    for leftover in [*_legacy_siblings(out, _LEGACY_TMP), *olds]:
        shutil.rmtree(leftover, ignore_errors=True)


def _recover_staging(out: Path) -> None:
    """Roll back (no ``COMMITTED``) or finish (``COMMITTED``) an interrupted transaction."""
    staging = out / STAGING
    if not staging.is_dir() or staging.is_symlink():
        return
    journal_file = staging / _JOURNAL
    committed = (staging / _COMMITTED).exists()
    try:
        journal = json.loads(journal_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        journal = None  # killed before the journal: nothing under out was touched yet
    if isinstance(journal, dict):
        replace = [p for p in journal.get("replace", []) if _valid_rel(p)]
        delete = [p for p in journal.get("delete", []) if _valid_rel(p)]
        new_dirs = [p for p in journal.get("new_dirs", []) if _valid_rel(p)]
        if committed:
            for rel in delete:
                _rmdir_up(out.joinpath(*rel.split("/")).parent, out)
        else:
            for rel in replace:
                target = out.joinpath(*rel.split("/"))
                staged = staging / "new" / rel
                if not staged.exists() and _is_plain_file(target):
                    target.unlink()  # our new file, already moved in
            for rel in [*replace, *delete]:
                backup = staging / "old" / rel
                if backup.exists():
                    backup.replace(out.joinpath(*rel.split("/")))
            for rel in sorted(new_dirs, key=lambda p: -p.count("/")):
                with contextlib.suppress(OSError):
                    out.joinpath(*rel.split("/")).rmdir()
            _fsync_dir(out)
    shutil.rmtree(staging, ignore_errors=True)


def _lock(out: Path, timeout: float) -> FileLock:
    from mistral_sov.adapters.fileio import lock_for

    return lock_for(out, timeout)


def recover_bundle(out: Path) -> None:
    """Repair what a killed export left in (or beside) ``out``, unless an export is running."""
    from filelock import Timeout

    out = resolve_out(out)
    _recover_legacy(out)
    if not (out / STAGING).exists():
        return
    try:
        with _lock(out, 0):
            _recover_staging(out)
    except Timeout:
        return


# --------------------------------------------------------------------------- planning


@dataclass
class _Plan:
    write: dict[str, bytes] = field(default_factory=dict)  # new or changed files
    replace: list[str] = field(default_factory=list)  # existing files the new ones replace
    delete: list[str] = field(default_factory=list)  # stale files of the previous export
    new_dirs: list[str] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)


def _foreign_entries(out: Path, owned: set[str]) -> Iterable[str]:
    """Entries under ``out`` the export does not own, named at the highest level that holds
    nothing of ours (``.git/`` rather than its thousand files)."""

    def walk(folder: Path, prefix: str) -> Iterable[str]:
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            return
        for entry in entries:
            rel = prefix + entry.name
            if not prefix and entry.name in RESERVED:
                continue
            if entry.is_dir() and not entry.is_symlink():
                if any(o.startswith(rel + "/") for o in owned):
                    yield from walk(entry, rel + "/")
                else:
                    yield rel + "/"
            elif rel not in owned:
                yield rel

    yield from walk(out, "")


def _plan(
    out: Path,
    artifacts: Sequence[Artifact],
    *,
    roots: set[str] | None,
    protect: dict[Path, str],
    owned_by: Callable[[Path], dict[str, str] | None],
    control: frozenset[str],
) -> tuple[_Plan, dict[str, Any]]:
    plan = _Plan()
    previous = owned_by(out)
    new = {a.path: a.data for a in artifacts}
    kept: dict[str, str] = {}
    unchanged: list[str] = []
    if roots is not None:
        roots = roots | {p.split("/", 1)[0] for p in new}

    def problem(rel: str, message: str, hint: str) -> None:
        plan.problems.append(Diagnostic(message, Location(str(out.joinpath(*rel.split("/")))), hint=hint))

    if _read_only(out):
        problem(
            ".", f"the folder '{out}' is read-only; refusing to change it", "make it writable if the export is intended"
        )
    for rel, data in new.items():
        target = out.joinpath(*rel.split("/"))
        parts = rel.split("/")
        blocked = False
        for i in range(1, len(parts)):
            folder = out.joinpath(*parts[:i])
            if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
                problem(
                    "/".join(parts[:i]),
                    f"'{'/'.join(parts[:i])}' in the bundle folder is a symlink or a file, where the export "
                    "writes a folder; refusing to follow or replace it",
                    "move it away, or pass --out with a new or empty folder",
                )
                blocked = True
                break
            if not folder.exists():
                d = "/".join(parts[:i])
                if d not in plan.new_dirs:
                    plan.new_dirs.append(d)
        if blocked:
            continue
        real = Path(os.path.realpath(target))
        if real in protect:
            problem(
                rel,
                f"the export would overwrite {protect[real]} '{target}'",
                "keep the policy outside the bundle's folders, or pass another --out",
            )
            continue
        if not target.exists() and not target.is_symlink():
            plan.write[rel] = data
            continue
        if not _is_plain_file(target):
            problem(
                rel,
                f"'{rel}' in the bundle folder is not a regular file (a folder or a symlink); refusing to replace it",
                "move it away, or pass --out with a new or empty folder",
            )
            continue
        try:
            current = _sha256(target)
        except OSError as exc:
            problem(rel, f"cannot read '{rel}': {exc.strerror}", "check its permissions")
            continue
        if current == hashlib.sha256(data).hexdigest():
            unchanged.append(rel)
            continue
        if _read_only(target):
            problem(rel, f"'{rel}' is read-only; refusing to replace it", "make it writable if the change is intended")
            continue
        if previous is not None and (rel in control or previous.get(rel) == current):
            plan.write[rel] = data  # ours: the previous manifest, or a file it lists unchanged
            plan.replace.append(rel)
            continue
        why = (
            "was changed since the last export"
            if previous is not None and rel in previous
            else "was not written by mistral-sov"
            if rel not in control
            else "is not a mistral-sov manifest"
        )
        problem(
            rel,
            f"'{rel}' {why}; the export would overwrite it",
            "move or delete it yourself if it can go (or restore it), or pass --out with a new or empty folder",
        )
    owned = set(new) | (set(control) if previous is not None else set())
    for rel, sha in (previous or {}).items():
        if rel in new:
            continue
        target = out.joinpath(*rel.split("/"))
        if not _is_plain_file(target):
            continue
        if roots is not None and rel.split("/", 1)[0] not in roots:
            kept[rel] = "listed by the previous manifest but outside the export's folders"
            continue
        try:
            same = _sha256(target) == sha
        except OSError:
            same = False
        if same and _read_only(target):
            kept[rel] = "read-only: left in place"
        elif same and Path(os.path.realpath(target)) not in protect:
            plan.delete.append(rel)
            owned.add(rel)
        else:
            kept[rel] = "changed since the last export"
    for rel in _foreign_entries(out, owned):
        real = Path(os.path.realpath(out.joinpath(*rel.rstrip("/").split("/"))))
        kept.setdefault(rel, protect.get(real) or "not written by mistral-sov")
    return plan, {"kept": kept, "unchanged": unchanged}


# --------------------------------------------------------------------------- writing


def _commit(out: Path, plan: _Plan) -> None:
    staging = out / STAGING
    staging.mkdir()
    for rel, data in plan.write.items():
        _write_file(staging / "new" / rel, data)
    _fsync_dir(staging)
    journal = {"replace": plan.replace, "delete": plan.delete, "new_dirs": plan.new_dirs}
    _write_file(staging / _JOURNAL, json.dumps(journal).encode("utf-8"))
    _fsync_dir(staging)
    # from here on, a kill is rolled back by the next export
    for rel in [*plan.replace, *plan.delete]:
        backup = staging / "old" / rel
        backup.parent.mkdir(parents=True, exist_ok=True)
        target = out.joinpath(*rel.split("/"))
        if rel in plan.replace:
            _keep_attributes(target, staging / "new" / rel)
        target.replace(backup)
    for rel in plan.new_dirs:
        out.joinpath(*rel.split("/")).mkdir(exist_ok=True)
    for rel in plan.write:
        (staging / "new" / rel).replace(out.joinpath(*rel.split("/")))
    for folder in {out.joinpath(*rel.split("/")).parent for rel in plan.write}:
        _fsync_dir(folder)
    _write_file(staging / _COMMITTED, b"")
    _fsync_dir(staging)
    for rel in plan.delete:
        _rmdir_up(out.joinpath(*rel.split("/")).parent, out)
    shutil.rmtree(staging, ignore_errors=True)


def write_bundle(
    out: Path,
    artifacts: Sequence[Artifact],
    *,
    roots: Iterable[str] | None = None,
    protect: dict[Path, str] | None = None,
    owned_by: Callable[[Path], dict[str, str] | None] = read_manifest,
    control: Iterable[str] = (MANIFEST,),
) -> BundleWrite:
    """Write ``artifacts`` into ``out`` (see the module docstring). ``roots``: the top-level
    names every exporter may write (stale files elsewhere are kept); ``protect``: paths
    that must never be overwritten, with a description (the policy file, its schema).
    Without ``roots`` every unchanged file the previous manifest lists may be removed.
    ``owned_by(out)`` reads the previous listing (default: ``manifest.json``; the audit pack
    reads its ``index.json``); ``control`` names the listing files themselves, replaced
    when the listing is valid."""
    from filelock import Timeout

    from mistral_sov.adapters.fileio import translate_os_error

    requested = Path(out)
    out = resolve_out(requested)
    protected = {Path(os.path.realpath(p)): what for p, what in (protect or {}).items()}
    if out.exists() and not out.is_dir():
        raise InputError(
            f"'{requested}' exists and is not a directory",
            location=Location(str(requested)),
            hint="pass --out with a folder, e.g. --out ./mistral-sov-bundle",
        )
    result = BundleWrite(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        _recover_legacy(out)
        with _lock(out, 10):
            _recover_staging(out)
            plan, info = _plan(
                out,
                artifacts,
                roots=None if roots is None else set(roots),
                protect=protected,
                owned_by=owned_by,
                control=frozenset(control),
            )
            if plan.problems:
                first = plan.problems[0]
                raise InputError(
                    f"refusing to export into '{requested}': {len(plan.problems)} file(s) there were not "
                    f"written by mistral-sov — {first.message}",
                    location=first.location,
                    hint=first.hint,
                    diagnostics=plan.problems,
                )
            try:
                _commit(out, plan)
            except BaseException:
                _recover_staging(out)  # roll back now rather than at the next run
                raise
    except Timeout:
        raise InputError(
            f"another mistral-sov export is writing to '{requested}'",
            location=Location(str(requested)),
            hint="wait for it to finish, then run again",
        ) from None
    except OSError as exc:
        error = translate_os_error(exc, requested, "write the bundle to", kept="the previous bundle is left as it was")
        raise error from None
    result.written = sorted(plan.write)
    result.unchanged = sorted(info["unchanged"])
    result.removed = sorted(plan.delete)
    result.kept = info["kept"]
    return result


# --------------------------------------------------------------------------- checking


def check_bundle(out_dir: Path, artifacts: Sequence[Artifact], *, roots: Iterable[str] = ()) -> list[DriftItem]:
    """Compare the bundle on disk with ``artifacts`` (from ``render_bundle``): files whose
    bytes differ, files missing, files present in the export's folders that it would not
    write (the folders of ``artifacts`` plus ``roots``: pass every format name to catch a
    format no longer exported), and an interrupted export (a re-run finishes or rolls it
    back). Files outside those folders (the policy, ``.git``, notes) are not the bundle's."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(
            f"'{out}' is not a directory", location=Location(str(out)), hint="pass --out with the bundle directory"
        )
    expected = {a.path: a.data for a in artifacts}
    ours = set(roots) | {p.split("/", 1)[0] for p in expected if "/" in p}
    drift: list[DriftItem] = []
    if (out / STAGING).exists():
        drift.append(DriftItem(STAGING, "interrupted"))
    for path, data in expected.items():
        target = out.joinpath(*path.split("/"))
        if not _is_plain_file(target):
            drift.append(DriftItem(path, "missing"))
        elif target.read_bytes() != data:
            drift.append(DriftItem(path, "changed"))
    for top in sorted(ours):
        folder = out / top
        if not folder.is_dir() or folder.is_symlink():
            continue
        for file in folder.rglob("*"):
            rel = file.relative_to(out).as_posix()
            if (file.is_file() or file.is_symlink()) and rel not in expected:
                drift.append(DriftItem(rel, "unexpected"))
    return sorted(drift, key=lambda d: d.path)
