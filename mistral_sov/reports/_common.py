"""Helpers shared by the writers: text sanitising, number formatting, hop views."""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from mistral_sov.core.findings import Check, Finding, Report, Verdict
from mistral_sov.core.residency import HopRow, ResidencyDetails

# Characters XML 1.0 forbids (and HTML parsers reject): C0 controls except TAB/LF/CR,
# surrogates, U+FFFE/U+FFFF. They are replaced, never passed through.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: object) -> str:
    """``text`` as a string safe for XML/HTML (invalid characters become U+FFFD)."""
    return _INVALID_XML.sub("\ufffd", str(text))


def one_line(text: object) -> str:
    return " ".join(clean(text).split())


def fmt_num(value: Any, digits: int = 1, unit: str = "") -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return f"{value:.{digits}f}{unit}" if isinstance(value, float) else f"{value}{unit}"
    return clean(value)


def fmt_list(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(clean(v) for v in value)
    return clean(value)


def is_residency(check: Check) -> bool:
    return check.residency is not None


def residency(check: Check) -> ResidencyDetails:
    return check.residency if check.residency is not None else ResidencyDetails(endpoint=check.name)


def hops(check: Check) -> list[HopRow]:
    """The typed hop rows of a residency check (the one shape every writer renders)."""
    return list(check.residency.hops) if check.residency is not None else []


def hop_verdict(check: Check, hop: HopRow) -> Verdict | None:
    """The worst verdict among the findings the verify service attached to this hop
    (None when it attached none). Writers never judge a hop themselves."""
    ttl = hop.ttl
    verdicts = [f.verdict for f in check.findings if f.hop is not None and f.hop == ttl]
    if not verdicts:
        return None
    return max(verdicts, key=lambda v: v.rank)


def rtt_text(hop: HopRow) -> str:
    if hop.rtt_ms:
        return " / ".join(fmt_num(float(r), 2) for r in hop.rtt_ms)
    if hop.min_rtt_ms is not None:
        return fmt_num(hop.min_rtt_ms, 2)
    return "*" if hop.silent else "(no RTT)"


def distance_text(hop: HopRow) -> str:
    fibre, vacuum = hop.max_km_fibre, hop.max_km_vacuum
    parts = []
    if isinstance(fibre, (int, float)):
        parts.append(f"≤{fibre:,.0f} km fibre")
    if isinstance(vacuum, (int, float)):
        parts.append(f"≤{vacuum:,.0f} km vacuum")
    return ", ".join(parts)


def operator_text(hop: HopRow) -> str:
    asn, op = hop.asn, hop.operator
    text = clean(op) if op else ""
    if asn is not None:
        text = f"AS{asn} {text}".strip()
    juris = hop.jurisdiction
    if juris and juris != hop.country:
        text = f"{text} [{clean(juris)}]".strip()
    return text


def country_text(hop: HopRow) -> str:
    country = clean(hop.country or "")
    if hop.uncertain:
        country = f"{country}?" if country else "?"
    return country


def sources_text(hop: HopRow) -> str:
    """Which source said which country, and what physics said of it."""
    return "; ".join(f"{clean(c.source)}: {clean(c.country or '?')} (physics {clean(c.physics)})" for c in hop.claims)


def vantage_text(d: ResidencyDetails) -> str:
    """``vantage Frankfurt (50.11, 8.68)``, or ``no vantage (physics not evaluated)``."""
    v = d.vantage
    if v is None or v.lat is None or v.lon is None:
        return "no vantage (physics not evaluated)"
    return f"vantage {clean(v.name) + ' ' if v.name else ''}({v.lat:.4g}, {v.lon:.4g})"


def check_subject(check: Check) -> str:
    return clean(check.residency.endpoint if check.residency is not None else check.name)


def relative_uri(file: str, base_dir: Path | None) -> str:
    """``file`` as a URI reference relative to ``base_dir`` (forward slashes), or an absolute
    ``file:`` URI when it lies outside."""
    if not file:
        return ""
    windows = bool(re.match(r"^[A-Za-z]:[\\/]", file)) or "\\" in file
    pure = PureWindowsPath(file) if windows else PurePosixPath(file)
    if not pure.is_absolute():
        return pure.as_posix()
    base = base_dir if base_dir is not None else Path.cwd()
    try:
        rel = os.path.relpath(str(pure), str(base))
    except ValueError:  # another drive on Windows
        rel = ""
    if rel and not rel.startswith(".."):
        return PurePosixPath(*Path(rel).parts).as_posix() if rel != "." else pure.name
    try:
        return Path(str(pure)).as_uri()
    except ValueError:
        return pure.as_posix()


def counts(report: Report) -> dict[str, int]:
    out = {v.value: 0 for v in Verdict}
    for check in report.checks:
        out[check.verdict.value] += 1
    return out


def finding_where(finding: Finding) -> str:
    loc = finding.location
    if loc is None or not loc.file:
        return ""
    if loc.line <= 0:
        return clean(loc.file)
    return f"{clean(loc.file)}:{loc.line}:{loc.column or 1}"


def requirement_text(check: Check, kind: str) -> str:
    """A gate check's title states a requirement; say whether it was met, so a VIOLATION never
    reads as "The policy file is valid"."""
    title = clean(check.title)
    if kind != "gate" or not title or title == check.name:
        return title
    outcome = {
        Verdict.COMPLIANT: "met",
        Verdict.WARNING: "met, with warnings",
        Verdict.VIOLATION: "NOT met",
        Verdict.INCONCLUSIVE: "not established",
        Verdict.SKIPPED: "not checked",
    }[check.verdict]
    return f"Requirement: {title} — {outcome}"


def provenance(report: Report) -> dict[str, Any]:
    """What a residency report rests on: policy hash, zones, tool, every data source with its
    version, publication date, age and SHA-256, and the measurements' summary. Empty for
    reports without residency evidence."""
    ev = report.metadata.get("evidence") if isinstance(report.metadata, dict) else None
    if not isinstance(ev, dict):
        return {}
    sources = ev.get("source_ages")
    if not isinstance(sources, list):
        sources = [s for s in ev.get("sources", []) if isinstance(s, dict)]
    return {
        "policy_file": report.policy_file,
        "policy_sha256": ev.get("policy_sha256") or "",
        "zones": ev.get("zones") or {},
        "tool_version": report.tool_version,
        "generated_at": report.generated_at,
        "vantage": ev.get("vantage"),
        "sources": [s for s in sources if isinstance(s, dict)],
        "measurements": ev.get("measurements") if isinstance(ev.get("measurements"), dict) else None,
        "sources_note": str(ev.get("residency_sources") or ""),
    }


def zones_text(zones: dict[str, Any]) -> str:
    parts = []
    for key in ("allowed_countries", "allowed_cloud_regions", "transit", "unknown_hops", "operator_jurisdictions"):
        value = zones.get(key)
        if value in (None, [], {}):
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items())
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        parts.append(f"{key} = {clean(value)}")
    return "; ".join(parts)


def source_row(s: dict[str, Any]) -> list[str]:
    """name, kind, version, published, age, SHA-256 of one data source, as text."""
    age = s.get("age_days")
    age_txt = "unknown" if age is None else f"{age} d" + (" (STALE)" if s.get("stale") else "")
    return [
        clean(s.get("name") or ""),
        clean(s.get("kind") or ""),
        clean(s.get("version") or ""),
        clean(s.get("published") or "not dated"),
        age_txt,
        clean(s.get("sha256") or "—"),
    ]
