"""HTML: parses with lxml, self-contained, every hop in the SVG diagram, hostile strings escaped."""

from __future__ import annotations

import copy

import lxml.html
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reports_samples import gate_report, residency_report

from mistral_sov.core.findings import Finding, Verdict
from mistral_sov.reports import render


def _doc(report):
    return lxml.html.document_fromstring(render(report, "html"))


def test_reports_html_self_contained_with_diagram():
    report = residency_report()
    doc = _doc(report)
    assert doc.xpath("//script") == []
    for el in doc.xpath("//*[@src] | //link"):
        raise AssertionError(f"external asset: {lxml.html.tostring(el)!r}")
    assert all(h.startswith("#") for h in doc.xpath("//a/@href"))
    assert "VIOLATION" in doc.xpath("string(//span[contains(@class,'banner')])")
    svgs = doc.xpath("//section//svg")
    assert len(svgs) == 2
    for check, svg in zip(report.checks, svgs, strict=True):
        groups = svg.xpath(".//g[@class='hop']")
        assert [g.get("data-ttl") for g in groups] == [str(h["ttl"]) for h in check.detail_dict["hops"]]
        text = svg.text_content()
        for h in check.detail_dict["hops"]:
            if h["address"]:
                assert h["address"] in text
            if h["operator"]:
                assert h["operator"] in text
            if h["country"]:
                assert h["country"] in text
        assert "vantage Frankfurt" in text
    good, bad = svgs
    assert "◀ destination" in good.text_content()
    assert bad.xpath(".//g[@class='destination']"), "unreached destination is drawn separately"
    assert "not reached" in bad.text_content()
    # hop colours come from the verify service's findings: violations red, silent hop grey
    fills = {g.get("data-ttl"): g.xpath("./circle[last()]/@fill")[0] for g in bad.xpath(".//g[@class='hop']")}
    assert fills["2"] == "#c62828" and fills["3"] == "#c62828"
    good_fills = {g.get("data-ttl"): g.xpath("./circle[last()]/@fill")[0] for g in good.xpath(".//g[@class='hop']")}
    assert good_fills["3"] == "#ef6c00"  # the warning finding on the silent hop
    assert "≤980 km fibre" in bad.text_content() or "≤8,020 km fibre" in bad.text_content()
    # findings table with hints
    assert "route this endpoint through an EU region" in doc.text_content()


def test_reports_html_gate_report():
    doc = _doc(gate_report())
    text = doc.text_content()
    assert "no bundle directory given" in text
    assert len(doc.xpath("//section")) == 5
    assert doc.xpath("//svg//g[@class='hop']") == []


hostile = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40) | st.sampled_from(
    ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "]]><!--", "&amp;&lt;", "</svg><b>x"]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=hostile, operator=hostile, message=hostile, address=hostile)
def test_reports_html_escapes_hostile_strings(name, operator, message, address):
    report = residency_report()
    check = report.checks[1]
    check.name = name
    details = copy.deepcopy(check.residency)
    details.endpoint = name
    details.hops[1].operator = operator
    details.hops[1].address = address
    check.residency = details
    check.findings.append(Finding("RES-X", Verdict.VIOLATION, message, subject=name, hint=message))
    doc = _doc(report)
    assert doc.xpath("//script") == [] and doc.xpath("//img") == []
    assert not doc.xpath("//*[@onerror]")
    sections = doc.xpath("//section")
    assert len(sections) == 2
    text = doc.text_content()

    def norm(s):
        # what a browser shows: invalid XML characters replaced, CR/LF normalised
        import re

        s = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "\ufffd", s)
        return s.replace("\r\n", "\n").replace("\r", "\n")

    for value in (name, operator, message, address):
        assert norm(value).strip() in text.replace("\r", "\n") or not norm(value).strip()
    svg = sections[1].xpath(".//svg")[0]
    assert len(svg.xpath(".//g[@class='hop']")) == 3
