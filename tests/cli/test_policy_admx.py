"""`mistral-sov policy lint-admx`: exit 0 clean, 1 errors, 2 unreadable input; JSON output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clihelp import run_cli

from mistral_sov.adapters.catalogfile import load_catalog
from mistral_sov.adapters.exporters import gpo
from mistral_sov.ports import ExportOptions

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def admx(tmp_path: Path) -> Path:
    from mistral_sov.adapters.policyfile import load_policy

    catalog = load_catalog()
    policy = load_policy(REPO / "tests/data/policy-export.yaml", catalog).policy
    for a in gpo.EXPORTER.render(policy, catalog, ExportOptions()):
        target = tmp_path / a.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(a.data)
    return tmp_path / "gpo/PolicyDefinitions/MistralSov.admx"


def test_clean_exit_0(admx: Path) -> None:
    result = run_cli("policy", "lint-admx", str(admx))
    assert result.code == 0, result.out + result.err
    assert "0 error(s), 0 warning(s)" in result.out


def test_errors_exit_1_with_location(admx: Path) -> None:
    text = admx.read_text(encoding="utf-8").replace('ref="Cat_MistralAI"', 'ref="Cat_Missing"')
    admx.write_bytes(text.encode("utf-8"))
    result = run_cli("policy", "lint-admx", str(admx), "--adml-dir", str(admx.parent))
    assert result.code == 1
    assert f"{admx}:15:1: error: category: category 'Cat_Missing' is not defined" in result.out


def test_json_output(admx: Path) -> None:
    (admx.parent / "fr-FR/MistralSov.adml").unlink()
    text = admx.read_text(encoding="utf-8").replace(
        r'key="Software\Policies\Mistral AI\Sovereign\AllowedRegions"', r'key="System\Foo"'
    )
    admx.write_bytes(text.encode("utf-8"))
    result = run_cli("policy", "lint-admx", str(admx), "-o", "json")
    assert result.code == 0  # warnings only
    data = json.loads(result.out)
    assert data["errors"] == 0 and data["warnings"] == 1
    assert data["diagnostics"][0]["rule"] == "intune-path" and data["diagnostics"][0]["line"] > 0


def test_unreadable_exit_2(tmp_path: Path) -> None:
    result = run_cli("policy", "lint-admx", str(tmp_path / "missing.admx"))
    assert result.code == 2 and "cannot read" in result.err
    bad = tmp_path / "bad.admx"
    bad.write_bytes(b"<policyDefinitions>\n<oops>\n")
    result = run_cli("policy", "lint-admx", str(bad))
    assert result.code == 2 and "bad.admx:" in result.err and "Traceback" not in result.err
