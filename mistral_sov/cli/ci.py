"""``mistral-sov ci init github|gitlab|azure|jenkins``: write a ready pipeline from templates/ci/."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from mistral_sov.cli._ui import OutputFormat
from mistral_sov.cli.common import OutputOption

app = typer.Typer(help="CI pipelines that run the compliance gate.", rich_markup_mode=None, no_args_is_help=True)

# system -> (template under templates/ci/, default output path)
SYSTEMS: dict[str, tuple[str, str]] = {
    "github": ("ci/github.yml", ".github/workflows/mistral-sov.yml"),
    "gitlab": ("ci/gitlab.yml", ".gitlab-ci.yml"),
    "azure": ("ci/azure.yml", "azure-pipelines.yml"),
    "jenkins": ("ci/Jenkinsfile", "Jenkinsfile"),
}


class CiSystem(str, Enum):
    github = "github"
    gitlab = "gitlab"
    azure = "azure"
    jenkins = "jenkins"


@app.command("init")
def init(
    system: Annotated[CiSystem, typer.Argument(help="github, gitlab, azure or jenkins.", case_sensitive=False)],
    out: Annotated[
        Path | None, typer.Option("--out", help="Where to write it (default: the system's usual path).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Write a pipeline: validate + `policy export --check` + gate on every change, a scheduled
    residency run, JUnit/SARIF/HTML reports published."""
    from mistral_sov import resources
    from mistral_sov.adapters.fileio import atomic_write_bytes
    from mistral_sov.cli.common import show
    from mistral_sov.errors import InputError, Location

    key = system.value
    template, default = SYSTEMS[key]
    target = out if out is not None else Path(default)
    if target.exists() and not force:
        raise InputError(
            f"'{target}' already exists",
            location=Location(str(target)),
            hint="pass --force to replace it, or --out another path",
        )
    from mistral_sov import __version__

    # the pipeline installs exactly this version (mirrors: see the variables in the file)
    data = resources.read_bytes(template).replace(b"@MISTRAL_SOV_VERSION@", __version__.encode("ascii"))
    atomic_write_bytes(target, data)  # errors: exit 2 (path, permissions) or 4 (full/read-only disk)
    import contextlib

    with contextlib.suppress(OSError):
        target.chmod(0o644)  # a pipeline file is meant to be committed and read by others
    show(
        output,
        {"system": key, "written": str(target)},
        [f"wrote {target} ({key}); commit it, then see docs/ci.md for the scheduled residency run"],
    )
