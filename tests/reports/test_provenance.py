"""Provenance in every report format, read back by each format's own parser (json, lxml.html,
markdown-it, jsonschema-validated SARIF, junitparser): policy SHA-256, zones, vantage,
measurement time (the Atlas timestamp), every data source with version/date/SHA-256, and per
hop which source said which country and what physics said of it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import lxml.html
import pytest
from junitparser import JUnitXml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sharedpaths import shared_path

from mistral_sov.adapters import atlas
from mistral_sov.adapters.geo import ranges
from mistral_sov.adapters.geo.countries import IptoccProvider
from mistral_sov.adapters.geo.operators import OperatorTable
from mistral_sov.core.attribution import SourceInfo
from mistral_sov.core.policy import Zones
from mistral_sov.reports import render
from mistral_sov.services.verify import Providers, RunContext, Target, judge_measurements

POLICY_SHA = "5f" * 32


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prov")
    base = shared_path("fixtures/cloud-ranges")
    index = ranges.RangeIndex([ranges.parse((base / "aws-ip-ranges.json").read_bytes(), "aws-ip-ranges.json")])
    table = OperatorTable.load()
    providers = Providers(
        geo=[IptoccProvider()],
        ranges=index,
        operators=table,
        sources=[SourceInfo("iptocc", "3", "country"), *index.infos(), table.info()],
    )
    result = {
        "type": "traceroute",
        "af": 4,
        "dst_addr": "3.120.0.10",
        "dst_name": "bedrock.example.eu",
        "prb_id": 6001,
        "msm_id": 77,
        "timestamp": 1764547200,  # 2025-12-01T00:00:00Z
        "proto": "ICMP",
        "result": [
            {"hop": 1, "result": [{"from": "80.91.250.102", "rtt": 12.0}]},
            {"hop": 2, "result": [{"from": "3.120.0.10", "rtt": 14.0}]},
        ],
    }
    results = tmp / "r.jsonl"
    results.write_text(json.dumps(result) + "\n", encoding="utf-8")
    probes = tmp / "p.json"
    probes.write_text(
        json.dumps({"results": [{"id": 6001, "country_code": "DE", "geometry": {"coordinates": [8.68, 50.11]}}]}),
        encoding="utf-8",
    )
    ctx = RunContext(
        Zones(allowed_countries=["EU"], operator_jurisdictions={"US": "warn"}),
        providers,
        "9.9",
        "2026-12-03T10:00:00+00:00",
        "sovereignty.yaml",
        POLICY_SHA,
    )
    target = Target("bedrock", "https://bedrock.example.eu", "bedrock.example.eu", 443, in_policy=True)
    return judge_measurements(
        atlas.records(results, atlas.load_probes(probes)), [target], ctx, source_file=str(results)
    )


def test_json_carries_the_evidence(report):
    doc = json.loads(render(report, "json"))
    ev = doc["metadata"]["evidence"]
    assert ev["policy_sha256"] == POLICY_SHA and ev["zones"]["allowed_countries"] == ["EU"]
    aws = next(s for s in ev["sources"] if s["name"] == "aws-ranges")
    assert aws["published"] == "2025-07-24" and len(aws["sha256"]) == 64 and aws["version"].startswith("syncToken")
    check = doc["checks"][0]["details"]
    assert check["measured_at"] == "2025-12-01T00:00:00+00:00"  # the Atlas timestamp, not the report time
    assert check["vantage"]["lat"] == 50.11 and check["vantage_country"] == "DE"
    hop = check["hops"][0]
    assert hop["claims"][0]["source"] == "iptocc" and hop["claims"][0]["country"] == "SE"
    assert hop["claims"][0]["physics"] == "passed" and hop["physics"] == "passed"


def test_html_is_a_self_contained_record(report):
    doc = lxml.html.fromstring(render(report, "html"))
    prov = {
        r.xpath("string(th)"): r.xpath("string(td)") for r in doc.xpath("//section[@id='provenance']//table[1]//tr")
    }
    assert prov["Policy SHA-256"] == POLICY_SHA
    assert "allowed_countries = EU" in prov["Zones"]
    sources = [[c.text_content() for c in r.xpath("td")] for r in doc.xpath("//table[@class='sources']/tbody/tr")]
    aws = next(r for r in sources if r[0] == "aws-ranges")
    assert aws[3] == "2025-07-24" and "STALE" in aws[4] and len(aws[5]) == 64
    rows = doc.xpath("//table[@class='hop-sources']/tbody/tr")
    cells = [c.text_content() for c in rows[0].xpath("td")]
    assert cells[2] == "SE" and "iptocc: SE (physics passed)" in cells[3] and cells[4] == "passed"
    text = doc.text_content()
    assert "measured 2025-12-01T00:00:00+00:00" in text
    vantage_rows = doc.xpath("//table[@class='vantage-points']/tbody/tr")
    assert [c.text_content() for c in vantage_rows[0].xpath("td")][:2] == ["atlas-probe:6001", "DE"]


def test_markdown_provenance_parses(report):
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(render(report, "markdown").decode("utf-8"))
    inline = [t.content for t in tokens if t.type == "inline"]
    assert any(POLICY_SHA in c for c in inline)
    header_i = next(i for i, c in enumerate(inline) if c == "Source")
    row = inline[header_i + 6 : header_i + 12]
    assert row[0] in ("iptocc", "aws-ranges", "operators")
    aws = inline[inline.index("aws-ranges") : inline.index("aws-ranges") + 6]
    assert aws[3] == "2025-07-24" and len(aws[5]) == 64
    assert any("iptocc: SE (physics passed)" in c for c in inline)


def test_sarif_provenance_validates(report):
    schema = json.loads(shared_path("schemas/sarif/sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    doc = json.loads(render(report, "sarif"))
    jsonschema.validators.validator_for(schema)(schema).validate(doc)
    run = doc["runs"][0]
    prov = run["properties"]["provenance"]
    assert prov["policy_sha256"] == POLICY_SHA and any(s["name"] == "aws-ranges" for s in prov["sources"])
    results = [r for r in run["results"] if r["properties"].get("measuredAt")]
    assert results and results[0]["properties"]["measuredAt"] == "2025-12-01T00:00:00+00:00"
    assert results[0]["properties"]["vantage"]["lon"] == 8.68


def test_junit_provenance_parses(report, tmp_path):
    path = tmp_path / "TEST-residency.xml"
    path.write_bytes(render(report, "junit"))
    suite = next(iter(JUnitXml.fromfile(str(path))))
    props = {p.name: p.value for p in suite.properties()}
    assert props["policy_sha256"] == POLICY_SHA
    assert json.loads(props["zones"])["allowed_countries"] == ["EU"]
    aws = json.loads(props["source:aws-ranges"])
    assert aws["published"] == "2025-07-24" and aws["stale"] is True
    case = next(c for c in suite if "6001" in c.name)
    assert "measured 2025-12-01T00:00:00+00:00" in case.system_out
    assert "iptocc: SE (physics passed)" in case.system_out


@pytest.mark.parametrize("fmt", ["markdown", "html", "junit", "console"])
def test_a_check_without_vantage_says_so_in_words(fmt, tmp_path):
    """No vantage point: every human-readable format says physics was not evaluated, never
    'vantage None' (and a check that never traced names no empty method)."""
    import dataclasses

    from reports_samples import residency_report

    base = residency_report()
    no_vantage = [
        dataclasses.replace(c, residency=dataclasses.replace(c.residency, vantage=None, method="", tracer=""))
        for c in base.checks
        if c.residency is not None
    ]
    report = dataclasses.replace(base, checks=no_vantage)
    data = render(report, fmt)
    if fmt == "html":
        text = lxml.html.fromstring(data).text_content()
    elif fmt == "junit":
        path = tmp_path / "TEST-r.xml"
        path.write_bytes(data)
        text = "\n".join(c.system_out or "" for suite in JUnitXml.fromfile(str(path)) for c in suite)
    elif fmt == "markdown":
        from markdown_it import MarkdownIt

        tokens = MarkdownIt("commonmark").enable("table").parse(data.decode("utf-8"))
        text = "\n".join(t.content for t in tokens if t.type == "inline")
    else:
        text = data.decode("utf-8")
    if fmt != "console":  # the console lists findings, not the hop table
        assert "no vantage (physics not evaluated)" in text
    assert "None" not in text and "vantage none" not in text.lower()
    assert "method  ()" not in text
