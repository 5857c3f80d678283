"""The third-party controls table (``templates/controls/third-party.yaml``): one row per vendor
policy, the one source every export channel is built from.

- ``load_table()`` reads and validates the table (unknown fields, products, controls, types,
  channels or platforms, a value that does not match its type or the vendor's allowed values, a
  row without a source: exit 2 naming ``file:line``).
- ``emitted(policy, channel)`` are the rows a channel carries for a policy file; the JSON,
  plist, Registry.pol, .reg, settings-catalog and PowerShell writers all call it, so the
  channels cannot drift apart (the parity tests parse every output back and compare).
- ``resolve_value(row, lists)`` turns ``$block_hosts`` … into the lists from ``export_rules``.
- ``check_supported(policy)`` refuses (exit 2) a switch that an enabled product cannot enforce
  outside a vendor cloud console; ``export_warnings`` names the gaps that are not errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mistral_sov.adapters.exporters.control_table import (
    BASE_KEYS,
    CHANNELS,
    CONTROLS,
    MAX_URL_ENTRIES,
    PLACEHOLDERS,
    PLATFORMS,
    PRODUCT_LABELS,
    PRODUCTS,
    REGISTRY_CHANNELS,
    TABLE,
    ControlRow,
    load_table,
    parse_table,
)
from mistral_sov.errors import InputError

__all__ = [
    "BASE_KEYS",
    "CHANNELS",
    "CONTROLS",
    "MAX_URL_ENTRIES",
    "PLACEHOLDERS",
    "PLATFORMS",
    "PRODUCTS",
    "PRODUCT_LABELS",
    "REGISTRY_CHANNELS",
    "TABLE",
    "ControlRow",
    "load_table",
    "parse_table",
]

if TYPE_CHECKING:
    from mistral_sov.core.catalog import Catalog
    from mistral_sov.core.policy import Policy

# --------------------------------------------------------------------------- selection


def product_enabled(policy: Policy, product: str) -> bool:
    return product == "windows" or bool(getattr(policy.browsers, product))


def requested(policy: Policy, control: str) -> bool:
    switch = CONTROLS[control]
    if switch is None:
        return True
    section, field = switch.split(".")
    return bool(getattr(getattr(policy, section), field))


def emitted(
    policy: Policy, channel: str, product: str | None = None, table: tuple[ControlRow, ...] | None = None
) -> list[ControlRow]:
    """The rows ``channel`` carries for this policy (optionally for one product), table order."""
    rows = load_table() if table is None else table
    return [
        r
        for r in rows
        if channel in r.channels
        and (product is None or r.product == product)
        and product_enabled(policy, r.product)
        and requested(policy, r.control)
    ]


# --------------------------------------------------------------------------- values


def chromium_filter(host: str) -> str:
    """A URLBlocklist/URLAllowlist entry for a host: ``example.com`` covers sub-domains;
    IPv6 literals need brackets."""
    return f"[{host}]" if ":" in host else host


def firefox_pattern(host: str) -> str:
    """A WebExtension match pattern for a host and its sub-domains (``*.x`` matches ``x`` too)."""
    from mistral_sov.core.domains import is_ip

    if ":" in host:
        return f"*://[{host}]/*"
    if is_ip(host):
        return f"*://{host}/*"
    return f"*://*.{host}/*"


def url_lists(policy: Policy, catalog: Catalog) -> dict[str, list[str]]:
    """The values of the list placeholders, from ``export_rules`` (the view the DNS, PAC and
    ``allowlist check`` use). More than 1,000 entries is an error, never a silent truncation."""
    from mistral_sov.adapters.exporters._text import checked_hosts
    from mistral_sov.core.rules import export_rules

    rules = export_rules(policy, catalog)
    block = checked_hosts(list(rules.block_domains), "blocked domain")
    allow = checked_hosts(list(rules.allow_domains), "approved host")
    for name, entries in (("block list", block), ("allow list", allow)):
        if len(entries) > MAX_URL_ENTRIES:
            raise InputError(
                f"the browser {name} would have {len(entries)} entries; Chrome, Edge and Firefox ignore "
                f"every entry after the first {MAX_URL_ENTRIES}",
                hint="narrow blocking.catalog to some categories or trim extra_domains, or enforce the block "
                "list with the DNS (rpz, unbound, dnsmasq) or PAC formats: "
                "`mistral-sov policy export --format network`",
                field="blocking",
            )
    return {
        "$block_hosts": [chromium_filter(d) for d in block],
        "$allow_hosts": [chromium_filter(d) for d in allow],
        "$block_patterns": [firefox_pattern(d) for d in block],
        "$allow_patterns": [firefox_pattern(d) for d in allow],
    }


def resolve_value(value: Any, lists: dict[str, list[str]]) -> Any:
    """The row's value with placeholders replaced (a fresh copy: callers may keep it)."""
    if isinstance(value, str) and value in PLACEHOLDERS:
        return list(lists[value])
    if isinstance(value, dict):
        return {k: resolve_value(v, lists) for k, v in value.items()}
    if isinstance(value, list):
        return list(value)
    return value


def channel_values(
    policy: Policy, catalog: Catalog, channel: str, product: str, lists: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    """``{policy name: value}`` for a JSON/plist channel."""
    values = lists if lists is not None else url_lists(policy, catalog)
    return {r.policy: resolve_value(r.value, values) for r in emitted(policy, channel, product)}


# --------------------------------------------------------------------------- gaps


def check_supported(policy: Policy, table: tuple[ControlRow, ...] | None = None) -> None:
    """Exit 2 when the policy asks for a control that an enabled product has rows for, but no
    row mistral-sov can emit (cloud-only or deprecated everywhere)."""
    rows = load_table() if table is None else table
    for product in PRODUCTS:
        if not product_enabled(policy, product):
            continue
        for control, switch in CONTROLS.items():
            if not requested(policy, control):
                continue
            mine = [r for r in rows if r.product == product and r.control == control]
            if mine and not any(r.enforcing for r in mine):
                first = mine[0]
                reasons = "; ".join(f"{r.policy}: {r.why_not()}" for r in mine)
                raise InputError(
                    f"{switch or control} asks for a control that {PRODUCT_LABELS[product]} cannot enforce "
                    f"from a policy file (table row {first.label}, {TABLE}:{first.line}: {reasons})",
                    hint=(
                        f"set browsers.{product}: false, or {switch}: false, and enforce it in the vendor's "
                        "cloud console; or add a row with a policy the product honours locally"
                        if switch
                        else "add a row with a policy the product honours locally"
                    ),
                    field=switch or "browsers",
                )


def export_warnings(policy: Policy, formats: list[str] | tuple[str, ...]) -> list[str]:
    """Gaps an administrator must know about (not errors): a control a chosen format cannot
    carry, and rows with no known settings-catalog ID."""
    from mistral_sov.adapters.exporters import catalog_ids

    out: list[str] = []
    rows = load_table()
    fmt_channels = {
        "gpo": ("registry_pol",),
        "intune": ("intune_catalog", "intune_scripts"),
        "browsers": ("managed_json", "policies_json", "mobileconfig"),
    }
    for fmt in formats:
        channels = fmt_channels.get(fmt)
        if not channels:
            continue
        for product in PRODUCTS:
            if not product_enabled(policy, product):
                continue
            carried = {r.control for ch in channels for r in emitted(policy, ch, product, rows)}
            for control in CONTROLS:
                if not requested(policy, control) or control in carried:
                    continue
                mine = [r for r in rows if r.product == product and r.control == control and r.enforcing]
                if not mine or not any(CHANNELS[ch][1].count(product) for ch in channels):
                    continue
                where = sorted({CHANNELS[ch][2] for r in mine for ch in r.channels})
                out.append(
                    f"{fmt}: {PRODUCT_LABELS[product]} {control} has no {fmt} control "
                    f"({', '.join(r.policy for r in mine)}); it is enforced only by {'; '.join(where)}"
                )
    if "intune" in formats:
        ids = catalog_ids.load_ids()
        for r in emitted(policy, "intune_catalog"):
            if r.label not in ids:
                out.append(
                    f"intune: {PRODUCT_LABELS[r.product]} {r.policy} has no known settings-catalog ID "
                    f"(snapshot {catalog_ids.snapshot_date()}); the Remediations scripts carry it"
                )
    return out
