"""What each channel must carry, derived in the tests straight from the controls table
(``templates/controls/third-party.yaml``) and the policy, without the exporters' code.

The registry layout follows the vendors' documented mapping, re-implemented here on purpose
(Chrome/Edge: ``<key>\\<Policy>\\1…`` for lists, DWORD for booleans and integers, REG_SZ for
strings; Firefox: objects are sub-keys, booleans DWORD 0/1), so a bug in the exporter's
flattening cannot hide behind the same bug in the expectation.
"""

from __future__ import annotations

from typing import Any

import yaml

from mistral_sov.core.rules import export_rules
from mistral_sov.resources import read_text

REG_SZ, REG_DWORD = 1, 4
KEYS = {
    "chrome": "Software\\Policies\\Google\\Chrome",
    "edge": "Software\\Policies\\Microsoft\\Edge",
    "firefox": "Software\\Policies\\Mozilla\\Firefox",
}
SWITCHES = {
    "url_filter": None,
    "doh_off": None,
    "builtin_ai_off": ("browsers", "disable_builtin_ai"),
    "recall_off": ("windows", "disable_recall"),
    "copilot_off": ("windows", "disable_copilot"),
}


def table_rows() -> list[dict[str, Any]]:
    return yaml.safe_load(read_text("controls/third-party.yaml"))["controls"]


def wanted_rows(policy, channel: str) -> list[dict[str, Any]]:
    out = []
    for row in table_rows():
        if channel not in row["channels"]:
            continue
        if row["product"] != "windows" and not getattr(policy.browsers, row["product"]):
            continue
        switch = SWITCHES[row["control"]]
        if switch and not getattr(getattr(policy, switch[0]), switch[1]):
            continue
        out.append(row)
    return out


def lists(policy, catalog) -> dict[str, list[str]]:
    rules = export_rules(policy, catalog)

    def chromium(d: str) -> str:
        return f"[{d}]" if ":" in d else d

    def firefox(d: str) -> str:
        if ":" in d:
            return f"*://[{d}]/*"
        if d.replace(".", "").isdigit():
            return f"*://{d}/*"
        return f"*://*.{d}/*"

    return {
        "$block_hosts": [chromium(d) for d in rules.block_domains],
        "$allow_hosts": [chromium(d) for d in rules.allow_domains],
        "$block_patterns": [firefox(d) for d in rules.block_domains],
        "$allow_patterns": [firefox(d) for d in rules.allow_domains],
    }


def value_of(row: dict[str, Any], values: dict[str, list[str]]) -> Any:
    def sub(v: Any) -> Any:
        if isinstance(v, str) and v in values:
            return values[v]
        if isinstance(v, dict):
            return {k: sub(x) for k, x in v.items()}
        return v

    return sub(row["value"])


def registry_entries(policy, catalog, scope: str) -> list[tuple[str, str, int, Any]]:
    """(key, value name, type, data) Registry.pol records for the table's rows, in table order;
    lists start with the ``**delvals.`` directive."""
    values = lists(policy, catalog)
    out: list[tuple[str, str, int, Any]] = []

    def emit(key: str, name: str, v: Any) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                emit(f"{key}\\{name}", k, x)
        elif isinstance(v, list):
            out.append((f"{key}\\{name}", "**delvals.", REG_SZ, " "))
            out.extend((f"{key}\\{name}", str(i), REG_SZ, x) for i, x in enumerate(v, start=1))
        elif isinstance(v, bool):
            out.append((key, name, REG_DWORD, int(v)))
        elif isinstance(v, int):
            out.append((key, name, REG_DWORD, v))
        else:
            out.append((key, name, REG_SZ, v))

    for row in wanted_rows(policy, "registry_pol"):
        if row.get("scope", "Machine") != scope:
            continue
        emit(row.get("key") or KEYS[row["product"]], row["policy"], value_of(row, values))
    return out


def controls_of(rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(r["product"], r["policy"]) for r in rows}
