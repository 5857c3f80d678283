"""Local-model approval: may this exact file be served under this policy? Pure logic.

A model is *approved* when its whole-file SHA-256 is listed under ``local_inference.models``
and that entry's licence is in ``local_inference.allowed_licenses`` (SPDX ids, compared
case-insensitively). The licence written inside the GGUF (``general.license``) is only a
claim anyone can edit: it is shown and compared, and a mismatch is a warning, never an
approval. Hashing and reading files happen in adapters passed in as callables.

CI gate entry point (stable signature)::

    verify_models(policy, resolve_file, hasher, license_reader=None) -> list[Finding]

* ``resolve_file(model: LocalModel) -> Path | None``: where that approved model lives on this
  machine (its ``file:``, or the model store's blob), ``None`` when absent;
* ``hasher(path) -> str``: lower-case SHA-256 of the file; may raise ``MistralSovError``
  (e.g. ``ModelRefusedError`` for a non-GGUF or truncated file), reported as a violation;
* ``license_reader(path) -> str | None``: the GGUF ``general.license`` claim (optional).

Rule ids: ``LOCAL-MISSING``, ``LOCAL-HASH``, ``LOCAL-UNREADABLE``, ``LOCAL-LICENSE`` (violations),
``LOCAL-LICENSE-CLAIM``, ``LOCAL-NONE`` (warnings), ``LOCAL-OK`` (compliant).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mistral_sov.core.findings import Finding, Verdict
from mistral_sov.core.policy import LocalInference, LocalModel, Policy
from mistral_sov.errors import MistralSovError, ModelRefusedError


def normalize_license(value: str) -> str:
    return value.strip().lower()


def license_allowed(settings: LocalInference, license_id: str) -> bool:
    allowed = {normalize_license(x) for x in settings.allowed_licenses}
    return normalize_license(license_id) in allowed


def find_entry(settings: LocalInference, sha256: str) -> LocalModel | None:
    sha = sha256.strip().lower()
    return next((m for m in settings.models if m.sha256.strip().lower() == sha), None)


@dataclass
class Approval:
    """The verdict on one file: approved or not, why, and what an administrator should know."""

    sha256: str
    approved: bool
    entry: LocalModel | None = None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    hint: str = ""

    @property
    def summary(self) -> str:
        if self.approved and self.entry is not None:
            return f"approved as '{self.entry.name}' (licence {self.entry.license})"
        return "; ".join(self.problems) or "not approved"


def assess(settings: LocalInference, sha256: str, gguf_license: str | None) -> Approval:
    """Decide whether the file with this SHA-256 (and GGUF licence claim) may be served."""
    sha = sha256.strip().lower()
    entry = find_entry(settings, sha)
    result = Approval(sha256=sha, approved=False, entry=entry)
    if entry is None:
        result.problems.append(f"SHA-256 {sha} is not listed under local_inference.models")
        result.hint = (
            "after review, add it to sovereignty.yaml: local_inference.models: "
            f"[{{name: NAME, sha256: {sha}, license: SPDX-ID}}]; an altered or truncated copy "
            "never matches: re-import the approved file"
        )
        return result
    if not license_allowed(settings, entry.license):
        result.problems.append(
            f"licence '{entry.license}' of model '{entry.name}' is not in local_inference.allowed_licenses"
        )
        result.hint = "add the SPDX id to allowed_licenses after legal review, or remove the model"
    if gguf_license is None:
        result.warnings.append(f"the GGUF file carries no general.license claim; the policy says '{entry.license}'")
    elif normalize_license(gguf_license) != normalize_license(entry.license):
        result.warnings.append(
            f"the GGUF file claims licence '{gguf_license}' but the policy approves it as "
            f"'{entry.license}': check which is right"
        )
    result.approved = not result.problems
    return result


def require_approved(settings: LocalInference, sha256: str, gguf_license: str | None, subject: str) -> Approval:
    """``assess`` and raise ``ModelRefusedError`` (exit 5) when the model may not be served."""
    result = assess(settings, sha256, gguf_license)
    if not result.approved:
        raise ModelRefusedError(f"model '{subject}' refused: {result.summary}", hint=result.hint)
    return result


def verify_models(
    policy: Policy,
    resolve_file: Callable[[LocalModel], Path | None],
    hasher: Callable[[Path], str],
    license_reader: Callable[[Path], str | None] | None = None,
) -> list[Finding]:
    """One or more findings per approved model: present, hash matches, licence allowed."""
    settings = policy.local_inference
    findings: list[Finding] = []
    if not settings.models:
        if settings.enforce_local_only:
            findings.append(
                Finding(
                    "LOCAL-NONE",
                    Verdict.WARNING,
                    "enforce_local_only is on but no local model is approved",
                    subject="local_inference.models",
                    hint="import a model and list its SHA-256 under local_inference.models",
                )
            )
        return findings
    for model in settings.models:
        subject = model.name
        evidence: dict[str, object] = {"expected_sha256": model.sha256, "license": model.license}
        if not license_allowed(settings, model.license):
            findings.append(
                Finding(
                    "LOCAL-LICENSE",
                    Verdict.VIOLATION,
                    f"licence '{model.license}' is not in local_inference.allowed_licenses",
                    subject=subject,
                    hint="add the SPDX id to allowed_licenses after legal review, or remove the model",
                    evidence=dict(evidence),
                )
            )
        path = resolve_file(model)
        if path is None:
            findings.append(
                Finding(
                    "LOCAL-MISSING",
                    Verdict.VIOLATION,
                    f"approved model '{model.name}' is not present on this machine",
                    subject=subject,
                    hint="import it with `mistral-sov local models import PATH`, or fix its file: path",
                    evidence=dict(evidence),
                )
            )
            continue
        evidence["file"] = str(path)
        try:
            actual = hasher(path).lower()
        except MistralSovError as exc:
            findings.append(
                Finding(
                    "LOCAL-UNREADABLE",
                    Verdict.VIOLATION,
                    exc.message,
                    subject=subject,
                    hint=exc.hint,
                    evidence=dict(evidence),
                )
            )
            continue
        except OSError as exc:
            findings.append(
                Finding(
                    "LOCAL-UNREADABLE",
                    Verdict.VIOLATION,
                    f"cannot read '{path}': {exc.strerror or exc}",
                    subject=subject,
                    hint="check the file and its permissions",
                    evidence=dict(evidence),
                )
            )
            continue
        evidence["actual_sha256"] = actual
        if actual != model.sha256.strip().lower():
            findings.append(
                Finding(
                    "LOCAL-HASH",
                    Verdict.VIOLATION,
                    f"'{path}' does not match the approved SHA-256 (altered, truncated or another file)",
                    subject=subject,
                    hint="re-import the approved file; never edit a model in place",
                    evidence=dict(evidence),
                )
            )
            continue
        if license_reader is not None:
            claim = license_reader(path)
            evidence["gguf_license"] = claim
            if claim is not None and normalize_license(claim) != normalize_license(model.license):
                findings.append(
                    Finding(
                        "LOCAL-LICENSE-CLAIM",
                        Verdict.WARNING,
                        f"the GGUF claims licence '{claim}', the policy says '{model.license}'",
                        subject=subject,
                        hint="check which is right; the policy entry is authoritative",
                        evidence=dict(evidence),
                    )
                )
        findings.append(
            Finding(
                "LOCAL-OK",
                Verdict.COMPLIANT,
                f"'{model.name}' is present and matches its approved SHA-256",
                subject=subject,
                evidence=dict(evidence),
            )
        )
    return findings
