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
    from mistral_sov.cli._ui import emit
    from mistral_sov.cli.common import load_policy
    from mistral_sov.core.rules import AllowRule, BlockRule, effective_rules
    from mistral_sov.core.urlmatch import FilterError
    from mistral_sov.errors import ExitStatus, InputError
    from mistral_sov.resources import load_catalog

    loaded = load_policy(policy)
    rules = effective_rules(loaded.policy, load_catalog())
    results = []
    for url in urls:
        try:
            decision = rules.decide(url)
        except FilterError as exc:
            raise InputError(str(exc), hint=exc.hint, field="URL") from None
        rule = decision.filter.data if decision.filter else None
        entry: dict[str, object] = {"url": url, "status": decision.status, "filter": decision.filter.text if decision.filter else None}
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
