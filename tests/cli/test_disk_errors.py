"""A full disk and a read-only file system, for real (small tmpfs mounts, root only): every
write command exits 4 with a hint — never 70 — and leaves what was there intact: the previous
bundle, the policy, no 0-byte private key that would block a retry."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from clihelp import run_cli

from mistral_sov.adapters.bundle import read_manifest

pytestmark = [pytest.mark.root, pytest.mark.skipif(os.name != "posix", reason="mount(8)")]
DATA = Path(__file__).resolve().parents[1] / "data" / "policy-export.yaml"


@pytest.fixture
def tmpfs(tmp_path: Path):
    mount = tmp_path / "disk"
    mount.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("mount(8) missing")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must allow tmpfs mounts: {done.stderr!r}")
        pytest.skip(f"cannot mount tmpfs here: {done.stderr!r}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(mount: Path) -> None:
    with (mount / "filler").open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
        except OSError:
            pass


def test_full_disk_exit_4_and_nothing_lost(tmpfs: Path) -> None:
    policy = tmpfs / "sovereignty.yaml"
    shutil.copy(DATA, policy)
    out = tmpfs / "bundle"
    first = run_cli("policy", "export", "-p", str(policy), "--out", str(out), "-f", "network")
    assert first.code == 0, first.err
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    policy_bytes = policy.read_bytes()
    _fill(tmpfs)
    outside = tmpfs.parent / "edited.yaml"  # the new policy lives off the full disk
    outside.write_text(DATA.read_text(encoding="utf-8").replace("chat.example-ai.com", "new.example-ai.com"))
    res = run_cli("policy", "export", "-p", str(outside), "--out", str(out), "-f", "network", "-f", "browsers")
    assert res.code == 4, res
    assert "disk is full" in res.err and "internal error" not in res.err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before  # the previous bundle, intact
    assert read_manifest(out) is not None and not (out / ".mistral-sov-export").exists()
    res = run_cli("allowlist", "add", "https://x.example.eu", "-p", str(policy))
    assert res.code == 4 and policy.read_bytes() == policy_bytes
    res = run_cli("keys", "generate", "--out", str(tmpfs / "keys"))
    assert res.code == 4, res
    assert not any((tmpfs / "keys").glob("*")) if (tmpfs / "keys").exists() else True  # no 0-byte key left
    res = run_cli("init", str(tmpfs / "new.yaml"))
    assert res.code == 4 and not (tmpfs / "new.yaml").exists()
    (tmpfs / "filler").unlink()  # space again: the retry simply works
    assert run_cli("keys", "generate", "--out", str(tmpfs / "keys")).code == 0


def test_read_only_file_system_exit_4(tmpfs: Path) -> None:
    policy = tmpfs / "sovereignty.yaml"
    shutil.copy(DATA, policy)
    out = tmpfs / "bundle"
    assert run_cli("policy", "export", "-p", str(policy), "--out", str(out), "-f", "network").code == 0
    before = {p: p.read_bytes() for p in tmpfs.rglob("*") if p.is_file()}
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    for args in (
        ["policy", "export", "-p", str(policy), "--out", str(out), "-f", "browsers"],
        ["allowlist", "add", "https://x.example.eu", "-p", str(policy)],
        ["init", str(tmpfs / "x.yaml")],
        ["keys", "generate", "--out", str(tmpfs / "k")],
        ["ci", "init", "github", "--out", str(tmpfs / "ci.yml")],
    ):
        res = run_cli(*args)
        assert res.code == 4, (args, res)
        assert "read-only" in res.err and "internal error" not in res.err
    assert {p: p.read_bytes() for p in tmpfs.rglob("*") if p.is_file()} == before
