"""Approval logic: hash listed + licence allowed = approved; the GGUF licence is only a claim."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from mistral_sov.core.findings import Verdict, worst
from mistral_sov.core.policy import LocalInference, LocalModel, Policy
from mistral_sov.errors import ExitStatus, ModelRefusedError
from mistral_sov.services.local import assess, license_allowed, require_approved, verify_models

SHA = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def settings(**kw) -> LocalInference:
    models = kw.pop("models", [LocalModel(name="smol", sha256=SHA, license="Apache-2.0")])
    return LocalInference(models=models, **kw)


def test_approved_when_hash_listed_and_licence_allowed_case_insensitive() -> None:
    result = assess(settings(), SHA.upper(), "apache-2.0")
    assert result.approved and result.entry is not None and result.entry.name == "smol"
    assert result.warnings == [] and "approved" in result.summary


def test_unlisted_hash_refused_with_hint() -> None:
    result = assess(settings(), "0" * 64, "apache-2.0")
    assert not result.approved and "not listed" in result.problems[0]
    assert "0" * 64 in result.hint
    with pytest.raises(ModelRefusedError) as info:
        require_approved(settings(), "0" * 64, None, "x")
    assert info.value.exit_status is ExitStatus.MODEL_REFUSED == 5


def test_licence_not_allowed_refused() -> None:
    s = settings(allowed_licenses=["mit"])
    assert not license_allowed(s, "apache-2.0") and license_allowed(s, " MIT ")
    result = assess(s, SHA, "apache-2.0")
    assert not result.approved and "allowed_licenses" in result.problems[0]


def test_gguf_claim_mismatch_is_a_warning_not_a_refusal() -> None:
    result = assess(settings(), SHA, "gemma")
    assert result.approved and "claims licence 'gemma'" in result.warnings[0]
    assert "no general.license" in assess(settings(), SHA, None).warnings[0]


def _policy(**kw) -> Policy:
    return Policy(version=1, organization="Bank", local_inference=settings(**kw))


def test_verify_models_findings(tmp_path: Path) -> None:
    good = tmp_path / "good.gguf"
    good.write_bytes(b"good model")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"tampered")
    good_sha = hashlib.sha256(b"good model").hexdigest()
    policy = _policy(
        models=[
            LocalModel(name="good", sha256=good_sha, license="mit", file=str(good)),
            LocalModel(name="bad", sha256=good_sha, license="mit", file=str(bad)),
            LocalModel(name="gone", sha256=good_sha, license="mit"),
            LocalModel(name="gemma", sha256=good_sha, license="gemma", file=str(good)),
        ]
    )

    def resolve(m: LocalModel) -> Path | None:
        return Path(m.file) if m.file else None

    def hasher(p: Path) -> str:
        return hashlib.sha256(p.read_bytes()).hexdigest()

    findings = verify_models(policy, resolve, hasher, license_reader=lambda p: "apache-2.0")
    by = {(f.subject, f.rule_id): f for f in findings}
    assert by[("good", "LOCAL-LICENSE-CLAIM")].verdict is Verdict.WARNING
    assert by[("good", "LOCAL-OK")].verdict is Verdict.COMPLIANT
    assert by[("bad", "LOCAL-HASH")].verdict is Verdict.VIOLATION
    assert by[("gone", "LOCAL-MISSING")].verdict is Verdict.VIOLATION
    assert by[("gemma", "LOCAL-LICENSE")].verdict is Verdict.VIOLATION
    assert worst([f.verdict for f in findings]) is Verdict.VIOLATION
    assert by[("bad", "LOCAL-HASH")].evidence["actual_sha256"] == hashlib.sha256(b"tampered").hexdigest()


def test_verify_models_reports_refusals_from_the_hasher(tmp_path: Path) -> None:
    policy = _policy(models=[LocalModel(name="m", sha256=SHA, license="mit", file="x.gguf")])

    def hasher(p: Path) -> str:
        raise ModelRefusedError("'x.gguf' is not a GGUF file", hint="re-copy it")

    [finding] = verify_models(policy, lambda m: Path("x.gguf"), hasher)
    assert finding.rule_id == "LOCAL-UNREADABLE" and finding.verdict is Verdict.VIOLATION
    assert finding.hint == "re-copy it"


def test_verify_models_empty_policy() -> None:
    assert verify_models(_policy(models=[]), lambda m: None, lambda p: "") == []
    [w] = verify_models(_policy(models=[], enforce_local_only=True), lambda m: None, lambda p: "")
    assert w.rule_id == "LOCAL-NONE" and w.verdict is Verdict.WARNING
