"""The audit pack's records, built from the policy and the evidence. Pure: no I/O.

* DORA register of information (Commission Implementing Regulation (EU) 2024/2956, EBA ITS
  templates B_05.01 "ICT third-party service providers" and B_02.02 "Contractual arrangements —
  specific information"): one B_02.02 row per approved endpoint, one B_05.01 row per provider.
* GDPR Art. 30(1) record of processing for the use of AI.
* AI Act Art. 26 deployer sheet, with the check that deployer logs are kept >= 6 months.

Rule of the house: a value is filled only when the policy or signed evidence states it; every
other cell is left empty and listed in ``to_complete`` with what a human must look up. Facts
that *suggest* a value (the catalog's vendor, the country a residency trace observed) are given
as hints next to the empty cell, never written into it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mistral_sov.core.catalog import Catalog
from mistral_sov.core.policy import Endpoint, Policy
from mistral_sov.core.zones import EEA_COUNTRIES, country_label, lookup_region
from mistral_sov.services.inventory import ApprovedModel

PACK_KIND = "mistral-sov-audit-pack"
SIX_MONTHS_DAYS = 183  # AI Act Art. 26(6): "at least six months" (6 x 30.5 days, rounded up)

B_05_01: tuple[tuple[str, str], ...] = (
    ("B_05.01.0010", "Identification code of the ICT third-party service provider"),
    ("B_05.01.0020", "Type of code to identify the ICT third-party service provider"),
    ("B_05.01.0030", "Additional identification code of the ICT third-party service provider"),
    ("B_05.01.0040", "Type of additional identification code of the ICT third-party service provider"),
    ("B_05.01.0050", "Legal name of the ICT third-party service provider"),
    ("B_05.01.0060", "Name of the ICT third-party service provider in Latin alphabet"),
    ("B_05.01.0070", "Type of person of the ICT third-party service provider"),
    ("B_05.01.0080", "Country of the ICT third-party service provider's headquarters"),
    ("B_05.01.0090", "Currency of the amount reported in B_05.01.0100"),
    ("B_05.01.0100", "Total annual expense or estimated cost of the ICT third-party service provider"),
    ("B_05.01.0110", "Identification code of the ICT third-party service provider's ultimate parent undertaking"),
    ("B_05.01.0120", "Type of code to identify the ICT third-party service provider's ultimate parent undertaking"),
)
B_02_02: tuple[tuple[str, str], ...] = (
    ("B_02.02.0010", "Contractual arrangement reference number"),
    ("B_02.02.0020", "LEI of the financial entity making use of the ICT service(s)"),
    ("B_02.02.0030", "Identification code of the ICT third-party service provider"),
    ("B_02.02.0040", "Type of code to identify the ICT third-party service provider"),
    ("B_02.02.0050", "Function identifier"),
    ("B_02.02.0060", "Type of ICT services"),
    ("B_02.02.0070", "Start date of the contractual arrangement"),
    ("B_02.02.0080", "End date of the contractual arrangement"),
    ("B_02.02.0090", "Reason of the termination or ending of the contractual arrangement"),
    ("B_02.02.0100", "Notice period for the financial entity making use of the ICT service(s)"),
    ("B_02.02.0110", "Notice period for the ICT third-party service provider"),
    ("B_02.02.0120", "Country of the governing law of the contractual arrangement"),
    ("B_02.02.0130", "Country of provision of the ICT services"),
    ("B_02.02.0140", "Storage of data"),
    ("B_02.02.0150", "Location of the data at rest (storage)"),
    ("B_02.02.0160", "Location of management of the data (processing)"),
    ("B_02.02.0170", "Sensitiveness of the data stored by the ICT third-party service provider"),
    ("B_02.02.0180", "Level of reliance on the ICT service supporting the critical or important function"),
)
HELPER_COLUMNS = ("mistral-sov:endpoint", "mistral-sov:url", "mistral-sov:provider_hint")
PLACEHOLDER = "[TO COMPLETE]"


@dataclass(frozen=True)
class EvidenceFile:
    """One evidence file given to the pack (its parsed report, the payload of a signed envelope)."""

    id: str  # e.g. "E1"
    name: str  # file name inside the pack (evidence/NAME)
    sha256: str
    report: dict[str, Any]
    signature: str  # "valid Ed25519 …", "unsigned", "not checked (no --public-key)"
    trusted_time: str  # "trusted time …" or "no trusted time"


@dataclass(frozen=True)
class Observation:
    """What residency evidence observed for one endpoint."""

    evidence: tuple[str, ...]
    verdicts: tuple[str, ...]
    destination_countries: tuple[str, ...]
    transit_countries: tuple[str, ...]
    operators: tuple[str, ...]  # "organisation (jurisdiction)"


@dataclass(frozen=True)
class AuditInputs:
    policy: Policy
    policy_file: str
    policy_sha256: str
    catalog: Catalog | None
    models: list[ApprovedModel]
    evidence: list[EvidenceFile]
    bundle_manifest: dict[str, Any] | None
    audit_log: str
    generated_at: str
    tool_version: str


@dataclass
class AuditRecords:
    dora_b0501: list[dict[str, str]]
    dora_b0202: list[dict[str, str]]
    gdpr_art30: dict[str, Any]
    ai_act_art26: dict[str, Any]
    to_complete: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _countries(values: set[str]) -> tuple[str, ...]:
    return tuple(sorted(v for v in values if v))


def observations(policy: Policy, evidence: list[EvidenceFile]) -> dict[str, Observation]:
    """Per endpoint name: what the residency checks in the evidence files saw."""
    found: dict[str, dict[str, set[str]]] = {}
    by_host = {ep.host: ep.name for ep in policy.endpoints}
    names = {ep.name for ep in policy.endpoints}
    for ev in evidence:
        checks = ev.report.get("checks")
        for check in checks if isinstance(checks, list) else []:
            details = check.get("details") if isinstance(check, dict) else None
            if not isinstance(details, dict) or not isinstance(details.get("hops"), list):
                continue
            name, host = details.get("endpoint"), details.get("host")
            if not isinstance(name, str) or name not in names:
                name = by_host.get(host) if isinstance(host, str) else None
            if name is None:
                continue
            slot = found.setdefault(name, {k: set() for k in ("ev", "verdict", "dest", "transit", "ops")})
            slot["ev"].add(ev.id)
            slot["verdict"].add(str(check.get("verdict", "")))
            for hop in details["hops"]:
                if not isinstance(hop, dict):
                    continue
                country = hop.get("country")
                raw_flags = hop.get("flags")
                flags: list[Any] = raw_flags if isinstance(raw_flags, list) else []
                if isinstance(country, str) and country:
                    slot["dest" if "destination" in flags else "transit"].add(country)
                if "destination" in flags and hop.get("operator"):
                    slot["ops"].add(f"{hop['operator']} ({hop.get('jurisdiction') or 'jurisdiction unknown'})")
    return {
        name: Observation(
            tuple(sorted(s["ev"])),
            tuple(sorted(s["verdict"])),
            _countries(s["dest"]),
            _countries(s["transit"]),
            tuple(sorted(s["ops"])),
        )
        for name, s in found.items()
    }


def provider_hint(endpoint: Endpoint, catalog: Catalog | None) -> tuple[str, str]:
    """(provider key, hint) — what the policy and catalog say about who runs the endpoint."""
    if endpoint.region:
        region = lookup_region(endpoint.region)
        provider = endpoint.region.split(":", 1)[0]
        where = f", region {region.name} in {country_label(region.country)}" if region else ""
        return provider, f"cloud provider '{provider}'{where} (policy endpoints[].region)"
    if catalog is not None:
        hit = catalog.service_for_host(endpoint.host)
        if hit is not None:
            service, _domain = hit
            return (
                service.vendor,
                f"catalog: '{service.name}' by {service.vendor}, parent company in {country_label(service.country)}",
            )
    return endpoint.host, f"no catalog entry for {endpoint.host}: identify the contracting entity"


def build_records(inputs: AuditInputs) -> AuditRecords:
    from mistral_sov.services.audit_records import ai_act_sheet, dora_rows, gdpr_record

    obs = observations(inputs.policy, inputs.evidence)
    records = AuditRecords([], [], {}, {})
    dora_rows(inputs, obs, records)
    records.gdpr_art30 = gdpr_record(inputs, obs, records)
    records.ai_act_art26 = ai_act_sheet(inputs, records)
    for ev in inputs.evidence:
        stale = _evidence_policy_sha(ev.report)
        if stale and stale != inputs.policy_sha256:
            records.warnings.append(
                f"evidence {ev.name} was made with another version of the policy (policy SHA-256 {stale[:12]}…)"
            )
    manifest = inputs.bundle_manifest
    if manifest is None:
        records.warnings.append("no export bundle manifest: the enforcement bundle is not evidenced in this pack")
    elif manifest.get("policy_sha256") != inputs.policy_sha256:
        records.warnings.append("the export bundle was made from another version of the policy: export again")
    return records


def _evidence_policy_sha(report: dict[str, Any]) -> str | None:
    meta = report.get("metadata")
    if isinstance(meta, dict):
        ev = meta.get("evidence")
        if isinstance(ev, dict) and isinstance(ev.get("policy_sha256"), str) and ev["policy_sha256"]:
            return str(ev["policy_sha256"])
    return None


def transfers(obs: Observation | None) -> dict[str, Any]:
    """GDPR Chapter V view of one endpoint: what residency evidence shows about leaving the EEA."""
    if obs is None:
        return {"status": "not established", "detail": "no residency evidence for this endpoint in the pack"}
    outside = [c for c in obs.destination_countries if c not in EEA_COUNTRIES]
    transit = [c for c in obs.transit_countries if c not in EEA_COUNTRIES]
    if not obs.destination_countries:
        detail = "the evidence places no destination for this endpoint"
        if transit:
            detail += f"; the path transited {', '.join(transit)} (outside the EEA)"
        return {"status": "not established", "transit_outside_eea": transit, "detail": detail}
    if outside:
        return {
            "status": "outside the EEA",
            "countries": outside,
            "detail": "the endpoint answered from outside the EEA: a transfer (Chapter V) needs a legal basis",
        }
    detail = "destination in the EEA"
    if transit:
        detail += f"; the path transited {', '.join(transit)} (transit, not storage)"
    return {"status": "none found", "countries": [], "transit_outside_eea": transit, "detail": detail}
