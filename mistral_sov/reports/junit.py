"""JUnit XML: one ``testcase`` per Check.

VIOLATION -> ``<failure>``; INCONCLUSIVE -> ``<error>`` (never a pass); WARNING -> a pass
with the warning in ``system-out`` (a ``<failure>`` under ``fail_on="warning"``);
SKIPPED -> ``<skipped>``. GitLab, Azure and Jenkins do not fail a job on test results by
default, so the gate's exit code is what carries the verdict; this file is for display.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from mistral_sov.core.findings import Check, Finding, Report, Verdict
from mistral_sov.reports._common import (
    clean,
    finding_where,
    hops,
    one_line,
    provenance,
    requirement_text,
    rtt_text,
    sources_text,
    vantage_text,
)


def _finding_text(finding: Finding) -> str:
    where = finding_where(finding)
    head = f"[{finding.verdict.value}] {finding.rule_id}"
    if finding.subject:
        head += f" ({finding.subject})"
    if finding.hop is not None:
        head += f" hop {finding.hop}"
    text = f"{head}: {finding.message}"
    if where:
        text = f"{where}: {text}"
    if finding.hint:
        text += f"\n    hint: {finding.hint}"
    return clean(text)


def _hop_lines(check: Check) -> list[str]:
    lines = []
    d = check.residency
    if d is not None:
        lines.append(
            f"  {clean(vantage_text(d))}; source {clean(d.source)} {clean(d.vantage_id)}; "
            f"measured {clean(d.measured_at or 'unknown')}"
        )
        lines += [f"  not evaluated: {clean(n.check)}: {clean(n.reason)}" for n in d.not_evaluated]
    for hop in hops(check):
        lines.append(
            "  {ttl:>3}  {addr:<40} {rtt:<18} {cc:<4} {op}  [{src}; physics {phys}]".format(
                src=sources_text(hop) or "no source",
                phys=clean(hop.physics),
                ttl=hop.ttl,
                addr=clean(hop.address or "*"),
                rtt=rtt_text(hop),
                cc=clean(hop.country or "?"),
                op=clean(hop.operator or ""),
            )
        )
    return lines


def _testcase(parent: ET.Element, check: Check, classname: str, fail_on: str, kind: str = "") -> str:
    case = ET.SubElement(
        parent,
        "testcase",
        {"classname": classname, "name": clean(check.name), "time": f"{check.duration_s:.3f}"},
    )
    verdict = check.verdict
    findings_text = "\n".join(_finding_text(f) for f in check.findings)
    worst = sorted(check.findings, key=lambda f: -f.verdict.rank)
    first = worst[0] if worst else None
    message = one_line(first.message) if first else f"{check.name}: {verdict.value}"
    kind = first.rule_id if first else verdict.value
    outcome = "passed"
    if verdict is Verdict.SKIPPED:
        ET.SubElement(case, "skipped", {"message": one_line(check.skipped_reason or "skipped")})
        outcome = "skipped"
    elif verdict is Verdict.VIOLATION or (verdict is Verdict.WARNING and fail_on == "warning"):
        el = ET.SubElement(case, "failure", {"message": message, "type": clean(kind)})
        el.text = findings_text or message
        outcome = "failure"
    elif verdict is Verdict.INCONCLUSIVE:
        el = ET.SubElement(
            case,
            "error",
            {"message": f"inconclusive: {message}", "type": clean(kind if first else "INCONCLUSIVE")},
        )
        el.text = findings_text or "no conclusive evidence (never a pass)"
        outcome = "error"
    out_lines = [f"verdict: {verdict.value}"]
    if check.title and check.title != check.name:
        out_lines.insert(0, requirement_text(check, kind))
    if outcome == "passed" and findings_text:
        out_lines.append(findings_text)
    hop_lines = _hop_lines(check)
    if hop_lines:
        out_lines.append("hops:")
        out_lines.extend(hop_lines)
    ET.SubElement(case, "system-out").text = "\n".join(out_lines)
    return outcome


def render(report: Report, *, fail_on: str = "violation") -> bytes:
    """The JUnit XML document (UTF-8, with declaration)."""
    root = ET.Element("testsuites", {"name": "mistral-sov"})
    suite = ET.SubElement(root, "testsuite", {"name": clean(report.kind), "timestamp": report.generated_at})
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("tool_version", report.tool_version),
        ("policy_file", report.policy_file),
        ("verdict", report.verdict.value),
        ("fail_on", fail_on),
    ):
        ET.SubElement(props, "property", {"name": name, "value": clean(value)})
    prov = provenance(report)
    if prov:
        import json

        ET.SubElement(props, "property", {"name": "policy_sha256", "value": clean(prov["policy_sha256"])})
        ET.SubElement(props, "property", {"name": "zones", "value": clean(json.dumps(prov["zones"], sort_keys=True))})
        for s in prov["sources"]:
            value = json.dumps(
                {k: s.get(k) for k in ("kind", "version", "published", "age_days", "sha256", "stale")}, sort_keys=True
            )
            ET.SubElement(props, "property", {"name": f"source:{clean(s.get('name'))}", "value": clean(value)})
        if prov["measurements"]:
            ET.SubElement(
                props, "property", {"name": "measurements", "value": clean(prov["measurements"].get("summary"))}
            )
    tally = {"failure": 0, "error": 0, "skipped": 0, "passed": 0}
    classname = f"mistral-sov.{clean(report.kind)}"
    total_time = 0.0
    for check in report.checks:
        tally[_testcase(suite, check, classname, fail_on, report.kind)] += 1
        total_time += check.duration_s
    attrs = {
        "tests": str(len(report.checks)),
        "failures": str(tally["failure"]),
        "errors": str(tally["error"]),
        "skipped": str(tally["skipped"]),
        "time": f"{total_time:.3f}",
    }
    for el in (root, suite):
        el.attrib.update(attrs)
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"
