"""SARIF 2.1.0 for code scanning (GitHub, GitLab, Azure DevOps).

One run; ``tool.driver.rules`` lists every rule id seen; one result per finding, plus one
per inconclusive check without findings (so an empty result list never reads as a pass)
and a ``note`` per skipped check. GitHub shows only results with a location, so a finding
without one points at the policy file. ``partialFingerprints`` hash the rule, check,
subject and file (not line numbers or measured values), so results stay stable across runs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from mistral_sov.core.findings import Check, Finding, Report, SourceLocation, Verdict
from mistral_sov.reports._common import clean, one_line, provenance, relative_uri

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/mistral-sov/mistral-sov"
FINGERPRINT_KEY = "mistralSov/v1"

# Short descriptions for rules the gate itself emits; other ids fall back to their first message.
KNOWN_RULES: dict[str, tuple[str, str]] = {
    "CHECK-INCONCLUSIVE": (
        "A check produced no conclusive evidence",
        "Inconclusive is never a pass: fix what kept the check from gathering evidence.",
    ),
    "CHECK-SKIPPED": ("A check was skipped", "Skipped checks prove nothing; see the reason."),
}


def _level(verdict: Verdict, fail_on: str) -> str:
    if verdict in (Verdict.VIOLATION, Verdict.INCONCLUSIVE):
        return "error"
    if verdict is Verdict.WARNING:
        return "error" if fail_on == "warning" else "warning"
    return "note"


class _Rules:
    def __init__(self, report: Report) -> None:
        self.index: dict[str, int] = {}
        self.items: list[dict[str, Any]] = []
        meta = report.metadata.get("rules")
        self.meta: dict[str, Any] = meta if isinstance(meta, dict) else {}

    def add(self, rule_id: str, finding: Finding | None, fail_on: str) -> int:
        if rule_id in self.index:
            return self.index[rule_id]
        short, help_text = KNOWN_RULES.get(rule_id, ("", ""))
        described = self.meta.get(rule_id)
        if isinstance(described, dict):
            short = str(described.get("short") or short)
            help_text = str(described.get("help") or help_text)
        if not short and finding is not None:
            short = one_line(finding.message)[:200]
        if not help_text and finding is not None:
            help_text = one_line(finding.hint or finding.message)
        rule: dict[str, Any] = {
            "id": rule_id,
            "name": "".join(part.capitalize() for part in rule_id.replace("_", "-").split("-")),
            "shortDescription": {"text": short or rule_id},
            "fullDescription": {"text": help_text or short or rule_id},
            "help": {"text": help_text or short or rule_id},
            "helpUri": f"{INFO_URI}/blob/main/docs/reports.md",
        }
        if finding is not None:
            rule["defaultConfiguration"] = {"level": _level(finding.verdict, fail_on)}
        self.index[rule_id] = len(self.items)
        self.items.append(rule)
        return self.index[rule_id]


def _location(loc: SourceLocation | None, fallback: str, base_dir: Path | None) -> dict[str, Any] | None:
    file = loc.file if loc and loc.file else fallback
    if not file:
        return None
    physical: dict[str, Any] = {"artifactLocation": {"uri": relative_uri(file, base_dir)}}
    region: dict[str, int] = {}
    if loc and loc.file and loc.line > 0:
        region["startLine"] = loc.line
        if loc.column > 0:
            region["startColumn"] = loc.column
    else:
        region["startLine"] = 1
    physical["region"] = region
    return {"physicalLocation": physical}


def _fingerprint(parts: list[str], seen: dict[str, int]) -> str:
    base = hashlib.sha256("\x1f".join(parts).encode("utf-8", errors="replace")).hexdigest()
    n = seen.get(base, 0)
    seen[base] = n + 1
    return f"{base}:{n + 1}"


def _result(
    *,
    rule_id: str,
    rule_index: int,
    level: str,
    text: str,
    check: Check,
    verdict: Verdict,
    location: dict[str, Any] | None,
    fingerprint: str,
    extra: dict[str, Any],
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": rule_id,
        "ruleIndex": rule_index,
        "level": level,
        "message": {"text": clean(text) or rule_id},
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
        "properties": {"verdict": verdict.value, "check": clean(check.name), **extra},
    }
    if location is not None:
        result["locations"] = [location]
    return result


def _residency_properties(check: Check, ttl: int | None) -> dict[str, Any]:
    """Where a residency finding was measured from, when, and (for a hop) who said what."""
    d = check.residency
    if d is None:
        return {}
    out: dict[str, Any] = {
        "measuredAt": d.measured_at,
        "source": d.source,
        "vantage": d.vantage.to_dict() if d.vantage else None,
        "vantageId": d.vantage_id,
        "notEvaluated": [n.to_dict() for n in d.not_evaluated],
    }
    hop = next((h for h in d.hops if h.ttl == ttl), None) if ttl is not None else None
    if hop is not None:
        out["hopClaims"] = [c.to_dict() for c in hop.claims]
        out["hopPhysics"] = hop.physics
    return out


def to_sarif(report: Report, *, fail_on: str = "violation", base_dir: Path | None = None) -> dict[str, Any]:
    rules = _Rules(report)
    results: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    fallback = report.policy_file
    for check in report.checks:
        for finding in check.findings:
            idx = rules.add(finding.rule_id, finding, fail_on)
            loc = _location(finding.location, fallback, base_dir)
            uri = loc["physicalLocation"]["artifactLocation"]["uri"] if loc else ""
            text = finding.message
            if finding.subject and finding.subject not in text:
                text = f"{finding.subject}: {text}"
            if finding.hint:
                text += f" (hint: {finding.hint})"
            extra: dict[str, Any] = {}
            if finding.subject:
                extra["subject"] = clean(finding.subject)
            if finding.hop is not None:
                extra["hop"] = finding.hop
            extra.update(_residency_properties(check, finding.hop))
            results.append(
                _result(
                    rule_id=finding.rule_id,
                    rule_index=idx,
                    level=_level(finding.verdict, fail_on),
                    text=text,
                    check=check,
                    verdict=finding.verdict,
                    location=loc,
                    fingerprint=_fingerprint([finding.rule_id, check.name, finding.subject, uri], seen),
                    extra=extra,
                )
            )
        synthetic = ""
        if check.verdict is Verdict.INCONCLUSIVE and not any(f.verdict is Verdict.INCONCLUSIVE for f in check.findings):
            synthetic = "CHECK-INCONCLUSIVE"
            text = f"check '{check.name}' is inconclusive: no conclusive evidence (never a pass)"
        elif check.verdict is Verdict.SKIPPED:
            synthetic = "CHECK-SKIPPED"
            text = f"check '{check.name}' skipped: {check.skipped_reason or 'no reason given'}"
        if synthetic:
            idx = rules.add(synthetic, None, fail_on)
            loc = _location(None, fallback, base_dir)
            uri = loc["physicalLocation"]["artifactLocation"]["uri"] if loc else ""
            results.append(
                _result(
                    rule_id=synthetic,
                    rule_index=idx,
                    level=_level(check.verdict, fail_on),
                    text=text,
                    check=check,
                    verdict=check.verdict,
                    location=loc,
                    fingerprint=_fingerprint([synthetic, check.name, "", uri], seen),
                    extra={},
                )
            )
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "mistral-sov",
                "version": report.tool_version,
                "semanticVersion": report.tool_version,
                "informationUri": INFO_URI,
                "rules": rules.items,
            }
        },
        "automationDetails": {"id": f"mistral-sov/{clean(report.kind)}/"},
        "invocations": [
            {
                "executionSuccessful": True,
                "endTimeUtc": report.generated_at,
                "properties": {"verdict": report.verdict.value, "fail_on": fail_on},
            }
        ],
        "results": results,
        "properties": {"kind": report.kind, "verdict": report.verdict.value},
    }
    prov = provenance(report)
    if prov:
        run["properties"]["provenance"] = prov
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(report: Report, *, fail_on: str = "violation", base_dir: Path | None = None) -> bytes:
    doc = to_sarif(report, fail_on=fail_on, base_dir=base_dir)
    return (json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8", errors="replace")
