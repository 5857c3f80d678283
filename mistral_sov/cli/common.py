"""Options and helpers shared by the command modules (kept import-light)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mistral_sov.cli._ui import OutputFormat

if TYPE_CHECKING:
    from mistral_sov.adapters.policyfile import LoadedPolicy

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
