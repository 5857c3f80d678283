"""``mistral-sov sbom``: CycloneDX 1.6 SBOM of the installed toolkit and AI-BOM of the approved
local models (docs/audit.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mistral_sov.cli._ui import OutputFormat
from mistral_sov.cli.common import DEFAULT_POLICY, OutputOption, PolicyOption

TOOLKIT_FILE = "mistral-sov.cdx.json"
AI_BOM_FILE = "ai-bom.cdx.json"

StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store",
        envvar="MISTRAL_SOV_MODEL_STORE",
        help="Model store directory (default: the user data dir; or $MISTRAL_SOV_MODEL_STORE).",
        show_default=False,
    ),
]


def build_ai_bom(policy_path: Path, store: Path | None) -> dict[str, object]:
    """The validated AI-BOM JSON for the policy's approved models (exit 5 when the store holds
    a model the policy refuses)."""
    from mistral_sov.adapters import audit_sources, sbom
    from mistral_sov.cli.common import load_policy
    from mistral_sov.services.inventory import inventory, require_no_refusals

    loaded = load_policy(policy_path)
    approved, refused = inventory(loaded.policy, audit_sources.model_facts(store, loaded.policy))
    require_no_refusals(refused)
    bom, cards = sbom.ai_bom(approved, loaded.policy.organization)
    return _checked(sbom.to_json(bom, cards), "AI-BOM")


def _checked(doc: dict[str, object], what: str) -> dict[str, object]:
    from mistral_sov.adapters import sbom

    problems = sbom.validate(doc)
    if problems:  # a bug in mistral-sov: never write a document the schema refuses
        raise RuntimeError(f"the {what} does not validate against CycloneDX 1.6: {'; '.join(problems[:5])}")
    return doc


def sbom_command(
    out: Annotated[Path, typer.Option("--out", help="Directory for the CycloneDX JSON files.")] = Path(),
    policy: PolicyOption = DEFAULT_POLICY,
    store: StoreOption = None,
    toolkit_only: Annotated[
        bool, typer.Option("--toolkit-only", help="Only the toolkit SBOM (no policy or model store needed).")
    ] = False,
    output: OutputOption = OutputFormat.table,
) -> int:
    """Write CycloneDX 1.6 bills of materials: the toolkit and the approved local AI models."""
    from mistral_sov.adapters import sbom
    from mistral_sov.adapters.fileio import atomic_write_bytes
    from mistral_sov.cli._ui import echo

    documents = {TOOLKIT_FILE: _checked(sbom.to_json(sbom.toolkit_bom()), "SBOM")}
    if not toolkit_only:
        documents[AI_BOM_FILE] = build_ai_bom(policy, store)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, doc in documents.items():
        atomic_write_bytes(out / name, sbom.dump(doc))
        components = doc.get("components")
        rows.append({"file": str(out / name), "components": len(components) if isinstance(components, list) else 0})
    if output is OutputFormat.table:
        for row in rows:
            valid = "valid against the CycloneDX JSON Schema"
            echo(f"{row['file']}: CycloneDX 1.6, {row['components']} component(s), {valid}")
    else:
        from mistral_sov.cli._ui import emit

        emit({"spec_version": "1.6", "schema_valid": True, "files": rows}, output)
    return 0


def register(app: typer.Typer) -> None:
    app.command("sbom")(sbom_command)
