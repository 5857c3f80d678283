"""``mistral-sov allowlist list|add|remove|check``: the approved sovereign endpoints."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mistral_sov.cli._ui import OutputFormat
from mistral_sov.cli.common import DEFAULT_POLICY, OutputOption, PolicyOption

if TYPE_CHECKING:
    from mistral_sov.adapters.policyfile import LoadedPolicy

app = typer.Typer(help="Manage and test the approved-endpoint allowlist.", no_args_is_help=True)


@app.command("list")
def list_endpoints(policy: PolicyOption = DEFAULT_POLICY, output: OutputOption = OutputFormat.table) -> None:
    """List the approved endpoints and the exceptions."""
    from mistral_sov.cli._ui import emit
    from mistral_sov.cli.common import load_policy

    p = load_policy(policy).policy
    data = [
        {
            "name": e.name,
            "url": e.url,
            "host": e.host,
            "region": e.region,
            "private_link": e.private_link,
        }
        for e in p.endpoints
    ]
    if output is not OutputFormat.table:
        emit({"endpoints": data, "exceptions": list(p.blocking.exceptions)}, output)
        return
    emit(
        data,
        output,
        columns=[("name", "Name"), ("url", "URL"), ("region", "Region"), ("private_link", "Private link")],
        title=f"{len(data)} approved endpoint(s); exceptions: {', '.join(p.blocking.exceptions) or 'none'}",
    )


@app.command("check")
def check(
    urls: Annotated[list[str], typer.Argument(metavar="URL...", help="URLs or host names to test.")],
    policy: PolicyOption = DEFAULT_POLICY,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Predict what Edge/Chrome will do with each URL under this policy.

    Exit 0 when every URL is allowed, 1 when any is blocked."""
    from mistral_sov.adapters.catalogfile import load_catalog
    from mistral_sov.cli._ui import emit
    from mistral_sov.cli.common import load_policy
    from mistral_sov.core.rules import AllowRule, BlockRule, export_rules
    from mistral_sov.core.urlmatch import FilterError
    from mistral_sov.errors import ExitStatus, InputError

    loaded = load_policy(policy)
    rules = export_rules(loaded.policy, load_catalog())  # what the exported browser policies enforce
    results = []
    for url in urls:
        try:
            decision = rules.decide(url)
        except FilterError as exc:
            raise InputError(str(exc), hint=exc.hint, field="URL") from None
        rule = decision.filter.data if decision.filter else None
        entry: dict[str, object] = {
            "url": url,
            "status": decision.status,
            "filter": decision.filter.text if decision.filter else None,
        }
        if isinstance(rule, BlockRule):
            entry.update(
                reason=rule.describe(),
                service=rule.service_id or None,
                categories=list(rule.categories),
            )
        elif isinstance(rule, AllowRule):
            entry.update(reason=rule.describe(), endpoint=rule.name or None)
        else:
            entry["reason"] = "no filter matches: neither approved nor blocked"
        results.append(entry)
    emit(
        results,
        output,
        columns=[("url", "URL"), ("status", "Status"), ("filter", "Filter"), ("reason", "Why")],
    )
    if any(r["status"] == "blocked" for r in results):
        raise typer.Exit(ExitStatus.CHECK_FAILED)


def _encode_like(original: bytes, text: str) -> bytes:
    """``text`` in the file's own encoding and byte-order mark (UTF-8, UTF-8 BOM, UTF-16)."""
    if original.startswith(b"\xff\xfe"):
        return b"\xff\xfe" + text.encode("utf-16-le")
    if original.startswith(b"\xfe\xff"):
        return b"\xfe\xff" + text.encode("utf-16-be")
    bom = b"\xef\xbb\xbf" if original.startswith(b"\xef\xbb\xbf") else b""
    return bom + text.encode("utf-8")


def _edit_policy(
    path: Path, what: str, change: Callable[[LoadedPolicy], tuple[str, str]], output: OutputFormat
) -> None:
    """Read-modify-write ``path`` under a lock, so concurrent edits never lose an update:
    load, let ``change`` produce the new text (and a note), re-validate, and write atomically
    only if the file still holds what was read (exit 2 otherwise)."""
    from mistral_sov.adapters.catalogfile import load_catalog
    from mistral_sov.adapters.fileio import atomic_write_bytes, edit_lock
    from mistral_sov.adapters.policyfile import parse_policy, read_policy_bytes
    from mistral_sov.cli._ui import warn
    from mistral_sov.errors import InputError, PolicyError

    with edit_lock(path):
        original = read_policy_bytes(path)
        loaded = parse_policy(original, str(path), load_catalog())  # the very bytes compared before the write
        new_text, note = change(loaded)
        data = _encode_like(original, new_text)
        try:
            parse_policy(data, str(path), load_catalog())  # refuse to write an invalid policy
        except PolicyError as exc:
            # the file was valid before: whatever is wrong now comes from the requested change
            problems = [d for d in exc.diagnostics() if d.severity == "error"]
            raise InputError(
                f"{what} would make the policy invalid: {problems[0].message}; '{path}' was not changed",
                hint=problems[0].hint or "check the values you passed",
                diagnostics=[
                    type(d)(
                        f"{what} would make the policy invalid: {d.message} ('{path}' was not changed)",
                        None,
                        d.field,
                        d.hint,
                    )
                    for d in problems
                ],
            ) from None
        atomic_write_bytes(path, data, expect=original)
    if note:
        warn(note)
    from mistral_sov.cli.common import show

    show(output, {"file": str(path), "change": what, "note": note or None}, [f"{what}: written to {path}"])


@app.command("add")
def add(  # noqa: PLR0917  (Typer maps each parameter to an option)
    url: Annotated[str, typer.Argument(metavar="URL", help="Endpoint URL, e.g. https://mistral.example.eu")],
    name: Annotated[
        str | None, typer.Option("--name", metavar="NAME", help="Endpoint name (default: from the host).")
    ] = None,
    region: Annotated[
        str | None,
        typer.Option("--region", metavar="PROVIDER:REGION", help="Cloud region, e.g. azure:germanywestcentral."),
    ] = None,
    private_link: Annotated[bool, typer.Option("--private-link", help="Reached through a private link.")] = False,
    policy: PolicyOption = DEFAULT_POLICY,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Approve an endpoint: append it to the policy, keeping comments and formatting.

    Concurrent edits of the same file are serialised; if another program changed the file
    meanwhile, nothing is written (exit 2).
    """
    import re
    from urllib.parse import urlsplit

    from mistral_sov.adapters.policyedit import edit_list
    from mistral_sov.core.policy import normalize_url
    from mistral_sov.errors import InputError

    normalized, notes = normalize_url(url)
    for severity, message, hint in notes:
        if severity == "error":
            raise InputError(message, hint=hint, field="URL")
    host = urlsplit(normalized).hostname or ""
    if name is None:
        name = re.sub(r"[^A-Za-z0-9._-]", "-", host.split(".")[0])[:64] or "endpoint"

    def change(loaded: LoadedPolicy) -> tuple[str, str]:
        if name in {e.name for e in loaded.policy.endpoints}:
            raise InputError(f"an endpoint named '{name}' already exists", hint="choose another --name")
        if any(e.url == normalized for e in loaded.policy.endpoints):
            raise InputError(f"'{normalized}' is already approved", hint="see `mistral-sov allowlist list`")
        entry: dict[str, object] = {"name": name, "url": normalized, "region": region}
        if private_link:
            entry["private_link"] = True
        return edit_list(loaded.doc.text, str(loaded.path), "endpoints", add=entry)

    _edit_policy(policy, f"adding endpoint '{name}' ({normalized})", change, output)


@app.command("remove")
def remove(
    target: Annotated[str, typer.Argument(metavar="NAME|URL", help="Endpoint name or URL.")],
    policy: PolicyOption = DEFAULT_POLICY,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Remove an approved endpoint from the policy, keeping comments and formatting."""
    from mistral_sov.adapters.policyedit import edit_list
    from mistral_sov.core.policy import normalize_url, suggest
    from mistral_sov.errors import InputError

    wanted_url = normalize_url(target)[0] if "://" in target else None

    def change(loaded: LoadedPolicy) -> tuple[str, str]:
        endpoints = loaded.policy.endpoints
        index = next(
            (i for i, e in enumerate(endpoints) if e.name == target or (wanted_url and e.url == wanted_url)),
            None,
        )
        if index is None:
            raise InputError(
                f"no approved endpoint '{target}'",
                hint=suggest(target, [e.name for e in endpoints]) or "see `mistral-sov allowlist list`",
            )
        return edit_list(loaded.doc.text, str(loaded.path), "endpoints", remove=index)

    _edit_policy(policy, f"removing endpoint '{target}'", change, output)
