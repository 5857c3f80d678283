"""`mistral-sov policy export` (write, --check, --format, --lang) and `policy diff`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from mistral_sov.adapters.exporters import EXPORTERS
from mistral_sov.cli.app import main

DATA = Path(__file__).resolve().parents[1] / "data" / "policy-export.yaml"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "sovereignty.yaml"
    shutil.copy(DATA, path)
    return path


def test_cli_export_writes_bundle_and_check(capsys, tmp_path: Path, policy: Path) -> None:
    out = tmp_path / "bundle"
    code, stdout, err = run(
        capsys, "policy", "export", "-p", str(policy), "--out", str(out), "--format", "browsers", "--format", "network"
    )
    assert code == 0, err
    assert "wrote" in stdout
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["formats"] == ["browsers", "network"]
    assert {f["path"] for f in manifest["files"]} >= {"network/rpz.zone", "browsers/edge-managed.json"}

    code, stdout, _ = run(
        capsys, "policy", "export", "-p", str(policy), "--out", str(out), "--format", "browsers,network", "--check"
    )
    assert code == 0 and "up to date" in stdout

    # tampering with a file: exit 1, the file listed
    zone = out / "network" / "rpz.zone"
    zone.write_bytes(zone.read_bytes() + b"evil.example CNAME rpz-passthru.\n")
    code, stdout, _ = run(
        capsys, "policy", "export", "-p", str(policy), "--out", str(out), "-f", "browsers", "-f", "network", "--check"
    )
    assert code == 1
    assert "changed: network/rpz.zone" in stdout
    assert "manifest.json" not in stdout  # only the tampered file drifts

    # re-export, then edit the policy without exporting: drift again
    run(capsys, "policy", "export", "-p", str(policy), "--out", str(out), "-f", "browsers", "-f", "network")
    policy.write_text(
        policy.read_text(encoding="utf-8").replace(
            "extra_domains: [chat.example-ai.com, assistant.example.net]",
            "extra_domains: [chat.example-ai.com, assistant.example.net, more-ai.example]",
        ),
        encoding="utf-8",
    )
    code, stdout, _ = run(
        capsys, "policy", "export", "-p", str(policy), "--out", str(out), "-f", "browsers", "-f", "network", "--check"
    )
    assert code == 1
    for path in ("manifest.json", "network/rpz.zone", "browsers/chrome-managed.json"):
        assert f"changed: {path}" in stdout


def test_cli_export_all_registered_formats(capsys, tmp_path: Path, policy: Path) -> None:
    out = tmp_path / "all"
    code, _, err = run(capsys, "policy", "export", "-p", str(policy), "--out", str(out))
    assert code == 0, err
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["formats"] == list(EXPORTERS)
    code, _, _ = run(capsys, "policy", "export", "-p", str(policy), "--out", str(out), "--check")
    assert code == 0


def test_cli_export_check_missing_bundle(capsys, tmp_path: Path, policy: Path) -> None:
    code, stdout, _ = run(
        capsys, "policy", "export", "-p", str(policy), "--out", str(tmp_path / "none"), "-f", "network", "--check"
    )
    assert code == 1 and "missing: network/hosts" in stdout
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "netwrok"], "did you mean 'network'"),
        (["--lang", "english"], "not a language tag"),
        (["--lang", "en-US,en-us"], "listed twice"),
    ],
)
def test_cli_export_usage_errors(capsys, tmp_path: Path, policy: Path, args: list[str], message: str) -> None:
    code, _, err = run(capsys, "policy", "export", "-p", str(policy), "--out", str(tmp_path / "b"), *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_cli_export_bad_policy_names_location(capsys, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\norganization: X\nblocking:\n  extra_domains: ['*.chatgpt.com']\n", encoding="utf-8")
    code, _, err = run(capsys, "policy", "export", "-p", str(bad), "--out", str(tmp_path / "b"))
    assert code == 2
    assert f"{bad}:4:" in err and "wildcard" in err
    assert not (tmp_path / "b").exists()


def test_cli_export_into_the_policy_folder_keeps_the_policy(capsys, tmp_path: Path) -> None:
    """The issue's case: `policy export -p out/sovereignty.yaml --out out` deleted the policy."""
    out = tmp_path / "out"
    out.mkdir()
    policy = out / "sovereignty.yaml"
    shutil.copy(DATA, policy)
    (out / "sovereignty.schema.json").write_text("{}", encoding="utf-8")
    (out / ".git").mkdir()
    (out / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    (out / "notes.md").write_text("ours", encoding="utf-8")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    for formats in (["-f", "browsers", "-f", "network"], ["-f", "network"]):  # then one format less
        code, stdout, err = run(capsys, "policy", "export", "-p", str(policy), "--out", str(out), *formats)
        assert code == 0, err
        assert {p: p.read_bytes() for p in before} == before
        assert "sovereignty.yaml  (the policy file)" in stdout and ".git/" in stdout and "notes.md" in stdout
    assert not (out / "browsers").exists()  # the stale format's files were ours: removed
    code, stdout, err = run(
        capsys, "policy", "export", "-p", str(policy), "--out", str(out), "-f", "network", "--check"
    )
    assert code == 0, stdout + err  # the policy, .git and notes are not bundle drift
    (out / "network" / "mine.conf").write_text("x", encoding="utf-8")
    code, stdout, _ = run(capsys, "policy", "export", "-p", str(policy), "--out", str(out), "-f", "network", "--check")
    assert code == 1 and "unexpected: network/mine.conf" in stdout
    # --out a parent of the policy folder: the policy's folder is kept whole
    code, stdout, err = run(capsys, "policy", "export", "-p", str(policy), "--out", str(tmp_path), "-f", "network")
    assert code == 0, err
    assert "out/  (not written by mistral-sov)" in stdout
    assert {p: p.read_bytes() for p in before} == before


def test_cli_export_refuses_to_overwrite_a_foreign_file(capsys, tmp_path: Path, policy: Path) -> None:
    target = tmp_path / "docs"
    (target / "network").mkdir(parents=True)
    (target / "network" / "hosts").write_text("127.0.0.1 printer\n", encoding="utf-8")
    code, _, err = run(capsys, "policy", "export", "-p", str(policy), "--out", str(target), "-f", "network")
    assert code == 2 and "network/hosts' was not written by mistral-sov" in err and "hint:" in err
    assert (target / "network" / "hosts").read_text(encoding="utf-8") == "127.0.0.1 printer\n"
    assert sorted(p.name for p in target.rglob("*")) == ["hosts", "network"]


def test_cli_export_too_many_browser_entries(capsys, tmp_path: Path, policy: Path) -> None:
    many = ", ".join(f"ai{i}.example" for i in range(1001))
    policy.write_text(
        policy.read_text(encoding="utf-8").replace(
            "extra_domains: [chat.example-ai.com, assistant.example.net]", f"extra_domains: [{many}]"
        ),
        encoding="utf-8",
    )
    code, _, err = run(capsys, "policy", "export", "-p", str(policy), "--out", str(tmp_path / "b"), "-f", "browsers")
    assert code == 2 and "--format network" in err
    code, _, err = run(capsys, "policy", "export", "-p", str(policy), "--out", str(tmp_path / "b"), "-f", "network")
    assert code == 0, err


def test_cli_diff(capsys, tmp_path: Path, policy: Path) -> None:
    new = tmp_path / "new.yaml"
    new.write_text(
        policy.read_text(encoding="utf-8")
        .replace("allowed_countries: [EU]", "allowed_countries: [EU, CH]")
        .replace("firefox: true", "firefox: false"),
        encoding="utf-8",
    )
    code, stdout, _ = run(capsys, "policy", "diff", str(policy), str(new), "-o", "json")
    assert code == 0
    changes = json.loads(stdout)["changes"]
    assert {"area": "zones", "action": "added", "subject": "CH", "detail": "allowed country"} in changes
    assert any(c["subject"] == "browsers.firefox" and c["detail"] == "true -> false" for c in changes)
    code, stdout, _ = run(capsys, "policy", "diff", str(policy), str(new), "-o", "yaml")
    assert len(yaml.safe_load(stdout)["changes"]) == len(changes)
    code, stdout, _ = run(capsys, "policy", "diff", str(policy), str(new))
    assert code == 0 and "CH" in stdout and "browsers.firefox" in stdout
    code, _, _ = run(capsys, "policy", "diff", str(policy), str(new), "--exit-code")
    assert code == 1
    code, stdout, _ = run(capsys, "policy", "diff", str(policy), str(policy), "--exit-code")
    assert code == 0 and "no effective difference" in stdout
    code, _, err = run(capsys, "policy", "diff", str(policy), str(tmp_path / "missing.yaml"))
    assert code == 2 and "not found" in err


def test_help_lists_every_format(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "policy", "export", "--help")
    assert code == 0
    text = " ".join(out.split())  # help text wraps to the terminal's width
    listed = text.split("Format to export, repeatable (default: all):", 1)[1].split(".", 1)[0]
    assert [n.strip() for n in listed.split(",")] == list(EXPORTERS)
