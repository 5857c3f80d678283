"""``mistral-sov policy export`` and ``mistral-sov policy diff``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mistral_sov.adapters.exporters import EXPORTERS
from mistral_sov.cli._ui import OutputFormat
from mistral_sov.cli.common import DEFAULT_POLICY, OutputOption, PolicyOption

if TYPE_CHECKING:
    from mistral_sov.ports import Exporter

DEFAULT_OUT = Path("mistral-sov-bundle")
DEFAULT_LANGS = "en-US,fr-FR,de-DE"
_LANG_RE = re.compile(r"^([A-Za-z]{2,3})-([A-Za-z]{2})$")


def parse_languages(text: str) -> tuple[str, ...]:
    """``en-us, FR-fr`` -> ``("en-US", "fr-FR")``; bad tags raise InputError (exit 2)."""
    from mistral_sov.errors import InputError

    langs: list[str] = []
    for raw in text.split(","):
        tag = raw.strip()
        match = _LANG_RE.match(tag)
        if not match:
            raise InputError(
                f"--lang: '{tag}' is not a language tag" if tag else "--lang: empty language tag",
                hint="write language-REGION tags separated by commas, e.g. --lang en-US,fr-FR,de-DE",
            )
        norm = f"{match.group(1).lower()}-{match.group(2).upper()}"
        if norm in langs:
            raise InputError(f"--lang: '{norm}' is listed twice", hint="list each language once")
        langs.append(norm)
    return tuple(langs)


def select_exporters(names: list[str]) -> list[Exporter]:
    """Exporter objects for ``--format`` values (repeatable or comma-separated; default all)."""
    from mistral_sov.adapters.exporters import EXPORTERS, get_exporter
    from mistral_sov.core.policy import suggest
    from mistral_sov.errors import InputError

    wanted: list[str] = []
    for value in names:
        for part in value.split(","):
            name = part.strip().lower()
            if not name:
                continue
            if name not in EXPORTERS:
                known = sorted(EXPORTERS)
                hint = suggest(name, known)
                hint = (hint + " " if hint else "") + f"formats: {', '.join(known)}"
                raise InputError(f"--format: unknown format '{part.strip()}'", hint=hint)
            if name not in wanted:
                wanted.append(name)
    if not wanted:
        wanted = list(EXPORTERS)
    return [get_exporter(n) for n in wanted]


def export(  # noqa: PLR0917  (Typer maps each parameter to an option)
    policy: PolicyOption = DEFAULT_POLICY,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            metavar="DIR",
            help="Bundle folder. Only files of the previous export are replaced or removed; "
            "anything else there is kept and listed.",
        ),
    ] = DEFAULT_OUT,
    formats: Annotated[
        list[str] | None,
        typer.Option("--format", "-f", help=f"Format to export, repeatable (default: all): {', '.join(EXPORTERS)}."),
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="ADML/label languages, comma-separated.")] = DEFAULT_LANGS,
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 1 if the bundle in --out differs from a fresh export."),
    ] = False,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Write the deployment bundle (GPO, Intune, browsers, DNS/PAC) and its manifest."""
    from mistral_sov import __version__
    from mistral_sov.adapters.bundle import check_bundle, write_bundle
    from mistral_sov.adapters.catalogfile import load_catalog
    from mistral_sov.adapters.exporters import get_documenter
    from mistral_sov.cli.common import load_policy, show
    from mistral_sov.ports import ExportOptions
    from mistral_sov.services.export import render_bundle

    languages = parse_languages(lang)
    exporters = select_exporters(formats or [])
    loaded = load_policy(policy)
    options = ExportOptions(languages=languages, tool_version=__version__)
    artifacts = render_bundle(
        loaded.policy, load_catalog(), exporters, options, loaded.sha256, documenter=get_documenter()
    )
    from mistral_sov.adapters.exporters.controls import export_warnings
    from mistral_sov.cli._ui import warn

    for text in export_warnings(loaded.policy, [e.name for e in exporters]):
        warn(text)
    from mistral_sov.adapters.exporters import EXPORTERS

    if check:
        drift = check_bundle(out, artifacts, roots=set(EXPORTERS))
        lines = [f"{out}: up to date with {policy} ({len(artifacts)} files)"]
        if drift:
            lines = [f"{out}: {len(drift)} file(s) differ from a fresh export of {policy}:"]
            lines += [f"  {item.describe()}" for item in drift]
            lines.append(f"re-run `mistral-sov policy export -p {policy} --out {out}` and deploy the result")
        show(output, {"out": str(out), "up_to_date": not drift, "drift": [d.to_dict() for d in drift]}, lines)
        if drift:
            raise typer.Exit(1)
        return
    protect = {policy: "the policy file", policy.with_name("sovereignty.schema.json"): "the policy's JSON Schema"}
    result = write_bundle(out, artifacts, roots=set(EXPORTERS), protect=protect)
    total = sum(len(a.data) for a in artifacts)
    shown = out if result.out == out.absolute() else f"{out} (-> {result.out})"
    lines = [
        f"wrote {len(artifacts)} files ({total:,} bytes; {len(result.written)} new or changed, "
        f"{len(result.removed)} stale removed) to {shown} "
        f"[{', '.join(e.name for e in exporters)}]; policy sha256 {loaded.sha256[:12]}"
    ]
    if result.kept:
        lines.append(f"kept {len(result.kept)} item(s) in {out} that this export did not write:")
        lines += [f"  {rel}  ({reason})" for rel, reason in sorted(result.kept.items())]
    data = {**result.to_dict(), "formats": [e.name for e in exporters], "policy_sha256": loaded.sha256}
    show(output, data, lines)


def diff(
    old: Annotated[Path, typer.Argument(help="The policy in force (e.g. from git).")],
    new: Annotated[Path, typer.Argument(help="The proposed policy.")],
    output: OutputOption = OutputFormat.table,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when the policies differ (like git diff).")
    ] = False,
) -> None:
    """Explain what changes when NEW replaces OLD: services, domains, endpoints, zones, models, switches."""
    from mistral_sov.adapters.catalogfile import load_catalog
    from mistral_sov.cli._ui import echo, emit
    from mistral_sov.cli.common import load_policy
    from mistral_sov.services.export import diff_policies

    before = load_policy(old, print_warnings=False)
    after = load_policy(new, print_warnings=False)
    changes = diff_policies(before.policy, after.policy, load_catalog())
    data = [c.to_dict() for c in changes]
    if output is OutputFormat.table:
        if not changes:
            echo(f"no effective difference between {old} and {new}")
        else:
            emit(
                data,
                output,
                columns=[("area", "Area"), ("action", "Change"), ("subject", "What"), ("detail", "Detail")],
                title=f"{old} -> {new}: {len(changes)} change(s)",
            )
    else:
        emit({"old": str(old), "new": str(new), "changes": data}, output)
    if exit_code and changes:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("export")(export)
    app.command("diff")(diff)
