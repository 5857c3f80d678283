"""CLI conventions: version, light --help, usage errors, colour, completion, lazy sub-commands, code pages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from clihelp import run_cli

import mistral_sov


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


def test_usage_errors_exit_2_without_traceback(policy: Path) -> None:
    res = run_cli("policy", "validate", str(policy))
    assert res.code == 2 and "Traceback" not in res.err
    assert run_cli("policy", "validate", "-p", str(policy), "-o", "xml").code == 2


def test_no_colour_when_not_a_tty() -> None:
    res = run_cli("catalog", "list", "--category", "search")
    assert "\x1b[" not in res.out


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


def test_tables_respect_columns_and_never_pad(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    res = run_cli("catalog", "list")
    lines = res.out.splitlines()
    assert res.code == 0 and len(lines) > 5
    assert max(len(line) for line in lines) <= 60
    assert all(line == line.rstrip() for line in lines)  # no trailing padding in pipes
    monkeypatch.delenv("COLUMNS")
    res = run_cli("catalog", "show", "openai-chatgpt")
    assert res.code == 0 and all(line == line.rstrip() for line in res.out.splitlines())
