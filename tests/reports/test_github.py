"""GitHub workflow-command annotations: format, escaping, per-kind cap."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from reports_samples import gate_report, residency_report

from mistral_sov.core.findings import Check, Finding, Report, SourceLocation, Verdict
from mistral_sov.reports import render
from mistral_sov.reports.github import escape_data, escape_property

LINE = re.compile(r"^::(error|warning|notice)( ([a-zA-Z]+=[^,:]*)(,[a-zA-Z]+=[^,:]*)*)?::.*$")


def test_reports_github_annotations(tmp_path):
    policy = tmp_path / "sovereignty.yaml"
    lines = render(residency_report(str(policy)), "github", base_dir=tmp_path).decode().splitlines()
    assert lines[0] == (
        "::error file=sovereignty.yaml,line=27,col=5,title=VIOLATION RES-COUNTRY (openai-us)::"
        "openai-us: hop 2 (203.0.113.1) is in US, outside EU%0Ahint: route this endpoint through an EU region"
    )
    assert all(LINE.match(line) for line in lines)
    kinds = [line.split(" ", 1)[0] for line in lines]
    assert kinds.count("::error") == 3 and kinds.count("::warning") == 1


def test_reports_github_gate_inconclusive_is_an_error():
    text = render(gate_report(), "github").decode()
    assert "::error file=sovereignty.yaml,line=1,title=INCONCLUSIVE CHECK-INCONCLUSIVE (local-models)::" in text
    assert "::warning file=sovereignty.yaml,line=30,col=7,title=WARNING GATE-CONFLICT" in text
    assert "::error file=sovereignty.yaml,line=30" in render(gate_report(), "github", fail_on="warning").decode()


def test_reports_github_caps_each_kind_at_ten():
    findings = [
        Finding(f"R{i}", Verdict.VIOLATION, f"bad {i}", location=SourceLocation("p.yaml", i + 1, 1)) for i in range(25)
    ]
    findings += [Finding("W", Verdict.WARNING, f"warn {i}") for i in range(3)]
    report = Report(
        "gate", "0.1.0", "2025-01-01T00:00:00Z", checks=[Check("c", findings=findings)], policy_file="p.yaml"
    )
    lines = render(report, "github").decode().splitlines()
    errors = [line for line in lines if line.startswith("::error")]
    warnings = [line for line in lines if line.startswith("::warning")]
    assert len(errors) == 10 and len(warnings) == 3
    assert "16 more errors not annotated" in errors[-1]
    # nothing is hidden: every finding is still in the plain log
    assert sum(1 for line in lines if line.startswith("  error:")) == 25


def test_reports_github_escaping():
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("C:\\a,b:c%") == "C%3A\\a%2Cb%3Ac%25"


@given(st.text(max_size=40), st.text(max_size=40))
def test_reports_github_hostile_strings_stay_one_command(title, message):
    report = Report(
        "gate",
        "0.1.0",
        "t",
        checks=[
            Check(
                title or "c",
                findings=[Finding("R", Verdict.VIOLATION, message, location=SourceLocation("a:b,c.yaml", 2, 3))],
            )
        ],
    )
    lines = render(report, "github").decode().splitlines()
    assert len(lines) == 1
    assert LINE.match(lines[0])
    assert lines[0].startswith("::error file=a%3Ab%2Cc.yaml,line=2,col=3,title=")
