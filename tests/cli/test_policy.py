"""`policy validate/schema/regions` and the policy env var."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clihelp import run_cli


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
