"""GitHub Actions workflow commands: ``::error file=…,line=…,col=…,title=…::message``.

GitHub shows at most 10 error and 10 warning annotations per step (50 per job), so each
kind is capped: the first ``limit - 1`` findings become annotations, the last annotation
says how many more there are, and every finding is still printed as a plain log line.
Data is escaped (``%`` ``\\r`` ``\\n``), properties also (``:`` ``,``).
"""

from __future__ import annotations

from pathlib import Path

from mistral_sov.core.findings import Finding, Report, Verdict
from mistral_sov.reports._common import clean, finding_where, relative_uri

LIMIT_PER_KIND = 10


_OTHER_BREAKS = str.maketrans({c: " " for c in "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"})


def escape_data(text: str) -> str:
    """Escape message data; other Unicode line breaks become spaces (one command per line)."""
    value = clean(text).translate(_OTHER_BREAKS)
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _kind(verdict: Verdict, fail_on: str) -> str | None:
    if verdict in (Verdict.VIOLATION, Verdict.INCONCLUSIVE):
        return "error"
    if verdict is Verdict.WARNING:
        return "error" if fail_on == "warning" else "warning"
    return None


def annotation(kind: str, message: str, *, file: str = "", line: int = 0, col: int = 0, title: str = "") -> str:
    props = []
    if file:
        props.append(f"file={escape_property(file)}")
        if line > 0:
            props.append(f"line={line}")
            if col > 0:
                props.append(f"col={col}")
    if title:
        props.append(f"title={escape_property(title)}")
    head = f"::{kind} {','.join(props)}" if props else f"::{kind}"
    return f"{head}::{escape_data(message)}"


def _entries(report: Report, fail_on: str) -> list[tuple[str, Finding, str]]:
    out: list[tuple[str, Finding, str]] = []
    for check in report.checks:
        for f in check.findings:
            kind = _kind(f.verdict, fail_on)
            if kind:
                out.append((kind, f, check.name))
        if check.verdict is Verdict.INCONCLUSIVE and not any(f.verdict is Verdict.INCONCLUSIVE for f in check.findings):
            synthetic = Finding(
                "CHECK-INCONCLUSIVE", Verdict.INCONCLUSIVE, f"check '{check.name}' is inconclusive (never a pass)"
            )
            out.append(("error", synthetic, check.name))
    return out


def render(
    report: Report,
    *,
    fail_on: str = "violation",
    base_dir: Path | None = None,
    limit: int = LIMIT_PER_KIND,
) -> bytes:
    lines: list[str] = []
    entries = _entries(report, fail_on)
    for kind in ("error", "warning"):
        of_kind = [(f, name) for k, f, name in entries if k == kind]
        shown = of_kind if len(of_kind) <= limit else of_kind[: max(0, limit - 1)]
        for f, check_name in shown:
            loc = f.location
            file = (
                relative_uri(loc.file, base_dir)
                if loc and loc.file
                else (relative_uri(report.policy_file, base_dir) if report.policy_file else "")
            )
            title = f"{f.verdict.value} {f.rule_id} ({check_name})"
            message = f.message + (f"\nhint: {f.hint}" if f.hint else "")
            if f.subject and f.subject not in message:
                message = f"{f.subject}: {message}"
            lines.append(
                annotation(
                    kind,
                    message,
                    file=file,
                    line=loc.line if loc and loc.file else (1 if file else 0),
                    col=loc.column if loc and loc.file else 0,
                    title=title,
                )
            )
        hidden = len(of_kind) - len(shown)
        if hidden:
            lines.append(
                annotation(
                    kind,
                    f"{hidden} more {kind}s not annotated (GitHub shows {limit} per step): "
                    "see the job summary, the SARIF upload or the log below",
                    title=f"mistral-sov: {hidden} more {kind}s",
                )
            )
    rest = [(k, f, n) for k, f, n in entries]
    if any(len([1 for k2, _, _ in entries if k2 == k]) > limit for k in ("error", "warning")):
        lines.append("All findings:")
        for kind, f, check_name in rest:
            where = finding_where(f)
            lines.append(
                f"  {kind}: {where + ': ' if where else ''}[{check_name}] {f.rule_id}: "
                + " ".join(clean(f.message).split())
            )
    return ("\n".join(lines) + "\n").encode("utf-8", errors="replace") if lines else b""
