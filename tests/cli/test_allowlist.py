"""`allowlist check/add/remove`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from clihelp import run_cli


def test_allowlist_check_semantics(policy: Path) -> None:
    res = run_cli(
        "allowlist",
        "check",
        "https://chatgpt.com/c/1",
        "https://api.mistral.ai/v1/chat",
        "notchatgpt.com",
        "-p",
        str(policy),
        "-o",
        "json",
    )
    assert res.code == 1
    rows = {r["url"]: r for r in json.loads(res.out)}
    assert rows["https://chatgpt.com/c/1"]["status"] == "blocked"
    assert rows["https://chatgpt.com/c/1"]["service"] == "openai-chatgpt"
    assert rows["https://api.mistral.ai/v1/chat"]["status"] == "allowed"
    assert rows["notchatgpt.com"]["status"] == "unlisted"
    only_allowed = run_cli("allowlist", "check", "https://api.mistral.ai/", "-p", str(policy))
    assert only_allowed.code == 0
    assert run_cli("allowlist", "check", "https://", "-p", str(policy)).code == 2


def test_allowlist_add_remove_keeps_comments(policy: Path) -> None:
    before = policy.read_text(encoding="utf-8")
    res = run_cli(
        "allowlist",
        "add",
        "https://mistral.corp.example.eu/v1",
        "--name",
        "corp",
        "--region",
        "azure:westeurope",
        "-p",
        str(policy),
    )
    assert res.code == 0, res.err
    after = policy.read_text(encoding="utf-8")
    assert after.startswith(before.split("blocking:")[0].rstrip("\n"))
    assert "  - name: corp\n    url: https://mistral.corp.example.eu/v1\n    region: azure:westeurope\n" in after
    assert all(line in after for line in before.splitlines() if line.lstrip().startswith("#"))
    listed = json.loads(run_cli("allowlist", "list", "-p", str(policy), "-o", "json").out)
    assert [e["name"] for e in listed["endpoints"]] == ["mistral-eu", "corp"]
    assert run_cli("allowlist", "add", "https://mistral.corp.example.eu/v1", "-p", str(policy)).code == 2
    # a blocked host is refused and the file stays untouched
    blocked = run_cli("allowlist", "add", "https://chatgpt.com", "-p", str(policy))
    assert blocked.code == 2 and "blocking.exceptions" in blocked.err
    assert policy.read_text(encoding="utf-8") == after
    assert run_cli("allowlist", "remove", "https://mistral.corp.example.eu/v1", "-p", str(policy)).code == 0
    assert policy.read_text(encoding="utf-8") == before
    assert run_cli("allowlist", "remove", "mistral-eu", "-p", str(policy)).code == 0
    assert "endpoints: []" in policy.read_text(encoding="utf-8")
    assert run_cli("allowlist", "add", "https://x.example.eu", "-p", str(policy)).code == 0
    assert run_cli("policy", "validate", "-p", str(policy)).code == 0


def test_allowlist_edit_preserves_crlf_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "win.yaml"
    text = "version: 1\r\norganization: Win\r\nendpoints: [{name: a, url: 'https://a.example.eu'}]  # keep\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert run_cli("allowlist", "add", "https://b.example.eu", "--name", "b", "-p", str(path)).code == 0
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"# keep\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    assert b"{name: b, url: https://b.example.eu}]" in data


def test_ten_concurrent_adds_all_survive(policy: Path) -> None:
    """The issue's case: 10 parallel `allowlist add` exited 0 and only one addition survived."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "mistral_sov", "allowlist", "add", f"https://ep{i}.example.eu", "-p", str(policy)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(10)
    ]
    results = [(p.wait(120), p.stderr.read() if p.stderr else "") for p in procs]
    data = yaml.safe_load(policy.read_text(encoding="utf-8"))
    urls = {e["url"] for e in data["endpoints"]}
    for i, (code, err) in enumerate(results):
        # every run either landed its endpoint or failed clearly (exit 2, never a silent loss)
        assert (code == 0 and f"https://ep{i}.example.eu" in urls) or (code == 2 and "error" in err), (i, code, err)
    assert sum(code == 0 for code, _ in results) == 10  # the lock serialises them: none has to fail
    assert run_cli("policy", "validate", "-p", str(policy)).code == 0


@pytest.mark.skipif(os.name == "nt", reason="POSIX links and modes")
def test_edit_respects_symlinks_hard_links_and_read_only(policy: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.yaml"
    link.symlink_to(policy)
    assert run_cli("allowlist", "add", "https://sym.example.eu", "-p", str(link)).code == 0
    assert link.is_symlink() and "sym.example.eu" in policy.read_text(encoding="utf-8")
    assert not [p for p in tmp_path.iterdir() if ".old" in p.name or p.name.endswith(".tmp")]
    hard = tmp_path / "hard.yaml"
    os.link(policy, hard)
    assert run_cli("allowlist", "add", "https://hard.example.eu", "-p", str(policy)).code == 0
    assert "hard.example.eu" in hard.read_text(encoding="utf-8") and hard.stat().st_ino == policy.stat().st_ino
    policy.chmod(0o444)
    before = policy.read_bytes()
    res = run_cli("allowlist", "add", "https://ro.example.eu", "-p", str(policy))
    assert res.code == 2 and "read-only" in res.err and policy.read_bytes() == before


def test_invalid_entry_blames_the_flag_not_the_file(policy: Path) -> None:
    before = policy.read_bytes()
    res = run_cli("allowlist", "add", "https://x.example.eu", "--region", "azure:atlantis", "-p", str(policy))
    assert res.code == 2 and "would make the policy invalid" in res.err and "was not changed" in res.err
    assert str(policy) + ":" not in res.err  # no file:line pointing into the user's (valid) file
    assert policy.read_bytes() == before
