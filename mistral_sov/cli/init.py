"""``mistral-sov init``: write a commented starter policy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mistral_sov.cli._ui import OutputFormat
from mistral_sov.cli.common import OutputOption


def register(app: typer.Typer) -> None:
    app.command("init")(init)


def init(
    path: Annotated[Path, typer.Argument(help="Where to write the policy.")] = Path("sovereignty.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Write a commented starter policy (and its JSON Schema beside it for editors)."""
    from mistral_sov import resources
    from mistral_sov.adapters.catalogfile import load_catalog
    from mistral_sov.adapters.fileio import atomic_write_text
    from mistral_sov.adapters.policyfile import parse_policy
    from mistral_sov.cli.common import show
    from mistral_sov.core.schema import policy_json_schema
    from mistral_sov.errors import InputError, Location

    if path.exists() and not force:
        raise InputError(
            f"'{path}' already exists",
            location=Location(str(path)),
            hint="pass --force to overwrite it, or choose another path",
        )
    text = resources.read_text("policies/starter.yaml")
    parse_policy(text.encode("utf-8"), str(path), load_catalog())  # the starter must be valid
    atomic_write_text(path, text)
    schema_path = path.with_name("sovereignty.schema.json")
    import json

    atomic_write_text(schema_path, json.dumps(policy_json_schema(), indent=2) + "\n")
    show(
        output,
        {"policy": str(path), "schema": str(schema_path)},
        [f"wrote {path} and {schema_path}", f"next: edit it, then run `mistral-sov policy validate -p {path}`"],
    )
