"""``mistral-sov policy lint-admx``: check an ADMX and its ADMLs (XSD + cross-file rules)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mistral_sov.cli._ui import OutputFormat
from mistral_sov.cli.common import OutputOption


def register(app: typer.Typer) -> None:
    @app.command("lint-admx")
    def lint_admx(
        admx: Annotated[Path, typer.Argument(help="The .admx file.", show_default=False)],
        adml_dir: Annotated[
            Path | None,
            typer.Option("--adml-dir", help="Folder holding <lang>/<name>.adml (default: next to the ADMX)."),
        ] = None,
        output: OutputOption = OutputFormat.table,
    ) -> int:
        """Validate an ADMX/ADML set: schema, dangling references, duplicates, controls, hives, Intune
        paths, missing translations. Exit 0 clean (warnings allowed), 1 errors found, 2 unreadable input."""
        from mistral_sov.adapters.admx.lint import lint_admx as run_lint
        from mistral_sov.cli._ui import echo, emit
        from mistral_sov.errors import ExitStatus

        diagnostics = run_lint(admx, adml_dir)
        errors = sum(1 for d in diagnostics if d.severity == "error")
        warnings = len(diagnostics) - errors
        if output is OutputFormat.table:
            for diag in diagnostics:
                echo(diag.render())
            echo(f"{admx}: {errors} error(s), {warnings} warning(s)")
        else:
            emit(
                {
                    "file": str(admx),
                    "errors": errors,
                    "warnings": warnings,
                    "diagnostics": [
                        {
                            "severity": d.severity,
                            "rule": d.field,
                            "file": d.location.file if d.location else "",
                            "line": d.location.line if d.location else 0,
                            "message": d.message,
                            "hint": d.hint,
                        }
                        for d in diagnostics
                    ],
                },
                output,
            )
        return int(ExitStatus.CHECK_FAILED if errors else ExitStatus.OK)
