"""SARIF validates against the official 2.1.0 schema; levels, locations, fingerprints."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from reports_samples import gate_report, residency_report
from sharedpaths import shared_path

from mistral_sov.reports import render


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(shared_path("schemas/sarif/sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _validate(validator, doc):
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


@pytest.mark.parametrize("make", [residency_report, gate_report])
def test_reports_sarif_validates(validator, make):
    _validate(validator, json.loads(render(make(), "sarif")))


def test_reports_sarif_content(validator, tmp_path):
    policy = tmp_path / "repo" / "sovereignty.yaml"
    doc = json.loads(render(residency_report(str(policy)), "sarif", base_dir=tmp_path / "repo"))
    run = doc["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert set(rules) == {"RES-UNKNOWN-HOP", "RES-COUNTRY", "RES-UNREACHED"}
    for rule in rules.values():
        assert rule["shortDescription"]["text"] and rule["help"]["text"]
    results = run["results"]
    assert [r["level"] for r in results] == ["warning", "error", "error", "error"]
    for r in results:
        assert run["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
        loc = r["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == "sovereignty.yaml"  # relative to the repo
    violation = results[1]
    assert violation["locations"][0]["physicalLocation"]["region"] == {"startLine": 27, "startColumn": 5}
    fps = [r["partialFingerprints"]["mistralSov/v1"] for r in results]
    assert len(set(fps)) == len(fps), "fingerprints are unique within a run"
    # stable: the same findings with moved lines and different measurements keep their fingerprints
    moved = residency_report(str(policy))
    for check in moved.checks:
        for f in check.findings:
            object.__setattr__(f, "location", type(f.location)(f.location.file, f.location.line + 3, 1))
            f.message += " (80.9 ms)"
    fps2 = [
        r["partialFingerprints"]["mistralSov/v1"]
        for r in json.loads(render(moved, "sarif", base_dir=tmp_path / "repo"))["runs"][0]["results"]
    ]
    assert fps == fps2


def test_reports_sarif_fail_on_warning_and_synthetic_results(validator):
    doc = json.loads(render(gate_report(), "sarif", fail_on="warning"))
    _validate(validator, doc)
    by_rule = {r["ruleId"]: r for r in doc["runs"][0]["results"]}
    assert by_rule["GATE-CONFLICT"]["level"] == "error"
    assert by_rule["CHECK-INCONCLUSIVE"]["level"] == "error"  # inconclusive is never a pass
    assert by_rule["CHECK-SKIPPED"]["level"] == "note"
    assert "no bundle directory" in by_rule["CHECK-SKIPPED"]["message"]["text"]
    # the bundle file is relative, kept as given; findings without a file point at the policy
    assert (
        by_rule["GATE-DRIFT"]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        == "bundle/admx/MistralSov.admx"
    )
    assert by_rule["CHECK-SKIPPED"]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "sovereignty.yaml"


def test_reports_sarif_path_outside_base_is_file_uri(tmp_path):
    doc = json.loads(
        render(residency_report(str(tmp_path / "elsewhere" / "p.yaml")), "sarif", base_dir=tmp_path / "repo")
    )
    uri = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == (tmp_path / "elsewhere" / "p.yaml").as_uri()
    assert Path(tmp_path).as_uri() in uri
