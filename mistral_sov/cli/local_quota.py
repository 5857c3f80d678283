"""``mistral-sov local quota show|reset``: the persistent per-key daily counters (SQLite beside
the audit log, shared by every server process; identities are ``key_id``s, never keys)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mistral_sov.cli._ui import OutputFormat
from mistral_sov.cli.common import DEFAULT_POLICY, OutputOption, PolicyOption
from mistral_sov.cli.local_common import StoreOption, audit_path

if TYPE_CHECKING:
    from mistral_sov.adapters.inference.server.limits import UsageStore

quota_app = typer.Typer(help="Per-key daily request counters (persistent, UTC days).", no_args_is_help=True)

DayOption = Annotated[str | None, typer.Option("--day", metavar="YYYY-MM-DD", help="UTC day (default: today).")]


def _open(policy: Path, store: Path | None) -> tuple[UsageStore, Path]:
    """The quota database beside the policy's audit log, and that audit log."""
    from mistral_sov.adapters.inference.server.limits import USAGE_FILE, UsageStore
    from mistral_sov.cli.common import load_policy

    loaded = load_policy(policy)
    li = loaded.policy.local_inference
    audit = audit_path(loaded.policy, loaded.path, store)
    return UsageStore(audit.parent / USAGE_FILE, li.rate_limit_per_minute, li.daily_quota), audit


def _check_day(day: str | None) -> None:
    if day is None:
        return
    from datetime import datetime

    from mistral_sov.errors import InputError

    try:
        datetime.strptime(day, "%Y-%m-%d")
    except ValueError:
        raise InputError(f"--day: '{day}' is not a date", hint="write it as YYYY-MM-DD (UTC)") from None


@quota_app.command("show")
def quota_show(
    day: DayOption = None,
    policy: PolicyOption = DEFAULT_POLICY,
    store: StoreOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Requests used and remaining per key today (or on --day)."""
    from mistral_sov.cli._ui import emit

    _check_day(day)
    usage, _audit = _open(policy, store)
    rows = usage.usage(day)
    if output is not OutputFormat.table:
        emit({"database": str(usage.path), "daily_quota": usage.per_day, "usage": rows}, output)
        return
    emit(
        rows,
        output,
        columns=[("identity", "Key id"), ("day", "Day (UTC)"), ("requests", "Requests"), ("remaining", "Remaining")],
        rows=[[r["identity"], r["day"], r["requests"], r["remaining"]] for r in rows],
        title=f"{len(rows)} key(s), daily quota {usage.per_day} ({usage.path})",
    )


@quota_app.command("reset")
def quota_reset(
    key_id: Annotated[str | None, typer.Argument(help="The key id to reset (from `quota show`).")] = None,
    all_keys: Annotated[bool, typer.Option("--all", help="Reset every key.")] = False,
    day: DayOption = None,
    policy: PolicyOption = DEFAULT_POLICY,
    store: StoreOption = None,
) -> None:
    """Give a key (or every key, --all) its full daily quota again."""
    from mistral_sov.adapters.inference.server.observe import AuditLog, now_iso
    from mistral_sov.cli._ui import echo
    from mistral_sov.errors import InputError

    _check_day(day)
    if (key_id is None) == (not all_keys):
        raise InputError("name one key id, or pass --all", hint="see the key ids with `mistral-sov local quota show`")
    usage, audit = _open(policy, store)
    removed = usage.reset(None if all_keys else key_id, day)
    AuditLog(audit).write(
        {"time": now_iso(), "event": "quota_reset", "identity": "*" if all_keys else key_id, "day": day or "today"}
    )
    echo(f"reset {removed} counter(s)" + (f" for {key_id}" if key_id else " for every key"))
