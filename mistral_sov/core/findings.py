"""Check, Finding, Report: the one result model every report writer consumes.

``verify-residency`` produces one Check per endpoint (and address); ``gate`` one Check per
named check. Writers in ``mistral_sov.reports`` turn a Report into JSON, JUnit, SARIF,
Markdown, HTML or a console table, and never decide anything themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from mistral_sov.errors import ExitStatus

if TYPE_CHECKING:
    from mistral_sov.core.residency import ResidencyDetails


class Verdict(str, Enum):
    COMPLIANT = "COMPLIANT"
    WARNING = "WARNING"
    INCONCLUSIVE = "INCONCLUSIVE"
    VIOLATION = "VIOLATION"
    SKIPPED = "SKIPPED"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {
    Verdict.SKIPPED: 0,
    Verdict.COMPLIANT: 1,
    Verdict.WARNING: 2,
    Verdict.INCONCLUSIVE: 3,
    Verdict.VIOLATION: 4,
}


def worst(verdicts: list[Verdict]) -> Verdict:
    """The combined verdict: VIOLATION > INCONCLUSIVE > WARNING > COMPLIANT.
    An empty list, or only skipped checks, is INCONCLUSIVE: no evidence is never a pass."""
    real = [v for v in verdicts if v is not Verdict.SKIPPED]
    if not real:
        return Verdict.INCONCLUSIVE
    return max(real, key=lambda v: v.rank)


@dataclass(frozen=True)
class SourceLocation:
    """Where in an input file (usually the policy) a finding comes from."""

    file: str
    line: int = 0
    column: int = 0


@dataclass
class Finding:
    """One observation with a stable rule id, e.g. ``RES001`` or ``GATE-DRIFT``."""

    rule_id: str
    verdict: Verdict
    message: str
    subject: str = ""  # endpoint name, file, model…
    hint: str = ""
    location: SourceLocation | None = None
    hop: int | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule_id": self.rule_id,
            "verdict": self.verdict.value,
            "message": self.message,
            "subject": self.subject,
        }
        if self.hint:
            out["hint"] = self.hint
        if self.location:
            out["location"] = {
                "file": self.location.file,
                "line": self.location.line,
                "column": self.location.column,
            }
        if self.hop is not None:
            out["hop"] = self.hop
        if self.evidence:
            out["evidence"] = self.evidence
        if self.sources:
            out["sources"] = list(self.sources)
        return out


@dataclass
class Check:
    """A named unit of verification with its own verdict (a JUnit testcase)."""

    name: str
    title: str = ""
    findings: list[Finding] = field(default_factory=list)
    duration_s: float = 0.0
    skipped_reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)  # free-form details of non-residency checks
    verdict_override: Verdict | None = None
    residency: ResidencyDetails | None = None  # the typed hop table of a residency check

    @property
    def detail_dict(self) -> dict[str, Any]:
        """The details as JSON: the residency record when there is one."""
        return self.residency.to_dict() if self.residency is not None else self.details

    @property
    def verdict(self) -> Verdict:
        if self.verdict_override is not None:
            return self.verdict_override
        if self.skipped_reason:
            return Verdict.SKIPPED
        if not self.findings:
            return Verdict.COMPLIANT
        return worst([f.verdict for f in self.findings])

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "title": self.title or self.name,
            "verdict": self.verdict.value,
            "duration_s": round(self.duration_s, 6),
            "findings": [f.to_dict() for f in self.findings],
        }
        if self.skipped_reason:
            out["skipped_reason"] = self.skipped_reason
        details = self.detail_dict
        if details:
            out["details"] = details
        return out


@dataclass
class Report:
    """Everything a run produced. ``kind`` is 'verify-residency' or 'gate'."""

    kind: str
    tool_version: str
    generated_at: str  # ISO 8601 UTC
    checks: list[Check] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    policy_file: str = ""

    @property
    def verdict(self) -> Verdict:
        return worst([c.verdict for c in self.checks])

    @property
    def findings(self) -> list[Finding]:
        return [f for c in self.checks for f in c.findings]

    def exit_status(self, fail_on: str = "violation") -> ExitStatus:
        """0 compliant; 1 violation (or warning with fail_on='warning'); 3 inconclusive."""
        verdict = self.verdict
        if verdict is Verdict.VIOLATION:
            return ExitStatus.CHECK_FAILED
        if verdict is Verdict.INCONCLUSIVE:
            return ExitStatus.INCONCLUSIVE
        if verdict is Verdict.WARNING and fail_on == "warning":
            return ExitStatus.CHECK_FAILED
        return ExitStatus.OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "tool": {"name": "mistral-sov", "version": self.tool_version},
            "generated_at": self.generated_at,
            "policy_file": self.policy_file,
            "verdict": self.verdict.value,
            "checks": [c.to_dict() for c in self.checks],
            "metadata": self.metadata,
        }
