"""Which local models this policy allows, with the facts their GGUF headers state. Pure logic.

Shared by the AI-BOM (``mistral-sov sbom``) and the audit pack: the CLI reads the model store
and the headers (adapters) and hands over plain ``StoredModelFacts``; this module decides, with
the same approval rule as ``local serve`` (``services.local.assess``), which models are approved
and which are *refused* (in the store but not approvable). A refused model makes both commands
stop with exit 5 (``ModelRefusedError``): an inventory that silently omits a model on the machine
would mislead the auditor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mistral_sov.core.policy import Policy
from mistral_sov.errors import ModelRefusedError
from mistral_sov.services.local import assess


@dataclass(frozen=True)
class StoredModelFacts:
    """One model file on this machine: its store name, hash, size and GGUF governance metadata."""

    name: str
    sha256: str
    size: int
    location: str
    gguf: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ApprovedModel:
    """An approved model (policy entry) and what its file says, when the file is here."""

    name: str
    sha256: str
    license: str  # the licence the policy approves it under (SPDX id)
    present: bool
    location: str = ""
    size: int | None = None
    gguf: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def license_claim(self) -> str | None:
        value = self.gguf.get("license_claim")
        return value if isinstance(value, str) else None

    def fact(self, key: str) -> Any:
        return self.gguf.get(key)


@dataclass(frozen=True)
class Refusal:
    name: str
    sha256: str
    location: str
    reason: str
    hint: str


def inventory(policy: Policy, stored: list[StoredModelFacts]) -> tuple[list[ApprovedModel], list[Refusal]]:
    """Every model the policy approves (present or not), and every stored model it refuses."""
    settings = policy.local_inference
    by_sha: dict[str, StoredModelFacts] = {}
    refused: list[Refusal] = []
    for facts in stored:
        claim = facts.gguf.get("license_claim")
        verdict = assess(settings, facts.sha256, claim if isinstance(claim, str) else None)
        if verdict.approved:
            by_sha.setdefault(facts.sha256.lower(), facts)
        else:
            refused.append(Refusal(facts.name, facts.sha256, facts.location, verdict.summary, verdict.hint))
    approved: list[ApprovedModel] = []
    for entry in settings.models:
        here = by_sha.get(entry.sha256.strip().lower())
        warnings: tuple[str, ...] = ()
        if here is not None:
            claim = here.gguf.get("license_claim")
            warnings = tuple(assess(settings, here.sha256, claim if isinstance(claim, str) else None).warnings)
        approved.append(
            ApprovedModel(
                name=entry.name,
                sha256=entry.sha256.strip().lower(),
                license=entry.license,
                present=here is not None,
                location=here.location if here else (entry.file or ""),
                size=here.size if here else None,
                gguf=dict(here.gguf) if here else {},
                warnings=warnings,
            )
        )
    return approved, refused


def require_no_refusals(refused: list[Refusal]) -> None:
    """Exit 5 with every refused model named, so the admin fixes them all at once."""
    if not refused:
        return
    names = "; ".join(f"'{r.name}' ({r.sha256[:12]}…, {r.location}): {r.reason}" for r in refused)
    raise ModelRefusedError(
        f"{len(refused)} model(s) in the store are refused by the policy: {names}",
        hint="approve them in local_inference.models after review, or remove them with "
        "`mistral-sov local models remove NAME`; the inventory must cover every model on the machine",
    )
