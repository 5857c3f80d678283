"""The ``mistral-sov`` command: the composition root.

Sub-commands live in one module each (``SUBCOMMANDS``); every module imports only Typer at
import time, so ``mistral-sov --help`` stays fast. ``main()`` is the single place where
exceptions become exit codes (docs/architecture.md).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from mistral_sov import __version__
from mistral_sov.errors import ExitStatus, MistralSovError

INTERNAL_ERROR = 70  # EX_SOFTWARE: a bug in mistral-sov, never a verdict

# (module, attribute, name or None for top-level commands registered by the module itself)
SUBCOMMANDS: list[tuple[str, str, str | None]] = [
    ("mistral_sov.cli.init", "register", None),
    ("mistral_sov.cli.policy", "app", "policy"),
    ("mistral_sov.cli.catalog", "app", "catalog"),
    ("mistral_sov.cli.allowlist", "app", "allowlist"),
    ("mistral_sov.cli.local", "app", "local"),
    ("mistral_sov.cli.verify", "register", None),
    ("mistral_sov.cli.ranges", "app", "ranges"),
    ("mistral_sov.cli.evidence", "keys_app", "keys"),
    ("mistral_sov.cli.evidence", "app", "evidence"),
    ("mistral_sov.cli.gate", "app", "gate"),
    ("mistral_sov.cli.ci", "app", "ci"),
]

app = typer.Typer(
    name="mistral-sov",
    help="Keep AI prompts and answers inside designated EU zones, and prove it.",
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_debug = {"on": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mistral-sov {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="Never use colour (also: NO_COLOR=1).")] = False,
    templates_dir: Annotated[
        Path | None,
        typer.Option("--templates-dir", help="Use shipped data (catalog, strings, CI templates) from DIR."),
    ] = None,
) -> None:
    """Keep AI prompts and answers inside designated EU zones, and prove it."""
    from mistral_sov.cli._ui import set_no_color

    _debug["on"] = debug
    set_no_color(no_color)
    if templates_dir is not None:
        from mistral_sov import resources

        resources.set_templates_dir(templates_dir)


for _module, _attr, _name in SUBCOMMANDS:
    _obj = getattr(importlib.import_module(_module), _attr)
    if _name is None:
        _obj(app)
    else:
        app.add_typer(_obj, name=_name)


def _print_error(exc: MistralSovError) -> None:
    for diag in exc.diagnostics():
        sys.stderr.write(diag.render() + "\n")


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and translate every outcome into an exit code."""
    try:  # Typer >= 0.26 vendors Click as typer._click
        from typer._click import exceptions as click_exc
    except ImportError:  # pragma: no cover - older Typer
        from click import exceptions as click_exc  # type: ignore[no-redef]

    if "--debug" in (argv if argv is not None else sys.argv[1:]):
        _debug["on"] = True
    command = typer.main.get_command(app)
    code: int
    try:
        result: Any = command.main(args=argv, prog_name="mistral-sov", standalone_mode=False)
        code = int(result) if isinstance(result, int) else 0
    except MistralSovError as exc:
        if _debug["on"]:
            raise
        _print_error(exc)
        code = int(exc.exit_status)
    except typer.Exit as exc:
        code = exc.exit_code
    except click_exc.NoArgsIsHelpError as exc:
        exc.show()
        code = ExitStatus.USAGE
    except click_exc.ClickException as exc:
        exc.show()
        code = ExitStatus.USAGE
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("interrupted\n")
        code = ExitStatus.INTERRUPTED
    except BrokenPipeError:
        code = 0
    except Exception as exc:
        if _debug["on"]:
            raise
        sys.stderr.write(
            f"internal error: {type(exc).__name__}: {exc}\n"
            "    hint: this is a bug in mistral-sov; re-run with --debug and report the traceback\n"
        )
        code = INTERNAL_ERROR
    sys.exit(code)
