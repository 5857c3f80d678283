"""The gate service with adapters passed as callables: selection, never-a-false-pass, residency
locations, catalog conflicts, route history."""

from __future__ import annotations

import json

import pytest

from mistral_sov.adapters.catalogfile import load_catalog
from mistral_sov.adapters.history import changes, record
from mistral_sov.adapters.policyfile import parse_policy
from mistral_sov.core.findings import Check, Finding, Verdict
from mistral_sov.errors import InconclusiveError, InputError, MissingBackendError
from mistral_sov.reports import render
from mistral_sov.services import gate

POLICY = """version: 1
organization: Test
endpoints:
  - name: eu-ok
    url: https://api.mistral.ai
  - name: leaky
    url: https://leaky.example.test
blocking:
  catalog: none
  exceptions: [api.mistral.ai]
"""


@pytest.fixture
def loaded():
    return parse_policy(POLICY.encode(), "sovereignty.yaml", load_catalog())


def _trace(name, addresses, countries, verdict_hop=None):
    hops = [
        {"ttl": i + 1, "address": a, "country": c} for i, (a, c) in enumerate(zip(addresses, countries, strict=True))
    ]
    findings = []
    if verdict_hop:
        findings.append(
            Finding("RES-COUNTRY", Verdict.VIOLATION, f"hop {verdict_hop} in US", subject=name, hop=verdict_hop)
        )
    return Check(name, findings=findings, details={"endpoint": name, "hops": hops, "reached": True})


def test_gate_service_selection_and_skips():
    units = [
        gate.Unit("policy", lambda: Check("policy")),
        gate.Unit("drift", lambda: (_ for _ in ()).throw(MissingBackendError("no exporter", hint="install x"))),
        gate.Unit("local-models", lambda: (_ for _ in ()).throw(InconclusiveError("disk unreadable"))),
    ]
    report = gate.run_gate(units, skip=["catalog-conflicts"])
    by = {c.name: c for c in report.checks}
    assert list(by) == list(gate.CHECKS)
    assert by["drift"].verdict is Verdict.SKIPPED and "install x" in by["drift"].skipped_reason
    assert by["local-models"].verdict is Verdict.INCONCLUSIVE
    assert by["residency"].skipped_reason == "not wired in this build"
    assert by["catalog-conflicts"].skipped_reason.endswith("(--skip)")
    assert report.verdict is Verdict.INCONCLUSIVE and int(report.exit_status()) == 3
    only = gate.run_gate([gate.Unit("policy", lambda: Check("policy"))], only=["residency"])
    assert only.verdict is Verdict.INCONCLUSIVE  # only skipped checks: never a pass
    with pytest.raises(InputError, match="unknown check"):
        gate.parse_check_list(["policy,residncy"], "--only")


def test_gate_service_residency_points_at_endpoint_line(loaded, tmp_path):
    def verify(_policy):
        return [
            _trace("eu-ok", ["10.0.0.1", "192.0.2.1"], [None, "FR"]),
            _trace("leaky", ["10.0.0.1", "203.0.113.1"], [None, "US"], verdict_hop=2),
        ]

    report = gate.run_gate(
        [gate.Unit("residency", lambda: gate.residency_checks(loaded.policy, loaded.where, verify))],
        only=["residency"],
        policy_file="sovereignty.yaml",
    )
    names = [c.name for c in report.checks if c.name.startswith("residency:")]
    assert names == ["residency:eu-ok", "residency:leaky"]  # one testcase per endpoint
    sarif = json.loads(render(report, "sarif", base_dir=tmp_path))
    result = next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == "RES-COUNTRY")
    region = result["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] == POLICY.splitlines().index("    url: https://leaky.example.test") + 1
    assert report.verdict is Verdict.VIOLATION


def test_gate_service_catalog_conflict(loaded):
    policy = loaded.policy.model_copy(deep=True)
    policy.blocking.extra_domains = ["example.test"]
    check = gate.catalog_conflicts_check(policy, load_catalog(), loaded.where)
    assert [f.subject for f in check.findings] == ["leaky"]
    assert check.findings[0].location.line == POLICY.splitlines().index("    url: https://leaky.example.test") + 1
    assert gate.catalog_conflicts_check(loaded.policy, load_catalog(), loaded.where).verdict is Verdict.COMPLIANT


def test_gate_service_history_route_change(loaded, tmp_path):
    db = tmp_path / "h.sqlite"
    routes = [
        (["10.0.0.1", "192.0.2.1"], None),
        (["10.0.0.1", "192.0.2.1"], None),
        (["10.0.0.1", "203.0.113.1"], 2),  # the route moved through the US
        (["10.0.0.1", "203.0.113.1"], 2),
    ]
    for i, (addrs, bad) in enumerate(routes):
        check = _trace("leaky", addrs, [None, "US" if bad else "DE"], verdict_hop=bad)
        report = gate.run_gate(
            [
                gate.Unit(
                    "residency", lambda c=check: gate.residency_checks(loaded.policy, loaded.where, lambda _p: [c])
                )
            ],
            only=["residency"],
            generated_at=f"2025-01-0{i + 1}T00:00:00Z",
        )
        record(db, report, gate.route_fingerprint)
    rows = changes(db, "leaky")
    assert [(r.run_id, r.what) for r in rows] == [(1, "first seen"), (3, "verdict + route")]
    assert rows[1].hops == "10.0.0.1 > 203.0.113.1" and rows[1].previous_verdict == "COMPLIANT"
    assert gate.route_fingerprint(Check("x")) == ""
    (tmp_path / "junk.sqlite").write_bytes(b"not a database" * 100)
    with pytest.raises(InputError, match="not a mistral-sov history"):
        changes(tmp_path / "junk.sqlite")
