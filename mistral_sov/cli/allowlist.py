"""``mistral-sov allowlist list|add|remove|check``: the approved sovereign endpoints."""

from __future__ import annotations

from typing import Annotated

import typer

from mistral_sov.cli._ui import OutputFormat
from mistral_sov.cli.common import DEFAULT_POLICY, OutputOption, PolicyOption

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


def _write_policy(path: object, loaded: object, new_text: str) -> None:
    """Re-validate ``new_text`` and write it atomically with the file's own encoding/BOM."""
    from pathlib import Path

    from mistral_sov.adapters.catalogfile import load_catalog
    from mistral_sov.adapters.fileio import atomic_write_bytes
    from mistral_sov.adapters.policyfile import LoadedPolicy, parse_policy, read_policy_bytes

    assert isinstance(path, Path) and isinstance(loaded, LoadedPolicy)
    original = read_policy_bytes(path)
    bom = b"\xef\xbb\xbf" if original.startswith(b"\xef\xbb\xbf") else b""
    data = bom + new_text.encode("utf-8")
    parse_policy(data, str(path), load_catalog())  # refuse to write an invalid policy
    atomic_write_bytes(path, data)


@app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="Endpoint URL, e.g. https://mistral.example.eu")],
    name: Annotated[str | None, typer.Option("--name", help="Endpoint name (default: from the host).")] = None,
    region: Annotated[str | None, typer.Option("--region", help="Cloud region, e.g. azure:germanywestcentral.")] = None,
    private_link: Annotated[bool, typer.Option("--private-link", help="Reached through a private link.")] = False,
    policy: PolicyOption = DEFAULT_POLICY,
) -> None:
    """Approve an endpoint: append it to the policy, keeping comments and formatting."""
    import re
    from urllib.parse import urlsplit

    from mistral_sov.adapters.policyedit import add_list_item
    from mistral_sov.cli._ui import echo
    from mistral_sov.cli.common import load_policy
    from mistral_sov.core.policy import normalize_url
    from mistral_sov.errors import InputError

    loaded = load_policy(policy)
    normalized, notes = normalize_url(url)
    for severity, message, hint in notes:
        if severity == "error":
            raise InputError(message, hint=hint, field="URL")
    host = urlsplit(normalized).hostname or ""
    if name is None:
        name = re.sub(r"[^A-Za-z0-9._-]", "-", host.split(".")[0])[:64] or "endpoint"
    existing = {e.name for e in loaded.policy.endpoints}
    if name in existing:
        raise InputError(f"an endpoint named '{name}' already exists", hint="choose another --name")
    if any(e.url == normalized for e in loaded.policy.endpoints):
        raise InputError(f"'{normalized}' is already approved", hint="see `mistral-sov allowlist list`")
    entry: dict[str, object] = {"name": name, "url": normalized, "region": region}
    if private_link:
        entry["private_link"] = True
    new_text = add_list_item(loaded.doc, "endpoints", entry)
    _write_policy(policy, loaded, new_text)
    echo(f"added endpoint '{name}' ({normalized}) to {policy}")


@app.command("remove")
def remove(
    target: Annotated[str, typer.Argument(metavar="NAME|URL", help="Endpoint name or URL.")],
    policy: PolicyOption = DEFAULT_POLICY,
) -> None:
    """Remove an approved endpoint from the policy, keeping comments and formatting."""
    from mistral_sov.adapters.policyedit import remove_list_item
    from mistral_sov.cli._ui import echo
    from mistral_sov.cli.common import load_policy
    from mistral_sov.core.policy import normalize_url, suggest
    from mistral_sov.errors import InputError

    loaded = load_policy(policy)
    endpoints = loaded.policy.endpoints
    wanted_url = normalize_url(target)[0] if "://" in target else None
    index = next(
        (i for i, e in enumerate(endpoints) if e.name == target or (wanted_url and e.url == wanted_url)),
        None,
    )
    if index is None:
        raise InputError(
            f"no approved endpoint '{target}'",
            hint=suggest(target, [e.name for e in endpoints]) or "see `mistral-sov allowlist list`",
        )
    _write_policy(policy, loaded, remove_list_item(loaded.doc, "endpoints", index))
    echo(f"removed endpoint '{endpoints[index].name}' from {policy}")
