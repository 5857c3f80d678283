"""The policy model (``sovereignty.yaml``) and its semantic checks.

Loading YAML and mapping problems to ``file:line:column`` happens in
``mistral_sov.adapters.policyfile``; this module is pure: models, defaults, checks.
Field names may grow, never change (docs/policy.md is the reference).
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from mistral_sov.core.catalog import CATEGORIES
from mistral_sov.core.domains import DomainError, is_ip, is_loopback_or_private, normalize_domain
from mistral_sov.core.places import find_place, place_names
from mistral_sov.core.zones import (
    COUNTRY_GROUPS,
    PROVIDERS,
    cloud_regions,
    deployment_problem,
    expand_countries,
    is_country,
    lookup_region,
)

Action = Literal["allow", "warn", "fail"]
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"

DEFAULT_LICENSES = [
    "apache-2.0",
    "mit",
    "bsd-2-clause",
    "bsd-3-clause",
    "mpl-2.0",
    "cc-by-4.0",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, validate_default=False)


class Zones(_Model):
    allowed_countries: list[str] = Field(default_factory=lambda: ["EU"])
    allowed_cloud_regions: list[str] = Field(default_factory=list)
    operator_jurisdictions: dict[str, Action] = Field(default_factory=dict)
    transit: Literal["strict", "endpoint"] = "strict"
    unknown_hops: Action = "warn"


class Evidence(_Model):
    """What residency evidence must contain (docs/residency.md)."""

    physics: Action = "warn"  # a trace with no vantage location: allow / warn / fail (INCONCLUSIVE)
    # days a data source may be old before the report warns; defaults per kind in services/verify_freshness.py
    max_data_age: dict[
        Literal["ranges", "country", "asn", "geofeed", "operators", "fleet"], Annotated[int, Field(ge=1, le=3650)]
    ] = Field(default_factory=dict)
    tsa: str | None = Field(default=None, max_length=2048)  # RFC 3161 TSA URL for signed evidence (docs/audit.md)


class Vantage(_Model):
    city: str | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class Endpoint(_Model):
    name: str = Field(pattern=NAME_PATTERN)
    url: str = Field(max_length=2048)
    region: str | None = None
    private_link: bool = False
    deployment: Literal["regional", "datazone", "global"] | None = None
    description: str = Field(default="", max_length=1000)

    @property
    def host(self) -> str:
        """Lower-case host ('' when the URL cannot be parsed: validation reports that)."""
        try:
            return (urlsplit(self.url).hostname or "").lower()
        except ValueError:
            return ""

    @property
    def port(self) -> int:
        try:
            parts = urlsplit(self.url)
            return parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return 443


class Blocking(_Model):
    catalog: Literal["all", "none"] | list[str] = "all"
    extra_domains: list[str] = Field(default_factory=list)
    exceptions: list[str] = Field(default_factory=list)


class Browsers(_Model):
    edge: bool = True
    chrome: bool = True
    firefox: bool = True
    disable_builtin_ai: bool = True


class WindowsSettings(_Model):
    disable_copilot: bool = True
    disable_recall: bool = True


class LocalModel(_Model):
    name: str = Field(pattern=NAME_PATTERN)
    sha256: str
    license: str = Field(min_length=1, max_length=100)
    file: str | None = Field(default=None, max_length=4096)


JwtAlgorithm = Literal["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]


class Oidc(_Model):
    """Single sign-on for ``local serve`` (Entra ID, AD FS): bearer tokens are JWTs signed by
    the issuer's keys. Only asymmetric algorithms: never ``none``, never a shared secret."""

    issuer: str = Field(min_length=1, max_length=2048)
    audience: list[str] = Field(min_length=1)
    token_issuers: list[str] = Field(default_factory=list)  # extra accepted 'iss' (AD FS, Entra v1)
    jwks_file: str | None = Field(default=None, max_length=4096)  # offline: the issuer's JWKS
    algorithms: list[JwtAlgorithm] = Field(default_factory=lambda: list[JwtAlgorithm](["RS256"]), min_length=1)
    user_claim: str = "preferred_username"
    group_claim: str = "groups"
    model_groups: dict[str, list[str]] = Field(default_factory=dict)  # model -> groups/roles allowed
    client_id: str | None = None  # public client for the chat page's sign-in (authorization code + PKCE)
    scope: str | None = None  # chat page sign-in scope; default "openid profile <audience>/.default"
    leeway_seconds: int = Field(default=60, ge=0, le=600)


class LocalInference(_Model):
    enforce_local_only: bool = False
    models: list[LocalModel] = Field(default_factory=list)
    allowed_licenses: list[str] = Field(default_factory=lambda: list(DEFAULT_LICENSES))
    daily_quota: int = Field(default=1000, ge=1, le=100_000_000)
    rate_limit_per_minute: int = Field(default=60, ge=1, le=1_000_000)
    max_tokens: int = Field(default=2048, ge=1, le=1_000_000)
    audit_log: str | None = None
    # how long the organisation keeps the audit log (declared; the tool never deletes it). The
    # audit pack checks AI Act Art. 26(6): at least six months (183 days).
    audit_log_retention_days: int | None = Field(default=None, ge=1, le=36_500)
    log_prompts: bool = False
    oidc: Oidc | None = None


class Policy(_Model):
    version: Literal[1]
    organization: str = Field(min_length=1, max_length=200)
    zones: Zones = Field(default_factory=Zones)
    vantage: Vantage | None = None
    evidence: Evidence = Field(default_factory=Evidence)
    endpoints: list[Endpoint] = Field(default_factory=list)
    blocking: Blocking = Field(default_factory=Blocking)
    browsers: Browsers = Field(default_factory=Browsers)
    windows: WindowsSettings = Field(default_factory=WindowsSettings)
    local_inference: LocalInference = Field(default_factory=LocalInference)

    def endpoint(self, name: str) -> Endpoint | None:
        return next((e for e in self.endpoints if e.name == name), None)


Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Issue:
    """A problem found by the semantic checks, addressed by its path in the policy tree."""

    path: Path_
    message: str
    hint: str = ""
    severity: str = "error"

    @property
    def field(self) -> str:
        return dotted(self.path)


# Codes administrators meet in EU texts that are not ISO 3166-1 alpha-2.
NON_ISO_COUNTRY_CODES = {
    "UK": ("GB", "ISO 3166 writes the United Kingdom as GB; UK is only reserved"),
    "EL": ("GR", "EU documents write Greece as EL; ISO 3166 writes GR"),
}


# anything outside the XML 1.0 Char production
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _strings(value: Any, path: Path_) -> list[tuple[Path_, str]]:
    """Every string in the policy (keys of mappings included) with its path."""
    out: list[tuple[Path_, str]] = []
    if isinstance(value, str):
        out.append((path, value))
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            out += _strings(getattr(value, name), (*path, name))
    elif isinstance(value, dict):
        for k, v in value.items():
            out += _strings(str(k), (*path, str(k)))
            out += _strings(v, (*path, str(k)))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            out += _strings(v, (*path, i))
    return out


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """A 'did you mean' hint, or ''."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'?" if match else ""


def model_fields_at(path: Path_) -> list[str]:
    """Field names of the model found at ``path`` in the policy tree (for 'did you mean')."""
    model: Any = Policy
    for part in path:
        if isinstance(part, int):
            continue
        fields = getattr(model, "model_fields", None)
        if not fields or part not in fields:
            return []
        annotation = fields[part].annotation
        model = _model_in(annotation)
        if model is None:
            return []
    return list(getattr(model, "model_fields", {}))


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def normalize_url(url: str) -> tuple[str, list[tuple[str, str, str]]]:
    """Check an endpoint URL; return (normalised URL, [(severity, message, hint)])."""
    notes: list[tuple[str, str, str]] = []
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        return url, [("error", f"'{url}' is not a valid URL ({exc})", "write e.g. https://ai.example.eu")]
    if parts.scheme not in ("https", "http") or not parts.netloc:
        return url, [("error", f"'{url}' is not an https URL", "write the full URL, e.g. https://mistral.example.eu")]
    host = parts.hostname or ""
    if not host:
        return url, [("error", f"'{url}' has no host name", "write e.g. https://mistral.example.eu")]
    if parts.username or parts.password:
        return url, [("error", "credentials in the URL", "remove 'user:password@'; keys never go in policy")]
    if is_ip(host):
        ascii_host = str(ipaddress.ip_address(host))
    elif host == "localhost":
        ascii_host = host
    else:
        try:
            ascii_host = normalize_domain(host)
        except DomainError as exc:
            return url, [("error", str(exc), exc.hint)]
    if parts.scheme == "http":
        if is_loopback_or_private(ascii_host):
            notes.append(
                (
                    "warning",
                    f"'{url}' uses plain http",
                    "acceptable only on loopback or a private network; prefer https",
                )
            )
        else:
            notes.append(
                (
                    "error",
                    f"'{url}' uses plain http on a public host",
                    "use https: prompts would cross the network unencrypted",
                )
            )
    if parts.query or parts.fragment:
        notes.append(("error", "the URL has a query or fragment", "write only scheme, host, port and path"))
    netloc = f"[{ascii_host}]" if ":" in ascii_host else ascii_host
    if port:
        netloc += f":{port}"
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{netloc}{path}", notes


def tsa_url_problem(url: str) -> tuple[str, str] | None:
    """(message, hint) when ``url`` cannot be a TSA URL: http(s) with a host, no credentials.
    Plain http is fine: a time-stamp token is signed, so it authenticates itself."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        return f"'{url}' is not an http(s) URL", "give the TSA's RFC 3161 URL, e.g. https://tsa.example.eu/tsr"
    if parts.username or parts.password:
        return "credentials in the TSA URL", "remove 'user:password@' from the URL"
    return None


def check_policy(policy: Policy) -> list[Issue]:
    """Semantic checks beyond the schema that need nothing but the policy. Normalises domains
    and URLs in place. Checks that combine the policy with the catalog (cross-field rules)
    live in ``core/rules.py: policy_issues``."""
    issues: list[Issue] = []
    add = issues.append

    # --- text every export format can carry (XML 1.0 characters: the ADMX/ADML, plist and
    # Intune formats refuse the rest, so validate refuses it too — one rule for all)
    for path, text in _strings(policy, ()):
        found = _NOT_XML.search(text)
        if found is not None:
            bad = found.group()
            add(
                Issue(
                    path,
                    f"contains the control character U+{ord(bad):04X}, which the exported policy files cannot carry",
                    "remove it (retype the value; it often comes from a copy-paste)",
                )
            )

    # --- zones
    for i, code in enumerate(policy.zones.allowed_countries):
        if code in COUNTRY_GROUPS:
            continue
        if not is_country(code):
            alias = NON_ISO_COUNTRY_CODES.get(code.upper())
            if alias:
                hint = f"did you mean '{alias[0]}'? ({alias[1]})"
            elif is_country(code.upper()):
                hint = f"write '{code.upper()}': country codes are upper case"
            else:
                hint = "use an ISO 3166-1 alpha-2 code such as DE, or the groups EU / EEA"
            add(Issue(("zones", "allowed_countries", i), f"unknown country code '{code}'", hint))
    for code in policy.zones.operator_jurisdictions:
        if not is_country(code) and code not in COUNTRY_GROUPS:
            alias = NON_ISO_COUNTRY_CODES.get(code.upper())
            add(
                Issue(
                    ("zones", "operator_jurisdictions", code),
                    f"unknown country code '{code}'",
                    f"did you mean '{alias[0]}'? ({alias[1]})"
                    if alias
                    else "keys are ISO 3166-1 alpha-2 codes of an operator's parent company, e.g. US or CN",
                )
            )
    known_regions = cloud_regions()
    for i, key in enumerate(policy.zones.allowed_cloud_regions):
        issue = _check_region(key, ("zones", "allowed_cloud_regions", i), known_regions)
        if issue:
            add(issue)

    # --- evidence.tsa (an RFC 3161 Time-Stamping Authority)
    if policy.evidence.tsa is not None:
        problem = tsa_url_problem(policy.evidence.tsa)
        if problem:
            add(Issue(("evidence", "tsa"), *problem))

    # --- vantage
    if policy.vantage is not None:
        v = policy.vantage
        if v.city is not None and (v.lat is not None or v.lon is not None):
            add(Issue(("vantage",), "give either city or lat/lon, not both", "remove one of them"))
        elif v.city is not None:
            if find_place(v.city) is None:
                add(
                    Issue(
                        ("vantage", "city"),
                        f"unknown city '{v.city}'",
                        suggest(v.city, place_names()) or "use {lat: 50.11, lon: 8.68} for other places",
                    )
                )
        elif v.lat is None or v.lon is None:
            add(Issue(("vantage",), "vantage needs a city, or both lat and lon", "e.g. {city: Frankfurt}"))
    allowed_countries = expand_countries(
        [c for c in policy.zones.allowed_countries if c in COUNTRY_GROUPS or is_country(c)]
    )
    vp = policy.vantage
    if vp is not None and vp.city is None and vp.lat is not None and vp.lon is not None and allowed_countries:
        from mistral_sov.core.physics import distance_to_country_km

        distances = [distance_to_country_km(vp.lat, vp.lon, c) for c in allowed_countries]
        if all(d is not None and d > 0 for d in distances):  # outside every (padded) box of the zone
            add(
                Issue(
                    ("vantage", "lat"),
                    f"the vantage point {vp.lat},{vp.lon} lies outside every country of zones.allowed_countries",
                    "probe from inside the zone, or correct the coordinates (decimal degrees, lat then lon)",
                )
            )
    place = find_place(vp.city) if vp is not None and vp.city else None
    if place is not None and allowed_countries and place.country not in allowed_countries:
        add(
            Issue(
                ("vantage", "city"),
                f"the vantage point {place.name} is in {place.country}, outside zones.allowed_countries",
                "probe from inside the zone (a vantage abroad proves nothing about the in-zone path), "
                "or correct allowed_countries",
            )
        )

    # --- endpoints
    seen: dict[str, int] = {}
    for i, ep in enumerate(policy.endpoints):
        if ep.name in seen:
            add(
                Issue(
                    ("endpoints", i, "name"),
                    f"duplicate endpoint name '{ep.name}' (first used by endpoint #{seen[ep.name] + 1})",
                    "give every endpoint a unique name",
                )
            )
        else:
            seen[ep.name] = i
        ep.url, notes = normalize_url(ep.url)
        for severity, message, hint in notes:
            add(Issue(("endpoints", i, "url"), message, hint, severity))
        if ep.region is not None:
            issue = _check_region(ep.region, ("endpoints", i, "region"), known_regions)
            if issue:
                add(issue)
            elif policy.zones.allowed_cloud_regions and ep.region not in policy.zones.allowed_cloud_regions:
                add(
                    Issue(
                        ("endpoints", i, "region"),
                        f"region '{ep.region}' is not in zones.allowed_cloud_regions",
                        "add it there, or correct the endpoint's region",
                    )
                )
            else:
                region = lookup_region(ep.region)
                if region is not None and allowed_countries and region.country not in allowed_countries:
                    add(
                        Issue(
                            ("endpoints", i, "region"),
                            f"region '{ep.region}' is in {region.country} ({region.city}), outside "
                            "zones.allowed_countries",
                            "use a region inside the zone (`mistral-sov policy regions` lists each region's "
                            "country), or correct allowed_countries",
                        )
                    )
        reach = deployment_problem(ep.deployment, ep.region, allowed_countries) if allowed_countries else None
        if reach is not None:
            add(Issue(("endpoints", i, "deployment"), reach.message, reach.hint, "warning"))

    # --- blocking
    if isinstance(policy.blocking.catalog, list):
        for i, cat in enumerate(policy.blocking.catalog):
            if cat not in CATEGORIES:
                add(
                    Issue(
                        ("blocking", "catalog", i),
                        f"unknown category '{cat}'",
                        suggest(cat, CATEGORIES) or f"categories: {', '.join(CATEGORIES)}; or write 'all'",
                    )
                )
    for field_name in ("extra_domains", "exceptions"):
        values: list[str] = getattr(policy.blocking, field_name)
        firsts: dict[str, int] = {}
        for i, raw in enumerate(values):
            try:
                values[i] = normalize_domain(raw)
            except DomainError as exc:
                add(Issue(("blocking", field_name, i), str(exc), exc.hint))
                continue
            if values[i] in firsts:
                add(
                    Issue(
                        ("blocking", field_name, i),
                        f"'{values[i]}' is listed twice",
                        "remove the duplicate",
                        "warning",
                    )
                )
            firsts.setdefault(values[i], i)

    # --- local models
    names: set[str] = set()
    allowed = {lic.lower() for lic in policy.local_inference.allowed_licenses}
    for i, model in enumerate(policy.local_inference.models):
        if not SHA256_RE.match(model.sha256):
            fixed = model.sha256.strip().lower()
            hint = (
                "write the hash in lower case"
                if SHA256_RE.match(fixed)
                else "64 hexadecimal characters, as printed by `mistral-sov local models show NAME`"
            )
            add(Issue(("local_inference", "models", i, "sha256"), "malformed SHA-256", hint))
        if model.name in names:
            add(
                Issue(
                    ("local_inference", "models", i, "name"),
                    f"duplicate model name '{model.name}'",
                    "give every model a unique name",
                )
            )
        names.add(model.name)
        if model.license.lower() not in allowed:
            add(
                Issue(
                    ("local_inference", "models", i, "license"),
                    f"licence '{model.license}' is not in local_inference.allowed_licenses",
                    "add the SPDX id to allowed_licenses after legal review, or remove the model",
                )
            )
    if policy.local_inference.oidc is not None:
        issues += _check_oidc(policy.local_inference.oidc, names)

    return issues


def _check_oidc(oidc: Oidc, model_names: set[str]) -> list[Issue]:
    """Single sign-on settings: the issuer is https (plain http only on loopback, for tests);
    ``model_groups`` names models of the policy."""
    out: list[Issue] = []
    base = ("local_inference", "oidc")
    parts = urlsplit(oidc.issuer)  # token_issuers are claims (AD FS: http://…/adfs/services/trust), never fetched
    loopback_http = parts.scheme == "http" and (parts.hostname or "") in ("127.0.0.1", "localhost", "::1")
    if not (parts.scheme == "https" and parts.hostname) and not loopback_http:
        hint = "e.g. https://login.microsoftonline.com/<tenant-id>/v2.0 or https://adfs.example.org/adfs"
        out.append(Issue((*base, "issuer"), f"'{oidc.issuer}' must be an https URL", hint))
    for name in oidc.model_groups:
        if name not in model_names:
            out.append(
                Issue(
                    (*base, "model_groups", name),
                    f"model_groups names '{name}', which is not in local_inference.models",
                    "use the model names of local_inference.models",
                    "warning",
                )
            )
    return out


def _check_region(key: str, path: Path_, known: dict[str, Any]) -> Issue | None:
    if lookup_region(key) is not None and key == key.lower():
        return None
    provider, _, name = key.partition(":")
    if provider not in PROVIDERS or not name:
        return Issue(
            path,
            f"'{key}' is not a cloud region",
            "write provider:region with provider one of azure, aws, gcp, oci, e.g. azure:germanywestcentral",
        )
    if key != key.lower() and lookup_region(key) is not None:
        return Issue(path, f"'{key}' must be lower case", f"write '{key.lower()}'")
    same = [k.split(":", 1)[1] for k in known if k.startswith(provider + ":")]
    return Issue(
        path,
        f"unknown {provider} region '{name}'",
        suggest(name, same) or f"see `mistral-sov policy regions {provider}` for the known names",
    )
