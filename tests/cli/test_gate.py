"""End-to-end: `mistral-sov gate` on a real policy + exported bundle; reports validated."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import jsonschema
import pytest
from clihelp import run_cli
from junitparser import Failure, JUnitXml
from sharedpaths import shared_path

STARTER = Path(__file__).resolve().parents[2] / "templates" / "policies" / "starter.yaml"


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A clean repository: the starter policy and a freshly exported bundle."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("MISTRAL_SOV_POLICY", raising=False)
    (tmp_path / "sovereignty.yaml").write_bytes(STARTER.read_bytes())
    result = run_cli("policy", "export", "--out", "bundle")
    assert result.code == 0, result.err
    return tmp_path


def gate(*args):
    return run_cli("gate", "-q", *args)


def sarif_validator():
    schema = json.loads(shared_path("schemas/sarif/sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema)


def verdicts(path):
    return {c["name"]: c["verdict"] for c in json.loads(path.read_text(encoding="utf-8"))["checks"]}


def test_gate_clean_repo_passes(repo):
    # residency needs the network; it is covered by tests/services/test_gate_service.py
    result = gate(
        "--bundle",
        "bundle",
        "--skip",
        "residency",
        "--report",
        "json:r.json",
        "--report",
        "junit:TEST-gate.xml",
        "--report",
        "sarif:r.sarif",
    )
    assert result.code == 0, result.out + result.err
    v = verdicts(repo / "r.json")
    assert v["policy"] == v["drift"] == v["admx-lint"] == v["catalog-conflicts"] == "COMPLIANT"
    assert v["local-models"] == v["residency"] == "SKIPPED"
    xml = JUnitXml.fromfile(str(repo / "TEST-gate.xml"))
    assert xml.failures == 0 and xml.errors == 0 and xml.tests == len(v)
    sarif_validator().validate(json.loads((repo / "r.sarif").read_text(encoding="utf-8")))


def test_gate_policy_edit_without_reexport_is_drift(repo):
    policy = repo / "sovereignty.yaml"
    policy.write_text(
        policy.read_text(encoding="utf-8").replace("extra_domains: []", "extra_domains: [example-ai.test]"),
        encoding="utf-8",
    )
    result = gate("--bundle", "bundle", "--report", "json:r.json", "--report", "junit:TEST-gate.xml")
    assert result.code == 1
    data = json.loads((repo / "r.json").read_text(encoding="utf-8"))
    drift = next(c for c in data["checks"] if c["name"] == "drift")
    assert drift["verdict"] == "VIOLATION"
    changed = {f["subject"] for f in drift["findings"]}
    assert "network/hosts" in changed and "manifest.json" in changed
    case = {c.name: c for c in next(iter(JUnitXml.fromfile(str(repo / "TEST-gate.xml"))))}["drift"]
    assert isinstance(case.result[0], Failure) and "network/hosts" in case.result[0].text


def test_gate_tampered_bundle_file(repo):
    hosts = repo / "bundle" / "network" / "hosts"
    hosts.write_bytes(hosts.read_bytes().replace(b"chatgpt.com", b"chatgpt.co", 1) + b"# edited\n")
    (repo / "bundle" / "network" / "extra.txt").write_text("x", encoding="utf-8")
    result = gate("--bundle", "bundle", "--only", "drift", "--report", "json:r.json", "--report", "sarif:r.sarif")
    assert result.code == 1
    drift = json.loads((repo / "r.json").read_text(encoding="utf-8"))["checks"][1]
    assert {(f["subject"], f["evidence"]["status"]) for f in drift["findings"]} == {
        ("network/hosts", "changed"),
        ("network/extra.txt", "unexpected"),
    }
    sarif = json.loads((repo / "r.sarif").read_text(encoding="utf-8"))
    sarif_validator().validate(sarif)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif["runs"][0]["results"]
        if r["ruleId"] == "GATE-DRIFT"
    }
    assert uris == {"bundle/network/hosts", "bundle/network/extra.txt"}


def test_gate_tampered_admx_fails_lint(repo):
    admx = next((repo / "bundle").rglob("*.admx"))
    text = admx.read_text(encoding="utf-8")
    admx.write_text(text.replace("<policies>", "<policies><policy/>", 1), encoding="utf-8")
    result = gate("--bundle", "bundle", "--only", "admx-lint", "--report", "json:r.json")
    assert result.code == 1, result.err
    check = json.loads((repo / "r.json").read_text(encoding="utf-8"))["checks"][2]
    assert check["name"] == "admx-lint" and check["verdict"] == "VIOLATION"
    assert all(f["location"]["file"].endswith(".admx") for f in check["findings"])


def _with_model(repo, content: bytes, sha: str, license_id="apache-2.0"):
    (repo / "models").mkdir()
    (repo / "models" / "m.gguf").write_bytes(content)
    policy = repo / "sovereignty.yaml"
    text = policy.read_text(encoding="utf-8").replace(
        "  models: []",
        f"  models:\n    - name: tiny\n      sha256: {sha}\n      license: {license_id}\n      file: models/m.gguf",
    )
    policy.write_text(text, encoding="utf-8")
    return text.splitlines().index("    - name: tiny") + 2  # 1-based line of sha256


def test_gate_local_models_pass_and_tamper(repo):
    content = b"GGUF" + b"\0" * 64
    line = _with_model(repo, content, hashlib.sha256(content).hexdigest())
    assert gate("--only", "local-models", "--report", "json:r.json").code == 0
    assert verdicts(repo / "r.json")["local-models"] == "COMPLIANT"
    (repo / "models" / "m.gguf").write_bytes(content + b"tampered")
    result = gate("--only", "local-models", "--report", "json:r.json", "--report", "sarif:r.sarif")
    assert result.code == 1
    sarif = json.loads((repo / "r.sarif").read_text(encoding="utf-8"))
    sarif_validator().validate(sarif)
    hit = next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == "LOCAL-HASH")
    loc = hit["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "sovereignty.yaml" and loc["region"]["startLine"] == line


def test_gate_invalid_policy_is_a_located_failure(repo):
    policy = repo / "sovereignty.yaml"
    policy.write_text(
        policy.read_text(encoding="utf-8").replace("transit: strict", "transit: sometimes"), encoding="utf-8"
    )
    result = gate("--bundle", "bundle", "--report", "sarif:r.sarif", "--report", "json:r.json")
    assert result.code == 1
    v = verdicts(repo / "r.json")
    assert v["policy"] == "VIOLATION" and v["drift"] == "SKIPPED" and v["catalog-conflicts"] == "SKIPPED"
    sarif = json.loads((repo / "r.sarif").read_text(encoding="utf-8"))
    res = next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == "GATE-POLICY")
    expected_line = policy.read_text(encoding="utf-8").splitlines().index("  transit: sometimes") + 1
    assert res["locations"][0]["physicalLocation"]["region"]["startLine"] == expected_line


def test_gate_only_skipped_checks_is_inconclusive(repo):
    result = gate("--only", "local-models", "--report", "junit:TEST-gate.xml")  # no model approved
    assert result.code == 3  # nothing proven: never a pass
    xml = JUnitXml.fromfile(str(repo / "TEST-gate.xml"))
    assert xml.skipped == xml.tests
    assert gate("--only", "local-models", "--soft-fail").code == 0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--only", "drfit"), "did you mean 'drift'"),
        (("--report", "sarif"), "FORMAT:PATH"),
        (("--report", "pdf:x.pdf"), "unknown report format"),
        (("--fail-on", "sometimes"), "--fail-on"),
        (("-p", "missing.yaml"), "not found"),
    ],
)
def test_gate_bad_input_exits_2(repo, args, needle):
    result = gate(*args)
    assert result.code == 2, result.out + result.err
    assert needle in result.err and "Traceback" not in result.err


def test_gate_fail_on_warning(repo):
    policy = repo / "sovereignty.yaml"
    # a policy warning: the validator warns (not errors) about this
    text = policy.read_text(encoding="utf-8")
    assert gate("--only", "policy,catalog-conflicts").code == 0
    from mistral_sov.core.findings import Check, Finding, Report, Verdict

    report = Report("gate", "0", "t", checks=[Check("c", findings=[Finding("W", Verdict.WARNING, "w")])])
    assert int(report.exit_status("warning")) == 1 and int(report.exit_status()) == 0
    assert text == policy.read_text(encoding="utf-8")


def test_gate_github_annotations_and_summary(repo, monkeypatch):
    summary = repo / "summary.md"
    summary.write_text("previous step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    hosts = repo / "bundle" / "network" / "hosts"
    hosts.write_bytes(hosts.read_bytes() + b"# x\n")
    result = gate("--bundle", "bundle", "--only", "drift")
    assert result.code == 1
    lines = [line for line in result.out.splitlines() if line.startswith("::")]
    assert lines == [
        "::error file=bundle/network/hosts,title=VIOLATION GATE-DRIFT (drift)::bundle file "
        "'network/hosts' is changed compared with a fresh export of the policy%0Ahint: re-run "
        "`mistral-sov policy export` and deploy the result; never edit bundle files"
    ]
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("previous step\n# mistral-sov gate: ❌ VIOLATION")
    assert "| drift | ❌ VIOLATION | 1 |" in text


def test_gate_history_records_changes(repo):
    assert gate("--only", "policy", "--history", "h.sqlite").code == 0
    assert gate("--only", "policy", "--history", "h.sqlite").code == 0
    policy = repo / "sovereignty.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace("transit: strict", "transit: x"), encoding="utf-8")
    assert gate("--only", "policy", "--history", "h.sqlite").code == 1
    with sqlite3.connect(repo / "h.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 3
    result = run_cli("gate", "history", "--history", "h.sqlite", "--endpoint", "policy", "-o", "json")
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert [(r["run"], r["change"], r["verdict"]) for r in rows] == [
        (1, "first seen", "COMPLIANT"),
        (3, "verdict", "VIOLATION"),
    ]
    assert run_cli("gate", "history", "--history", "nope.sqlite").code == 2


def _gate_provenance_formats(repo) -> dict:
    """Every report format of one gate run, each read back by its own parser."""
    import lxml.html
    from markdown_it import MarkdownIt

    out = {"json": json.loads((repo / "r.json").read_text(encoding="utf-8"))["metadata"]["evidence"]}
    sarif = json.loads((repo / "r.sarif").read_text(encoding="utf-8"))
    sarif_validator().validate(sarif)
    out["sarif"] = sarif["runs"][0]["properties"]["provenance"]
    suite = next(iter(JUnitXml.fromfile(str(repo / "TEST-gate.xml"))))
    out["junit"] = {p.name: p.value for p in suite.properties()}
    doc = lxml.html.fromstring((repo / "r.html").read_bytes())
    out["html"] = {
        "rows": {r.xpath("string(th)"): r.xpath("string(td)") for r in doc.xpath("//table[@class='provenance']//tr")},
        "sources": [[c.text_content() for c in r.xpath("td")] for r in doc.xpath("//table[@class='sources']/tbody/tr")],
        "note": doc.xpath("string(//p[@class='sources-note'])"),
    }
    tokens = MarkdownIt("commonmark").enable("table").parse((repo / "r.md").read_text(encoding="utf-8"))
    out["markdown"] = [t.content for t in tokens if t.type == "inline"]
    return out


REPORTS = ["json:r.json", "junit:TEST-gate.xml", "sarif:r.sarif", "html:r.html", "markdown:r.md"]


def test_gate_reports_carry_policy_hash_zones_and_data_sources(repo):
    """The issue's "provenance in every report": the gate's reports name the policy's SHA-256
    (of the bytes read), its zones and every data source with version, date, age and SHA-256."""
    args = [a for r in REPORTS for a in ("--report", r)]
    result = gate("--skip", "residency", *args)
    assert result.code in (0, 3), result.out + result.err
    policy_sha = hashlib.sha256((repo / "sovereignty.yaml").read_bytes()).hexdigest()
    from mistral_sov import resources

    catalog_sha = hashlib.sha256(resources.path("catalog/services.yaml").read_bytes()).hexdigest()
    got = _gate_provenance_formats(repo)
    ev = got["json"]
    assert ev["policy_sha256"] == policy_sha and ev["zones"]["allowed_countries"]
    catalog = next(s for s in ev["source_ages"] if s["name"] == "ai-service-catalog")
    assert catalog["sha256"] == catalog_sha and catalog["published"] and catalog["age_days"] is not None
    assert "did not run" in ev["residency_sources"]
    assert got["sarif"]["policy_sha256"] == policy_sha
    assert any(s["sha256"] == catalog_sha for s in got["sarif"]["sources"])
    assert got["junit"]["policy_sha256"] == policy_sha
    assert json.loads(got["junit"]["source:ai-service-catalog"])["sha256"] == catalog_sha
    assert got["html"]["rows"]["Policy SHA-256"] == policy_sha
    assert got["html"]["sources"][0][0] == "ai-service-catalog" and got["html"]["sources"][0][5] == catalog_sha
    assert "did not run" in got["html"]["note"]
    assert any(policy_sha in c for c in got["markdown"]) and catalog_sha in got["markdown"]


def test_gate_reports_list_the_residency_data_sources(repo):
    """When the residency check runs, its data sources join the catalog in the gate's reports
    (an endpoint under .invalid: DNS fails at once, no tracer or network path needed)."""
    (repo / "p2.yaml").write_text(POLICY_INVALID_ENDPOINT, encoding="utf-8")
    args = [a for r in REPORTS for a in ("--report", r)]
    result = gate("-p", "p2.yaml", "--only", "policy,residency", "--timeout", "1", "--ranges-dir", "ranges", *args)
    assert result.code == 3, result.out + result.err  # unresolved: INCONCLUSIVE, never a pass
    got = _gate_provenance_formats(repo)
    names = [s["name"] for s in got["json"]["source_ages"]]
    assert names[0] == "ai-service-catalog" and "iptocc" in names and "operators" in names
    assert "residency data source" in got["json"]["residency_sources"]
    assert [r[0] for r in got["html"]["sources"]] == names
    assert {f"source:{n}" for n in names} <= set(got["junit"])
    by_name = {s["name"]: s for s in got["json"]["source_ages"]}
    assert len(by_name["iptocc"]["sha256"]) == 64 and len(by_name["operators"]["sha256"]) == 64


POLICY_INVALID_ENDPOINT = """version: 1
organization: Gate Test
zones:
  allowed_countries: [EU]
endpoints:
  - name: eu-api
    url: https://api.gate-test.invalid
blocking:
  catalog: all
  exceptions: [api.gate-test.invalid]
"""
