from __future__ import annotations

from reports_samples import gate_report, residency_report

from mistral_sov.reports import render


def test_reports_console_hop_tables_and_summary():
    text = render(residency_report(), "console").decode()
    for header in ("Hop", "Address", "RTT ms", "Country", "Operator", "Region", "Flags"):
        assert header in text
    assert "203.0.113.1" in text and "AS64500 Example Transit Inc" in text and "cloud-act" in text
    assert "fr-par" in text
    assert "(destination not reached)" in text
    assert "verdict: VIOLATION" in text
    assert "\x1b[" not in text  # no colour codes in files


def test_reports_console_markup_is_inert():
    report = gate_report()
    report.checks[0].name = "[bold red]boom[/] [link=http://x]y[/link]"
    text = render(report, "console", width=200).decode()
    assert "[bold red]boom[/]" in text
    assert "no bundle directory given" in text and "SKIPPED" in text and "INCONCLUSIVE" in text
