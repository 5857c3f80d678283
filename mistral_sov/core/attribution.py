"""Facts about one IP address, and the provider shapes that supply them.

Each provider answers one question per address (ARCHITECTURE.md, plug-in shapes):

- ``GeoProvider.locate(address)``   -> ``GeoFact`` (country, maybe coordinates) or None
- ``AsnProvider.asn(address)``      -> ``AsnFact`` (origin AS number and organisation) or None
- ``CloudRangeProvider.lookup(address)`` -> ``RangeMatch`` (cloud, region, service, anycast) or None
- ``OperatorDirectory.operator(asn)``    -> ``Operator`` (parent company and its jurisdiction) or None

Every fact names its source and the source's version, so a report can say who said what.
Null providers stand in when nothing is configured; the verdict engine never branches on
"geo enabled". Pure module: no I/O.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Protocol

from mistral_sov.core.memo import bounded

# How much a fact is worth as evidence of *where* an address is:
#   "geolocation"  – a geo-IP database's location, a geofeed entry, a cloud region's range
#   "registration" – the country an address block is registered in (RIR data): a weak hint
GEOLOCATION = "geolocation"
REGISTRATION = "registration"


@dataclass(frozen=True)
class GeoFact:
    source: str  # e.g. "GeoLite2-City", "iptocc", "geofeed:feed.csv", "azure-service-tags"
    version: str  # e.g. "build 2026-02-04", "3.3.170", "changeNumber 363"
    country: str | None
    kind: str = GEOLOCATION
    lat: float | None = None
    lon: float | None = None
    accuracy_km: float | None = None
    city: str | None = None


@dataclass(frozen=True)
class AsnFact:
    asn: int
    organisation: str
    source: str
    version: str


@dataclass(frozen=True)
class RangeMatch:
    """An address found in a cloud provider's published range file."""

    provider: str  # azure | aws | gcp | oci | cloudflare | fastly
    prefix: str
    service: str  # e.g. "AzureCloud.germanywc", "EC2", "Google Cloud", "OCI"
    region: str | None  # canonical "provider:region" key, e.g. "azure:germanywestcentral"
    raw_region: str  # the provider's own label ("germanywc", "eu-central-1-ham-1", "")
    country: str | None  # where the region's data centres are, when known
    city: str | None
    anycast: bool  # published without region: served from many places
    global_only: bool  # a global service (front door, CDN) with no regional tag
    source: str
    version: str
    implied_asns: tuple[int, ...] = ()  # the provider's main ASNs, used when no ASN database is given


@dataclass(frozen=True)
class Operator:
    asn: int
    organisation: str
    parent: str
    jurisdiction: str  # ISO 3166-1 alpha-2 code of the parent company's home country
    source_url: str


class GeoProvider(Protocol):
    name: str
    version: str
    user_supplied: bool  # explicit user data (mmdb, geofeed) may place private addresses

    def locate(self, address: str) -> GeoFact | None: ...


class AsnProvider(Protocol):
    name: str
    version: str

    def asn(self, address: str) -> AsnFact | None: ...


class CloudRangeProvider(Protocol):
    name: str
    version: str

    def lookup(self, address: str) -> RangeMatch | None: ...


class OperatorDirectory(Protocol):
    name: str
    version: str

    def operator(self, asn: int) -> Operator | None: ...


class NullAsnProvider:
    """Stands in when no ASN database is configured: knows nothing."""

    name = "none"
    version = ""

    def asn(self, address: str) -> AsnFact | None:
        return None


class NullRangeProvider:
    """Stands in when no cloud range files are installed: knows nothing."""

    name = "none"
    version = ""

    def lookup(self, address: str) -> RangeMatch | None:
        return None


class NullOperatorDirectory:
    name = "none"
    version = ""

    def operator(self, asn: int) -> Operator | None:
        return None


@dataclass
class SourceInfo:
    """A data source as recorded in the evidence (name, version, provenance)."""

    name: str
    version: str
    kind: str  # country | asn | country+asn | ranges | operators | geofeed
    provenance: dict[str, str] = field(default_factory=dict)
    published: str = ""  # ISO date the data was published ("" = the source does not say)

    @property
    def sha256(self) -> str:
        return self.provenance.get("sha256", "")

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "version": self.version,
            "kind": self.kind,
            "published": self.published or None,
            "sha256": self.sha256 or None,
            "provenance": self.provenance,
        }


@bounded(65536)
def is_internal(address: str) -> bool:
    """Private and special-purpose addresses (RFC 1918, ULA, link-local, loopback, CGNAT,
    documentation, benchmarking…): not globally routable, so no public database places them."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast
