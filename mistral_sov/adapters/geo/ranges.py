"""Cloud providers' published IP ranges, with provenance, and a fast lookup over them.

Formats (reference notes §4):

=============  =====================================  ==================================================
provider       file                                   region label / version fields
=============  =====================================  ==================================================
azure          ``ServiceTags_Public_YYYYMMDD.json``   ``AzureCloud.<tag-id>`` (``germanywc``,
                                                      ``centralfrance``…); ``changeNumber``
aws            ``ip-ranges.json``                     ``network_border_group`` (Local/Wavelength Zones);
                                                      ``syncToken``, ``createDate``
gcp            ``cloud.json``                         ``scope``; ``syncToken``, ``creationTime``
oci            ``public_ip_ranges.json``              ``region``; ``last_updated_timestamp``
cloudflare     ``ips-v4`` / ``ips-v6`` (text)         none: anycast
fastly         ``public-ip-list`` (JSON)              none: anycast
=============  =====================================  ==================================================

Files live unchanged in a data directory (default: the platformdirs user data dir
``mistral-sov/ranges``; ``--ranges-dir`` overrides) beside ``manifest.json``, which records
per file: provider, source URL, SHA-256, version fields and when it was fetched/imported.
Loading re-hashes every file and refuses one that changed since (the provenance would lie).

Global-only services (``AzureFrontDoor.*``, ``CognitiveServicesFrontend``, AWS ``GLOBAL``
such as CloudFront, Cloudflare, Fastly) carry no region: a match sets ``global_only``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from mistral_sov.adapters.fileio import atomic_write_bytes
from mistral_sov.adapters.geo._intervals import PrefixIndex
from mistral_sov.core.attribution import RangeMatch, SourceInfo
from mistral_sov.core.zones import cloud_regions
from mistral_sov.errors import InconclusiveError, InputError, Location

PROVIDERS = ("azure", "aws", "gcp", "oci", "cloudflare", "fastly")
MANIFEST = "manifest.json"

OFFICIAL_URLS: dict[str, str] = {
    "aws": "https://ip-ranges.amazonaws.com/ip-ranges.json",
    "gcp": "https://www.gstatic.com/ipranges/cloud.json",
    "oci": "https://docs.oracle.com/en-us/iaas/tools/public_ip_ranges.json",
    "cloudflare-v4": "https://www.cloudflare.com/ips-v4",
    "cloudflare-v6": "https://www.cloudflare.com/ips-v6",
    "fastly": "https://api.fastly.com/public-ip-list",
}
# The Azure file's URL changes every week; its download page links the current one.
AZURE_DOWNLOAD_PAGE = "https://www.microsoft.com/en-us/download/details.aspx?id=56519"
AZURE_LINK_RE = re.compile(r"https://download\.microsoft\.com/download/[^\"'<>\s]+/ServiceTags_Public_\d+\.json")

IMPLIED_ASNS: dict[str, tuple[int, ...]] = {
    "azure": (8075,),
    "aws": (16509,),
    "gcp": (396982,),
    "oci": (31898,),
    "cloudflare": (13335,),
    "fastly": (54113,),
}
AZURE_GLOBAL_ONLY = ("AzureFrontDoor.", "CognitiveServicesFrontend")
AWS_GLOBAL_SERVICES = {"CLOUDFRONT", "CLOUDFRONT_ORIGIN_FACING", "GLOBALACCELERATOR", "ROUTE53"}
# AWS Local/Wavelength Zone city codes seen in network_border_group labels
AWS_ZONE_CITIES: dict[str, tuple[str, str]] = {
    "ham": ("DE", "Hamburg"),
    "muc": ("DE", "Munich"),
    "ber": ("DE", "Berlin"),
    "dtm": ("DE", "Dortmund"),
    "fra": ("DE", "Frankfurt"),
    "waw": ("PL", "Warsaw"),
    "cph": ("DK", "Copenhagen"),
    "hel": ("FI", "Helsinki"),
    "lis": ("PT", "Lisbon"),
    "ams": ("NL", "Amsterdam"),
    "mad": ("ES", "Madrid"),
    "bcn": ("ES", "Barcelona"),
    "mrs": ("FR", "Marseille"),
    "lhr": ("GB", "London"),
    "man": ("GB", "Manchester"),
    "lim": ("PE", "Lima"),
    "bos": ("US", "Boston"),
    "mia": ("US", "Miami"),
    "nyc": ("US", "New York"),
}


@dataclass(frozen=True)
class _Entry:
    provider: str
    service: str
    raw_region: str
    region: str | None
    country: str | None
    city: str | None
    anycast: bool
    global_only: bool


@dataclass
class ParsedRanges:
    key: str  # manifest key: provider, or cloudflare-v4 / cloudflare-v6
    provider: str
    version: str
    provenance: dict[str, str]
    prefixes: list[tuple[str, _Entry]]


def default_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("mistral-sov", appauthor=False)) / "ranges"


@cache
def _azure_regions() -> dict[str, str]:
    out: dict[str, str] = {}
    for key, region in cloud_regions().items():
        if region.provider == "azure":
            out[region.name] = key
            if region.tag_id:
                out[region.tag_id] = key
    return out


def _region_entry(
    provider: str, service: str, raw: str, key: str | None, *, global_only: bool = False, anycast: bool = False
) -> _Entry:
    region = cloud_regions().get(key) if key else None
    return _Entry(
        provider,
        service,
        raw,
        key if region else None,
        region.country if region else None,
        region.city if region else None,
        anycast,
        global_only,
    )


def _bad(file: str, message: str, hint: str = "") -> InputError:
    return InputError(
        message,
        location=Location(file),
        hint=hint or "use the provider's published file unchanged (see `mistral-sov ranges update --help`)",
    )


def detect_provider(data: bytes, file: str = "<data>") -> str:
    """Which provider published this file (by its shape)."""
    text = data.decode("utf-8-sig", errors="replace").strip()
    if text.startswith("<") or text.lower().startswith("<!doctype"):
        raise _bad(
            file,
            f"'{Path(file).name}' is an HTML page, not a range file",
            "the download returned an error page; fetch the file again",
        )
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"'{Path(file).name}' is not valid JSON: {exc.msg}",
                location=Location(file, exc.lineno, exc.colno),
                hint="fetch the file again; it may be truncated",
            ) from None
        if isinstance(doc, dict):
            if "values" in doc and "changeNumber" in doc:
                return "azure"
            if "prefixes" in doc and ("createDate" in doc or "ipv6_prefixes" in doc):
                return "aws"
            if "prefixes" in doc and "creationTime" in doc:
                return "gcp"
            if "regions" in doc and "last_updated_timestamp" in doc:
                return "oci"
            if "addresses" in doc and "ipv6_addresses" in doc:
                return "fastly"
        raise _bad(
            file,
            f"'{Path(file).name}' is JSON but no known cloud range file",
            "pass --provider, or use the official Azure/AWS/Google/Oracle/Fastly file",
        )
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if lines and all(re.fullmatch(r"[0-9a-fA-F:.]+/\d{1,3}", ln) for ln in lines):
        return "cloudflare-v6" if ":" in lines[0] else "cloudflare-v4"
    raise _bad(file, f"'{Path(file).name}' is not a known cloud range file")


def parse(data: bytes, file: str, provider: str | None = None) -> ParsedRanges:
    """Parse one provider file; raise InputError (file named) when it is not what it claims."""
    detected = detect_provider(data, file)
    if provider is not None:
        want = provider if provider != "cloudflare" else detected
        if not detected.startswith(provider) and detected != want:
            raise _bad(
                file,
                f"'{Path(file).name}' looks like a {detected} file, not {provider}",
                f"drop --provider, or pass --provider {detected.split('-')[0]}",
            )
    sha = hashlib.sha256(data).hexdigest()
    try:
        return _PARSERS[detected.split("-")[0]](data, file, detected, sha)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, InputError):
            raise
        raise _bad(
            file,
            f"'{Path(file).name}' does not have the {detected} layout ({type(exc).__name__}: {exc})",
            "fetch the file again; it may be truncated or from another provider",
        ) from None


def _json(data: bytes) -> Any:
    return json.loads(data.decode("utf-8-sig"))


def _parse_azure(data: bytes, file: str, key: str, sha: str) -> ParsedRanges:
    doc = _json(data)
    regions = _azure_regions()
    out: list[tuple[str, _Entry]] = []
    for value in doc["values"]:
        name = str(value["name"])
        props = value["properties"]
        raw = str(props.get("region") or "")
        prefixes = props.get("addressPrefixes") or []
        if name.startswith("AzureCloud.") and raw:
            entry = _region_entry("azure", name, raw, regions.get(raw) or f"azure:{raw}")
        elif name == "AzureCloud":
            entry = _Entry("azure", name, "", None, None, None, False, False)
        elif name.startswith(AZURE_GLOBAL_ONLY) and not raw:
            entry = _Entry("azure", name, "", None, None, None, False, True)
        else:
            continue
        out.extend((p, entry) for p in prefixes)
    version = f"changeNumber {doc['changeNumber']}"
    return ParsedRanges(
        key,
        "azure",
        version,
        {"changeNumber": str(doc["changeNumber"]), "cloud": str(doc.get("cloud", "")), "sha256": sha},
        out,
    )


def _parse_aws(data: bytes, file: str, key: str, sha: str) -> ParsedRanges:
    doc = _json(data)
    out: list[tuple[str, _Entry]] = []
    seen: set[tuple[str, str, str]] = set()
    rows = [(p["ip_prefix"], p) for p in doc.get("prefixes", [])]
    rows += [(p["ipv6_prefix"], p) for p in doc.get("ipv6_prefixes", [])]
    for prefix, p in rows:
        region = str(p["region"])
        nbg = str(p.get("network_border_group") or region)
        service = str(p.get("service") or "")
        if (prefix, nbg, service) in seen:
            continue
        seen.add((prefix, nbg, service))
        if region == "GLOBAL" or service in AWS_GLOBAL_SERVICES:
            out.append((prefix, _Entry("aws", service, nbg, None, None, None, False, True)))
            continue
        if nbg == region:
            entry = _region_entry("aws", service, nbg, f"aws:{region}")
        else:  # a Local or Wavelength Zone: locate it by the city code in its label
            code = next((part for part in nbg[len(region) :].split("-") if len(part) == 3 and part.isalpha()), "")
            country, city = AWS_ZONE_CITIES.get(code, (None, None))
            entry = _Entry("aws", service, nbg, None, country, city, False, False)
        out.append((prefix, entry))
    version = f"syncToken {doc['syncToken']}"
    return ParsedRanges(
        key,
        "aws",
        version,
        {"syncToken": str(doc["syncToken"]), "createDate": str(doc.get("createDate", "")), "sha256": sha},
        out,
    )


def _parse_gcp(data: bytes, file: str, key: str, sha: str) -> ParsedRanges:
    doc = _json(data)
    out: list[tuple[str, _Entry]] = []
    for p in doc["prefixes"]:
        prefix = p.get("ipv4Prefix") or p.get("ipv6Prefix")
        scope = str(p.get("scope") or "")
        if scope in ("", "global"):
            entry = _Entry("gcp", str(p.get("service", "")), scope, None, None, None, False, True)
        else:
            entry = _region_entry("gcp", str(p.get("service", "")), scope, f"gcp:{scope}")
        out.append((str(prefix), entry))
    version = f"syncToken {doc['syncToken']}"
    return ParsedRanges(
        key,
        "gcp",
        version,
        {"syncToken": str(doc["syncToken"]), "creationTime": str(doc.get("creationTime", "")), "sha256": sha},
        out,
    )


def _parse_oci(data: bytes, file: str, key: str, sha: str) -> ParsedRanges:
    doc = _json(data)
    out: list[tuple[str, _Entry]] = []
    for region in doc["regions"]:
        name = str(region["region"])
        for c in region["cidrs"]:
            entry = _region_entry("oci", ",".join(c.get("tags") or []), name, f"oci:{name}")
            out.append((str(c["cidr"]), entry))
    stamp = str(doc["last_updated_timestamp"])
    return ParsedRanges(key, "oci", f"updated {stamp}", {"last_updated_timestamp": stamp, "sha256": sha}, out)


def _parse_cloudflare(data: bytes, file: str, key: str, sha: str) -> ParsedRanges:
    entry = _Entry("cloudflare", "Cloudflare", "", None, None, None, True, True)
    lines = [ln.strip() for ln in data.decode("utf-8").splitlines() if ln.strip()]
    return ParsedRanges(key, "cloudflare", f"sha256 {sha[:12]}", {"sha256": sha}, [(ln, entry) for ln in lines])


def _parse_fastly(data: bytes, file: str, key: str, sha: str) -> ParsedRanges:
    doc = _json(data)
    entry = _Entry("fastly", "Fastly", "", None, None, None, True, True)
    prefixes = list(doc["addresses"]) + list(doc["ipv6_addresses"])
    return ParsedRanges(key, "fastly", f"sha256 {sha[:12]}", {"sha256": sha}, [(str(p), entry) for p in prefixes])


_PARSERS: dict[str, Callable[[bytes, str, str, str], ParsedRanges]] = {
    "azure": _parse_azure,
    "aws": _parse_aws,
    "gcp": _parse_gcp,
    "oci": _parse_oci,
    "cloudflare": _parse_cloudflare,
    "fastly": _parse_fastly,
}


# --------------------------------------------------------------------------- the data directory


def _file_name(key: str) -> str:
    return f"{key}.txt" if key.startswith("cloudflare") else f"{key}.json"


def read_manifest(directory: Path) -> dict[str, dict[str, str]]:
    path = Path(directory) / MANIFEST
    if not path.exists():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(
            f"'{path}' is not a valid range manifest ({exc})",
            location=Location(str(path)),
            hint="delete the ranges directory and run `mistral-sov ranges update` again",
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("files"), dict):
        raise InputError(
            f"'{path}' is not a valid range manifest",
            location=Location(str(path)),
            hint="delete the ranges directory and run `mistral-sov ranges update` again",
        )
    return {str(k): dict(v) for k, v in doc["files"].items()}


def store(directory: Path, data: bytes, file: str, source: str, provider: str | None = None) -> ParsedRanges:
    """Validate one range file and store it (atomically) with its provenance."""
    parsed = parse(data, file, provider)
    directory = Path(directory)
    manifest = read_manifest(directory)
    atomic_write_bytes(directory / _file_name(parsed.key), data)
    manifest[parsed.key] = {
        "provider": parsed.provider,
        "file": _file_name(parsed.key),
        "source": source,
        "version": parsed.version,
        "stored_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "prefixes": str(len(parsed.prefixes)),
        **parsed.provenance,
    }
    body = json.dumps({"format": 1, "files": manifest}, indent=2, sort_keys=True) + "\n"
    atomic_write_bytes(directory / MANIFEST, body.encode("utf-8"))
    return parsed


@dataclass
class UpdateResult:
    key: str
    url: str
    ok: bool
    message: str


def find_azure_url(page: str) -> str | None:
    match = AZURE_LINK_RE.search(page)
    return match.group(0) if match else None


def update(
    directory: Path,
    *,
    urls: dict[str, str] | None = None,
    azure_url: str | None = None,
    azure_page: str = AZURE_DOWNLOAD_PAGE,
    only: tuple[str, ...] = (),
    timeout: float = 30.0,
    on_result: Callable[[UpdateResult], None] | None = None,
) -> list[UpdateResult]:
    """Download every provider's file with httpx into ``directory``.

    ``urls`` overrides the official locations (keys: aws, gcp, oci, cloudflare-v4,
    cloudflare-v6, fastly; asn: the iptoasn.com IP -> AS table, fetched too); ``azure_url``
    gives the weekly Azure file, otherwise it is looked up on ``azure_page``. ``only`` limits
    to some providers. Files are validated before they replace the stored copy, so a failed or
    bogus download never loses good data."""
    import httpx

    targets = dict(OFFICIAL_URLS)
    targets.update({k: v for k, v in (urls or {}).items() if k != "asn"})
    keys = ["azure", *targets]
    if only:
        keys = [k for k in keys if k.split("-")[0] in only or k in only]
    results: list[UpdateResult] = []
    with httpx.Client(
        timeout=timeout, follow_redirects=True, headers={"User-Agent": "mistral-sov ranges update"}
    ) as client:
        for key in keys:
            url = azure_url or "" if key == "azure" else targets[key]
            try:
                if key == "azure" and not url:
                    page = client.get(azure_page)
                    page.raise_for_status()
                    found = find_azure_url(page.text)
                    if not found:
                        raise InconclusiveError("no ServiceTags_Public link on the Azure download page")
                    url = found
                response = client.get(url)
                response.raise_for_status()
                parsed = store(Path(directory), response.content, url, url, key.split("-")[0])
                result = UpdateResult(key, url, True, f"{parsed.version}, {len(parsed.prefixes)} prefixes")
            except httpx.HTTPError as exc:
                result = UpdateResult(key, url or azure_page, False, f"download failed: {exc}")
            except (InputError, InconclusiveError) as exc:
                result = UpdateResult(key, url or azure_page, False, exc.message)
            results.append(result)
            if on_result:
                on_result(result)
        if not only or "asn" in only:
            result = _update_asn(client, Path(directory), (urls or {}).get("asn"))
            results.append(result)
            if on_result:
                on_result(result)
    return results


def _update_asn(client: Any, directory: Path, url: str | None) -> UpdateResult:
    """The IP -> AS table (iptoasn.com), for the operator-jurisdiction check."""
    import httpx

    from mistral_sov.adapters.geo import asn_table

    url = url or asn_table.IPTOASN_URL
    try:
        response = client.get(url)
        response.raise_for_status()
        table = asn_table.store(
            directory, response.content, url, asn_table.http_date(response.headers.get("last-modified"))
        )
        return UpdateResult("asn", url, True, f"{table.version}, {table.count} ranges")
    except httpx.HTTPError as exc:
        return UpdateResult("asn", url, False, f"download failed: {exc}")
    except InputError as exc:
        return UpdateResult("asn", url, False, exc.message)


UNDATED = ("cloudflare", "fastly")  # their lists carry no date or version


def published_date(provenance: dict[str, str]) -> str:
    """The ISO date a range file was published, from its own fields or its download name
    (Azure: ``ServiceTags_Public_YYYYMMDD.json``); '' when nothing says."""
    import re

    aws = provenance.get("createDate", "")  # 2025-07-24-20-23-14
    if re.match(r"^\d{4}-\d{2}-\d{2}", aws):
        return aws[:10]
    for key in ("creationTime", "last_updated_timestamp"):  # GCP ISO time / OCI ISO time
        value = provenance.get(key, "")
        if re.match(r"^\d{4}-\d{2}-\d{2}", value):
            return value[:10]
    found = re.search(r"ServiceTags_Public_(\d{4})(\d{2})(\d{2})", provenance.get("source", ""))
    if found:
        return "-".join(found.groups())
    return ""


class RangeIndex:
    """CloudRangeProvider over every file in a ranges directory (or over parsed files)."""

    name = "cloud-ranges"

    def __init__(self, parsed: list[ParsedRanges]) -> None:
        self._index: PrefixIndex[tuple[_Entry, str, str]] = PrefixIndex()
        self.files = parsed
        for item in parsed:
            source = f"{item.provider}-ranges"
            for prefix, entry in item.prefixes:
                try:
                    self._index.add(prefix, (entry, source, item.version))
                except ValueError:
                    raise InputError(
                        f"bad prefix '{prefix}' in the {item.key} range file", hint="re-import the provider's file"
                    ) from None
        self.version = "; ".join(f"{p.key} {p.version}" for p in parsed)

    @classmethod
    def load(cls, directory: Path) -> RangeIndex:
        directory = Path(directory)
        parsed: list[ParsedRanges] = []
        for key, meta in sorted(read_manifest(directory).items()):
            path = directory / meta.get("file", _file_name(key))
            try:
                data = path.read_bytes()
            except OSError:
                raise InputError(
                    f"range file '{path}' listed in the manifest is missing",
                    location=Location(str(path)),
                    hint="run `mistral-sov ranges update` or `ranges import` again",
                ) from None
            if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
                raise InputError(
                    f"range file '{path.name}' changed since it was stored (SHA-256 mismatch)",
                    location=Location(str(path)),
                    hint="re-import it with `mistral-sov ranges import`, so provenance is true",
                )
            item = parse(data, str(path), key.split("-")[0])
            item.provenance.update({"source": meta.get("source", ""), "stored_at": meta.get("stored_at", "")})
            parsed.append(item)
        return cls(parsed)

    def infos(self) -> list[SourceInfo]:
        return [
            SourceInfo(
                f"{p.key}-ranges",
                p.version,
                "ranges",
                dict(p.provenance) | ({"undated": "the provider publishes no date"} if p.provider in UNDATED else {}),
                published_date(p.provenance),
            )
            for p in self.files
        ]

    def lookup(self, address: str) -> RangeMatch | None:
        best: tuple[int, _Entry, str, str] | None = None
        global_hit: tuple[int, _Entry, str, str] | None = None
        any_hit: tuple[int, _Entry, str, str] | None = None
        for plen, values in self._index.lookup_all(address):
            for entry, source, version in values:
                hit = (plen, entry, source, version)
                if entry.global_only and global_hit is None:
                    global_hit = hit
                if (entry.region or entry.country) and best is None:
                    best = hit
                if any_hit is None:
                    any_hit = hit
        chosen = best or global_hit or any_hit
        if chosen is None:
            return None
        plen, entry, source, version = chosen
        ip = address.split("%", maxsplit=1)[0]
        import ipaddress

        prefix = str(ipaddress.ip_network(f"{ip}/{plen}", strict=False))
        return RangeMatch(
            provider=entry.provider,
            prefix=prefix,
            service=entry.service,
            region=entry.region,
            raw_region=entry.raw_region,
            country=entry.country,
            city=entry.city,
            anycast=entry.anycast or (global_hit is not None and global_hit[1].anycast),
            global_only=global_hit is not None,
            source=source,
            version=version,
            implied_asns=IMPLIED_ASNS.get(entry.provider, ()),
        )
