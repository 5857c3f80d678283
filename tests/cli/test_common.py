"""cli/common.py: the one machine-readable result shape. `policy validate -o json` and every
failing command given -o json|yaml print {"valid","exit_code","errors","warnings"} on stdout,
checked against the JSON Schema shipped in the wheel (templates/schemas/cli/)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from clihelp import run_cli

from mistral_sov import resources
from mistral_sov.cli.common import requested_output

SCHEMA = json.loads(resources.read_text("schemas/cli/result.schema.json"))


def _check(doc: dict) -> dict:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)
    return doc


def test_validate_json_valid_and_invalid(policy: Path, tmp_path: Path) -> None:
    ok = run_cli("policy", "validate", "-p", str(policy), "-o", "json")
    doc = _check(json.loads(ok.out))
    assert ok.code == 0 and doc["valid"] is True and doc["errors"] == [] and doc["blocked_domains"] > 200
    bad = tmp_path / "bad.yaml"
    text = policy.read_text(encoding="utf-8").replace("transit: strict", "transit: loose")
    bad.write_text(text, encoding="utf-8")
    res = run_cli("policy", "validate", "-p", str(bad), "-o", "json")
    doc = _check(json.loads(res.out))
    assert res.code == 2 and doc["valid"] is False and doc["exit_code"] == 2
    first = doc["errors"][0]
    assert (first["file"], first["field"]) == (str(bad), "zones.transit") and first["line"] == 15
    assert first["hint"] and first["column"] == 12 and first["severity"] == "error"
    assert f"{bad}:15:12: error: zones.transit:" in res.err  # humans still get the located text


@pytest.mark.parametrize(
    "args",
    [
        ("policy", "validate", "-p", "missing.yaml"),
        ("allowlist", "list", "-p", "missing.yaml"),
        ("policy", "regions", "nope"),
        ("policy", "diff", "missing-a.yaml", "missing-b.yaml"),
        ("gate", "--method", "foo"),
        ("catalog", "show", "no-such-service"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_any_exit_2_error_has_the_same_shape(args: tuple[str, ...], fmt: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    res = run_cli(*args, "-o", fmt)
    assert res.code == 2, res
    doc = _check(json.loads(res.out) if fmt == "json" else yaml.safe_load(res.out))
    assert doc["valid"] is False and doc["exit_code"] == 2 and doc["errors"][0]["message"]


@pytest.mark.parametrize(
    ("argv", "fmt"),
    [
        (["-o", "json"], "json"),
        (["--output", "YAML"], "yaml"),
        (["--output=json"], "json"),
        (["-ojson"], "json"),
        (["-o", "table"], None),
        (["--out", "json"], None),
        ([], None),
    ],
)
def test_requested_output(argv: list[str], fmt: str | None) -> None:
    assert requested_output(["policy", "validate", *argv]) == fmt
