"""Markdown (GitHub-flavoured): a summary table, then per-check details; residency checks
get their hop table. Also the body of ``$GITHUB_STEP_SUMMARY`` (``max_bytes`` truncates on a
line boundary with a note, since GitHub refuses summaries over 1 MiB)."""

from __future__ import annotations

import re

from mistral_sov.core.findings import Check, Report, Verdict
from mistral_sov.reports._common import (
    clean,
    country_text,
    distance_text,
    finding_where,
    fmt_list,
    hop_verdict,
    hops,
    is_residency,
    operator_text,
    provenance,
    requirement_text,
    residency,
    rtt_text,
    source_row,
    sources_text,
    vantage_text,
    zones_text,
)

ICON = {
    Verdict.COMPLIANT: "✅",
    Verdict.WARNING: "⚠️",
    Verdict.INCONCLUSIVE: "❔",
    Verdict.VIOLATION: "❌",
    Verdict.SKIPPED: "⏭️",
}

_MD_SPECIAL = re.compile(r"([\\`*_\[\]#|~])")


def esc(text: object) -> str:
    """Escape for inline Markdown, including table cells: no raw HTML, no line breaks."""
    value = " ".join(clean(text).split())
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", value)


def code(text: object) -> str:
    """Inline code span that cannot be broken out of."""
    value = " ".join(clean(text).split())
    fence = "`"
    while fence in value:
        fence += "`"
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}" if value else ""


def _verdict(v: Verdict) -> str:
    return f"{ICON[v]} {v.value}"


def _summary(report: Report) -> list[str]:
    lines = [
        f"# mistral-sov {esc(report.kind)}: {_verdict(report.verdict)}",
        "",
    ]
    meta = [f"version {esc(report.tool_version)}", f"generated {esc(report.generated_at)}"]
    if report.policy_file:
        meta.insert(0, f"policy {code(report.policy_file)}")
    lines += [" · ".join(meta), ""]
    lines += ["| Check | Verdict | Findings | Time (s) |", "|---|---|---:|---:|"]
    for check in report.checks:
        note = f" ({esc(check.skipped_reason)})" if check.verdict is Verdict.SKIPPED else ""
        lines.append(
            f"| {esc(check.name)} | {_verdict(check.verdict)}{note} | {len(check.findings)} | {check.duration_s:.2f} |"
        )
    lines.append("")
    return lines


def _hop_table(check: Check) -> list[str]:
    d = residency(check)
    lines = []
    bits = [
        f"target {code(d.host or '')} → {code(d.address or '?')}:{esc(d.port or '')}",
        f"method {esc(d.method)} ({esc(d.tracer or 'tracer unknown')})" if d.method else "not traced",
        "destination reached" if d.reached else "**destination not reached**",
    ]
    bits.insert(0, esc(vantage_text(d)))
    bits.append(f"source {esc(d.source)}" + (f" ({esc(d.vantage_id)})" if d.vantage_id else ""))
    bits.append(f"measured {esc(d.measured_at or 'unknown')}")
    lines += [" · ".join(bits), ""]
    resolution = d.resolution.to_dict() if d.resolution is not None else {}
    if resolution:
        chain = fmt_list(resolution.get("cname_chain"))
        lines.append(
            f"DNS: CNAME chain {esc(chain or '(none)')}; "
            f"addresses {esc(fmt_list(resolution.get('addresses')))}"
            + (f"; flags {esc(fmt_list(resolution.get('flags')))}" if resolution.get("flags") else "")
        )
        lines.append("")
    lines += [
        "| TTL | Address | RTT (ms) | Country | Operator | Region | Max distance | Flags | Verdict |",
        "|---:|---|---:|---|---|---|---|---|---|",
    ]
    for hop in hops(check):
        v = hop_verdict(check, hop)
        lines.append(
            "| {ttl} | {addr} | {rtt} | {cc} | {op} | {region} | {dist} | {flags} | {v} |".format(
                ttl=esc(hop.ttl),
                addr=esc(hop.address or "*"),
                rtt=esc(rtt_text(hop)),
                cc=esc(country_text(hop)),
                op=esc(operator_text(hop)),
                region=esc(hop.region or ""),
                dist=esc(distance_text(hop)),
                flags=esc(fmt_list(hop.flags)),
                v=_verdict(v) if v else "",
            )
        )
    if d.not_evaluated:
        lines += ["", "Not evaluated: " + "; ".join(f"{esc(n.check)}: {esc(n.reason)}" for n in d.not_evaluated)]
    lines += ["", "| TTL | Who said which country | Physics | Notes |", "|---:|---|---|---|"]
    for hop in hops(check):
        lines.append(
            f"| {esc(hop.ttl)} | {esc(sources_text(hop))} | {esc(hop.physics)} | {esc('; '.join(hop.notes))} |"
        )
    notes = d.fidelity_notes
    if notes:
        lines += ["", "Fidelity notes: " + "; ".join(esc(n) for n in notes)]
    lines.append("")
    return lines


def _provenance(report: Report) -> list[str]:
    prov = provenance(report)
    if not prov:
        return []
    lines = [
        "## Provenance",
        "",
        f"- policy {code(prov['policy_file'] or '(none)')}, SHA-256 {code(prov['policy_sha256'] or '(none)')}",
        f"- zones: {esc(zones_text(prov['zones']))}",
        f"- mistral-sov {esc(prov['tool_version'])}, report generated {esc(prov['generated_at'])}",
    ]
    m = prov["measurements"]
    if m:
        lines.append(f"- measurements {code(m.get('file') or '')}: {esc(m.get('summary'))}")
        lines += [
            f"  - {esc(r.get('vantage_id'))} ({esc(r.get('country') or '?')}): {esc(r.get('verdict'))}"
            for r in m.get("per_vantage", [])
        ]
    lines += ["", "| Source | Kind | Version | Published | Age | SHA-256 |", "|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(esc(c) for c in source_row(s)) + " |" for s in prov["sources"]]
    lines.append("")
    if prov["sources_note"]:
        lines += [esc(prov["sources_note"]), ""]
    return lines


def _details(check: Check, kind: str) -> list[str]:
    lines = [f"## {esc(check.name)}: {_verdict(check.verdict)}", ""]
    if check.title and check.title != check.name:
        lines += [esc(requirement_text(check, kind)), ""]
    if check.verdict is Verdict.SKIPPED:
        lines += [f"Skipped: {esc(check.skipped_reason)}", ""]
    if is_residency(check):
        lines += _hop_table(check)
    for f in check.findings:
        where = finding_where(f)
        item = f"- {ICON[f.verdict]} **{esc(f.rule_id)}**"
        if f.subject:
            item += f" ({esc(f.subject)})"
        if f.hop is not None:
            item += f" hop {f.hop}"
        item += f": {esc(f.message)}"
        if where:
            item += f" — {code(where)}"
        lines.append(item)
        if f.hint:
            lines.append(f"  - hint: {esc(f.hint)}")
    if check.findings:
        lines.append("")
    elif check.verdict is Verdict.COMPLIANT:
        lines += ["No findings.", ""]
    return lines


def render_text(report: Report) -> str:
    lines = _summary(report) + _provenance(report)
    for check in report.checks:
        lines += _details(check, report.kind)
    return "\n".join(lines).rstrip("\n") + "\n"


def truncate(text: str, max_bytes: int, note: str) -> str:
    """``text`` cut on a line boundary so that it plus ``note`` fits in ``max_bytes`` (UTF-8)."""
    data = text.encode("utf-8", errors="replace")
    if len(data) <= max_bytes:
        return text
    room = max(0, max_bytes - len(note.encode("utf-8")) - 2)
    cut = data[:room].decode("utf-8", errors="ignore")
    if "\n" in cut:
        cut = cut[: cut.rfind("\n") + 1]
    return cut + "\n" + note + "\n"


def render(report: Report, *, max_bytes: int | None = None) -> bytes:
    text = render_text(report)
    if max_bytes is not None:
        text = truncate(
            text,
            max_bytes,
            f"> **Truncated**: this summary exceeded {max_bytes:,} bytes; "
            "see the full report artifact (JSON/HTML/SARIF).",
        )
    return text.encode("utf-8", errors="replace")
