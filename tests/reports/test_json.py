from __future__ import annotations

import json

from reports_samples import gate_report, residency_report

from mistral_sov.reports import render


def test_reports_json_is_full_and_deterministic():
    report = residency_report()
    first = render(report, "json")
    assert first == render(residency_report(), "json")
    data = json.loads(first)
    assert data["schema_version"] == 1
    expected = report.to_dict()
    assert {k: v for k, v in data.items() if k != "schema_version"} == json.loads(json.dumps(expected))
    assert data["verdict"] == "VIOLATION"
    assert data["checks"][1]["details"]["hops"][1]["country"] == "US"


def test_reports_json_gate_verdicts():
    data = json.loads(render(gate_report(), "json"))
    assert [c["verdict"] for c in data["checks"]] == ["COMPLIANT", "VIOLATION", "SKIPPED", "INCONCLUSIVE", "WARNING"]
    assert data["checks"][2]["skipped_reason"].startswith("no bundle")
