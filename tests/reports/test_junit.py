"""JUnit parsed by junitparser: counts and outcomes per verdict."""

from __future__ import annotations

from junitparser import Error, Failure, JUnitXml, Skipped
from reports_samples import gate_report, residency_report

from mistral_sov.reports import render


def _load(tmp_path, data):
    path = tmp_path / "TEST-report.xml"
    path.write_bytes(data)
    return JUnitXml.fromfile(str(path))


def _outcomes(xml):
    out = {}
    for suite in xml:
        for case in suite:
            kinds = [type(r).__name__ for r in case.result]
            out[case.name] = kinds[0] if kinds else "passed"
    return out


def test_reports_junit_gate_counts(tmp_path):
    xml = _load(tmp_path, render(gate_report(), "junit"))
    suite = next(iter(xml))
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (5, 1, 1, 1)
    assert (xml.tests, xml.failures, xml.errors, xml.skipped) == (5, 1, 1, 1)
    assert _outcomes(xml) == {
        "policy": "passed",
        "drift": "Failure",
        "admx-lint": "Skipped",
        "local-models": "Error",  # inconclusive is never a pass
        "catalog-conflicts": "passed",  # a warning passes by default...
    }
    case = {c.name: c for c in suite}["catalog-conflicts"]
    assert "GATE-CONFLICT" in case.system_out
    drift = {c.name: c for c in suite}["drift"]
    failure = drift.result[0]
    assert isinstance(failure, Failure) and failure.type == "GATE-DRIFT"
    assert "mistral-sov policy export" in failure.text
    skipped = {c.name: c for c in suite}["admx-lint"].result[0]
    assert isinstance(skipped, Skipped) and "--bundle" in skipped.message


def test_reports_junit_fail_on_warning(tmp_path):
    xml = _load(tmp_path, render(gate_report(), "junit", fail_on="warning"))
    assert _outcomes(xml)["catalog-conflicts"] == "Failure"  # ...and fails under fail_on=warning
    assert xml.failures == 2


def test_reports_junit_residency_one_case_per_endpoint(tmp_path):
    xml = _load(tmp_path, render(residency_report(), "junit"))
    suite = next(iter(xml))
    cases = {c.name: c for c in suite}
    assert set(cases) == {"mistral-eu", "openai-us"}
    assert isinstance(cases["openai-us"].result[0], Failure)
    assert "203.0.113.1" in cases["openai-us"].system_out
    assert cases["mistral-eu"].is_passed and "198.51.100.7" in cases["mistral-eu"].system_out
    assert abs(cases["openai-us"].time - 1.5) < 1e-6
    assert not any(isinstance(r, Error) for r in cases["mistral-eu"].result)
