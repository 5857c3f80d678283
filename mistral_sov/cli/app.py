"""The ``mistral-sov`` command: the composition root.

Sub-commands live in one module each (``SUBCOMMANDS``), imported only when that command
runs, and every module imports only Typer at import time, so ``mistral-sov --help`` stays
fast. ``main()`` is the single place where exceptions become exit codes
(docs/architecture.md).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from mistral_sov import __version__
from mistral_sov.errors import ExitStatus, InputError, MistralSovError

INTERNAL_ERROR = 70  # EX_SOFTWARE: a bug in mistral-sov, never a verdict

# name -> (module, attribute, one-line help). The attribute is a Typer sub-app, or a
# ``register(app)`` function adding one top-level command. Modules are imported only when the
# command is used, so ``mistral-sov --help`` builds none of them; the help lines here are kept
# equal to the modules' own by tests/cli/test_app.py.
SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    "init": (
        "mistral_sov.cli.init",
        "register",
        "Write a commented starter policy (and its JSON Schema beside it for editors).",
    ),
    "policy": ("mistral_sov.cli.policy", "app", "Validate, explain and export the policy file."),
    "catalog": ("mistral_sov.cli.catalog", "app", "Browse the catalog of public AI services."),
    "allowlist": ("mistral_sov.cli.allowlist", "app", "Manage and test the approved-endpoint allowlist."),
    "verify-residency": (
        "mistral_sov.cli.verify",
        "register",
        "Trace each approved endpoint and prove every hop stays in the allowed zones.",
    ),
    "atlas": ("mistral_sov.cli.atlas", "app", "Live RIPE Atlas measurements of the approved endpoints."),
    "ranges": (
        "mistral_sov.cli.ranges",
        "app",
        "Cloud IP range files (Azure, AWS, Google Cloud, Oracle, Cloudflare, Fastly).",
    ),
    "keys": ("mistral_sov.cli.evidence", "keys_app", "Ed25519 keys for signing evidence."),
    "evidence": ("mistral_sov.cli.evidence", "app", "Check signed evidence records."),
    "local": (
        "mistral_sov.cli.local",
        "app",
        "Serve an approved open-weight model on this machine only (OpenAI-compatible).",
    ),
    "gate": (
        "mistral_sov.cli.gate",
        "app",
        "CI compliance gate: policy, bundle drift, ADMX lint, residency, local models, catalog conflicts.",
    ),
    "ci": ("mistral_sov.cli.ci", "app", "CI pipelines that run the compliance gate."),
    "audit": (
        "mistral_sov.cli.audit",
        "app",
        "Audit pack: DORA register, GDPR Art. 30 record, AI Act Art. 26 sheet.",
    ),
    "sbom": (
        "mistral_sov.cli.sbom",
        "register",
        "Write CycloneDX 1.6 bills of materials: the toolkit and the approved local AI models.",
    ),
}

_built: dict[str, Any] = {}


def build_subcommand(name: str) -> Any:
    """Import and build one sub-command (a Click command or group), once."""
    if name not in _built:
        module, attr, _help = SUBCOMMANDS[name]
        obj = getattr(importlib.import_module(module), attr)
        if isinstance(obj, typer.Typer):
            obj.rich_markup_mode = None  # plain Click help, like the root (no Rich import)
            obj._add_completion = False  # completion is offered once, on the root
            command = typer.main.get_group(obj)  # a group even with a single command ("ci init")
        else:  # a register(app) function adding one command
            holder = typer.Typer(rich_markup_mode=None, add_completion=False)
            obj(holder)
            holder.callback()(lambda: None)  # force a group so the command keeps its name
            command = typer.main.get_command(holder).commands[name]  # type: ignore[attr-defined]
        command.name = name
        from mistral_sov.cli import conventions

        conventions.apply(command, name)  # examples in --help, human metavars, completion
        _built[name] = command
    return _built[name]


class _LazyGroup(typer.core.TyperGroup):
    """The root group: lists sub-commands from ``SUBCOMMANDS`` and builds one only when used."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *SUBCOMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in SUBCOMMANDS:
            return build_subcommand(cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = [(name, help_) for name, (_m, _a, help_) in SUBCOMMANDS.items()]
        limit = max(formatter.width - 6 - max(len(name) for name, _ in rows), 20)
        with formatter.section("Commands"):
            formatter.write_dl([(name, _short(help_, limit)) for name, help_ in rows])


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3].rsplit(" ", 1)[0] + "..."


app = typer.Typer(
    name="mistral-sov",
    cls=_LazyGroup,
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


_machine: dict[str, str | None] = {"output": None}


def _print_error(exc: MistralSovError) -> None:
    for diag in exc.diagnostics():
        sys.stderr.write(diag.render() + "\n")
    fmt = _machine["output"]
    if fmt:  # -o json/yaml: the same error on stdout, in the documented shape
        from mistral_sov.cli.common import print_document, result_document

        print_document(result_document(False, int(exc.exit_status), exc.diagnostics()), fmt)


def _internal(exc: BaseException) -> int:
    sys.stderr.write(
        f"internal error: {type(exc).__name__}: {exc}\n"
        "    hint: this is a bug in mistral-sov; re-run with --debug and report the traceback\n"
    )
    return INTERNAL_ERROR


def _choice_hint(message: str) -> str:
    """'did you mean …?' for a value refused by an enum option (``'gitlub' is not one of …``)."""
    import re

    found = re.search(r"'([^']*)' is not one of (.*)", message)
    if not found:
        return ""
    from mistral_sov.core.policy import suggest

    choices = re.findall(r"'([^']*)'", found.group(2))
    return suggest(found.group(1).lower(), choices) or f"use one of: {', '.join(choices)}"


def _print_usage_error(message: str, hint: str = "") -> None:
    fmt = _machine["output"]
    if fmt:
        from mistral_sov.cli.common import print_document, result_document
        from mistral_sov.errors import Diagnostic

        diag = Diagnostic(message, hint=hint or "see --help of the command")
        print_document(result_document(False, int(ExitStatus.USAGE), [diag]), fmt)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and translate every outcome into an exit code."""
    try:  # Typer >= 0.26 vendors Click as typer._click
        from typer._click import exceptions as click_exc
    except ImportError:  # pragma: no cover - older Typer
        from click import exceptions as click_exc  # type: ignore[no-redef]

    args = argv if argv is not None else sys.argv[1:]
    if "--debug" in args:
        _debug["on"] = True
    from mistral_sov.cli.common import requested_output

    _machine["output"] = requested_output(list(args))
    for stream in (sys.stdout, sys.stderr):
        # a Windows console or pipe in a legacy code page must not turn an organisation name
        # or an arrow into a UnicodeEncodeError: unencodable characters print as '?'
        # (files and reports are always written as UTF-8 by their writers)
        encoding = (getattr(stream, "encoding", "") or "").lower().replace("-", "")
        if encoding != "utf8" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    command = typer.main.get_command(app)
    code: int
    try:
        result: Any = command.main(args=argv, prog_name="mistral-sov", standalone_mode=False)
        code = int(result) if isinstance(result, int) else 0
        if code == ExitStatus.INTERRUPTED:  # Typer turns Ctrl-C into Exit(130), returned here
            sys.stderr.write("interrupted\n")
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
        hint = _choice_hint(exc.format_message())
        if hint:
            sys.stderr.write(f"    hint: {hint}\n")
        _print_usage_error(exc.format_message(), hint)
        code = ExitStatus.USAGE
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("interrupted\n")
        code = ExitStatus.INTERRUPTED
    except BrokenPipeError:
        code = 0
    except OSError as exc:  # the one place a file error that escaped a command becomes 2 or 4
        if _debug["on"]:
            raise
        from mistral_sov.adapters.fileio import translate_os_error

        error = translate_os_error(exc)
        _print_error(error)
        code = int(error.exit_status)
    except ValueError as exc:
        # json/int parsing refuses numbers of more than 4,300 digits (CVE-2020-10735 guard):
        # whichever reader met it, it is the input's fault, not a bug
        if _debug["on"] or "integer string conversion" not in str(exc):
            if _debug["on"]:
                raise
            code = _internal(exc)
        else:
            _print_error(
                InputError(
                    "the input holds a number with more than 4,300 digits",
                    hint="this is not a file mistral-sov writes or reads; check which file was passed",
                )
            )
            code = ExitStatus.USAGE
    except RecursionError:
        if _debug["on"]:
            raise
        _print_error(
            InputError(
                "the input is nested too deeply to process",
                hint="flatten the document; mistral-sov reads at most a few hundred levels",
            )
        )
        code = ExitStatus.USAGE
    except Exception as exc:
        if _debug["on"]:
            raise
        code = _internal(exc)
    sys.exit(code)
