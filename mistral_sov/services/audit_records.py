"""The three regulators' records of the audit pack (see ``services.audit`` for the rules). Pure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mistral_sov.core.zones import country_label, lookup_region

if TYPE_CHECKING:
    from mistral_sov.services.audit import AuditInputs, AuditRecords, Observation

DPO = "[TO COMPLETE by the DPO]"


def _todo(records: AuditRecords, record: str, where: str, what: str) -> None:
    records.to_complete.append({"record": record, "field": where, "what": what})


def dora_rows(inputs: AuditInputs, obs: dict[str, Observation], records: AuditRecords) -> None:
    """B_02.02 (one row per endpoint) and B_05.01 (one row per provider): only the processing
    location is filled, from the endpoint's declared cloud region; everything else is listed."""
    from mistral_sov.services.audit import B_02_02, B_05_01, provider_hint

    providers: dict[str, dict[str, str]] = {}
    for ep in inputs.policy.endpoints:
        key, hint = provider_hint(ep, inputs.catalog)
        seen = obs.get(ep.name)
        if seen and seen.destination_countries:
            hint += f"; residency evidence {', '.join(seen.evidence)} observed it answering from " + ", ".join(
                seen.destination_countries
            )
        row = {code: "" for code, _ in B_02_02}
        region = lookup_region(ep.region) if ep.region else None
        if region is not None:
            row["B_02.02.0160"] = region.country
        row.update({"mistral-sov:endpoint": ep.name, "mistral-sov:url": ep.url, "mistral-sov:provider_hint": hint})
        records.dora_b0202.append(row)
        for code, name in B_02_02:
            if not row[code]:
                _todo(records, "dora/B_02.02.csv", f"{ep.name}: {code} {name}", hint)
        if key not in providers:
            prow = {code: "" for code, _ in B_05_01}
            prow.update({"mistral-sov:endpoint": ep.name, "mistral-sov:url": ep.url, "mistral-sov:provider_hint": hint})
            providers[key] = prow
        else:
            providers[key]["mistral-sov:endpoint"] += f" {ep.name}"
    for prow in providers.values():
        records.dora_b0501.append(prow)
        for code, name in B_05_01:
            _todo(
                records,
                "dora/B_05.01.csv",
                f"{prow['mistral-sov:endpoint']}: {code} {name}",
                prow["mistral-sov:provider_hint"],
            )


def _recipient(inputs: AuditInputs, ep: Any, seen: Observation | None) -> dict[str, Any]:
    from mistral_sov.services.audit import provider_hint, transfers

    _key, hint = provider_hint(ep, inputs.catalog)
    region = lookup_region(ep.region) if ep.region else None
    return {
        "name": ep.name,
        "url": ep.url,
        "declared_region": ep.region,
        "declared_country": country_label(region.country) if region else None,
        "private_link": ep.private_link,
        "provider": hint,
        "observed_destination_countries": list(seen.destination_countries) if seen else [],
        "observed_operators_and_parent_jurisdictions": list(seen.operators) if seen else [],
        "residency_verdicts": list(seen.verdicts) if seen else [],
        "evidence": list(seen.evidence) if seen else [],
        "transfer_outside_eea": transfers(seen),
    }


def gdpr_record(inputs: AuditInputs, obs: dict[str, Observation], records: AuditRecords) -> dict[str, Any]:
    """GDPR Art. 30(1) record for the processing "use of AI assistants by staff"."""
    policy = inputs.policy
    li = policy.local_inference
    recipients = [_recipient(inputs, ep, obs.get(ep.name)) for ep in policy.endpoints]
    for rec in recipients:
        status = rec["transfer_outside_eea"]["status"]
        if status == "outside the EEA":
            records.warnings.append(f"endpoint {rec['name']}: residency evidence shows a destination outside the EEA")
        elif status == "not established":
            detail = rec["transfer_outside_eea"]["detail"]
            records.warnings.append(f"endpoint {rec['name']}: transfers outside the EEA not established ({detail})")
    blocked = policy.blocking.catalog
    safeguards = [
        "approved endpoints only: every other AI service of the catalog is blocked by browser, DNS and proxy policy"
        if blocked != "none"
        else "the catalog block list is off (blocking.catalog: none)",
        f"residency zone: {', '.join(policy.zones.allowed_countries)} (verified by `mistral-sov verify-residency`)",
        "browsers' built-in AI disabled" if policy.browsers.disable_builtin_ai else "browsers' built-in AI left on",
        "local models served only if their SHA-256 and licence are approved (local_inference.models)",
        "prompts are not written to the local audit log"
        if not li.log_prompts
        else "prompts ARE written to the local audit log (log_prompts: true)",
        "legal safeguards for transfers (Art. 46: adequacy decision, SCCs): " + DPO,
    ]
    record = {
        "title": "Record of processing activities — use of AI assistants (GDPR Art. 30(1))",
        "controller": {"name": policy.organization, "contact_details": DPO, "dpo_contact": DPO},
        "purposes": [DPO + " e.g. drafting and summarising texts by staff"],
        "lawful_basis": DPO,
        "categories_of_data_subjects": [DPO],
        "categories_of_personal_data": [DPO + " whatever staff type into prompts; consider special categories"],
        "recipients": recipients,
        "local_processing": [
            {"model": m.name, "sha256": m.sha256, "where": "on the organisation's own machines", "present": m.present}
            for m in inputs.models
        ],
        "transfers_outside_eea": {r["name"]: r["transfer_outside_eea"] for r in recipients},
        "safeguards": safeguards,
        "erasure_time_limits": {
            "local_audit_log_retention_days": li.audit_log_retention_days,
            "providers": DPO,
        },
        "security_measures_art32": [
            "policy enforced from one signed-off file (SHA-256 " + inputs.policy_sha256 + ")",
            "residency evidence signed with Ed25519 (and RFC 3161 time-stamped when a TSA is configured)",
        ],
    }
    for where in (
        "controller.contact_details",
        "controller.dpo_contact",
        "purposes",
        "lawful_basis",
        "categories_of_data_subjects",
        "categories_of_personal_data",
        "safeguards (Art. 46)",
        "erasure_time_limits.providers",
    ):
        _todo(records, "gdpr-art30-record", where, "the DPO completes it; the tool cannot know it")
    return record


def ai_act_sheet(inputs: AuditInputs, records: AuditRecords) -> dict[str, Any]:
    """AI Act Art. 26 deployer sheet: allowed AI systems, logs and their retention (>= 6 months)."""
    from mistral_sov.services.audit import SIX_MONTHS_DAYS

    li = inputs.policy.local_inference
    days = li.audit_log_retention_days
    if days is None:
        retention = {
            "status": "NOT CONFIGURED",
            "detail": "set local_inference.audit_log_retention_days (>= 183) to declare how long logs are kept",
        }
        if inputs.models:
            records.warnings.append("AI Act Art. 26(6): audit-log retention is not configured")
    elif days < SIX_MONTHS_DAYS:
        retention = {"status": "FAIL", "detail": f"{days} days is less than six months ({SIX_MONTHS_DAYS} days)"}
        records.failures.append(f"AI Act Art. 26(6): audit-log retention {days} days < six months")
    else:
        retention = {"status": "OK", "detail": f"{days} days >= six months ({SIX_MONTHS_DAYS} days)"}
    sheet = {
        "title": "AI Act Art. 26 — deployer obligations sheet",
        "deployer": inputs.policy.organization,
        "high_risk_classification": "[TO COMPLETE] is any use a high-risk use (Annex III)? Art. 26 applies to those",
        "allowed_ai_systems": {
            "endpoints": [
                {"name": ep.name, "url": ep.url, "region": ep.region, "private_link": ep.private_link}
                for ep in inputs.policy.endpoints
            ],
            "local_models": [
                {
                    "name": m.name,
                    "sha256": m.sha256,
                    "licence_approved": m.license,
                    "licence_claimed_by_file": m.license_claim,
                    "architecture": m.fact("architecture"),
                    "quantization": m.fact("quantization"),
                    "parameters": m.fact("parameter_count"),
                    "present_on_this_machine": m.present,
                }
                for m in inputs.models
            ],
        },
        "logs": {
            "local_inference_audit_log": inputs.audit_log,
            "log_prompts": li.log_prompts,
            "retention_days": days,
            "retention_check": retention,
            "remote_endpoints": "[TO COMPLETE] where each provider keeps logs, and for how long",
        },
        "human_oversight_art26_2": "[TO COMPLETE] who oversees the AI systems, with what competence and authority",
        "input_data_art26_4": "[TO COMPLETE] how input data is kept relevant",
        "information_of_workers_art26_7": "[TO COMPLETE] how staff and their representatives were informed",
    }
    for where in (
        "high_risk_classification",
        "logs.remote_endpoints",
        "human_oversight_art26_2",
        "input_data_art26_4",
        "information_of_workers_art26_7",
    ):
        _todo(records, "ai-act-art26-deployer-sheet", where, "the deployer completes it")
    if days is None:
        _todo(records, "ai-act-art26-deployer-sheet", "logs.retention_days", retention["detail"])
    return sheet
