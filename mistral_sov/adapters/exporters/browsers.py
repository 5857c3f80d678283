"""Browser policies for Linux and macOS: Chrome/Edge managed JSON, Firefox ``policies.json``
and one macOS configuration profile (``.mobileconfig``) per browser.

Files (all UTF-8 without BOM, LF line ends: the encodings Chrome, Edge, Firefox and macOS
read; plists are written by ``plistlib``):

- ``browsers/chrome-managed.json`` → ``/etc/opt/chrome/policies/managed/`` (Linux)
- ``browsers/edge-managed.json`` → ``/etc/opt/edge/policies/managed/`` (Linux)
- ``browsers/firefox-policies.json`` → ``/etc/firefox/policies/policies.json`` or
  ``<install dir>/distribution/policies.json``
- ``browsers/{chrome,edge,firefox}.mobileconfig`` → macOS (MDM or System Settings)

Block and allow lists come from ``export_rules`` (the same view ``allowlist check`` uses).
Chrome and Edge ignore URL-list entries beyond 1,000, so a longer list is an error that
points the administrator to the DNS/PAC formats instead of a silent truncation.
"""

from __future__ import annotations

import json
import plistlib
import uuid
from typing import Any

from mistral_sov.adapters.exporters._text import checked_hosts, display_text
from mistral_sov.core.catalog import Catalog
from mistral_sov.core.domains import is_ip
from mistral_sov.core.policy import Policy
from mistral_sov.core.rules import Rules, export_rules
from mistral_sov.errors import InputError
from mistral_sov.ports import Artifact, ExportOptions

MAX_URL_ENTRIES = 1000
# Fixed namespace for the deterministic profile UUIDs (uuid5 of the profile content).
PROFILE_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "profiles.mistral-sov.eu")
IDENTIFIER_PREFIX = "eu.mistral-sov.browsers"

CHROME_AI: dict[str, Any] = {
    "GenAiDefaultSettings": 2,  # 2 = do not allow the generative-AI features
    "GeminiSettings": 1,  # 1 = Gemini integrations not allowed
    "AIModeSettings": 1,  # 1 = AI Mode not allowed
    "GenAILocalFoundationalModelSettings": 1,  # 1 = do not download the on-device model
}
EDGE_AI: dict[str, Any] = {
    "HubsSidebarEnabled": False,  # removes the sidebar and Copilot in it (MSA profiles too)
    "CopilotPageContext": False,  # Entra ID profiles
    "EdgeEntraCopilotPageContext": False,
    "Microsoft365CopilotChatIconEnabled": False,
    "GenAILocalFoundationalModelSettings": 1,
    "BuiltInAIAPIsEnabled": False,
}
FIREFOX_AI: dict[str, Any] = {
    "GenerativeAI": {
        "Enabled": False,
        "Chatbot": False,
        "LinkPreviews": False,
        "TabGroups": False,
        "Locked": True,
    }
}

_BRANDS = {
    # key: (display name, macOS payload type, Linux JSON file)
    "chrome": ("Google Chrome", "com.google.Chrome", "browsers/chrome-managed.json"),
    "edge": ("Microsoft Edge", "com.microsoft.Edge", "browsers/edge-managed.json"),
    "firefox": ("Mozilla Firefox", "org.mozilla.firefox", "browsers/firefox-policies.json"),
}


def _check_limit(browser: str, list_name: str, entries: list[str]) -> None:
    if len(entries) > MAX_URL_ENTRIES:
        raise InputError(
            f"{browser} {list_name} would have {len(entries)} entries; the browser ignores every "
            f"entry after the first {MAX_URL_ENTRIES}",
            field="blocking",
            hint="block this many domains with the DNS/PAC formats (`--format network`) and leave "
            "the browser lists out, or narrow blocking.catalog / extra_domains",
        )


def chromium_filter(host: str) -> str:
    """A URLBlocklist/URLAllowlist entry for a host: ``example.com`` covers sub-domains;
    IPv6 literals need brackets."""
    return f"[{host}]" if ":" in host else host


def firefox_pattern(host: str) -> str:
    """A WebExtension match pattern for a host and its sub-domains (``*.x`` matches ``x`` too)."""
    if ":" in host:
        return f"*://[{host}]/*"
    if is_ip(host):
        return f"*://{host}/*"
    return f"*://*.{host}/*"


def chromium_policies(policy: Policy, rules: Rules, browser: str) -> dict[str, Any]:
    """Chrome or Edge policy values (the same names on Linux JSON and macOS plist)."""
    block = [chromium_filter(d) for d in rules.block_domains]
    allow = [chromium_filter(d) for d in rules.allow_domains]
    label = _BRANDS[browser][0]
    _check_limit(label, "URLBlocklist", block)
    _check_limit(label, "URLAllowlist", allow)
    values: dict[str, Any] = {"URLBlocklist": block, "URLAllowlist": allow, "DnsOverHttpsMode": "off"}
    if policy.browsers.disable_builtin_ai:
        values.update(CHROME_AI if browser == "chrome" else EDGE_AI)
    return values


def firefox_policies(policy: Policy, rules: Rules) -> dict[str, Any]:
    """The object under ``"policies"`` in Firefox's policies.json (also the macOS plist keys)."""
    block = [firefox_pattern(d) for d in rules.block_domains]
    allow = [firefox_pattern(d) for d in rules.allow_domains]
    _check_limit("Firefox", "WebsiteFilter.Block", block)
    _check_limit("Firefox", "WebsiteFilter.Exceptions", allow)
    values: dict[str, Any] = {
        "WebsiteFilter": {"Block": block, "Exceptions": allow},
        "DNSOverHTTPS": {"Enabled": False, "Locked": True},
    }
    if policy.browsers.disable_builtin_ai:
        values.update(json.loads(json.dumps(FIREFOX_AI)))
    return values


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def mobileconfig(policy: Policy, browser: str, settings: dict[str, Any]) -> bytes:
    """A macOS configuration profile carrying ``settings`` as one managed-preferences payload.

    UUIDs are uuid5 of the content, so the same policy always gives the same bytes; the
    PayloadIdentifier is fixed per browser so a new profile replaces the old one on install.
    """
    label, payload_type, _ = _BRANDS[browser]
    org = display_text(policy.organization) or "mistral-sov"
    content = dict(settings)
    if browser == "firefox":
        content["EnterprisePoliciesEnabled"] = True
    fingerprint = json.dumps([payload_type, org, content], sort_keys=True, ensure_ascii=True)
    inner_uuid = str(uuid.uuid5(PROFILE_NAMESPACE, "payload:" + fingerprint)).upper()
    outer_uuid = str(uuid.uuid5(PROFILE_NAMESPACE, "profile:" + inner_uuid)).upper()
    payload: dict[str, Any] = {
        "PayloadType": payload_type,
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{IDENTIFIER_PREFIX}.{browser}.settings",
        "PayloadUUID": inner_uuid,
        "PayloadDisplayName": f"{label}: AI sovereignty settings",
        "PayloadEnabled": True,
        **content,
    }
    profile: dict[str, Any] = {
        "PayloadContent": [payload],
        "PayloadDescription": (
            f"Blocks public AI services and built-in browser AI in {label}, and pins DNS-over-HTTPS "
            "off (generated by mistral-sov from sovereignty.yaml)."
        ),
        "PayloadDisplayName": f"AI sovereignty: {label}",
        "PayloadIdentifier": f"{IDENTIFIER_PREFIX}.{browser}",
        "PayloadOrganization": org,
        "PayloadRemovalDisallowed": True,
        "PayloadScope": "System",
        "PayloadType": "Configuration",
        "PayloadUUID": outer_uuid,
        "PayloadVersion": 1,
    }
    return plistlib.dumps(profile, fmt=plistlib.FMT_XML, sort_keys=True)


class BrowsersExporter:
    name = "browsers"
    description = "Chrome/Edge managed JSON (Linux), Firefox policies.json, macOS .mobileconfig profiles"

    def render(self, policy: Policy, catalog: Catalog, options: ExportOptions) -> list[Artifact]:
        rules = export_rules(policy, catalog)
        checked_hosts(rules.block_domains, "blocked domain")
        checked_hosts(rules.allow_domains, "approved host")
        artifacts: list[Artifact] = []
        for browser in ("chrome", "edge"):
            if not getattr(policy.browsers, browser):
                continue
            values = chromium_policies(policy, rules, browser)
            artifacts.append(Artifact(_BRANDS[browser][2], _json_bytes(values)))
            artifacts.append(Artifact(f"browsers/{browser}.mobileconfig", mobileconfig(policy, browser, values)))
        if policy.browsers.firefox:
            values = firefox_policies(policy, rules)
            artifacts.append(Artifact(_BRANDS["firefox"][2], _json_bytes({"policies": values})))
            artifacts.append(Artifact("browsers/firefox.mobileconfig", mobileconfig(policy, "firefox", values)))
        return sorted(artifacts, key=lambda a: a.path)


EXPORTER = BrowsersExporter()
