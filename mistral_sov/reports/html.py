"""One self-contained, offline HTML file: overall verdict, a per-endpoint path diagram
(inline SVG: vantage point, each hop as a node coloured by the verdict the verify service
gave it, labelled with address, country, operator, RTT and distance bounds, destination
marked) and the findings. No scripts, no external assets; every string is escaped."""

from __future__ import annotations

from html import escape

from mistral_sov.core.findings import Check, Report, Verdict
from mistral_sov.core.residency import HopRow
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
    provenance,
    requirement_text,
    residency,
    rtt_text,
    source_row,
    sources_text,
    vantage_text,
    zones_text,
)

COLOURS = {
    Verdict.COMPLIANT: "#2e7d32",
    Verdict.WARNING: "#ef6c00",
    Verdict.INCONCLUSIVE: "#6a1b9a",
    Verdict.VIOLATION: "#c62828",
    Verdict.SKIPPED: "#757575",
}
SILENT = "#9e9e9e"
UNJUDGED = "#1565c0"

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#212121;
max-width:1200px}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;
text-align:left;vertical-align:top;font-size:.9rem}th{background:#f5f5f5}
.v{font-weight:600;padding:.1rem .4rem;border-radius:.25rem;color:#fff;white-space:nowrap}
.COMPLIANT{background:#2e7d32}.WARNING{background:#ef6c00}.INCONCLUSIVE{background:#6a1b9a}
.VIOLATION{background:#c62828}.SKIPPED{background:#757575}
.banner{font-size:1.3rem;padding:.75rem 1rem;border-radius:.4rem;color:#fff;display:inline-block}
code{font-family:ui-monospace,Consolas,monospace;background:#f5f5f5;padding:0 .2rem}
svg text{font-family:ui-monospace,Consolas,monospace;font-size:12px}
.muted{color:#616161}.hint{color:#37474f;font-style:italic}
"""


def e(text: object) -> str:
    return escape(clean(text), quote=True)


def badge(v: Verdict) -> str:
    return f'<span class="v {v.value}">{v.value}</span>'


def _node_colour(check: Check, hop: HopRow) -> str:
    verdict = hop_verdict(check, hop)
    if verdict is not None:
        return COLOURS[verdict]
    if not hop.address:
        return SILENT
    return COLOURS[Verdict.COMPLIANT] if hop.country else UNJUDGED


ROW = 78
LEFT = 60


def path_svg(check: Check) -> str:
    """The path diagram for one residency check."""
    d = residency(check)
    hop_list = hops(check)
    dest_addr = d.address
    last = hop_list[-1] if hop_list else None
    dest_is_last = bool(d.reached) and last is not None and (not dest_addr or last.address == dest_addr)
    rows = 1 + len(hop_list) + (0 if dest_is_last else 1)
    height = rows * ROW + 20
    width = 960
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="{e("network path to " + check_subject(check))}">'
    ]
    y0 = 30
    # edges first so nodes paint over them
    for i in range(rows - 1):
        y1, y2 = y0 + i * ROW, y0 + (i + 1) * ROW
        dashed = ""
        if i + 1 < len(hop_list) + 1 and i < len(hop_list) and not hop_list[i].address:
            dashed = ' stroke-dasharray="4 4"'
        if not dest_is_last and i == rows - 2:
            dashed = ' stroke-dasharray="4 4"'
        out.append(f'<line x1="{LEFT}" y1="{y1}" x2="{LEFT}" y2="{y2}" stroke="#90a4ae" stroke-width="2"{dashed}/>')
    # vantage point
    vname = vantage_text(d)
    vpos = ""
    out.append(
        f'<g class="vantage"><rect x="{LEFT - 12}" y="{y0 - 12}" width="24" height="24" fill="#37474f"/>'
        f'<text x="{LEFT + 30}" y="{y0 - 2}" font-weight="bold">{e(vname)}{e(vpos)}</text>'
        f'<text x="{LEFT + 30}" y="{y0 + 14}" class="muted">{e(d.method or "")} / '
        f"{e(d.tracer or '')} → {e(d.host or '')}:{e(d.port or '')}</text></g>"
    )
    for i, hop in enumerate(hop_list):
        y = y0 + (i + 1) * ROW
        colour = _node_colour(check, hop)
        is_dest = dest_is_last and i == len(hop_list) - 1
        verdict = hop_verdict(check, hop)
        addr = hop.address or "*  (no reply)"
        title = f"hop {hop.ttl}: {addr}" + (f" — {verdict.value}" if verdict else "")
        ring = (
            f'<circle cx="{LEFT}" cy="{y}" r="17" fill="none" stroke="{colour}" stroke-width="3"/>' if is_dest else ""
        )
        line1 = f"TTL {hop.ttl}  {addr}" + ("   ◀ destination" if is_dest else "")
        place = " · ".join(p for p in (country_text(hop), clean(hop.region or ""), operator_text(hop)) if p)
        bounds = " · ".join(p for p in (f"RTT {rtt_text(hop)} ms", distance_text(hop)) if p)
        flags = fmt_list(hop.flags)
        if flags:
            bounds += f" · flags: {flags}"
        out.append(
            f'<g class="hop" data-ttl="{e(hop.ttl)}"><title>{e(title)}</title>{ring}'
            f'<circle cx="{LEFT}" cy="{y}" r="12" fill="{colour}"/>'
            f'<text x="{LEFT + 30}" y="{y - 12}" font-weight="bold">{e(line1)}</text>'
            f'<text x="{LEFT + 30}" y="{y + 4}">{e(place or "country unknown")}'
            + (f" — {e(verdict.value)}" if verdict else "")
            + f'</text><text x="{LEFT + 30}" y="{y + 20}" class="muted">{e(bounds)}</text></g>'
        )
    if not dest_is_last:
        y = y0 + (rows - 1) * ROW
        out.append(
            f'<g class="destination"><circle cx="{LEFT}" cy="{y}" r="12" fill="#fff" stroke="{SILENT}" '
            f'stroke-width="3" stroke-dasharray="3 3"/>'
            f'<text x="{LEFT + 30}" y="{y - 2}" font-weight="bold">destination {e(d.host or "")} '
            f"{e(dest_addr or '')}</text>"
            f'<text x="{LEFT + 30}" y="{y + 14}">not reached: the path beyond the last answering hop '
            "is unknown</text></g>"
        )
    out.append("</svg>")
    return "".join(out)


def _legend() -> str:
    items = [
        (COLOURS[v], v.value) for v in (Verdict.COMPLIANT, Verdict.WARNING, Verdict.INCONCLUSIVE, Verdict.VIOLATION)
    ]
    items += [(UNJUDGED, "no country evidence"), (SILENT, "no reply")]
    return (
        '<p class="muted">Legend: '
        + " ".join(
            f'<svg width="12" height="12"><circle cx="6" cy="6" r="5" fill="{c}"/></svg> {e(t)}' for c, t in items
        )
        + "; ring = destination; ■ = vantage point.</p>"
    )


def _findings_table(check: Check) -> str:
    if not check.findings:
        return "<p>No findings.</p>" if check.verdict is Verdict.COMPLIANT else ""
    rows = []
    for f in check.findings:
        hint = f'<div class="hint">hint: {e(f.hint)}</div>' if f.hint else ""
        rows.append(
            f"<tr><td>{badge(f.verdict)}</td><td><code>{e(f.rule_id)}</code></td><td>{e(f.subject)}</td>"
            f"<td>{'' if f.hop is None else e(f.hop)}</td><td>{e(f.message)}{hint}</td>"
            f"<td><code>{e(finding_where(f))}</code></td></tr>"
        )
    return (
        "<table><thead><tr><th>Verdict</th><th>Rule</th><th>Subject</th><th>Hop</th><th>Message</th>"
        "<th>Location</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _hop_sources_table(check: Check) -> str:
    rows = "".join(
        f'<tr data-ttl="{e(h.ttl)}"><td>{e(h.ttl)}</td><td><code>{e(", ".join(h.addresses) or "*")}</code></td>'
        f"<td>{e(h.country or '')}</td><td>{e(sources_text(h))}</td><td>{e(h.physics)}</td>"
        f"<td>{e(h.asn_source or '')}</td><td>{e('; '.join(h.notes))}</td></tr>"
        for h in hops(check)
    )
    return (
        '<table class="hop-sources"><thead><tr><th>Hop</th><th>Addresses</th><th>Country</th>'
        "<th>Who said which country</th><th>Physics</th><th>ASN source</th><th>Notes</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _residency_extra(check: Check) -> str:
    d = residency(check)
    parts = [
        f"<p>URL <code>{e(d.url or '')}</code> · address <code>{e(d.address or '?')}</code> · "
        f"{'destination reached' if d.reached else '<strong>destination not reached</strong>'}</p>"
    ]
    res = d.resolution.to_dict() if d.resolution is not None else {}
    if res:
        parts.append(
            f"<p>DNS ({e(res.get('resolver') or 'resolver unknown')}): CNAME chain "
            f"<code>{e(fmt_list(res.get('cname_chain')) or '(none)')}</code>; addresses "
            f"<code>{e(fmt_list(res.get('addresses')))}</code>"
            + (f"; flags {e(fmt_list(res.get('flags')))}" if res.get("flags") else "")
            + "</p>"
        )
    parts.append(
        f"<p>source {e(d.source)}{(' (' + e(d.vantage_id) + ')') if d.vantage_id else ''} · "
        f"{e(vantage_text(d))}{(' · vantage country ' + e(d.vantage_country)) if d.vantage_country else ''} · "
        f"measured {e(d.measured_at or 'unknown')}</p>"
    )
    if d.not_evaluated:
        parts.append(
            '<p><strong>Not evaluated:</strong></p><ul class="not-evaluated">'
            + "".join(f"<li>{e(n.check)}: {e(n.reason)}</li>" for n in d.not_evaluated)
            + "</ul>"
        )
    parts.append(_hop_sources_table(check))
    notes = d.fidelity_notes
    if notes:
        parts.append('<ul class="muted">' + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>")
    parts.append(path_svg(check))
    return "".join(parts)


def _provenance(report: Report) -> str:
    prov = provenance(report)
    if not prov:
        return ""
    rows = [
        ("Policy file", prov["policy_file"] or "(none: ad-hoc targets)"),
        ("Policy SHA-256", prov["policy_sha256"] or "(none)"),
        ("Zones", zones_text(prov["zones"])),
        ("Tool", f"mistral-sov {prov['tool_version']}"),
        ("Report generated", prov["generated_at"]),
    ]
    m = prov["measurements"]
    if m:
        rows.append(("Measurements", f"{m.get('file') or ''}: {m.get('summary')}"))
    out = ['<section id="provenance"><h2>Provenance</h2><table class="provenance"><tbody>']
    out += [f'<tr><th scope="row">{e(k)}</th><td><code>{e(v)}</code></td></tr>' for k, v in rows]
    out.append("</tbody></table><h3>Data sources</h3>")
    out.append(
        '<table class="sources"><thead><tr><th>Source</th><th>Kind</th><th>Version</th><th>Published</th>'
        "<th>Age</th><th>SHA-256</th></tr></thead><tbody>"
    )
    for s in prov["sources"]:
        out.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in source_row(s)) + "</tr>")
    out.append("</tbody></table>")
    if prov["sources_note"]:
        out.append(f'<p class="sources-note">{e(prov["sources_note"])}</p>')
    if m and m.get("per_vantage"):
        out.append(
            '<h3>Vantage points</h3><table class="vantage-points"><thead><tr><th>Vantage point</th>'
            "<th>Country</th><th>Results</th><th>Verdict</th></tr></thead><tbody>"
        )
        for r in m["per_vantage"]:
            out.append(
                f"<tr><td>{e(r.get('vantage_id'))}</td><td>{e(r.get('country') or '?')}</td>"
                f"<td>{e(r.get('results'))}</td><td>{e(r.get('verdict'))}</td></tr>"
            )
        out.append("</tbody></table>")
    out.append("</section>")
    return "".join(out)


def render_text(report: Report) -> str:
    v = report.verdict
    title = f"mistral-sov {report.kind}: {v.value}"
    body = [
        f"<h1>{e(title)}</h1>",
        f'<p><span class="banner {v.value}">{v.value}</span></p>',
        f'<p class="muted">policy <code>{e(report.policy_file)}</code> · mistral-sov '
        f"{e(report.tool_version)} · generated {e(report.generated_at)}</p>",
        "<table><thead><tr><th>Check</th><th>Verdict</th><th>Findings</th><th>Time (s)</th></tr></thead><tbody>",
    ]
    for i, check in enumerate(report.checks):
        reason = f' <span class="muted">{e(check.skipped_reason)}</span>' if check.skipped_reason else ""
        body.append(
            f'<tr><td><a href="#c{i}">{e(check.name)}</a></td><td>{badge(check.verdict)}{reason}</td>'
            f"<td>{len(check.findings)}</td><td>{check.duration_s:.2f}</td></tr>"
        )
    body.append("</tbody></table>")
    body.append(_provenance(report))
    if any(is_residency(c) for c in report.checks):
        body.append(_legend())
    for i, check in enumerate(report.checks):
        body.append(f'<section id="c{i}"><h2>{e(check.name)} {badge(check.verdict)}</h2>')
        if check.title and check.title != check.name:
            body.append(f"<p>{e(requirement_text(check, report.kind))}</p>")
        if check.skipped_reason:
            body.append(f"<p>Skipped: {e(check.skipped_reason)}</p>")
        if is_residency(check):
            body.append(_residency_extra(check))
        body.append(_findings_table(check))
        body.append("</section>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def render(report: Report) -> bytes:
    return render_text(report).encode("utf-8", errors="replace")
