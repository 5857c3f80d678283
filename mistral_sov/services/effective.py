"""The effective policy on an endpoint: ``sovereignty.yaml`` overridden by the managed policy.

Administrators set the managed policy with Group Policy / Intune (Windows registry under
``Software\\Policies\\Mistral AI\\Sovereign``), a configuration profile (macOS) or a root-owned
``managed.json`` (Linux). Every reader turns its source into the same :data:`RegState` — the
registry view: sub-key → value name → (registry type, data) — and this module is the **one
mapping** from that view to policy fields, so Windows, macOS and Linux can never disagree.

Managed values win over the YAML, the way browser policies win over user settings. A managed
value of the wrong type or shape is an error (exit 2): the endpoint never falls back to the
YAML's (possibly less strict) value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mistral_sov.core.policy import NAME_PATTERN, SHA256_RE, Endpoint, LocalModel, Policy, normalize_url
from mistral_sov.core.zones import lookup_region
from mistral_sov.errors import InputError, Location

# Registry value types (winnt.h)
REG_SZ = 1
REG_EXPAND_SZ = 2
REG_BINARY = 3
REG_DWORD = 4
REG_MULTI_SZ = 7
REG_QWORD = 11
REG_TYPE_NAMES = {
    0: "REG_NONE",
    REG_SZ: "REG_SZ",
    REG_EXPAND_SZ: "REG_EXPAND_SZ",
    REG_BINARY: "REG_BINARY",
    REG_DWORD: "REG_DWORD",
    5: "REG_DWORD_BIG_ENDIAN",
    6: "REG_LINK",
    REG_MULTI_SZ: "REG_MULTI_SZ",
    REG_QWORD: "REG_QWORD",
}
INVALID = -1  # a value no registry type describes (e.g. JSON null or a float)

# sub-key ('' = the policy key itself, else e.g. 'ApprovedModels') -> value name -> (type, data)
RegState = dict[str, dict[str, tuple[int, Any]]]

# The managed settings, as the ADMX (adapters/exporters/gpo.py) defines them.
FLAGS = {"EnforceLocalOnly": "local_inference.enforce_local_only", "BlockPublicAI": "blocking (BlockPublicAI)"}
TEXTS = {"DefaultEndpoint": "endpoints (default, first)"}
LISTS = {
    "ApprovedEndpoints": "endpoints",
    "AllowedRegions": "zones.allowed_cloud_regions",
    "ApprovedModels": "local_inference.models",
}
MANAGED_NAMES = (*FLAGS, *TEXTS, *LISTS)
# Settings whose ADMX class is User or Both may also come from HKCU (machine values still win).
USER_CLASS: frozenset[str] = frozenset()
# Licence recorded for a model approved only by the managed policy (its hash carries no
# licence): SPDX's "no assertion", refused by the licence gate until the YAML declares it.
NO_LICENSE = "NOASSERTION"
_NAME_RE = re.compile(NAME_PATTERN)


@dataclass(frozen=True)
class ManagedSource:
    """What one managed source holds: ``where`` names it (``HKLM\\…``, a file path)."""

    where: str
    state: RegState
    kind: str = "registry"  # registry | json | plist | registry.pol


@dataclass
class ManagedSettings:
    """Decoded, validated managed values (None = not configured) and where each came from."""

    enforce_local_only: bool | None = None
    block_public_ai: bool | None = None
    default_endpoint: str | None = None
    approved_endpoints: tuple[tuple[str, str], ...] | None = None
    allowed_regions: tuple[str, ...] | None = None
    approved_models: tuple[tuple[str, str], ...] | None = None
    origin: dict[str, str] = field(default_factory=dict)  # ADMX name -> source description
    warnings: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.origin


def type_name(type_: int) -> str:
    return REG_TYPE_NAMES.get(type_, "an invalid value" if type_ == INVALID else f"type {type_}")


def _ci(mapping: Mapping[str, Any]) -> dict[str, str]:
    """Case-insensitive lookup table (the registry ignores case): lower name -> actual name."""
    return {k.lower(): k for k in mapping}


def _bad(source: ManagedSource, subkey: str, name: str, message: str, hint: str) -> InputError:
    where = source.where + (f"\\{subkey}" if subkey else "")
    return InputError(
        f"managed policy value '{name}' {message}",
        hint=hint + "; the endpoint refuses to start rather than fall back to a less strict policy",
        location=Location(source.where),
        field=f"{where} → {name}",
    )


def _flag(source: ManagedSource, name: str, value: tuple[int, Any]) -> bool:
    type_, data = value
    if not (type_ == REG_DWORD and type(data) in (int, bool) and data in (0, 1)):
        shown = f"{type_name(type_)} {data!r}" if type_ != INVALID else repr(data)
        raise _bad(
            source,
            "",
            name,
            f"must be a REG_DWORD 0 or 1 (JSON/plist: true or false), not {shown}",
            "fix it in the GPO, Intune profile or managed file",
        )
    return bool(data)


def _text(source: ManagedSource, subkey: str, name: str, value: tuple[int, Any]) -> str:
    type_, data = value
    if type_ not in (REG_SZ, REG_EXPAND_SZ) or not isinstance(data, str):
        raise _bad(
            source,
            subkey,
            name,
            f"must be a string (REG_SZ), not {type_name(type_)}",
            "fix it in the GPO, Intune profile or managed file",
        )
    if "\x00" in data or len(data) > 4096:
        raise _bad(
            source,
            subkey,
            name,
            "holds a NUL character or more than 4096 characters",
            "fix it in the GPO, Intune profile or managed file",
        )
    return data.strip()


def _url(source: ManagedSource, subkey: str, name: str, raw: str) -> str:
    url, notes = normalize_url(raw)
    errors = [m for sev, m, _h in notes if sev == "error"]
    if errors:
        raise _bad(
            source, subkey, name, f"is not a valid endpoint URL: {errors[0]}", "write e.g. https://ai.example.eu"
        )
    return url


def decode_source(source: ManagedSource) -> ManagedSettings:
    """Validate one source's values against the ADMX definitions. Raises InputError (exit 2)."""
    out = ManagedSettings()
    root = source.state.get("", {})
    root_ci = _ci(root)
    keys_ci = _ci(source.state)
    for name in FLAGS:
        if name.lower() in root_ci:
            setattr(out, _attr(name), _flag(source, name, root[root_ci[name.lower()]]))
            out.origin[name] = source.where
    if "defaultendpoint" in root_ci:
        raw = _text(source, "", "DefaultEndpoint", root[root_ci["defaultendpoint"]])
        out.default_endpoint = _url(source, "", "DefaultEndpoint", raw)
        out.origin["DefaultEndpoint"] = source.where
    for name in root:
        if name.lower() not in {n.lower() for n in (*FLAGS, *TEXTS)}:
            out.warnings.append(f"{source.where}: unknown managed value '{name}' ignored")
    for sub in source.state:
        if sub and sub.lower() not in {n.lower() for n in LISTS}:
            out.warnings.append(f"{source.where}\\{sub}: unknown managed key ignored")

    if "approvedendpoints" in keys_ci:
        sub = keys_ci["approvedendpoints"]
        items = []
        for name, value in source.state[sub].items():
            _check_name(source, sub, name)
            items.append((name, _url(source, sub, name, _text(source, sub, name, value))))
        out.approved_endpoints = tuple(sorted(items, key=lambda kv: kv[0].lower()))  # registry/plist: no order
        out.origin["ApprovedEndpoints"] = source.where
    if "allowedregions" in keys_ci:
        sub = keys_ci["allowedregions"]
        regions = []
        for name, value in sorted(source.state[sub].items(), key=lambda kv: _order(kv[0])):
            region = _text(source, sub, name, value).lower()
            if lookup_region(region) is None:
                raise _bad(
                    source,
                    sub,
                    name,
                    f"'{region}' is not a known cloud region",
                    "write provider:region, e.g. azure:germanywestcentral (`mistral-sov policy regions`)",
                )
            regions.append(region)
        out.allowed_regions = tuple(regions)
        out.origin["AllowedRegions"] = source.where
    if "approvedmodels" in keys_ci:
        sub = keys_ci["approvedmodels"]
        models = []
        for name, value in source.state[sub].items():
            _check_name(source, sub, name)
            sha = _text(source, sub, name, value).lower()  # Get-FileHash prints upper case
            if not SHA256_RE.match(sha):
                raise _bad(
                    source,
                    sub,
                    name,
                    "is not a SHA-256 (64 hexadecimal characters)",
                    "fix it in the GPO, Intune profile or managed file",
                )
            models.append((name, sha))
        out.approved_models = tuple(sorted(models, key=lambda kv: kv[0].lower()))
        out.origin["ApprovedModels"] = source.where
    return out


def _attr(name: str) -> str:
    return {"EnforceLocalOnly": "enforce_local_only", "BlockPublicAI": "block_public_ai"}[name]


def _order(name: str) -> tuple[int, str]:
    return (int(name), "") if name.isdigit() else (1 << 62, name)


def _check_name(source: ManagedSource, sub: str, name: str) -> None:
    if not _NAME_RE.match(name):
        raise _bad(source, sub, name, "is not a valid name", "letters, digits, '.', '_' or '-', at most 64")


def combine(sources: Iterable[ManagedSource]) -> ManagedSettings:
    """Decode sources in precedence order (first wins per setting); a later source may only
    fill settings the earlier ones left unset, and on Windows HKCU only User-class ones."""
    result = ManagedSettings()
    for source in sources:
        decoded = decode_source(source)
        result.warnings += decoded.warnings
        for name, where in decoded.origin.items():
            if name in result.origin:
                continue
            if source.kind == "registry" and source.where.startswith("HKCU") and name not in USER_CLASS:
                result.warnings.append(f"{where}: '{name}' is a Machine policy; the HKCU value is ignored")
                continue
            for attr in _attrs(name):
                setattr(result, attr, getattr(decoded, attr))
            result.origin[name] = where
    return result


def _attrs(name: str) -> tuple[str, ...]:
    return {
        "EnforceLocalOnly": ("enforce_local_only",),
        "BlockPublicAI": ("block_public_ai",),
        "DefaultEndpoint": ("default_endpoint",),
        "ApprovedEndpoints": ("approved_endpoints",),
        "AllowedRegions": ("allowed_regions",),
        "ApprovedModels": ("approved_models",),
    }[name]


def blocks_public_ai(policy: Policy) -> bool:
    b = policy.blocking
    return b.catalog != "none" or bool(b.extra_domains) or policy.local_inference.enforce_local_only


@dataclass(frozen=True)
class EffectivePolicy:
    policy: Policy
    managed: ManagedSettings
    origin: dict[str, str]  # dotted setting -> where the effective value came from


def apply_managed(policy: Policy, managed: ManagedSettings) -> EffectivePolicy:
    """The policy with managed values applied (a copy); raises InputError when the managed
    values contradict each other (a DefaultEndpoint that is not an approved endpoint)."""
    p = policy.model_copy(deep=True)
    origin: dict[str, str] = {}
    li = p.local_inference
    if managed.enforce_local_only is not None:
        li.enforce_local_only = managed.enforce_local_only
        origin["local_inference.enforce_local_only"] = managed.origin["EnforceLocalOnly"]
    if managed.approved_endpoints is not None:
        by_name = {e.name: e for e in policy.endpoints}
        eps = []
        for name, url in managed.approved_endpoints:
            old = by_name.get(name)
            if old is not None and normalize_url(old.url)[0] == url:
                eps.append(old.model_copy())  # keeps region, private_link, description
            else:
                eps.append(Endpoint(name=name, url=url))
        yaml_order = {e.name: i for i, e in enumerate(policy.endpoints)}
        p.endpoints = sorted(eps, key=lambda e: yaml_order.get(e.name, len(yaml_order)))  # stable
        origin["endpoints"] = managed.origin["ApprovedEndpoints"]
    if managed.default_endpoint is not None:
        urls = [normalize_url(e.url)[0] for e in p.endpoints]
        if managed.default_endpoint not in urls:
            raise InputError(
                f"managed DefaultEndpoint '{managed.default_endpoint}' is not one of the approved endpoints",
                hint="add it to ApprovedEndpoints (managed policy or sovereignty.yaml), or correct DefaultEndpoint",
                location=Location(managed.origin["DefaultEndpoint"]),
                field="DefaultEndpoint",
            )
        i = urls.index(managed.default_endpoint)
        p.endpoints.insert(0, p.endpoints.pop(i))
        origin["endpoints[0] (default)"] = managed.origin["DefaultEndpoint"]
    if managed.allowed_regions is not None:
        p.zones.allowed_cloud_regions = list(managed.allowed_regions)
        origin["zones.allowed_cloud_regions"] = managed.origin["AllowedRegions"]
    if managed.approved_models is not None:
        by_hash = {m.sha256: m for m in policy.local_inference.models}
        models = []
        for name, sha in managed.approved_models:
            known = by_hash.get(sha)
            licence = known.license if known is not None else NO_LICENSE
            file = known.file if known is not None and known.name == name else None
            models.append(LocalModel(name=name, sha256=sha, license=licence, file=file))
        yaml_order = {m.sha256: i for i, m in enumerate(policy.local_inference.models)}
        li.models = sorted(models, key=lambda m: yaml_order.get(m.sha256, len(yaml_order)))
        origin["local_inference.models"] = managed.origin["ApprovedModels"]
    if managed.block_public_ai is not None:
        where = managed.origin["BlockPublicAI"]
        if managed.block_public_ai and not blocks_public_ai(p):
            p.blocking.catalog = "all"
            origin["blocking.catalog"] = where
        elif not managed.block_public_ai and blocks_public_ai(p):
            p.blocking.catalog = "none"
            p.blocking.extra_domains = []
            origin["blocking.catalog"] = where
            origin["blocking.extra_domains"] = where
            if li.enforce_local_only:
                managed.warnings.append(
                    f"{where}: BlockPublicAI is 0 but EnforceLocalOnly is on, which still blocks public AI"
                )
    return EffectivePolicy(p, managed, origin)


def managed_view(policy: Policy) -> dict[str, Any]:
    """The ADMX values a policy implies (the inverse mapping, for round-trip checks)."""
    return {
        "EnforceLocalOnly": policy.local_inference.enforce_local_only,
        "BlockPublicAI": blocks_public_ai(policy),
        "DefaultEndpoint": normalize_url(policy.endpoints[0].url)[0] if policy.endpoints else None,
        "ApprovedEndpoints": tuple((e.name, normalize_url(e.url)[0]) for e in policy.endpoints),
        "AllowedRegions": tuple(policy.zones.allowed_cloud_regions),
        "ApprovedModels": tuple((m.name, m.sha256) for m in policy.local_inference.models),
    }
