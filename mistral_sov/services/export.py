"""Export use-cases: render a complete bundle (every exporter + manifest) and explain the
difference between two policies in administrator terms.

Pure: exporters are passed in by the caller (the CLI or the CI gate); nothing here touches
the file system. ``render_bundle`` is deterministic: the same policy, catalog, exporters and
options give the same bytes (no timestamps), so ``policy export --check`` can compare.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from mistral_sov.core.catalog import Catalog
from mistral_sov.core.policy import Policy
from mistral_sov.core.rules import export_rules
from mistral_sov.errors import InputError
from mistral_sov.ports import Artifact, BundleDocumenter, Exporter, ExportOptions

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1


def _check_path(path: str, exporter: str) -> None:
    parts = path.split("/")
    bad = (
        not path
        or path.startswith("/")
        or "\\" in path
        or ":" in path
        or any(p in ("", ".", "..") for p in parts)
        or path == MANIFEST
    )
    if bad:
        raise ValueError(f"exporter '{exporter}' produced an invalid bundle path {path!r}")


def manifest_bytes(
    artifacts: Sequence[Artifact], formats: Sequence[str], options: ExportOptions, policy_sha256: str
) -> bytes:
    """``manifest.json``: tool version, policy SHA-256, formats, each file's SHA-256 and size."""
    doc: dict[str, Any] = {
        "manifest_version": MANIFEST_FORMAT,
        "tool": "mistral-sov",
        "tool_version": options.tool_version,
        "policy_sha256": policy_sha256,
        "formats": list(formats),
        "languages": list(options.languages),
        "files": [
            {"path": a.path, "sha256": hashlib.sha256(a.data).hexdigest(), "size": len(a.data)} for a in artifacts
        ],
    }
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def render_bundle(
    policy: Policy,
    catalog: Catalog,
    exporters: Sequence[Exporter],
    options: ExportOptions,
    policy_sha256: str,
    *,
    documenter: BundleDocumenter | None = None,
) -> list[Artifact]:
    """Every exporter's artifacts and the documenter's README, sorted by path, followed by
    ``manifest.json``."""
    if not exporters:
        raise InputError("no export format selected", hint="pass --format NAME, or leave it out for all")
    seen: dict[str, str] = {}
    artifacts: list[Artifact] = []
    for exporter in exporters:
        for artifact in exporter.render(policy, catalog, options):
            _check_path(artifact.path, exporter.name)
            key = artifact.path.lower()  # Windows and macOS file systems ignore case
            if key in seen:
                raise ValueError(f"exporters '{seen[key]}' and '{exporter.name}' both write {artifact.path!r}")
            seen[key] = exporter.name
            artifacts.append(artifact)
    formats = [e.name for e in exporters]
    if documenter is not None:
        readme = documenter.document(policy, catalog, artifacts, formats, options)
        _check_path(readme.path, "readme")
        if readme.path.lower() in seen:
            raise ValueError(f"the bundle README path {readme.path!r} is also written by '{seen[readme.path.lower()]}'")
        artifacts.append(readme)
    artifacts.sort(key=lambda a: a.path)
    artifacts.append(Artifact(MANIFEST, manifest_bytes(artifacts, formats, options, policy_sha256)))
    return artifacts


# --------------------------------------------------------------------------- policy diff


@dataclass(frozen=True)
class Change:
    """One difference between two policies, in administrator terms."""

    area: str  # services, domains, exceptions, endpoints, zones, local_inference, browsers, windows, organization
    action: str  # blocked, unblocked, added, removed, changed, approved, revoked
    subject: str
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    def describe(self) -> str:
        text = f"{self.area}: {self.action} {self.subject}"
        return f"{text} ({self.detail})" if self.detail else text


def _set_changes(
    area: str, old: Sequence[str], new: Sequence[str], *, added: str, removed: str, detail: str = ""
) -> list[Change]:
    before, after = set(old), set(new)
    out = [Change(area, added, x, detail) for x in new if x not in before]
    out += [Change(area, removed, x, detail) for x in old if x not in after]
    return out


def _fmt(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "(none)"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
    return str(value)


def _field_changes(area: str, prefix: str, old: Any, new: Any, fields: Sequence[str]) -> list[Change]:
    out = []
    for name in fields:
        a, b = getattr(old, name), getattr(new, name)
        if a != b:
            out.append(Change(area, "changed", f"{prefix}{name}", f"{_fmt(a)} -> {_fmt(b)}"))
    return out


def diff_policies(old: Policy, new: Policy, catalog: Catalog) -> list[Change]:
    """What changes for users and devices when ``new`` replaces ``old``.

    Uses the exported rules (``export_rules``) so that services and domains are reported as
    the exports will block them, exceptions and ``enforce_local_only`` included.
    """
    changes: list[Change] = []
    if old.organization != new.organization:
        changes.append(
            Change("organization", "changed", "organization", f"{old.organization!r} -> {new.organization!r}")
        )

    # --- what is blocked
    r_old, r_new = export_rules(old, catalog), export_rules(new, catalog)
    svc_old = {r.service_id: r.service_name for r in r_old.block if r.source == "catalog"}
    svc_new = {r.service_id: r.service_name for r in r_new.block if r.source == "catalog"}
    for sid, name in svc_new.items():
        if sid not in svc_old:
            changes.append(Change("services", "blocked", sid, name))
    for sid, name in svc_old.items():
        if sid not in svc_new:
            changes.append(Change("services", "unblocked", sid, name))
    explained = set(svc_new) ^ set(svc_old)
    blk_old = {r.domain: r for r in r_old.block}
    blk_new = {r.domain: r for r in r_new.block}
    for domain, rule in blk_new.items():
        if domain not in blk_old and rule.service_id not in explained:
            why = "added to blocking.extra_domains" if rule.source == "extra_domains" else rule.describe()
            changes.append(Change("domains", "blocked", domain, why))
    for domain, rule in blk_old.items():
        if domain not in blk_new and rule.service_id not in explained:
            excepted = any(
                a.source == "exception" and (domain == a.domain or domain.endswith("." + a.domain)) for a in r_new.allow
            )
            if excepted:
                why = "now covered by an exception"
            elif rule.source == "extra_domains":
                why = "removed from blocking.extra_domains"
            elif rule.source == "enforce_local_only":
                why = "no longer blocked by local_inference.enforce_local_only"
            else:
                why = f"no longer in the catalog entry of {rule.service_name}"
            changes.append(Change("domains", "unblocked", domain, why))
    if old.blocking.catalog != new.blocking.catalog:
        changes.append(
            Change(
                "services",
                "changed",
                "blocking.catalog",
                f"{_fmt(old.blocking.catalog)} -> {_fmt(new.blocking.catalog)}",
            )
        )
    changes += _set_changes(
        "exceptions",
        old.blocking.exceptions,
        new.blocking.exceptions,
        added="added",
        removed="removed",
        detail="never blocked",
    )

    # --- endpoints
    eps_old = {e.name: e for e in old.endpoints}
    eps_new = {e.name: e for e in new.endpoints}
    for name, ep in eps_new.items():
        if name not in eps_old:
            changes.append(Change("endpoints", "added", name, f"{ep.url} in {ep.region or 'no region'}"))
        else:
            changes += _field_changes(
                "endpoints", f"{name}.", eps_old[name], ep, ("url", "region", "private_link", "description")
            )
    for name, ep in eps_old.items():
        if name not in eps_new:
            changes.append(Change("endpoints", "removed", name, ep.url))

    # --- zones
    z_old, z_new = old.zones, new.zones
    changes += _set_changes(
        "zones",
        z_old.allowed_countries,
        z_new.allowed_countries,
        added="added",
        removed="removed",
        detail="allowed country",
    )
    changes += _set_changes(
        "zones",
        z_old.allowed_cloud_regions,
        z_new.allowed_cloud_regions,
        added="added",
        removed="removed",
        detail="allowed cloud region",
    )
    for code in sorted(set(z_old.operator_jurisdictions) | set(z_new.operator_jurisdictions)):
        a, b = z_old.operator_jurisdictions.get(code), z_new.operator_jurisdictions.get(code)
        if a != b:
            changes.append(Change("zones", "changed", f"operator_jurisdictions.{code}", f"{_fmt(a)} -> {_fmt(b)}"))
    changes += _field_changes("zones", "", z_old, z_new, ("transit", "unknown_hops"))
    if old.vantage != new.vantage:
        changes.append(
            Change(
                "zones",
                "changed",
                "vantage",
                f"{_fmt(old.vantage and old.vantage.model_dump(exclude_none=True))} -> "
                f"{_fmt(new.vantage and new.vantage.model_dump(exclude_none=True))}",
            )
        )

    # --- local inference
    li_old, li_new = old.local_inference, new.local_inference
    m_old = {m.name: m for m in li_old.models}
    m_new = {m.name: m for m in li_new.models}
    for name, m in m_new.items():
        if name not in m_old:
            changes.append(Change("local_inference", "approved", name, f"{m.license}, sha256 {m.sha256[:12]}…"))
        elif m_old[name] != m:
            changes += _field_changes(
                "local_inference", f"model {name}.", m_old[name], m, ("sha256", "license", "file")
            )
    for name, m in m_old.items():
        if name not in m_new:
            changes.append(Change("local_inference", "revoked", name, m.license))
    changes += _set_changes(
        "local_inference",
        li_old.allowed_licenses,
        li_new.allowed_licenses,
        added="added",
        removed="removed",
        detail="allowed licence",
    )
    changes += _field_changes(
        "local_inference",
        "",
        li_old,
        li_new,
        ("enforce_local_only", "daily_quota", "rate_limit_per_minute", "max_tokens", "audit_log", "log_prompts"),
    )

    # --- switches
    changes += _field_changes(
        "browsers", "browsers.", old.browsers, new.browsers, ("edge", "chrome", "firefox", "disable_builtin_ai")
    )
    changes += _field_changes("windows", "windows.", old.windows, new.windows, ("disable_copilot", "disable_recall"))
    return changes
