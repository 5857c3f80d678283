"""`mistral-sov policy effective`: sources of every value; managed files that are broken exit 2
with their position, never a traceback and never the YAML's value instead."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mistral_sov.adapters import managed
from mistral_sov.cli.app import main

DATA = Path(__file__).resolve().parents[1] / "data" / "policy-export.yaml"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


@pytest.fixture
def policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "sovereignty.yaml"
    shutil.copy(DATA, path)
    monkeypatch.setattr(managed, "MANAGED_JSON", tmp_path / "etc" / "managed.json")
    monkeypatch.setattr(managed, "MACOS_PLIST", tmp_path / "absent.plist")
    return path


def test_effective_without_managed_policy_names_yaml_and_defaults(capsys, policy):
    code, out, err = run(capsys, "policy", "effective", "-p", str(policy), "-o", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["managed"] == {}
    rows = {r["setting"]: r for r in doc["settings"]}
    assert rows["local_inference.daily_quota"]["source"].startswith(f"yaml: {policy}:")
    assert rows["local_inference.max_tokens"]["source"] == "default"


def test_effective_with_system_managed_json_overrides_yaml(capsys, policy):
    etc = managed.MANAGED_JSON
    etc.parent.mkdir()
    etc.write_text(json.dumps({"EnforceLocalOnly": True, "ApprovedModels": {"smollm2": "B" * 64}}), encoding="utf-8")
    code, out, err = run(capsys, "policy", "effective", "-p", str(policy), "-o", "json")
    assert code == 0, err
    rows = {r["setting"]: r for r in json.loads(out)["settings"]}
    assert rows["local_inference.enforce_local_only"] == {
        "setting": "local_inference.enforce_local_only",
        "value": True,
        "source": f"managed: {etc}",
    }
    assert rows["local_inference.models"]["value"] == [
        {"name": "smollm2", "sha256": "b" * 64, "license": "NOASSERTION"}
    ]
    code, out, err = run(capsys, "policy", "effective", "-p", str(policy))
    assert code == 0 and "managed:" in out


def test_effective_previews_an_exported_registry_pol(capsys, policy, tmp_path):
    bundle = tmp_path / "bundle"
    assert run(capsys, "policy", "export", "-p", str(policy), "--out", str(bundle), "--format", "gpo")[0] == 0
    pol = bundle / "gpo/Machine/Registry.pol"
    code, out, err = run(capsys, "policy", "effective", "-p", str(policy), "--managed", str(pol), "-o", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc["managed"]) == {
        "ApprovedEndpoints",
        "DefaultEndpoint",
        "AllowedRegions",
        "EnforceLocalOnly",
        "BlockPublicAI",
        "ApprovedModels",
    }


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        ('{"EnforceLocalOnly": tru}', ":1:22: error: the managed policy file is not valid JSON"),
        ('{"EnforceLocalOnly": "yes"}', "must be a REG_DWORD 0 or 1 (JSON/plist: true or false)"),
        ('{"ApprovedModels": {"m": 12}}', "must be a string"),
    ],
)
def test_broken_system_managed_file_exits_2_with_position(capsys, policy, content, expect):
    etc = managed.MANAGED_JSON
    etc.parent.mkdir()
    etc.write_text(content, encoding="utf-8")
    code, _out, err = run(capsys, "policy", "effective", "-p", str(policy))
    assert code == 2
    assert expect in err and "Traceback" not in err


def test_verify_residency_checks_the_managed_endpoints_not_the_yaml_ones(capsys, policy, tmp_path):
    from sharedpaths import shared_path

    etc = managed.MANAGED_JSON
    etc.parent.mkdir()
    etc.write_text(json.dumps({"ApprovedEndpoints": {"corp-llm": "https://llm.corp.example.eu/v1"}}), encoding="utf-8")
    results = shared_path("fixtures/ripe-atlas/traceroutes.jsonl")
    code, out, err = run(
        capsys,
        "verify-residency",
        "-p",
        str(policy),
        "--ranges-dir",
        str(tmp_path / "no-ranges"),
        "--from-atlas",
        str(results),
        "-o",
        "json",
    )
    assert code == 3, err
    assert "managed policy: 1 setting(s)" in err
    checks = json.loads(out)["checks"]
    missing = [
        c for c in checks if c["verdict"] == "INCONCLUSIVE" and c["findings"][0]["rule_id"] == "RES-NO-MEASUREMENT"
    ]
    text = json.dumps(missing)
    assert "llm.corp.example.eu" in text and "api.mistral.ai" not in text and "klinikum" not in text


def test_policy_validate_checks_the_oidc_section(capsys, tmp_path):
    path = tmp_path / "sovereignty.yaml"
    path.write_text(
        "version: 1\norganization: T\nlocal_inference:\n  oidc:\n    issuer: http://idp.example.com\n"
        "    audience: [api://x]\n    algorithms: [none]\n",
        encoding="utf-8",
    )
    code, _out, err = run(capsys, "policy", "validate", "-p", str(path))
    assert code == 2 and f"{path}:7:" in err and "algorithms" in err
    path.write_text(path.read_text("utf-8").replace("algorithms: [none]", "model_groups: {ghost: [g]}"), "utf-8")
    code, _out, err = run(capsys, "policy", "validate", "-p", str(path))
    assert code == 2 and f"{path}:5:13: error: local_inference.oidc.issuer" in err and "must be an https URL" in err
    assert "model_groups names 'ghost'" in err
