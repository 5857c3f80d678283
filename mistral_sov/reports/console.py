"""Console: Rich tables (the only report module that imports Rich, lazily).

``render`` returns plain text (no colour) for files; ``print_report`` prints to a Rich
Console the CLI gives it (``mistral_sov.cli._ui.console()``), with colour on a terminal.
Per endpoint: hop / address / RTT / country / operator / region / distance / flags; then a
summary of every check."""

from __future__ import annotations

import io
from typing import Any

from mistral_sov.core.findings import Check, Report, Verdict
from mistral_sov.reports._common import (
    check_subject,
    clean,
    country_text,
    distance_text,
    finding_where,
    fmt_list,
    hop_verdict,
    hops,
    is_residency,
    operator_text,
    residency,
    rtt_text,
)

STYLE = {
    Verdict.COMPLIANT: "green",
    Verdict.WARNING: "yellow",
    Verdict.INCONCLUSIVE: "magenta",
    Verdict.VIOLATION: "bold red",
    Verdict.SKIPPED: "dim",
}


def _text(value: object, style: str = "") -> Any:
    from rich.text import Text

    return Text(clean(value), style=style)  # Text never interprets markup: hostile strings stay inert


def _verdict(v: Verdict | None) -> Any:
    if v is None:
        return _text("")
    return _text(v.value, STYLE[v])


def hop_table(check: Check) -> Any:
    from rich.table import Table

    d = residency(check)
    title = f"{check_subject(check)}  {d.host or ''} → {d.address or '?'}"
    if not d.reached:
        title += "  (destination not reached)"
    table = Table(title=clean(title), title_justify="left", header_style="bold")
    for header, justify in (
        ("Hop", "right"),
        ("Address", "left"),
        ("RTT ms", "right"),
        ("Country", "left"),
        ("Operator", "left"),
        ("Region", "left"),
        ("Max distance", "left"),
        ("Flags", "left"),
        ("Verdict", "left"),
    ):
        table.add_column(header, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for hop in hops(check):
        table.add_row(
            _text(hop.ttl),
            _text(hop.address or "*"),
            _text(rtt_text(hop)),
            _text(country_text(hop)),
            _text(operator_text(hop)),
            _text(hop.region or ""),
            _text(distance_text(hop)),
            _text(fmt_list(hop.flags)),
            _verdict(hop_verdict(check, hop)),
        )
    return table


def summary_table(report: Report) -> Any:
    from rich.table import Table

    table = Table(title=clean(f"mistral-sov {report.kind}"), title_justify="left", header_style="bold")
    for header in ("Check", "Verdict", "Findings", "Time s", "Details"):
        table.add_column(header, overflow="fold")
    for check in report.checks:
        detail = check.skipped_reason
        if not detail and check.findings:
            worst = max(check.findings, key=lambda f: f.verdict.rank)
            detail = f"{worst.rule_id}: {worst.message}"
        table.add_row(
            _text(check.name),
            _verdict(check.verdict),
            _text(len(check.findings)),
            _text(f"{check.duration_s:.2f}"),
            _text(" ".join(clean(detail).split())),
        )
    return table


def findings_lines(report: Report) -> list[Any]:
    from rich.text import Text

    lines: list[Any] = []
    for check in report.checks:
        for f in check.findings:
            if f.verdict is Verdict.COMPLIANT:
                continue
            line = Text()
            where = finding_where(f)
            if where:
                line.append(where + ": ", style="bold")
            line.append(f.verdict.value, style=STYLE[f.verdict])
            line.append(f" {clean(f.rule_id)} {clean(f.message)}")
            lines.append(line)
            if f.hint:
                lines.append(Text(f"    hint: {clean(f.hint)}", style="dim"))
    return lines


def print_report(report: Report, console: Any) -> None:
    for check in report.checks:
        if is_residency(check):
            console.print(hop_table(check))
    console.print(summary_table(report))
    for line in findings_lines(report):
        console.print(line)
    console.print(_text(f"verdict: {report.verdict.value}", STYLE[report.verdict]))


def render(report: Report, *, width: int = 160) -> bytes:
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(
        file=buffer, width=width, no_color=True, color_system=None, force_terminal=False, highlight=False, emoji=False
    )
    print_report(report, console)
    return buffer.getvalue().encode("utf-8", errors="replace")
