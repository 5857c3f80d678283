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

from mistral_sov.adapters.bundle import DriftItem, check_bundle, recover_bundle, write_bundle
from mistral_sov.errors import InputError
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


def test_export_bundle_write_and_replace(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "bundle"
    first = _bundle(a__x_txt=b"1", b_txt=b"2")
    write_bundle(out, first)
    assert (out / "a" / "x_txt").read_bytes() == b"1"
    assert check_bundle(out, first) == []
    second = _bundle(c_txt=b"3")
    write_bundle(out, second)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == ["c_txt", "manifest.json"]
    assert _siblings(out) == []
    assert check_bundle(out, second) == []


def test_export_bundle_check_reports_drift(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    arts = _bundle(a_txt=b"1", b_txt=b"2", c_txt=b"3")
    write_bundle(out, arts)
    (out / "a_txt").write_bytes(b"tampered")
    (out / "b_txt").unlink()
    (out / "extra.txt").write_bytes(b"?")
    assert check_bundle(out, arts) == [
        DriftItem("a_txt", "changed"),
        DriftItem("b_txt", "missing"),
        DriftItem("extra.txt", "unexpected"),
    ]
    assert [d.status for d in check_bundle(tmp_path / "absent", arts)] == ["missing"] * 4


def test_export_bundle_refuses_foreign_directories(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.docx").write_bytes(b"precious")
    with pytest.raises(InputError, match="refusing to replace"):
        write_bundle(home, _bundle(a=b"1"))
    assert (home / "thesis.docx").read_bytes() == b"precious"
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        write_bundle(afile, _bundle(a=b"1"))
    empty = tmp_path / "empty"
    empty.mkdir()
    write_bundle(empty, _bundle(a=b"1"))
    assert (empty / "a").read_bytes() == b"1"


def test_export_bundle_recovers_between_renames(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    old = _bundle(a=b"old")
    write_bundle(out, old)
    # the state a kill between "old aside" and "new in" leaves behind
    os.replace(out, tmp_path / ".bundle.old-abc")
    (tmp_path / ".bundle.tmp-abc").mkdir()
    (tmp_path / ".bundle.tmp-abc" / "a").write_bytes(b"new")
    recover_bundle(out)
    assert check_bundle(out, old) == []
    assert _siblings(out) == []
    # a leftover temp dir alone is deleted by the next export
    (tmp_path / ".bundle.tmp-zzz").mkdir()
    new = _bundle(a=b"new")
    write_bundle(out, new)
    assert check_bundle(out, new) == [] and _siblings(out) == []


def test_export_bundle_failure_keeps_old(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "bundle"
    old = _bundle(a=b"old")
    write_bundle(out, old)
    real_replace = os.replace
    calls: list[str] = []

    def flaky(src, dst):
        calls.append(str(dst))
        if len(calls) == 2:  # the second rename: new bundle into place
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky)  # Path.replace calls os.replace
    with pytest.raises(InputError, match="No space left"):
        write_bundle(out, _bundle(a=b"new"))
    monkeypatch.setattr(os, "replace", real_replace)
    assert check_bundle(out, old) == []
    assert _siblings(out) == []


def _state(out: Path, references: dict[str, bytes]) -> str:
    """Which complete bundle ``out`` holds ('A' or 'B'); fails on anything partial."""
    manifest = (out / "manifest.json").read_bytes()
    name = next((k for k, v in references.items() if v == manifest), None)
    assert name is not None, "manifest.json is neither the old nor the new one"
    listed = {f["path"]: f for f in json.loads(manifest)["files"]}
    present = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"manifest.json"}
    assert present == set(listed), f"files differ from the manifest: {present ^ set(listed)}"
    for path, entry in listed.items():
        data = (out / path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["size"], path
    return name


@pytest.mark.slow
def test_export_bundle_survives_sigkill(tmp_path: Path) -> None:
    if not hasattr(signal, "SIGKILL"):
        pytest.skip("needs SIGKILL")
    policies = {"A": tmp_path / "a.yaml", "B": tmp_path / "b.yaml"}
    text = DATA.read_text(encoding="utf-8")
    policies["A"].write_text(text, encoding="utf-8")
    policies["B"].write_text(text.replace("chat.example-ai.com", "chat.other-ai.example"), encoding="utf-8")

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

    out = tmp_path / "bundle"
    subprocess.run(command("A", out), check=True, capture_output=True)
    current = "A"
    rng = random.Random(20240611)
    delay = 0.8 * run_time
    outcomes: dict[str, int] = {"old": 0, "new": 0, "absent-then-recovered": 0}
    for _ in range(50):
        target = "B" if current == "A" else "A"
        proc = subprocess.Popen(command(target, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Kill around the moment of the swap: the delay adapts (later after an "old" outcome,
        # earlier after a "new" one), with jitter, so the kills cluster where a partial bundle
        # could appear, whatever the machine's speed.
        time.sleep(delay * rng.uniform(0.8, 1.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        if out.exists():
            state = _state(out, references)
        else:
            recover_bundle(out)  # what the next export does first
            state = _state(out, references)
            outcomes["absent-then-recovered"] += 1
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
    assert _siblings(out) == []
