"""The bundle's ``README.md``: every file of the bundle with where it is deployed and how, the
third-party controls each channel carries (from the controls table), what exists only in a
vendor's cloud console or was replaced, and the export's warnings.

Deterministic (no dates): ``policy export --check`` compares it like any other file.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mistral_sov.adapters.exporters import controls
from mistral_sov.adapters.exporters._text import display_text
from mistral_sov.ports import Artifact, ExportOptions

if TYPE_CHECKING:
    from mistral_sov.core.catalog import Catalog
    from mistral_sov.core.policy import Policy

README = "README.md"

# (glob, where it goes, how) — first match wins
DEPLOY: tuple[tuple[str, str, str], ...] = (
    (
        "manifest.json",
        "keep with the bundle",
        "lists every file's SHA-256; `mistral-sov policy export --check --out DIR`",
    ),
    (
        "gpo/PolicyDefinitions/*.admx",
        r"`\\<domain>\SYSVOL\<domain>\Policies\PolicyDefinitions\` (central store)",
        "copy; GPMC shows Computer Configuration > Administrative Templates > Mistral AI",
    ),
    (
        "gpo/PolicyDefinitions/*/*.adml",
        r"`…\PolicyDefinitions\<language>\` next to the ADMX",
        "copy with the ADMX (one folder per language)",
    ),
    (
        "gpo/Machine/Registry.pol",
        r"`\\<domain>\SYSVOL\<domain>\Policies\{GPO GUID}\Machine\Registry.pol`",
        "import into a GPO (Backup-GPO / Import-GPO) or one machine: `LGPO.exe /m`",
    ),
    (
        "gpo/User/Registry.pol",
        r"`…\Policies\{GPO GUID}\User\Registry.pol`",
        "import into the GPO's user part, or one machine: `LGPO.exe /u`",
    ),
    ("gpo/mistral-sov.reg", "one test machine only", "`reg import` (values stay after removal: they tattoo)"),
    ("gpo/README.md", "read it", "the Group Policy steps"),
    (
        "intune/admx-ingestion.json",
        "Intune custom profile",
        "Graph `POST /deviceManagement/deviceConfigurations` (ingests MistralSov.admx, sets its policies)",
    ),
    (
        "intune/settings-catalog-*.json",
        "Intune settings catalog",
        "Graph beta `POST /deviceManagement/configurationPolicies`, then assign",
    ),
    ("intune/detect.ps1", "Intune Remediations: detection script", "Devices > Scripts and remediations > Create"),
    ("intune/remediate.ps1", "Intune Remediations: remediation script", "same script package as detect.ps1"),
    (
        "intune/residency-collector*",
        "Intune (residency collector)",
        "see docs/fleet.md",
    ),
    ("gpo/residency-collector*", "Group Policy startup script (residency collector)", "see docs/fleet.md"),
    (
        "managed/managed.json",
        "Linux (and macOS without MDM): `/etc/mistral-sov/managed.json`",
        "owner root, mode 644 (a group/world-writable file is refused); check `mistral-sov policy effective`",
    ),
    (
        "managed/ai.mistral.sovereign.mobileconfig",
        "macOS: MDM profile (lands in `/Library/Managed Preferences/ai.mistral.sovereign.plist`)",
        "upload to your MDM as a custom profile; check `mistral-sov policy effective` (docs/enterprise.md)",
    ),
    (
        "browsers/chrome-managed.json",
        "Linux: `/etc/opt/chrome/policies/managed/` (Chromium: `/etc/chromium/policies/managed/`)",
        "copy as one file, readable by all; check chrome://policy",
    ),
    ("browsers/edge-managed.json", "Linux: `/etc/opt/edge/policies/managed/`", "copy; check edge://policy"),
    (
        "browsers/firefox-policies.json",
        "`/etc/firefox/policies/policies.json` or `<install dir>/distribution/policies.json`",
        "copy as policies.json; check about:policies",
    ),
    (
        "browsers/*.mobileconfig",
        "macOS",
        "MDM (Intune, Jamf …) custom profile, or System Settings > Profiles",
    ),
    ("network/rpz.zone", "BIND (or any RPZ resolver)", '`response-policy { zone "rpz.mistral-sov"; };`'),
    ("network/unbound.conf", "unbound", "`include:` it in unbound.conf"),
    ("network/dnsmasq.conf", "dnsmasq", "`/etc/dnsmasq.d/`"),
    ("network/hosts", r"`/etc/hosts` or `%SystemRoot%\System32\drivers\etc\hosts`", "append (no wildcards)"),
    ("network/proxy.pac", "a web server", "browsers' automatic proxy configuration URL"),
)
# Enforced only in a vendor's cloud or admin console, not by any file of this bundle.
CLOUD_ONLY_SERVICES = (
    "Microsoft 365 Copilot inside Word, Excel, Outlook and Teams: Microsoft 365 admin center (licences, "
    "Copilot settings); the bundle blocks the Copilot web hosts only.",
    "Gemini inside Google Workspace apps: Google Admin console.",
    "GitHub Copilot on github.com: GitHub organisation or enterprise policy.",
)
CHANNEL_FILES = {ch: files for ch, (_platform, _products, files) in controls.CHANNELS.items()}


def deploy_row(path: str) -> tuple[str, str]:
    for pattern, where, how in DEPLOY:
        if fnmatch.fnmatchcase(path, pattern):
            return where, how
    return "see docs/deploy.md", "the section of this file's format"


class BundleReadme:
    path = README

    def document(
        self,
        policy: Policy,
        catalog: Catalog,
        artifacts: Sequence[Artifact],
        formats: Sequence[str],
        options: ExportOptions,
    ) -> Artifact:
        org = display_text(policy.organization) or "mistral-sov"
        lines = [
            f"# mistral-sov bundle: {org}",
            "",
            f"Generated by mistral-sov {options.tool_version or ''} from `sovereignty.yaml` (formats: "
            f"{', '.join(formats)}). `manifest.json` records the policy's SHA-256 and every file's hash; "
            "`mistral-sov policy export --check --out DIR` tells whether a deployed copy is current.",
            "",
            "## Files: where they go and how",
            "",
            "| File | Deploy to | How |",
            "|---|---|---|",
        ]
        paths = sorted({a.path for a in artifacts} | {"manifest.json"})
        for path in paths:
            where, how = deploy_row(path)
            lines.append(f"| `{path}` | {where} | {how} |")
        if set(formats) & {"gpo", "intune", "browsers"}:
            lines += ["", "## Third-party controls in this bundle", ""]
            lines.append(
                "One table (`templates/controls/third-party.yaml`) feeds every channel; each row names its vendor "
                "definition. Channels: Windows = Registry.pol, .reg and the Remediations scripts (and the settings "
                "catalog where an ID is known); Linux = managed JSON / policies.json; macOS = .mobileconfig."
            )
            lines += ["", "| Product | Policy | Value | Carried by |", "|---|---|---|---|"]
            lists = controls.url_lists(policy, catalog)
            for product in controls.PRODUCTS:
                for row in controls.load_table():
                    if row.product != product or not row.enforcing:
                        continue
                    if not (controls.product_enabled(policy, product) and controls.requested(policy, row.control)):
                        continue
                    value = controls.resolve_value(row.value, lists)
                    shown = f"{len(value)} entries" if isinstance(value, list) else _short(value)
                    carried = ", ".join(ch for ch in row.channels)
                    lines.append(f"| {controls.PRODUCT_LABELS[product]} | `{row.policy}` | {shown} | {carried} |")
            lines += ["", "## Not enforced by these files", ""]
            for row in controls.load_table():
                if row.enforcing or not controls.product_enabled(policy, row.product):
                    continue
                instead = f" Used instead: {', '.join(row.instead)}." if row.instead else ""
                reason = row.why_not().rstrip(".")
                lines.append(f"- {controls.PRODUCT_LABELS[row.product]} `{row.policy}`: {reason}.{instead}")
                if row.note and row.why_not() != row.note:
                    lines.append(f"  {row.note}")
        lines += ["", "## Only in a vendor's cloud or admin console", ""]
        lines += [f"- {text}" for text in CLOUD_ONLY_SERVICES]
        warnings = controls.export_warnings(policy, list(formats))
        if warnings:
            lines += ["", "## Warnings", ""] + [f"- {w}" for w in warnings]
        lines += ["", "Step-by-step instructions: docs/deploy.md and docs/export.md in the mistral-sov repository.", ""]
        return Artifact(README, "\n".join(lines).encode("utf-8"))


def _short(value: object) -> str:
    """A value for the table: lists shown as their length (the file has them in full)."""
    import json

    def squash(v: object) -> object:
        if isinstance(v, list):
            return f"<{len(v)} entries>"
        if isinstance(v, dict):
            return {k: squash(x) for k, x in v.items()}
        return v

    text = json.dumps(squash(value), ensure_ascii=False, sort_keys=True)
    return f"`{text}`"


DOCUMENTER = BundleReadme()
