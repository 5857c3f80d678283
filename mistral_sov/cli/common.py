"""Options and helpers shared by the command modules (kept import-light)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mistral_sov.cli._ui import OutputFormat

if TYPE_CHECKING:
    from mistral_sov.adapters.policyfile import LoadedPolicy
    from mistral_sov.errors import Diagnostic

PolicyOption = Annotated[
    Path,
    typer.Option(
        "-p",
        "--policy",
        envvar="MISTRAL_SOV_POLICY",
        help="Policy file (default ./sovereignty.yaml, or $MISTRAL_SOV_POLICY).",
        show_default=False,
    ),
]
DEFAULT_POLICY = Path("sovereignty.yaml")

OutputOption = Annotated[
    OutputFormat,
    typer.Option("-o", "--output", help="Output format.", case_sensitive=False),
]


class ProbeMethod(str, Enum):
    """Residency probe type (``--method``): a real enum, so Typer refuses other values (exit 2)."""

    tcp = "tcp"
    udp = "udp"
    icmp = "icmp"


class FailOn(str, Enum):
    """Which verdict fails a run (``--fail-on``)."""

    warning = "warning"
    violation = "violation"


def load_policy(path: Path, *, print_warnings: bool = True) -> LoadedPolicy:
    """Load and validate the policy (with the shipped catalog); print its warnings to stderr."""
    from mistral_sov.adapters import policyfile
    from mistral_sov.adapters.catalogfile import load_catalog
    from mistral_sov.cli._ui import warn

    loaded = policyfile.load_policy(path, load_catalog())
    if print_warnings:
        for diag in loaded.warnings:
            warn(diag.render())
    return loaded


def requested_output(argv: list[str]) -> str | None:
    """``json`` or ``yaml`` when the command line asks for machine output (``-o json``,
    ``--output=yaml``, ``-ojson``), so errors can be printed in the same shape."""
    for i, arg in enumerate(argv):
        value = None
        if arg in ("-o", "--output") and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--output="):
            value = arg.split("=", 1)[1]
        elif arg.startswith("-o") and len(arg) > 2 and not arg.startswith("--"):
            value = arg[2:]
        if value and value.lower() in ("json", "yaml"):
            return value.lower()
    return None


def result_document(valid: bool, exit_code: int, diagnostics: list[Diagnostic], **extra: object) -> dict[str, object]:
    """The one machine-readable result shape (``templates/schemas/cli/result.schema.json``):
    ``{"valid", "exit_code", "errors": [...], "warnings": [...], ...}``; every error and
    warning is ``{"file","line","column","field","message","hint","severity"}``."""
    return {
        "valid": valid,
        "exit_code": exit_code,
        "errors": [d.to_dict() for d in diagnostics if d.severity == "error"],
        "warnings": [d.to_dict() for d in diagnostics if d.severity != "error"],
        **extra,
    }


def print_document(doc: object, fmt: str) -> None:
    """Write ``doc`` to stdout as JSON or YAML."""
    from mistral_sov.cli._ui import dump_json, dump_yaml, echo

    echo(dump_json(doc) if fmt == "json" else dump_yaml(doc).rstrip("\n"))


def show(output: OutputFormat, data: dict[str, object], lines: list[str]) -> None:
    """Print a command's result: ``lines`` for people (table), ``data`` for -o json|yaml."""
    from mistral_sov.cli._ui import echo

    if output is OutputFormat.table:
        for line in lines:
            echo(line)
    else:
        print_document(data, output.value)
