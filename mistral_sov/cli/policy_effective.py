"""``mistral-sov policy effective``: the policy this endpoint enforces — ``sovereignty.yaml``
overridden by the managed policy (Group Policy / Intune registry values, macOS profile, Linux
``/etc/mistral-sov/managed.json``) — and where every value came from.

``load_endpoint_policy`` is what ``local serve|run|doctor|bench`` and ``verify-residency`` use
instead of the bare YAML loader.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mistral_sov.cli._ui import OutputFormat
from mistral_sov.cli.common import DEFAULT_POLICY, OutputOption, PolicyOption

if TYPE_CHECKING:
    from mistral_sov.adapters.policyfile import LoadedPolicy
    from mistral_sov.services.effective import EffectivePolicy


def effective_policy(
    path: Path, managed_files: list[Path] | None = None, *, print_warnings: bool = True
) -> tuple[LoadedPolicy, EffectivePolicy]:
    """The YAML policy and its effective form. ``managed_files`` replaces this machine's
    managed sources (a preview of a Registry.pol, managed.json or profile)."""
    from mistral_sov.adapters import managed
    from mistral_sov.cli._ui import warn
    from mistral_sov.cli.common import load_policy
    from mistral_sov.services.effective import apply_managed, combine

    loaded = load_policy(path, print_warnings=print_warnings)
    if managed_files is None:
        sources = managed.system_sources()
    else:
        sources = [managed.read_file(f) for f in managed_files]
    settings = combine(sources)
    effective = apply_managed(loaded.policy, settings)
    if print_warnings:
        for text in settings.warnings:
            warn(f"warning: {text}")
    return loaded, effective


def load_endpoint_policy(path: Path, *, print_warnings: bool = True) -> LoadedPolicy:
    """The loaded YAML with the managed policy applied (managed values win). Prints one line
    naming the managed sources when there are any."""
    import dataclasses

    from mistral_sov.cli._ui import warn

    loaded, effective = effective_policy(path, print_warnings=print_warnings)
    if effective.origin and print_warnings:
        where = sorted(set(effective.managed.origin.values()))
        warn(
            f"managed policy: {len(effective.managed.origin)} setting(s) from {', '.join(where)} override "
            f"{loaded.path} (see `mistral-sov policy effective`)"
        )
    return dataclasses.replace(loaded, policy=effective.policy)


def register(app: typer.Typer) -> None:
    @app.command("effective")
    def effective(
        policy: PolicyOption = DEFAULT_POLICY,
        managed_file: Annotated[
            list[Path] | None,
            typer.Option(
                "--managed",
                help="Preview these managed sources (Registry.pol, managed.json, .plist, .mobileconfig; "
                "first wins) instead of this machine's.",
            ),
        ] = None,
        output: OutputOption = OutputFormat.table,
    ) -> None:
        """Show the effective policy on this machine and where every value came from.

        Managed values (Group Policy/Intune registry, macOS profile, /etc/mistral-sov/managed.json)
        win over sovereignty.yaml.

        Examples:
          mistral-sov policy effective
          mistral-sov policy effective --managed bundle/gpo/Machine/Registry.pol -o json
        """
        from mistral_sov.cli._ui import emit
        from mistral_sov.services.effective_rows import effective_rows

        loaded, eff = effective_policy(policy, managed_file, print_warnings=output is OutputFormat.table)

        def yaml_where(path: tuple[str, ...]) -> str | None:
            node = loaded.doc.data
            for part in path:
                if not isinstance(node, dict) or part not in node:
                    return None
                node = node[part]
            return str(loaded.where(path)) if path else None

        rows = effective_rows(eff, yaml_where)
        emit(
            {"policy": str(loaded.path), "managed": eff.managed.origin, "settings": rows},
            output,
            columns=[("setting", "Setting"), ("value", "Value"), ("source", "Source")],
            rows=[[r["setting"], r["value"], r["source"]] for r in rows],
            title="Effective policy (managed values win over the YAML)",
        )
