"""``mistral-sov catalog list|show``: the public AI services the policy can block."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from mistral_sov.cli._ui import OutputFormat
from mistral_sov.cli.common import OutputOption
from mistral_sov.core.catalog import CATEGORIES as _CATEGORIES

# a real enum, so Typer refuses other values (exit 2, with did-you-mean); the values are the
# catalog's categories (core/catalog.py), checked equal by tests/cli/test_conventions.py
Category = Enum("Category", {c: c for c in _CATEGORIES}, type=str)  # type: ignore[misc]

app = typer.Typer(help="Browse the catalog of public AI services.", no_args_is_help=True)


def _service_dict(s: object) -> dict[str, object]:
    from mistral_sov.core.catalog import Service

    assert isinstance(s, Service)
    return s.model_dump(mode="json")


@app.command("list")
def list_services(
    category_choice: Annotated[
        Category | None, typer.Option("--category", "-c", case_sensitive=False, help="Only this category.")
    ] = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """List catalog services (id, name, vendor, country, categories, domains)."""
    from mistral_sov.adapters.catalogfile import load_catalog
    from mistral_sov.cli._ui import emit
    from mistral_sov.core.catalog import CATEGORIES
    from mistral_sov.core.policy import suggest
    from mistral_sov.errors import InputError

    catalog = load_catalog()
    category = category_choice.value if category_choice is not None else None
    if category is not None and category not in CATEGORIES:
        raise InputError(
            f"unknown category '{category}'",
            hint=suggest(category, CATEGORIES) or f"categories: {', '.join(CATEGORIES)}",
        )
    services = [s for s in catalog.services if category is None or category in s.categories]
    data = [_service_dict(s) for s in services]
    emit(
        data,
        output,
        columns=[
            ("id", "ID"),
            ("name", "Name"),
            ("vendor", "Vendor"),
            ("country", "Country"),
            ("categories", "Categories"),
            ("domains", "Domains"),
        ],
        title=f"{len(services)} AI services" + (f" in '{category}'" if category else ""),
    )


@app.command("show")
def show(
    service_id: Annotated[str, typer.Argument(metavar="ID", help="Service id, e.g. openai-chatgpt.")],
    output: OutputOption = OutputFormat.table,
) -> None:
    """Show one catalog service."""
    from mistral_sov.adapters.catalogfile import load_catalog
    from mistral_sov.cli._ui import emit, print_kv
    from mistral_sov.core.policy import suggest
    from mistral_sov.core.zones import country_label
    from mistral_sov.errors import InputError

    catalog = load_catalog()
    service = catalog.by_id.get(service_id)
    if service is None:
        raise InputError(
            f"no service '{service_id}' in the catalog",
            hint=suggest(service_id, list(catalog.by_id)) or "list them with `mistral-sov catalog list`",
        )
    if output is not OutputFormat.table:
        emit(_service_dict(service), output)
        return
    print_kv(
        [
            ("id", service.id),
            ("name", service.name),
            ("vendor", service.vendor),
            ("country", country_label(service.country)),
            ("categories", service.categories),
            ("domains", "\n".join(service.domains)),
            ("source", service.source),
            ("notes", service.notes),
        ]
    )
