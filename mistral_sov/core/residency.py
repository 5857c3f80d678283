"""The typed residency result: one hop row, one per-check detail record, the input record.

Every report writer reads ``HopRow`` and ``ResidencyDetails`` (``Check.residency``); the JSON
evidence is their ``to_dict()``. ``TraceRecord`` is what the judging engine consumes, whatever
produced the trace: a local tracer, a RIPE Atlas result file, a fleet device's result.
Pure module: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mistral_sov.core.physics import VantagePoint
from mistral_sov.core.trace import Resolution, TraceResult

# the physics state of one claim / one hop
PHYSICS_PASSED = "passed"
PHYSICS_REFUTED = "refuted"
PHYSICS_NOT_EVALUATED = "not evaluated"


@dataclass(frozen=True)
class Claim:
    """One source's statement about where a hop is, and how physics judged it."""

    source: str
    version: str
    country: str | None
    kind: str  # "geolocation" | "registration"
    physics: str = PHYSICS_NOT_EVALUATED  # passed | refuted | not evaluated
    physics_detail: str = ""  # e.g. "1.90 ms from the vantage allows ≤ 285 km; US is ≥ 5,900 km away"
    used: bool = True  # False when refuted (or outranked and not needed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "version": self.version,
            "country": self.country,
            "kind": self.kind,
            "physics": self.physics,
            "physics_detail": self.physics_detail,
            "used": self.used,
        }


@dataclass
class HopRow:
    """One row of the hop table, the only shape report writers render."""

    ttl: int
    address: str | None = None
    addresses: list[str] = field(default_factory=list)
    rtt_ms: list[float] = field(default_factory=list)
    min_rtt_ms: float | None = None
    country: str | None = None
    claims: list[Claim] = field(default_factory=list)
    uncertain: bool = False
    asn: int | None = None
    operator: str | None = None
    asn_source: str | None = None
    jurisdiction: str | None = None
    region: str | None = None
    lat: float | None = None
    lon: float | None = None
    max_km_fibre: float | None = None
    max_km_vacuum: float | None = None
    physics: str = PHYSICS_NOT_EVALUATED
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. "late reply: RTT dropped"

    @property
    def silent(self) -> bool:
        return not self.addresses

    @property
    def country_sources(self) -> dict[str, str | None]:
        return {c.source: c.country for c in self.claims}

    def to_dict(self) -> dict[str, Any]:
        return {
            "ttl": self.ttl,
            "address": self.address,
            "addresses": list(self.addresses),
            "rtt_ms": list(self.rtt_ms),
            "min_rtt_ms": self.min_rtt_ms,
            "country": self.country,
            "country_sources": self.country_sources,
            "claims": [c.to_dict() for c in self.claims],
            "uncertain": self.uncertain,
            "asn": self.asn,
            "operator": self.operator,
            "asn_source": self.asn_source,
            "jurisdiction": self.jurisdiction,
            "region": self.region,
            "lat": self.lat,
            "lon": self.lon,
            "max_km_fibre": self.max_km_fibre,
            "max_km_vacuum": self.max_km_vacuum,
            "physics": self.physics,
            "flags": list(self.flags),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class NotEvaluated:
    """A check that could not run, and why (never silently skipped)."""

    check: str  # "physics" | "jurisdiction" | "geolocation" | "region" | …
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"check": self.check, "reason": self.reason}


@dataclass
class ResidencyDetails:
    """Everything one residency check measured (one endpoint address, one vantage)."""

    endpoint: str
    url: str = ""
    host: str = ""
    address: str | None = None
    port: int = 0
    method: str = ""
    tracer: str = ""
    source: str = "local"  # local | ripe-atlas | fleet | …
    vantage_id: str = ""  # e.g. "atlas-probe:190"; counts distinct vantage points
    vantage: VantagePoint | None = None
    vantage_country: str | None = None
    measured_at: str = ""  # ISO 8601 UTC of the measurement itself
    in_policy: bool = True
    reached: bool = False
    resolution: Resolution | None = None
    fidelity_notes: list[str] = field(default_factory=list)
    not_evaluated: list[NotEvaluated] = field(default_factory=list)
    hops: list[HopRow] = field(default_factory=list)
    https: HttpsEvidence | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "https": self.https.to_dict() if self.https else None,
            "endpoint": self.endpoint,
            "url": self.url,
            "host": self.host,
            "address": self.address,
            "port": self.port,
            "method": self.method,
            "tracer": self.tracer,
            "source": self.source,
            "vantage_id": self.vantage_id,
            "vantage": self.vantage.to_dict() if self.vantage else {"name": None, "lat": None, "lon": None},
            "vantage_country": self.vantage_country,
            "measured_at": self.measured_at,
            "in_policy": self.in_policy,
            "fidelity_notes": list(self.fidelity_notes),
            "not_evaluated": [n.to_dict() for n in self.not_evaluated],
            "reached": self.reached,
            "resolution": self.resolution.to_dict()
            if self.resolution
            else {"cname_chain": [], "addresses": [self.address] if self.address else [], "resolver": "", "flags": []},
            "hops": [h.to_dict() for h in self.hops],
        }


@dataclass
class TraceRecord:
    """One trace to judge, from any source: what the engine consumes.

    ``vantage`` is where the probes left from (None: physics not evaluated); ``vantage_id``
    names the vantage point so "k of n" counts distinct probes; ``measured_at`` is the time
    of the measurement (the Atlas timestamp for Atlas data); ``source`` says what produced it
    (``local``, ``ripe-atlas``, ``fleet``…). ``target_name`` is the name the measurement was
    aimed at (matched to the policy endpoints case-insensitively and as IDNA)."""

    target_name: str
    trace: TraceResult
    source: str = "local"
    vantage: VantagePoint | None = None
    vantage_id: str = ""
    vantage_country: str | None = None
    vantage_missing_reason: str = ""  # why no vantage (e.g. "probe 190 is not in the probes file")
    physics_required: bool = False  # a vantage was asked for (a probes file given): missing is INCONCLUSIVE
    vantage_self_reported: bool = False  # e.g. RIPE Atlas probe metadata: may be wrong, so never hides a hop
    measured_at: str = ""
    resolution: Resolution | None = None
    address: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RegionHeader:
    """One response header that says something about where the request was served."""

    header: str
    value: str
    provider: str
    reveals: str  # serving-region | edge | gateway
    region: str | None = None  # canonical provider:region for serving-region headers
    country: str | None = None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "header": self.header,
            "value": self.value,
            "provider": self.provider,
            "reveals": self.reveals,
            "region": self.region,
            "country": self.country,
            "source": self.source,
        }


@dataclass
class HttpsEvidence:
    """What an HTTPS request to the endpoint showed: where it connected, the TLS certificate
    chain and the headers that reveal the serving region. ``error`` when the probe failed."""

    url: str
    address: str | None = None
    status: int | None = None
    tls_version: str | None = None
    certificates: list[dict[str, Any]] = field(default_factory=list)  # leaf first
    headers: dict[str, str] = field(default_factory=dict)  # the region-revealing and server headers
    regions: list[RegionHeader] = field(default_factory=list)
    error: str = ""
    measured_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "address": self.address,
            "status": self.status,
            "tls_version": self.tls_version,
            "certificates": list(self.certificates),
            "headers": dict(self.headers),
            "regions": [r.to_dict() for r in self.regions],
            "error": self.error,
            "measured_at": self.measured_at,
        }
