"""The CI compliance gate: named, skippable checks, each receiving its adapters as callables.

Checks (``CHECKS``): ``policy`` (the policy file is valid), ``drift`` (the deployed bundle is
exactly what the policy exports now), ``admx-lint`` (the bundle's ADMX/ADML pass the linter),
``residency`` (one check per endpoint, from the verify-residency service), ``local-models``
(approved model files present, SHA-256 and licence as approved), ``catalog-conflicts`` (no
approved endpoint is matched by a block rule). Pure: the CLI wires files, network and time.

Never a false pass: a check that cannot run is SKIPPED with its reason; ``worst()`` makes a
report with only skipped checks INCONCLUSIVE; an inconclusive check is never COMPLIANT.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mistral_sov.core.catalog import Catalog
from mistral_sov.core.findings import Check, Finding, Report, SourceLocation, Verdict
from mistral_sov.core.policy import Policy, suggest
from mistral_sov.core.rules import effective_rules, endpoint_conflicts
from mistral_sov.errors import (
    Diagnostic,
    InconclusiveError,
    InputError,
    Location,
    MissingBackendError,
    MistralSovError,
)
from mistral_sov.ports import Artifact, DriftLike, LoadedPolicyLike

CHECKS: tuple[str, ...] = ("policy", "drift", "admx-lint", "residency", "local-models", "catalog-conflicts")

TITLES: dict[str, str] = {
    "policy": "The policy file is valid",
    "drift": "The deployment bundle matches a fresh export of the policy",
    "admx-lint": "The bundle's ADMX/ADML templates pass the linter",
    "residency": "Approved endpoints are reached only through allowed countries",
    "local-models": "Approved local models are present, unaltered and licensed as approved",
    "catalog-conflicts": "No approved endpoint is matched by a block rule",
}

# Rule descriptions for SARIF (Report.metadata["rules"]).
RULES: dict[str, dict[str, str]] = {
    "GATE-POLICY": {
        "short": "The policy file has an error",
        "help": "Fix the policy at the location shown; `mistral-sov policy validate` lists every problem.",
    },
    "GATE-POLICY-WARNING": {
        "short": "The policy file has a warning",
        "help": "Review the policy at the location shown.",
    },
    "GATE-DRIFT": {
        "short": "The deployment bundle differs from a fresh export of the policy",
        "help": "Re-run `mistral-sov policy export` and commit/deploy the result; never edit bundle files by hand.",
    },
    "GATE-ADMX": {
        "short": "An ADMX/ADML template fails the linter",
        "help": "Re-export the bundle; a hand-edited template breaks GPMC or Intune ingestion.",
    },
    "GATE-CONFLICT": {
        "short": "An approved endpoint is matched by a block rule",
        "help": "Add the endpoint host to blocking.exceptions, or remove the block rule.",
    },
}


def _src(loc: Location | None) -> SourceLocation | None:
    if loc is None or not loc.file:
        return None
    return SourceLocation(loc.file, loc.line, loc.column)


def _diag_finding(rule_id: str, diag: Diagnostic, verdict: Verdict, subject: str = "") -> Finding:
    message = f"{diag.field}: {diag.message}" if diag.field else diag.message
    return Finding(
        rule_id, verdict, message, subject=subject or diag.field, hint=diag.hint, location=_src(diag.location)
    )


# --------------------------------------------------------------------------- selection


def parse_check_list(values: Sequence[str] | None, option: str) -> list[str]:
    """``--only policy,drift`` (repeatable or comma-separated) -> validated check names."""
    out: list[str] = []
    for value in values or []:
        for part in value.split(","):
            name = part.strip().lower()
            if not name:
                continue
            if name not in CHECKS:
                hint = suggest(name, CHECKS)
                raise InputError(
                    f"{option}: unknown check '{part.strip()}'",
                    field=option,
                    hint=(hint + " " if hint else "") + f"checks: {', '.join(CHECKS)}",
                )
            if name not in out:
                out.append(name)
    return out


def selected(only: Sequence[str], skip: Sequence[str]) -> dict[str, str]:
    """Check name -> '' (run) or the reason it is skipped."""
    out: dict[str, str] = {}
    for name in CHECKS:
        if only and name not in only:
            out[name] = "not selected (--only)"
        elif name in skip:
            out[name] = "skipped on request (--skip)"
        else:
            out[name] = ""
    return out


# --------------------------------------------------------------------------- units


@dataclass
class Unit:
    """A named gate check: ``run`` returns one Check (or several, for residency)."""

    name: str
    run: Callable[[], Check | list[Check]] | None
    unavailable: str = ""  # why it cannot run here (then it is SKIPPED, never passed)
    title: str = ""


@dataclass
class GateResult:
    checks: list[Check] = field(default_factory=list)


def run_unit(unit: Unit, skip_reason: str, clock: Callable[[], float] = time.perf_counter) -> list[Check]:
    """Run one unit, turning 'cannot run' into SKIPPED and probe failures into INCONCLUSIVE."""
    title = unit.title or TITLES.get(unit.name, unit.name)
    if skip_reason:
        return [Check(unit.name, title, skipped_reason=skip_reason)]
    if unit.run is None or unit.unavailable:
        return [Check(unit.name, title, skipped_reason=unit.unavailable or "not available in this build")]
    start = clock()
    try:
        result = unit.run()
    except MissingBackendError as exc:
        reason = exc.message + (f" ({exc.hint})" if exc.hint else "")
        return [Check(unit.name, title, skipped_reason=reason, duration_s=clock() - start)]
    except InconclusiveError as exc:
        finding = Finding(
            f"GATE-{unit.name.upper()}-INCONCLUSIVE",
            Verdict.INCONCLUSIVE,
            exc.message,
            subject=unit.name,
            hint=exc.hint,
            location=_src(exc.location),
        )
        return [Check(unit.name, title, [finding], duration_s=clock() - start)]
    except MistralSovError as exc:
        findings = [
            _diag_finding(f"GATE-{unit.name.upper()}", d, Verdict.VIOLATION, subject=unit.name)
            for d in exc.diagnostics()
        ]
        return [Check(unit.name, title, findings, duration_s=clock() - start)]
    checks = result if isinstance(result, list) else [result]
    elapsed = clock() - start
    for check in checks:
        if not check.title:
            check.title = title
        if not check.duration_s:
            check.duration_s = elapsed / max(1, len(checks))
    if not checks:
        return [Check(unit.name, title, skipped_reason="nothing to check", duration_s=elapsed)]
    return checks


def run_gate(
    units: Sequence[Unit],
    *,
    only: Sequence[str] = (),
    skip: Sequence[str] = (),
    tool_version: str = "",
    generated_at: str = "",
    policy_file: str = "",
    metadata: dict[str, Any] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> Report:
    """Run every unit in ``CHECKS`` order (one Report; units not given are SKIPPED)."""
    reasons = selected(only, skip)
    by_name = {u.name: u for u in units}
    checks: list[Check] = []
    for name in CHECKS:
        unit = by_name.get(name) or Unit(name, None, "not wired in this build")
        checks.extend(run_unit(unit, reasons[name], clock))
    meta = dict(metadata or {})
    meta.setdefault("rules", RULES)
    meta["selected"] = [n for n, r in reasons.items() if not r]
    return Report("gate", tool_version, generated_at, checks, meta, policy_file)


# --------------------------------------------------------------------------- check bodies


def policy_check(load: Callable[[], LoadedPolicyLike]) -> Check:
    """Load and validate the policy; every error (and warning) becomes a located finding."""
    try:
        loaded = load()
    except InputError as exc:
        findings = [
            _diag_finding(
                "GATE-POLICY" if d.severity == "error" else "GATE-POLICY-WARNING",
                d,
                Verdict.VIOLATION if d.severity == "error" else Verdict.WARNING,
            )
            for d in exc.diagnostics()
        ]
        return Check("policy", findings=findings)
    findings = [_diag_finding("GATE-POLICY-WARNING", d, Verdict.WARNING) for d in loaded.warnings]
    return Check("policy", findings=findings, details={"endpoints": len(loaded.policy.endpoints)})


def drift_check(
    bundle_label: str,
    expected: Callable[[], Sequence[Artifact]],
    compare: Callable[[Sequence[Artifact]], Sequence[DriftLike]],
) -> Check:
    """``policy export --check``: every file that is changed, missing or unexpected fails."""
    artifacts = expected()
    drift = compare(artifacts)
    findings = []
    for item in drift:
        file = f"{bundle_label.rstrip('/')}/{item.path}"
        findings.append(
            Finding(
                "GATE-DRIFT",
                Verdict.VIOLATION,
                f"bundle file '{item.path}' is {item.status} compared with a fresh export of the policy",
                subject=item.path,
                hint="re-run `mistral-sov policy export` and deploy the result; never edit bundle files",
                location=SourceLocation(file) if item.status != "missing" else None,
                evidence={"status": item.status},
            )
        )
    return Check(
        "drift",
        findings=findings,
        details={
            "bundle": bundle_label,
            "files": len(artifacts),
            "drift": [{"path": d.path, "status": d.status} for d in drift],
        },
    )


def admx_check(files: Sequence[str], lint: Callable[[str], Sequence[Diagnostic]]) -> Check:
    """Lint every ADMX of the bundle; errors fail, warnings warn."""
    if not files:
        return Check("admx-lint", skipped_reason="the bundle holds no .admx file (gpo format not exported)")
    findings = []
    for file in files:
        for diag in lint(file):
            verdict = Verdict.VIOLATION if diag.severity == "error" else Verdict.WARNING
            finding = _diag_finding("GATE-ADMX", diag, verdict, subject=file)
            if finding.location is None:
                finding.location = SourceLocation(file)
            findings.append(finding)
    return Check("admx-lint", findings=findings, details={"files": list(files)})


def local_models_check(
    policy: Policy, where: Callable[[tuple[object, ...]], Location], verify: Callable[[Policy], Sequence[Finding]]
) -> Check:
    """Findings from ``services.local.verify_models``, located at each model's policy entry."""
    if not policy.local_inference.models and not policy.local_inference.enforce_local_only:
        return Check("local-models", skipped_reason="no local models are approved in the policy")
    index = {m.name: i for i, m in enumerate(policy.local_inference.models)}
    findings = list(verify(policy))
    for f in findings:
        if f.location is None:
            i = index.get(f.subject)
            path: tuple[object, ...] = (
                ("local_inference", "models", i, "sha256") if i is not None else ("local_inference",)
            )
            f.location = _src(where(path))
    return Check("local-models", findings=findings)


def catalog_conflicts_check(policy: Policy, catalog: Catalog, where: Callable[[tuple[object, ...]], Location]) -> Check:
    """An approved endpoint the block list would block (the one rule in ``core/rules.py``)."""
    findings = [
        Finding(
            "GATE-CONFLICT",
            Verdict.VIOLATION,
            c.message,
            subject=c.endpoint.name,
            hint=c.hint,
            location=_src(where(c.path)),
        )
        for c in endpoint_conflicts(policy, catalog)
    ]
    return Check(
        "catalog-conflicts",
        findings=findings,
        details={"endpoints": len(policy.endpoints), "block_rules": len(effective_rules(policy, catalog).block)},
    )


def residency_checks(
    policy: Policy, where: Callable[[tuple[object, ...]], Location], verify: Callable[[Policy], Sequence[Check]]
) -> list[Check]:
    """One check per endpoint from the verify-residency service, named ``residency:<endpoint>``;
    findings without a location point at the endpoint's line in the policy."""
    if not policy.endpoints:
        return [Check("residency", skipped_reason="the policy lists no endpoints")]
    index = {ep.name: i for i, ep in enumerate(policy.endpoints)}
    out = []
    for check in verify(policy):
        endpoint = str(check.detail_dict.get("endpoint") or check.name)
        i = index.get(endpoint)
        for f in check.findings:
            if f.location is None:
                path: tuple[object, ...] = ("endpoints", i, "url") if i is not None else ("endpoints",)
                f.location = _src(where(path))
        if not check.name.startswith("residency"):
            check.name = f"residency:{check.name}"
        out.append(check)
    return out


def route_fingerprint(check: Check) -> str:
    """A stable hash of the hop address sequence ('' when the check has no hops)."""
    import hashlib

    hops = check.detail_dict.get("hops")
    if not isinstance(hops, list) or not hops:
        return ""
    seq = "|".join(str(h.get("address") or "*") for h in hops if isinstance(h, dict))
    return hashlib.sha256(seq.encode("utf-8")).hexdigest()[:16]
