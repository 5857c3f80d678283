"""Atomic bundle writing, recovery after a killed export, and drift checking."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mistral_sov.adapters.bundle import STAGING, DriftItem, check_bundle, recover_bundle, write_bundle
from mistral_sov.errors import EnvironmentProblem, InputError
from mistral_sov.ports import Artifact

DATA = Path(__file__).resolve().parents[1] / "data" / "policy-export.yaml"


def _manifest(files: dict[str, bytes]) -> Artifact:
    doc = {
        "tool": "mistral-sov",
        "files": [
            {"path": p, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for p, d in sorted(files.items())
        ],
    }
    return Artifact("manifest.json", json.dumps(doc).encode())


def _bundle(**files: bytes) -> list[Artifact]:
    named = {k.replace("__", "/"): v for k, v in files.items()}
    return [*(Artifact(p, d) for p, d in sorted(named.items())), _manifest(named)]


def _siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def _files(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() or p.is_symlink())


def test_export_bundle_write_and_replace(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "bundle"
    first = _bundle(a__x_txt=b"1", b_txt=b"2")
    write_bundle(out, first)
    assert (out / "a" / "x_txt").read_bytes() == b"1"
    assert check_bundle(out, first) == []
    second = _bundle(c_txt=b"3")
    result = write_bundle(out, second)
    assert _files(out) == ["c_txt", "manifest.json"]  # stale files of the first export removed
    assert result.removed == ["a/x_txt", "b_txt"] and result.kept == {}
    assert not (out / "a").exists()  # the folder only held our file
    assert _siblings(out) == [] and not (out / STAGING).exists()
    assert check_bundle(out, second) == []


def test_export_bundle_check_reports_drift(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    arts = _bundle(d__a_txt=b"1", d__b_txt=b"2", c_txt=b"3")
    write_bundle(out, arts)
    (out / "d" / "a_txt").write_bytes(b"tampered")
    (out / "d" / "b_txt").unlink()
    (out / "d" / "extra.txt").write_bytes(b"?")
    (out / "notes.txt").write_bytes(b"mine")  # outside the export's folders: not drift
    (out / "other").mkdir()
    (out / "other" / "x").write_bytes(b"?")
    assert check_bundle(out, arts) == [
        DriftItem("d/a_txt", "changed"),
        DriftItem("d/b_txt", "missing"),
        DriftItem("d/extra.txt", "unexpected"),
    ]
    # a folder of a format this export does not write is drift when the caller names it
    assert DriftItem("other/x", "unexpected") in check_bundle(out, arts, roots={"other"})
    assert [d.status for d in check_bundle(tmp_path / "absent", arts)] == ["missing"] * 4


def test_export_bundle_keeps_what_it_did_not_write(tmp_path: Path) -> None:
    """The data-loss cases: a foreign folder, user files added to a bundle, the policy inside."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.docx").write_bytes(b"precious")
    result = write_bundle(home, _bundle(d__a=b"1"))
    assert (home / "thesis.docx").read_bytes() == b"precious"
    assert result.kept == {"thesis.docx": "not written by mistral-sov"}
    # user additions to an earlier bundle: .git, notes, a file inside a bundle folder, the policy
    (home / ".git" / "objects").mkdir(parents=True)
    (home / ".git" / "HEAD").write_bytes(b"ref: refs/heads/main\n")
    (home / "d" / "my-notes.md").write_bytes(b"notes")
    (home / "sovereignty.yaml").write_bytes(b"version: 1\n")
    (home / "sovereignty.schema.json").write_bytes(b"{}")
    protect = {
        home / "sovereignty.yaml": "the policy file",
        home / "sovereignty.schema.json": "the policy's JSON Schema",
    }
    result = write_bundle(home, _bundle(e__b=b"2"), roots={"d", "e"}, protect=protect)
    assert (home / ".git" / "HEAD").read_bytes() == b"ref: refs/heads/main\n"
    assert (home / ".git" / "objects").is_dir()
    assert (home / "d" / "my-notes.md").read_bytes() == b"notes"
    assert (home / "sovereignty.yaml").read_bytes() == b"version: 1\n"
    assert (home / "thesis.docx").read_bytes() == b"precious"
    assert not (home / "d" / "a").exists()  # our stale file went; the user's folder content stayed
    assert result.removed == ["d/a"]
    assert result.kept == {
        ".git/": "not written by mistral-sov",
        "d/my-notes.md": "not written by mistral-sov",
        "sovereignty.schema.json": "the policy's JSON Schema",
        "sovereignty.yaml": "the policy file",
        "thesis.docx": "not written by mistral-sov",
    }


def test_export_bundle_refuses_to_overwrite_foreign_or_edited_files(tmp_path: Path) -> None:
    out = tmp_path / "b"
    out.mkdir()
    (out / "d").mkdir()
    (out / "d" / "a").write_bytes(b"someone else's")
    with pytest.raises(InputError, match="not written by mistral-sov") as info:
        write_bundle(out, _bundle(d__a=b"1"))
    assert info.value.exit_status == 2 and str(out / "d" / "a") in str(info.value.location)
    assert (out / "d" / "a").read_bytes() == b"someone else's" and _files(out) == ["d/a"]
    (out / "d" / "a").unlink()
    write_bundle(out, _bundle(d__a=b"1"))
    (out / "d" / "a").write_bytes(b"edited by hand")  # listed by the manifest, but changed
    before = _files(out)
    with pytest.raises(InputError, match="changed since the last export"):
        write_bundle(out, _bundle(d__a=b"2"))
    assert (out / "d" / "a").read_bytes() == b"edited by hand" and _files(out) == before
    # the policy file where the bundle writes a file
    (out / "d" / "a").unlink()
    with pytest.raises(InputError, match="would overwrite the policy file"):
        write_bundle(out, _bundle(d__a=b"1"), protect={out / "d" / "a": "the policy file"})


def test_export_bundle_forged_manifest_owns_nothing(tmp_path: Path) -> None:
    out = tmp_path / "home"
    (out / "d").mkdir(parents=True)
    (out / "thesis.docx").write_bytes(b"precious")
    (out / "d" / "notes").write_bytes(b"mine")
    wrong = "0" * 64
    forged = {
        "tool": "mistral-sov",
        "files": [{"path": "thesis.docx", "sha256": wrong}, {"path": "d/notes", "sha256": wrong}],
    }
    (out / "manifest.json").write_text(json.dumps(forged))
    result = write_bundle(out, _bundle(d__new=b"1"), roots={"d"})
    assert (out / "thesis.docx").read_bytes() == b"precious" and (out / "d" / "notes").read_bytes() == b"mine"
    assert result.kept["thesis.docx"] == "listed by the previous manifest but outside the export's folders"
    assert result.kept["d/notes"] == "changed since the last export"
    # a manifest naming files outside the folder is not a mistral-sov manifest: never overwritten
    escaping = {"tool": "mistral-sov", "files": [{"path": "../../etc/passwd", "sha256": wrong}]}
    (out / "manifest.json").write_text(json.dumps(escaping))
    with pytest.raises(InputError, match="is not a mistral-sov manifest"):
        write_bundle(out, _bundle(d__new=b"1"))
    assert json.loads((out / "manifest.json").read_text()) == escaping


@pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
def test_export_bundle_symlinks(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    result = write_bundle(link, _bundle(d__a=b"1"))
    assert link.is_symlink() and (real / "d" / "a").read_bytes() == b"1" and result.out == real
    assert [p.name for p in tmp_path.iterdir() if ".link" in p.name] == []
    # a symlink inside the bundle where a file or folder goes is never followed or replaced
    secret = tmp_path / "secret"
    secret.write_bytes(b"keep")
    (real / "d" / "a").unlink()
    (real / "d" / "a").symlink_to(secret)
    with pytest.raises(InputError, match="not a regular file"):
        write_bundle(link, _bundle(d__a=b"2"))
    assert secret.read_bytes() == b"keep" and (real / "d" / "a").is_symlink()
    outside = tmp_path / "outside"
    outside.mkdir()
    (real / "e").symlink_to(outside)
    with pytest.raises(InputError, match="symlink or a file"):
        write_bundle(link, _bundle(e__x=b"2"))
    assert list(outside.iterdir()) == []


def test_export_bundle_refuses_a_file_as_out(tmp_path: Path) -> None:
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        write_bundle(afile, _bundle(a=b"1"))
    assert afile.read_text() == "x"


def test_export_bundle_recovers_legacy_swap(tmp_path: Path) -> None:
    """A kill of an earlier version between its two renames: the old bundle comes back."""
    out = tmp_path / "bundle"
    old = _bundle(a=b"old")
    write_bundle(out, old)
    os.replace(out, tmp_path / ".bundle.old-abc")
    (tmp_path / ".bundle.tmp-abc").mkdir()
    (tmp_path / ".bundle.tmp-abc" / "a").write_bytes(b"new")
    recover_bundle(out)
    assert check_bundle(out, old) == []
    assert _siblings(out) == []


def test_export_bundle_rolls_back_an_interrupted_transaction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "bundle"
    old = _bundle(d__a=b"old", d__b=b"gone-later")
    write_bundle(out, old)
    (out / "notes.txt").write_bytes(b"mine")
    real_replace = Path.replace
    calls: list[str] = []

    def dying(self, target):
        calls.append(str(target))
        if len(calls) == 5:  # after the 3 backups, while moving the new files in
            raise KeyboardInterrupt  # stands for a kill: nothing after this line runs
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", dying)
    with pytest.raises(KeyboardInterrupt):
        write_bundle(out, _bundle(d__a=b"new", d__c=b"added"))
    monkeypatch.setattr(Path, "replace", real_replace)
    assert check_bundle(out, old) == [] and (out / "notes.txt").read_bytes() == b"mine"
    assert not (out / STAGING).exists()


def test_export_bundle_failure_keeps_old(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "bundle"
    old = _bundle(a=b"old")
    write_bundle(out, old)
    real_replace = Path.replace
    calls: list[str] = []

    def flaky(self, target):
        calls.append(str(target))
        if len(calls) == 2:  # the second rename: new file into place
            raise OSError(28, "No space left on device")
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", flaky)
    with pytest.raises(EnvironmentProblem, match="No space left") as info:
        write_bundle(out, _bundle(a=b"new"))
    assert info.value.exit_status == 4
    monkeypatch.setattr(Path, "replace", real_replace)
    assert check_bundle(out, old) == []
    assert not (out / STAGING).exists()


def _state(out: Path, references: dict[str, bytes]) -> str:
    """Which complete bundle ``out`` holds ('A' or 'B'); fails on anything partial."""
    manifest = (out / "manifest.json").read_bytes()
    name = next((k for k, v in references.items() if v == manifest), None)
    assert name is not None, "manifest.json is neither the old nor the new one"
    listed = {f["path"]: f for f in json.loads(manifest)["files"]}
    foreign = {"a.yaml", "b.yaml", "notes.txt", ".git/HEAD"}
    present = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"manifest.json"} - foreign
    assert present == set(listed), f"files differ from the manifest: {present ^ set(listed)}"
    for path, entry in listed.items():
        data = (out / path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["size"], path
    return name


@pytest.mark.slow
def test_export_bundle_survives_sigkill(tmp_path: Path) -> None:
    if not hasattr(signal, "SIGKILL"):
        pytest.skip("needs SIGKILL")
    out = tmp_path / "bundle"  # the policies live in the bundle folder, beside user files
    (out / ".git").mkdir(parents=True)
    (out / ".git" / "HEAD").write_bytes(b"ref: refs/heads/main\n")
    (out / "notes.txt").write_bytes(b"mine")
    policies = {"A": out / "a.yaml", "B": out / "b.yaml"}
    text = DATA.read_text(encoding="utf-8")
    policies["A"].write_text(text, encoding="utf-8")
    policies["B"].write_text(text.replace("chat.example-ai.com", "chat.other-ai.example"), encoding="utf-8")
    user_files = {p: p.read_bytes() for p in [*policies.values(), out / "notes.txt", out / ".git" / "HEAD"]}

    def command(which: str, out: Path) -> list[str]:
        return [sys.executable, "-m", "mistral_sov", "policy", "export", "-p", str(policies[which]), "--out", str(out)]

    references: dict[str, bytes] = {}
    durations = []
    for which in ("A", "B"):
        ref = tmp_path / f"ref-{which}"
        start = time.monotonic()
        subprocess.run(command(which, ref), check=True, capture_output=True)
        durations.append(time.monotonic() - start)
        references[which] = (ref / "manifest.json").read_bytes()
    assert references["A"] != references["B"]
    run_time = max(durations)

    subprocess.run(command("A", out), check=True, capture_output=True)
    current = "A"
    rng = random.Random(20240611)
    delay = 0.8 * run_time
    outcomes: dict[str, int] = {"old": 0, "new": 0, "rolled-back": 0}
    for _ in range(50):
        target = "B" if current == "A" else "A"
        proc = subprocess.Popen(command(target, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Kill around the moment of the swap: the delay adapts (later after an "old" outcome,
        # earlier after a "new" one), with jitter, so the kills cluster where a partial bundle
        # could appear, whatever the machine's speed.
        time.sleep(delay * rng.uniform(0.8, 1.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        if (out / STAGING).exists():
            outcomes["rolled-back"] += not (out / STAGING / "COMMITTED").exists()
            recover_bundle(out)  # what the next export does first
        state = _state(out, references)
        assert {p: p.read_bytes() for p in user_files} == user_files  # never touched
        assert not (out / STAGING).exists()
        if state == target:
            outcomes["new"] += 1
        else:
            assert state == current
            outcomes["old"] += 1
        delay = delay * 1.15 if state != target else delay * 0.87
        current = state
    print("sigkill outcomes:", outcomes)
    # the kills landed both before and after the swap
    assert outcomes["old"] > 0 and outcomes["new"] > 0, outcomes
    subprocess.run(command("A", out), check=True, capture_output=True)
    assert _state(out, references) == "A"
    assert _siblings(out) == [] and {p: p.read_bytes() for p in user_files} == user_files


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_export_bundle_respects_read_only_files_and_folders(tmp_path: Path) -> None:
    out = tmp_path / "b"
    write_bundle(out, _bundle(d__a=b"1", d__b=b"2"))
    (out / "d" / "a").chmod(0o444)
    with pytest.raises(InputError, match="read-only"):
        write_bundle(out, _bundle(d__a=b"changed", d__b=b"2"))
    assert (out / "d" / "a").read_bytes() == b"1"
    result = write_bundle(out, _bundle(d__c=b"3"))  # a read-only stale file is kept, not deleted
    assert (out / "d" / "a").read_bytes() == b"1" and result.kept["d/a"] == "read-only: left in place"
    out.chmod(0o555)
    try:
        with pytest.raises(InputError, match="read-only"):
            write_bundle(out, _bundle(d__c=b"4"))
        assert (out / "d" / "c").read_bytes() == b"3"
    finally:
        out.chmod(0o755)
