"""services.inventory: approved vs refused models, with the same rule as ``local serve``."""

from __future__ import annotations

import pytest

from mistral_sov.core.policy import Policy
from mistral_sov.errors import ExitStatus, ModelRefusedError
from mistral_sov.services.inventory import StoredModelFacts, inventory, require_no_refusals

A, B, C = "a" * 64, "b" * 64, "c" * 64


def policy(models: list[dict], licenses: list[str] | None = None) -> Policy:
    li: dict = {"models": models}
    if licenses is not None:
        li["allowed_licenses"] = licenses
    return Policy.model_validate({"version": 1, "organization": "Org", "local_inference": li})


def facts(name: str, sha: str, claim: str | None = "apache-2.0") -> StoredModelFacts:
    return StoredModelFacts(name, sha, 10, f"/store/{name}", {"license_claim": claim, "architecture": "llama"})


def test_approved_present_absent_and_refused() -> None:
    p = policy([{"name": "m1", "sha256": A, "license": "apache-2.0"}, {"name": "m2", "sha256": B, "license": "mit"}])
    approved, refused = inventory(p, [facts("m1", A), facts("rogue", C)])
    assert [(m.name, m.present) for m in approved] == [("m1", True), ("m2", False)]
    assert approved[0].fact("architecture") == "llama" and approved[1].gguf == {}
    assert [r.name for r in refused] == ["rogue"]
    with pytest.raises(ModelRefusedError) as info:
        require_no_refusals(refused)
    assert info.value.exit_status is ExitStatus.MODEL_REFUSED and "rogue" in info.value.message


def test_licence_not_allowed_is_refused() -> None:
    p = policy([{"name": "m1", "sha256": A, "license": "llama3"}], licenses=["mit"])
    approved, refused = inventory(p, [facts("m1", A)])
    assert refused and "licence" in refused[0].reason
    assert approved[0].present is False


def test_licence_claim_mismatch_is_a_warning_not_a_refusal() -> None:
    p = policy([{"name": "m1", "sha256": A, "license": "mit"}])
    approved, refused = inventory(p, [facts("m1", A, claim="apache-2.0")])
    assert not refused and approved[0].warnings
    require_no_refusals(refused)
