"""``mistral-sov policy …``: validate, schema, regions (export, diff and lint-admx are
registered by their own modules at the bottom of this file)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from mistral_sov.cli._ui import OutputFormat
from mistral_sov.cli.common import DEFAULT_POLICY, OutputOption, PolicyOption


class RegionProvider(str, Enum):
    """Providers with a region table (``core/zones.py: PROVIDERS``)."""

    azure = "azure"
    aws = "aws"
    gcp = "gcp"
    oci = "oci"


app = typer.Typer(help="Validate, explain and export the policy file.", no_args_is_help=True)


@app.command("validate")
def validate(policy: PolicyOption = DEFAULT_POLICY, output: OutputOption = OutputFormat.table) -> None:
    """Check the policy file: schema, country codes, regions, URLs, conflicts. Exit 2 on errors.

    With -o json/yaml the result is {"valid", "exit_code", "errors", "warnings", ...}, each
    problem {"file","line","column","field","message","hint","severity"}, also when invalid.
    """
    from mistral_sov.adapters.catalogfile import load_catalog
    from mistral_sov.cli._ui import echo
    from mistral_sov.cli.common import load_policy, print_document, result_document

    loaded = load_policy(policy, print_warnings=output is OutputFormat.table)
    p = loaded.policy
    from mistral_sov.core.rules import effective_rules

    rules = effective_rules(p, load_catalog())
    summary = {
        "file": str(policy),
        "sha256": loaded.sha256,
        "organization": p.organization,
        "endpoints": len(p.endpoints),
        "blocked_domains": len(rules.block),
        "allowed_domains": len(rules.allow_domains),
        "local_models": len(p.local_inference.models),
    }
    if output is OutputFormat.table:
        echo(
            f"{policy}: valid — {summary['endpoints']} endpoint(s), {summary['blocked_domains']} blocked "
            f"domain(s), {summary['allowed_domains']} allowed, {summary['local_models']} local model(s), "
            f"{len(loaded.warnings)} warning(s)"
        )
    else:
        print_document(result_document(True, 0, loaded.warnings, **summary), output.value)


@app.command("schema")
def schema() -> None:
    """Print the policy's JSON Schema (for `# yaml-language-server: $schema=…`)."""
    import json

    from mistral_sov.cli._ui import echo
    from mistral_sov.core.schema import policy_json_schema

    echo(json.dumps(policy_json_schema(), indent=2))


@app.command("regions")
def regions(
    provider_choice: Annotated[
        RegionProvider | None, typer.Argument(case_sensitive=False, help="Cloud provider (default: all).")
    ] = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """List the cloud regions a policy may name, with their country."""
    from mistral_sov.cli._ui import emit
    from mistral_sov.core.zones import EU_COUNTRIES, PROVIDERS, cloud_regions
    from mistral_sov.errors import InputError

    provider = provider_choice.value if provider_choice is not None else None
    if provider is not None and provider not in PROVIDERS:
        raise InputError(f"unknown provider '{provider}'", hint=f"use one of {', '.join(PROVIDERS)}")
    data = [
        {"region": r.key, "country": r.country, "city": r.city, "eu": r.country in EU_COUNTRIES}
        for r in cloud_regions().values()
        if provider is None or r.provider == provider
    ]
    emit(data, output, columns=[("region", "Region"), ("country", "Country"), ("city", "City"), ("eu", "EU")])


from mistral_sov.cli import policy_export as _policy_export  # noqa: E402

_policy_export.register(app)
from mistral_sov.cli import policy_admx as _policy_admx  # noqa: E402

_policy_admx.register(app)
from mistral_sov.cli import policy_effective as _policy_effective  # noqa: E402

_policy_effective.register(app)
