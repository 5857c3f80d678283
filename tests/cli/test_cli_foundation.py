"""init, policy validate/schema/regions, catalog, allowlist, CLI conventions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from clihelp import run_cli

import mistral_sov


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "sovereignty.yaml"
    result = run_cli("init", str(path))
    assert result.code == 0, result.err
    return path


def test_version() -> None:
    result = run_cli("--version")
    assert result.code == 0 and result.out.strip() == f"mistral-sov {mistral_sov.__version__}"


def test_python_dash_m_and_help_is_light() -> None:
    heavy = ["scapy", "llama_cpp", "lxml", "maxminddb", "cryptography", "rich.table", "dns", "httpx", "yaml"]
    code = (
        "import sys, runpy\n"
        "sys.argv = ['mistral-sov', '--help']\n"
        "try:\n    runpy.run_module('mistral_sov', run_name='__main__')\n"
        "except SystemExit as e:\n    assert e.code == 0, e.code\n"
        f"print([m for m in {heavy!r} if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Usage: mistral-sov" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_init_refuses_overwrite_and_writes_schema(policy: Path) -> None:
    again = run_cli("init", str(policy))
    assert again.code == 2 and "already exists" in again.err and "--force" in again.err
    schema = json.loads((policy.parent / "sovereignty.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    text = policy.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=sovereignty.schema.json")
    jsonschema.Draft202012Validator(schema).validate(yaml.safe_load(text))


def test_validate_ok_json_and_errors(policy: Path, tmp_path: Path) -> None:
    ok = run_cli("policy", "validate", "-p", str(policy), "-o", "json")
    assert ok.code == 0, ok.err
    summary = json.loads(ok.out)
    assert summary["valid"] and summary["blocked_domains"] > 200
    bad = tmp_path / "bad.yaml"
    bad.write_text(policy.read_text(encoding="utf-8").replace("transit: strict", "transit: loose"), encoding="utf-8")
    res = run_cli("policy", "validate", "-p", str(bad))
    assert res.code == 2
    assert res.err.startswith(f"{bad}:15:12: error: zones.transit:")


def test_policy_env_var_default(policy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTRAL_SOV_POLICY", str(policy))
    assert run_cli("policy", "validate").code == 0
    monkeypatch.delenv("MISTRAL_SOV_POLICY")
    monkeypatch.chdir(policy.parent.parent)
    missing = run_cli("policy", "validate")
    assert missing.code == 2 and "mistral-sov init" in missing.err


def test_usage_errors_exit_2_without_traceback(policy: Path) -> None:
    res = run_cli("policy", "validate", str(policy))
    assert res.code == 2 and "Traceback" not in res.err
    assert run_cli("policy", "validate", "-p", str(policy), "-o", "xml").code == 2


def test_schema_command() -> None:
    res = run_cli("policy", "schema")
    schema = json.loads(res.out)
    assert schema["title"].startswith("mistral-sov policy")
    assert "endpoints" in schema["properties"]


def test_regions_lists_non_eu_pitfalls() -> None:
    res = run_cli("policy", "regions", "aws", "-o", "json")
    rows = {r["region"]: r for r in json.loads(res.out)}
    assert rows["aws:eu-west-2"]["country"] == "GB" and rows["aws:eu-west-2"]["eu"] is False
    assert rows["aws:eu-central-1"]["eu"] is True
    assert run_cli("policy", "regions", "ibm").code == 2


def test_catalog_list_and_show() -> None:
    res = run_cli("catalog", "list", "--category", "translation", "-o", "json")
    services = json.loads(res.out)
    assert services and all("translation" in s["categories"] for s in services)
    assert any(s["id"] == "deepl" for s in services)
    yml = yaml.safe_load(run_cli("catalog", "show", "openai-chatgpt", "-o", "yaml").out)
    assert "chatgpt.com" in yml["domains"]
    table = run_cli("catalog", "list")
    assert table.code == 0 and "ChatGPT" in table.out
    unknown = run_cli("catalog", "show", "chatgtp")
    assert unknown.code == 2 and "did you mean" in unknown.err
    assert run_cli("catalog", "list", "--category", "imagez").code == 2


def test_no_colour_when_not_a_tty() -> None:
    res = run_cli("catalog", "list", "--category", "search")
    assert "\x1b[" not in res.out


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


@pytest.mark.skipif(os.name == "nt", reason="completion scripts are shell specific")
def test_shell_completion_available() -> None:
    res = run_cli("--show-completion", "bash")
    assert res.code == 0


def test_lazy_subcommands_build_and_their_help_lines_match() -> None:
    from mistral_sov.cli.app import SUBCOMMANDS, build_subcommand

    for name, (_module, _attr, help_line) in SUBCOMMANDS.items():
        command = build_subcommand(name)
        assert command.name == name
        real = (command.help or "").strip().splitlines()[0]
        assert real == help_line, (name, real)
    root = run_cli("--help")
    assert all(name in root.out for name in SUBCOMMANDS)
    sub = run_cli("gate", "--help")
    assert sub.code == 0 and "--soft-fail" in sub.out and "\x1b[" not in sub.out


def test_legacy_code_page_output_does_not_crash(tmp_path: Path) -> None:
    policy = tmp_path / "s.yaml"
    policy.write_text("version: 1\norganization: Škoda Česká spořitelna → 東京\n", encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "cp1252"}
    out = subprocess.run(
        [sys.executable, "-m", "mistral_sov", "policy", "validate", "-p", str(policy), "-o", "json"],
        capture_output=True,
        env=env,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert b'"organization": "\x8akoda' in out.stdout and b"?" in out.stdout
