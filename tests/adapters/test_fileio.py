"""adapters/fileio.py: atomic writes that keep links, modes, owners and read-only files, the
compare-before-rename guard, and the one OSError translation (exit 2 vs 4)."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from mistral_sov.adapters.fileio import atomic_write_bytes, create_exclusive, translate_os_error
from mistral_sov.errors import EnvironmentProblem, InputError

posix = pytest.mark.skipif(os.name == "nt", reason="POSIX links and modes")


@posix
def test_symlink_target_is_written_and_the_link_stays(tmp_path: Path) -> None:
    real = tmp_path / "real.yaml"
    real.write_bytes(b"old")
    link = tmp_path / "link.yaml"
    link.symlink_to(real)
    atomic_write_bytes(link, b"new")
    assert link.is_symlink() and real.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.yaml", "real.yaml"]  # no .old/.tmp left


@posix
def test_hard_links_keep_sharing_the_content(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    a.write_bytes(b"old")
    b = tmp_path / "b.yaml"
    os.link(a, b)
    atomic_write_bytes(a, b"new content")
    assert b.read_bytes() == b"new content" and a.stat().st_ino == b.stat().st_ino
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml", "b.yaml"]


@posix
def test_mode_and_owner_are_kept(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_bytes(b"old")
    f.chmod(0o640)
    if os.geteuid() == 0:
        os.chown(f, 1234, 4321)
    atomic_write_bytes(f, b"new")
    st = f.stat()
    assert stat.S_IMODE(st.st_mode) == 0o640
    if os.geteuid() == 0:
        assert (st.st_uid, st.st_gid) == (1234, 4321)


@posix
def test_read_only_file_is_refused_even_for_root(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_bytes(b"old")
    f.chmod(0o444)
    with pytest.raises(InputError, match="read-only") as info:
        atomic_write_bytes(f, b"new")
    assert info.value.exit_status == 2 and f.read_bytes() == b"old"


def test_changed_meanwhile_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_bytes(b"someone else's edit")
    with pytest.raises(InputError, match="changed by someone else"):
        atomic_write_bytes(f, b"ours", expect=b"what we read")
    assert f.read_bytes() == b"someone else's edit"
    atomic_write_bytes(f, b"ours", expect=b"someone else's edit")
    assert f.read_bytes() == b"ours"


@pytest.mark.parametrize(
    ("code", "kind", "status"),
    [
        (errno.ENOENT, InputError, 2),
        (errno.EACCES, InputError, 2),
        (errno.EISDIR, InputError, 2),
        (errno.ENAMETOOLONG, InputError, 2),
        (errno.EROFS, EnvironmentProblem, 4),
        (errno.ENOSPC, EnvironmentProblem, 4),
    ],
)
def test_translate_os_error(code: int, kind: type, status: int) -> None:
    error = translate_os_error(OSError(code, os.strerror(code), "/x/y"), action="write")
    assert type(error) is kind and error.exit_status == status
    assert "/x/y" in error.message and error.hint


def test_create_exclusive_never_overwrites_and_leaves_nothing_on_failure(tmp_path: Path) -> None:
    key = tmp_path / "k.pem"
    create_exclusive(key, b"secret")
    assert key.read_bytes() == b"secret"
    if os.name != "nt":
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    with pytest.raises(InputError, match="already exists"):
        create_exclusive(key, b"other")
    assert key.read_bytes() == b"secret"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.pem"]
    with pytest.raises(InputError):
        create_exclusive(tmp_path / "missing" / "k.pem", b"x")


@posix
def test_devices_are_written_into_never_replaced() -> None:
    """`--report json:/dev/full` once renamed a regular file over the device node."""
    null = Path("/dev/null")
    atomic_write_bytes(null, b"data")
    assert stat.S_ISCHR(null.stat().st_mode)
    full = Path("/dev/full")
    if full.exists():
        with pytest.raises(EnvironmentProblem, match="No space left") as info:
            atomic_write_bytes(full, b"data")
        assert info.value.exit_status == 4 and stat.S_ISCHR(full.stat().st_mode)
