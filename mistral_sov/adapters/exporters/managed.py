"""``managed`` format: the endpoint's managed policy for Linux and macOS.

``managed/managed.json`` goes to ``/etc/mistral-sov/managed.json`` (root-owned, mode 644);
``managed/ai.mistral.sovereign.mobileconfig`` is a macOS configuration profile whose payload
lands in ``/Library/Managed Preferences/ai.mistral.sovereign.plist``. Both carry exactly the
values Registry.pol carries under ``Software\\Policies\\Mistral AI\\Sovereign`` (taken from
the same ``registry_settings`` list), so every OS reads the same managed policy.
"""

from __future__ import annotations

import json
import plistlib
import uuid
from typing import TYPE_CHECKING, Any

from mistral_sov.adapters.exporters import _winreg as wr
from mistral_sov.ports import Artifact, ExportOptions

if TYPE_CHECKING:
    from mistral_sov.core.catalog import Catalog
    from mistral_sov.core.policy import Policy

DOMAIN = "ai.mistral.sovereign"
_NAMESPACE = uuid.UUID("3d8f6f0e-2b7a-5c1e-9a53-6d0c1b2f7a11")


def managed_values(policy: Policy, catalog: Catalog) -> dict[str, Any]:
    """The policy key's values as JSON: flags as booleans, named lists as objects, numbered
    lists as arrays (sub-keys), text as strings."""
    out: dict[str, Any] = {}
    prefix = wr.OUR_KEY + "\\"
    for s in wr.registry_settings(policy, catalog):
        if isinstance(s, wr.RegList) and s.key.startswith(prefix):
            name = s.key[len(prefix) :]
            out[name] = dict(s.values) if s.named else [v for _n, v in s.values]
        elif isinstance(s, wr.RegValue) and s.key == wr.OUR_KEY:
            out[s.name] = bool(s.data) if isinstance(s.data, int) else s.data
    return out


def mobileconfig(policy: Policy, values: dict[str, Any]) -> bytes:
    fingerprint = json.dumps([DOMAIN, policy.organization, values], sort_keys=True, ensure_ascii=True)
    inner = str(uuid.uuid5(_NAMESPACE, "payload:" + fingerprint)).upper()
    outer = str(uuid.uuid5(_NAMESPACE, "profile:" + inner)).upper()
    payload = {
        "PayloadType": DOMAIN,
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{DOMAIN}.settings",
        "PayloadUUID": inner,
        "PayloadDisplayName": "mistral-sov: managed endpoint policy",
        "PayloadEnabled": True,
        **values,
    }
    profile = {
        "PayloadContent": [payload],
        "PayloadDescription": "Approved AI endpoints, regions and local models for mistral-sov "
        "(generated from sovereignty.yaml); these values override the local policy file.",
        "PayloadDisplayName": "AI sovereignty: mistral-sov endpoint policy",
        "PayloadIdentifier": DOMAIN,
        "PayloadOrganization": policy.organization,
        "PayloadRemovalDisallowed": True,
        "PayloadScope": "System",
        "PayloadType": "Configuration",
        "PayloadUUID": outer,
        "PayloadVersion": 1,
    }
    return plistlib.dumps(profile, fmt=plistlib.FMT_XML, sort_keys=True)


class ManagedExporter:
    name = "managed"
    description = "Endpoint managed policy: /etc/mistral-sov/managed.json (Linux), macOS .mobileconfig"

    def render(self, policy: Policy, catalog: Catalog, options: ExportOptions) -> list[Artifact]:
        values = managed_values(policy, catalog)
        text = json.dumps(values, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
        return [
            Artifact(f"managed/{DOMAIN}.mobileconfig", mobileconfig(policy, values)),
            Artifact("managed/managed.json", text.encode("utf-8")),
        ]


EXPORTER = ManagedExporter()
