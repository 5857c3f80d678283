"""Markdown: golden file, escaping, truncation for the GitHub step summary."""

from __future__ import annotations

from golden_files import assert_golden
from hypothesis import given, settings
from hypothesis import strategies as st
from reports_samples import gate_report, residency_report

from mistral_sov.core.findings import Finding, Verdict
from mistral_sov.reports import render
from mistral_sov.reports.markdown import esc, truncate


def test_reports_markdown_golden_residency():
    data = render(residency_report(), "markdown")
    assert_golden("reports/residency.md", data)
    text = data.decode()
    assert "| 2 | 203.0.113.1 |" in text
    assert "AS64500 Example Transit Inc" in text
    assert "\r" not in text


def test_reports_markdown_golden_gate():
    assert_golden("reports/gate.md", render(gate_report(), "markdown"))


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60))
def test_reports_markdown_escape_never_breaks_a_table_row(value):
    cell = esc(value)
    assert "\n" not in cell and "\r" not in cell
    assert "<" not in cell and ">" not in cell
    # every pipe is escaped, so a cell never splits the row
    assert cell.count("|") == cell.count("\\|")


def test_reports_markdown_hostile_finding_stays_one_row():
    report = gate_report()
    report.checks[0].name = "a|b\n# heading <script>"
    report.checks[0].findings.append(Finding("X", Verdict.WARNING, "line1\nline2 | <b>x</b>"))
    text = render(report, "markdown").decode()
    row = next(line for line in text.splitlines() if line.startswith("| a"))
    assert row.startswith("| a\\|b \\# heading &lt;script&gt; |")
    assert "<b>" not in text and "<script>" not in text


def test_reports_markdown_truncation_fits_the_cap():
    report = residency_report()
    report.checks = report.checks * 400
    full = render(report, "markdown")
    assert len(full) > 100_000
    cut = render(report, "markdown", max_bytes=100_000)
    assert len(cut) <= 100_000
    assert cut.decode().rstrip().endswith("see the full report artifact (JSON/HTML/SARIF).")
    assert full.startswith(cut.decode().split("\n> **Truncated**")[0].encode())
    assert truncate("é" * 10, 7, "!").encode().__len__() <= 7
