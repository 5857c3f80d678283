"""`allowlist check/add/remove`."""

from __future__ import annotations

import json
from pathlib import Path

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
