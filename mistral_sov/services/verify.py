"""The residency verdict engine: traces + attribution + policy zones -> a Report.

Pure: providers, the resolver and the tracer come in as arguments (ARCHITECTURE.md). One
``Check`` per endpoint address; ``Check.details`` holds the hop table in the shape every
report writer renders (see ``judge_trace``). Rule ids are stable; docs/residency.md explains
each one, what its verdict proves and what it does not.

=====================  ======================================================================
rule id                meaning (verdict)
=====================  ======================================================================
RES-UNRESOLVED         the host name has no A/AAAA address (INCONCLUSIVE)
RES-UNREACHED          the destination never answered a probe (INCONCLUSIVE)
RES-DEST-COUNTRY       the destination is outside ``allowed_countries`` (VIOLATION), or no
                       source places it (INCONCLUSIVE), or it is a private address not
                       declared ``private_link`` (WARNING)
RES-TRANSIT-COUNTRY    a transit hop is outside ``allowed_countries`` (VIOLATION; only with
                       ``transit: strict``)
RES-UNKNOWN-HOP        a transit hop is silent, or no source places it (``unknown_hops``:
                       allow = nothing, warn = WARNING, fail = INCONCLUSIVE)
RES-SOURCES-DISAGREE   sources place a hop in different countries, at least one outside the
                       zone (transit: WARNING; destination: INCONCLUSIVE)
RES-JURISDICTION       a hop's operator has a parent in a jurisdiction that
                       ``operator_jurisdictions`` marks warn (WARNING) or fail (VIOLATION)
RES-REGION             the destination's cloud range region is not allowed (VIOLATION), is not
                       the endpoint's declared region (WARNING), or cannot be established
                       while the policy names regions (INCONCLUSIVE)
RES-FRONTDOOR          the name or address belongs to a global front door / CDN / anycast
                       service: the answering edge says nothing about where data is processed
                       (WARNING)
RES-PHYSICS            a source's claim is farther than light could travel in the hop's RTT:
                       the claim is ignored for that hop (WARNING)
=====================  ======================================================================
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from mistral_sov.core.attribution import (
    GEOLOCATION,
    REGISTRATION,
    AsnFact,
    AsnProvider,
    CloudRangeProvider,
    GeoFact,
    GeoProvider,
    NullOperatorDirectory,
    NullRangeProvider,
    Operator,
    OperatorDirectory,
    RangeMatch,
    SourceInfo,
    is_internal,
)
from mistral_sov.core.findings import Check, Finding, Report, SourceLocation, Verdict
from mistral_sov.core.physics import Contradiction, VantagePoint, bounds, check_country, check_point
from mistral_sov.core.places import find_place
from mistral_sov.core.policy import Endpoint, Zones
from mistral_sov.core.trace import Hop, TraceResult
from mistral_sov.core.zones import COUNTRY_GROUPS, expand_countries

RULES: dict[str, str] = {
    "RES-UNRESOLVED": "The host name resolves to no address",
    "RES-UNREACHED": "The destination never answered",
    "RES-DEST-COUNTRY": "The destination is outside the allowed countries, or cannot be placed",
    "RES-TRANSIT-COUNTRY": "A transit hop is outside the allowed countries",
    "RES-UNKNOWN-HOP": "A transit hop is silent or cannot be placed",
    "RES-SOURCES-DISAGREE": "Data sources place a hop in different countries",
    "RES-JURISDICTION": "A hop's operator is controlled from a flagged jurisdiction",
    "RES-REGION": "The destination's cloud region is not the allowed or declared one",
    "RES-FRONTDOOR": "Served by a global front door, CDN or anycast network",
    "RES-PHYSICS": "A data source's claim contradicts the speed of light",
}

GLOBAL_DNS_FLAGS = ("front-door", "frontdoor", "cdn", "global", "anycast", "traffic-manager", "dns-steering")


# ----------------------------------------------------------------------------- inputs


@dataclass
class Providers:
    """Everything that attributes an address. Empty lists / null providers are fine."""

    geo: list[GeoProvider] = field(default_factory=list)
    asn: list[AsnProvider] = field(default_factory=list)
    ranges: CloudRangeProvider = field(default_factory=NullRangeProvider)
    operators: OperatorDirectory = field(default_factory=NullOperatorDirectory)
    sources: list[SourceInfo] = field(default_factory=list)  # recorded in the evidence


@dataclass
class Target:
    """One thing to verify: a policy endpoint, or a TARGET given on the command line."""

    name: str
    url: str
    host: str
    port: int
    region: str | None = None
    private_link: bool = False
    location: SourceLocation | None = None

    @classmethod
    def from_endpoint(cls, ep: Endpoint, location: SourceLocation | None = None) -> Target:
        return cls(ep.name, ep.url, ep.host, ep.port, ep.region, ep.private_link, location)


@dataclass
class Resolution:
    """DNS evidence for one host: CNAME chain, addresses, resolver, flags (front door…)."""

    host: str
    addresses: list[str] = field(default_factory=list)
    cname_chain: list[str] = field(default_factory=list)
    resolver: str = ""
    flags: list[str] = field(default_factory=list)
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "cname_chain": list(self.cname_chain),
            "addresses": list(self.addresses),
            "resolver": self.resolver,
            "flags": list(self.flags),
        }


# ----------------------------------------------------------------------------- attribution


@dataclass
class Attribution:
    address: str
    internal: bool = False
    facts: list[GeoFact] = field(default_factory=list)  # accepted facts
    rejected: list[tuple[GeoFact, Contradiction]] = field(default_factory=list)
    country: str | None = None
    claims: set[str] = field(default_factory=set)  # countries claimed by the sources in use
    uncertain: bool = False
    asn: AsnFact | None = None
    operator: Operator | None = None
    range: RangeMatch | None = None
    lat: float | None = None
    lon: float | None = None

    @property
    def jurisdiction(self) -> str | None:
        return self.operator.jurisdiction if self.operator else None

    @property
    def country_sources(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {f.source: f.country for f in self.facts}
        for f, _c in self.rejected:
            out[f.source] = f.country
        return out

    @property
    def located(self) -> bool:
        return bool(self.claims)


def attribute(address: str, rtt_ms: float | None, providers: Providers, vantage: VantagePoint | None) -> Attribution:
    """Ask every provider about one address; drop claims that break physics; combine."""
    att = Attribution(address, internal=is_internal(address))
    facts: list[GeoFact] = []
    for provider in providers.geo:
        if att.internal and not provider.user_supplied:
            continue
        fact = provider.locate(address)
        if fact is not None and (fact.country or fact.lat is not None):
            facts.append(fact)
    if not att.internal:
        att.range = providers.ranges.lookup(address)
    if att.range is not None and att.range.country:
        place = find_place(att.range.city or "") if att.range.city else None
        facts.append(
            GeoFact(
                att.range.source,
                att.range.version,
                att.range.country,
                GEOLOCATION,
                place.lat if place and place.country == att.range.country else None,
                place.lon if place and place.country == att.range.country else None,
                50.0 if place and place.country == att.range.country else None,
                att.range.city,
            )
        )

    # physics: a claim farther than light travels in the RTT is impossible. Registration
    # countries are no location claim while a geolocation source remains; used as the
    # fallback location, they are checked too.
    def refute(fact: GeoFact) -> Contradiction | None:
        if vantage is None or rtt_ms is None:
            return None
        bad: Contradiction | None = None
        if fact.lat is not None and fact.lon is not None:
            bad = check_point(vantage.coords, rtt_ms, fact.lat, fact.lon, fact.accuracy_km)
        if bad is None and fact.country:
            bad = check_country(vantage.coords, rtt_ms, fact.country)
        return bad

    for fact in [f for f in facts if f.kind == GEOLOCATION]:
        bad = refute(fact)
        if bad is None:
            att.facts.append(fact)
        else:
            att.rejected.append((fact, bad))
    geo_left = any(f.country for f in att.facts)
    for fact in [f for f in facts if f.kind != GEOLOCATION]:
        bad = None if geo_left else refute(fact)
        if bad is None:
            att.facts.append(fact)
        else:
            att.rejected.append((fact, bad))
    if att.internal and att.facts:
        att.internal = False  # explicit user data places it
    geo = [f for f in att.facts if f.kind == GEOLOCATION and f.country]
    reg = [f for f in att.facts if f.kind == REGISTRATION and f.country]
    used = geo or reg
    att.claims = {f.country for f in used if f.country}
    if len(att.claims) == 1:
        att.country = next(iter(att.claims))
    elif len(att.claims) > 1:
        att.uncertain = True
    with_coords = next((f for f in att.facts if f.lat is not None and f.lon is not None), None)
    if with_coords is not None:
        att.lat, att.lon = with_coords.lat, with_coords.lon
    # ASN: a database first, else implied by a cloud range
    if not att.internal:
        for asn_provider in providers.asn:
            found = asn_provider.asn(address)
            if found is not None:
                att.asn = found
                break
        if att.asn is None and att.range is not None and att.range.implied_asns:
            att.asn = AsnFact(att.range.implied_asns[0], att.range.provider, att.range.source, att.range.version)
    if att.asn is not None:
        att.operator = providers.operators.operator(att.asn.asn)
    return att


# ----------------------------------------------------------------------------- judging


def _action(zones: Zones, jurisdiction: str | None) -> str:
    if not jurisdiction:
        return "allow"
    table = zones.operator_jurisdictions
    if jurisdiction in table:
        return table[jurisdiction]
    for group, members in COUNTRY_GROUPS.items():
        if group in table and jurisdiction in members:
            return table[group]
    return "allow"


def _same_address(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


def _hop_row(hop: Hop, att: Attribution | None, destination: bool, vantage: VantagePoint | None) -> dict[str, Any]:
    rtts = [round(r.rtt_ms, 3) for r in hop.replies]
    min_rtt = hop.min_rtt_ms
    b = bounds(min_rtt) if (min_rtt is not None and vantage is not None) else None
    flags: list[str] = []
    if hop.silent:
        flags.append("silent")
    if att is not None:
        if att.internal:
            flags.append("internal")
        if att.range is not None and att.range.anycast:
            flags.append("anycast")
        if att.jurisdiction == "US":
            flags.append("cloud-act")
        if att.rejected:
            flags.append("physics-contradiction")
        if att.uncertain:
            flags.append("uncertain")
    if destination:
        flags.append("destination")
    return {
        "ttl": hop.ttl,
        "address": hop.addresses[0] if hop.addresses else None,
        "addresses": hop.addresses,
        "rtt_ms": rtts,
        "min_rtt_ms": round(min_rtt, 3) if min_rtt is not None else None,
        "country": att.country if att else None,
        "country_sources": att.country_sources if att else {},
        "uncertain": bool(att and att.uncertain),
        "asn": att.asn.asn if att and att.asn else None,
        "operator": (att.operator.organisation if att.operator else att.asn.organisation or None)
        if att and att.asn
        else None,
        "jurisdiction": att.jurisdiction if att else None,
        "region": att.range.region if att and att.range else None,
        "lat": att.lat if att else None,
        "lon": att.lon if att else None,
        "max_km_fibre": b.max_km_fibre if b else None,
        "max_km_vacuum": b.max_km_vacuum if b else None,
        "flags": flags,
    }


class _Judge:
    def __init__(self, target: Target, zones: Zones, check: Check) -> None:
        self.target = target
        self.zones = zones
        self.allowed = expand_countries(zones.allowed_countries)
        self.check = check

    def add(
        self,
        rule: str,
        verdict: Verdict,
        message: str,
        *,
        hop: int | None = None,
        hint: str = "",
        evidence: dict[str, Any] | None = None,
        sources: Sequence[str] = (),
    ) -> None:
        self.check.findings.append(
            Finding(
                rule_id=rule,
                verdict=verdict,
                message=message,
                subject=self.target.name,
                hint=hint,
                location=self.target.location,
                hop=hop,
                evidence=evidence or {},
                sources=sorted(set(sources)),
            )
        )

    def who_said(self, att: Attribution) -> str:
        return ", ".join(f"{src} says {cc or '?'}" for src, cc in att.country_sources.items())

    def physics(self, att: Attribution, ttl: int | None, rtt: float | None) -> None:
        for fact, bad in att.rejected:
            self.add(
                "RES-PHYSICS",
                Verdict.WARNING,
                f"{fact.source} places {att.address} at {bad.claim}, {bad.distance_km:,.0f} km from the vantage "
                f"point, but a {rtt:.3f} ms round trip allows at most {bad.max_km_vacuum:,.0f} km "
                "even at the speed of light; that claim is ignored for this hop",
                hop=ttl,
                hint="geo-IP data is unreliable for router interfaces; supply a geofeed or a better database",
                evidence={
                    "address": att.address,
                    "claim": bad.claim,
                    "distance_km": bad.distance_km,
                    "max_km_vacuum": bad.max_km_vacuum,
                    "min_rtt_ms": rtt,
                },
                sources=[fact.source],
            )

    def jurisdiction(self, att: Attribution, ttl: int | None) -> None:
        op = att.operator
        if op is None:
            return
        action = _action(self.zones, op.jurisdiction)
        if action == "allow":
            return
        self.add(
            "RES-JURISDICTION",
            Verdict.VIOLATION if action == "fail" else Verdict.WARNING,
            f"{att.address} is operated by {op.organisation} (AS{op.asn}), whose parent {op.parent} is "
            f"under {op.jurisdiction} jurisdiction" + (" (US CLOUD Act)" if op.jurisdiction == "US" else ""),
            hop=ttl,
            hint=f"zones.operator_jurisdictions marks {op.jurisdiction} as '{action}'",
            evidence={
                "address": att.address,
                "asn": op.asn,
                "operator": op.organisation,
                "parent": op.parent,
                "jurisdiction": op.jurisdiction,
                "source_url": op.source_url,
            },
            sources=[att.asn.source if att.asn else "operators", "operators"],
        )

    def transit(self, att: Attribution, ttl: int, seen_public: bool) -> None:
        if att.internal and not seen_public:
            return  # the local network before the first public hop
        if att.internal or not att.located:
            self.unknown(
                ttl,
                f"hop {ttl} ({att.address}) cannot be placed in any country"
                + (" (a private address inside the path)" if att.internal else ""),
                {"address": att.address, "country_sources": att.country_sources},
            )
            return
        outside = sorted(att.claims - self.allowed)
        if not outside:
            return
        srcs = [s for s, c in att.country_sources.items() if c in outside]
        if att.uncertain:
            self.add(
                "RES-SOURCES-DISAGREE",
                Verdict.WARNING,
                f"hop {ttl} ({att.address}): sources disagree — {self.who_said(att)}",
                hop=ttl,
                hint="check the hop with a second vantage point or a geofeed from its operator",
                evidence={"address": att.address, "country_sources": att.country_sources},
                sources=list(att.country_sources),
            )
            return
        self.add(
            "RES-TRANSIT-COUNTRY",
            Verdict.VIOLATION,
            f"hop {ttl} ({att.address}) is in {att.country}, outside the allowed countries",
            hop=ttl,
            hint="route through an in-zone provider, or use transit: endpoint if only the destination matters",
            evidence={"address": att.address, "country": att.country, "country_sources": att.country_sources},
            sources=srcs,
        )

    def unknown(self, ttl: int, message: str, evidence: dict[str, Any]) -> None:
        action = self.zones.unknown_hops
        if action == "allow":
            return
        self.add(
            "RES-UNKNOWN-HOP",
            Verdict.INCONCLUSIVE if action == "fail" else Verdict.WARNING,
            message,
            hop=ttl,
            hint="zones.unknown_hops decides how unplaceable hops count; a geofeed or an mmdb "
            "that covers the hop gives evidence",
            evidence=evidence,
        )

    def destination(self, att: Attribution, ttl: int | None, resolution: Resolution | None) -> None:
        t = self.target
        if att.internal:
            if not t.private_link:
                self.add(
                    "RES-DEST-COUNTRY",
                    Verdict.INCONCLUSIVE,
                    f"{att.address} is a private address that no source places",
                    hop=ttl,
                    hint="declare private_link: true for a private endpoint, or supply a geofeed that places it",
                    evidence={"address": att.address},
                )
        elif att.uncertain and att.claims - self.allowed:
            self.add(
                "RES-SOURCES-DISAGREE",
                Verdict.INCONCLUSIVE,
                f"the destination {att.address}: sources disagree — {self.who_said(att)}",
                hop=ttl,
                hint="the destination must be placed beyond doubt; add a geofeed or mmdb",
                evidence={"address": att.address, "country_sources": att.country_sources},
                sources=list(att.country_sources),
            )
        elif not att.located:
            self.add(
                "RES-DEST-COUNTRY",
                Verdict.INCONCLUSIVE,
                f"no data source places the destination {att.address}",
                hop=ttl,
                hint="add --geoip-db, a geofeed, or cloud ranges (`mistral-sov ranges update`)",
                evidence={"address": att.address},
            )
        elif att.claims - self.allowed:
            self.add(
                "RES-DEST-COUNTRY",
                Verdict.VIOLATION,
                f"the destination {att.address} is in {att.country}, outside the allowed countries",
                hop=ttl,
                hint="use an endpoint in an allowed country, or correct zones.allowed_countries",
                evidence={"address": att.address, "country": att.country, "country_sources": att.country_sources},
                sources=list(att.country_sources),
            )
        self.region(att, ttl)
        self.frontdoor(att, ttl, resolution)

    def region(self, att: Attribution, ttl: int | None) -> None:
        t = self.target
        wanted = self.zones.allowed_cloud_regions
        if not wanted and not t.region:
            return
        if t.private_link and att.internal:
            return  # a private endpoint: its region is the declared one, no public range to match
        rng = att.range
        if rng is None or rng.region is None:
            self.add(
                "RES-REGION",
                Verdict.INCONCLUSIVE,
                f"{att.address} matches no regional cloud range, so its region cannot be established",
                hop=ttl,
                hint="install current range files (`mistral-sov ranges update` or `ranges import`)",
                evidence={"address": att.address, "range": asdict(rng) if rng else None},
            )
            return
        ev = {"address": att.address, "region": rng.region, "prefix": rng.prefix, "service": rng.service}
        if wanted and rng.region not in wanted:
            self.add(
                "RES-REGION",
                Verdict.VIOLATION,
                f"{att.address} is in {rng.region} ({rng.service} {rng.prefix}), not an allowed region",
                hop=ttl,
                hint="use an endpoint in zones.allowed_cloud_regions",
                evidence=ev,
                sources=[rng.source],
            )
        elif t.region and rng.region != t.region:
            self.add(
                "RES-REGION",
                Verdict.WARNING,
                f"{att.address} is in {rng.region}, but the endpoint declares {t.region}",
                hop=ttl,
                hint="correct the endpoint's region, or check the deployment",
                evidence=ev,
                sources=[rng.source],
            )

    def frontdoor(self, att: Attribution, ttl: int | None, resolution: Resolution | None) -> None:
        reasons = []
        if att.range is not None and att.range.global_only:
            reasons.append(f"{att.address} is in {att.range.service} {att.range.prefix} (global, no region)")
        dns = [f for f in (resolution.flags if resolution else []) if any(k in f for k in GLOBAL_DNS_FLAGS)]
        if dns:
            reasons.append(f"the name resolves through {', '.join(dns)}")
        if reasons:
            self.add(
                "RES-FRONTDOOR",
                Verdict.WARNING,
                "served by a global front door / CDN: " + "; ".join(reasons),
                hop=ttl,
                hint="the edge answering you may be in the EU while processing is elsewhere; prefer "
                "a regional endpoint or private link",
                evidence={"address": att.address, "dns_flags": dns, "range": asdict(att.range) if att.range else None},
                sources=[att.range.source] if att.range else [],
            )


def judge_trace(
    trace: TraceResult,
    target: Target,
    zones: Zones,
    providers: Providers,
    *,
    vantage: VantagePoint | None,
    resolution: Resolution | None = None,
    address: str | None = None,
) -> Check:
    """One Check for one traced address (see the module docstring for the rules)."""
    address = address or trace.target
    check = Check(name=f"{target.name} [{address}]", title=f"{target.name} → {address}", duration_s=trace.duration_s)
    judge = _Judge(target, zones, check)
    strict = zones.transit == "strict"
    dest_index = next(
        (i for i, h in enumerate(trace.hops) if any(_same_address(a, address) for a in h.addresses)), None
    )
    reached = trace.reached or dest_index is not None
    hops = trace.hops[: dest_index + 1] if dest_index is not None else list(trace.hops)
    rows: list[dict[str, Any]] = []
    seen_public = False
    last_answer = max((i for i, h in enumerate(hops) if not h.silent), default=-1)
    for i, hop in enumerate(hops):
        is_dest = i == dest_index
        if hop.silent:
            rows.append(_hop_row(hop, None, False, vantage))
            if strict and not is_dest and i < last_answer:
                judge.unknown(hop.ttl, f"hop {hop.ttl} is silent (no reply to any probe)", {"ttl": hop.ttl})
            continue
        atts = [attribute(a, hop.min_rtt_ms, providers, vantage) for a in hop.addresses]
        rows.append(_hop_row(hop, atts[0], is_dest, vantage))
        for att in atts:
            judge.physics(att, hop.ttl, hop.min_rtt_ms)
            if is_dest and _same_address(att.address, address):
                judge.destination(att, hop.ttl, resolution)
                judge.jurisdiction(att, hop.ttl)
            elif strict:
                judge.transit(att, hop.ttl, seen_public)
                judge.jurisdiction(att, hop.ttl)
            if not att.internal:
                seen_public = True
    if strict and last_answer < len(hops) - 1 and not reached:
        silent_tail = [h.ttl for h in hops[last_answer + 1 :]]
        if silent_tail:
            judge.unknown(
                silent_tail[0],
                f"hops {silent_tail[0]}–{silent_tail[-1]} are silent before the trace gave up",
                {"ttls": silent_tail},
            )
    if not reached:
        judge.add(
            "RES-UNREACHED",
            Verdict.INCONCLUSIVE,
            f"{address} never answered (after {len(trace.hops)} hops): the path is incomplete",
            hint="try another --method/--port, raise --max-hops or --timeout; a firewall may drop probes",
            evidence={"address": address, "hops": len(trace.hops), "method": trace.method, "port": trace.port},
        )
        # still judge where the destination address itself is
        att = attribute(address, None, providers, vantage)
        judge.destination(att, None, resolution)
        judge.jurisdiction(att, None)
    check.details = {
        "endpoint": target.name,
        "url": target.url,
        "host": target.host,
        "address": address,
        "port": trace.port,
        "method": trace.method,
        "tracer": trace.tracer,
        "fidelity_notes": list(trace.fidelity_notes)
        + ([] if vantage is not None else ["no vantage point given: physics bounds not computed"]),
        "reached": reached,
        "resolution": resolution.to_dict()
        if resolution
        else {"cname_chain": [], "addresses": [address], "resolver": "", "flags": []},
        "vantage": vantage.to_dict() if vantage else {"name": None, "lat": None, "lon": None},
        "hops": rows,
    }
    return check


def unresolved_check(target: Target, resolution: Resolution) -> Check:
    check = Check(name=f"{target.name} [unresolved]", title=f"{target.name} → {target.host}")
    _Judge(target, Zones(), check).add(
        "RES-UNRESOLVED",
        Verdict.INCONCLUSIVE,
        f"{target.host} resolves to no address" + (f" ({resolution.error})" if resolution.error else ""),
        hint="check the name and DNS; no path can be verified without an address",
        evidence={"host": target.host, "resolution": resolution.to_dict(), "error": resolution.error},
    )
    check.details = {
        "endpoint": target.name,
        "url": target.url,
        "host": target.host,
        "address": None,
        "port": target.port,
        "method": "",
        "tracer": "",
        "fidelity_notes": [],
        "reached": False,
        "resolution": resolution.to_dict(),
        "vantage": {"name": None, "lat": None, "lon": None},
        "hops": [],
    }
    return check


# ----------------------------------------------------------------------------- the whole run


def trace_to_dict(trace: TraceResult) -> dict[str, Any]:
    """The raw probe results, for the evidence record."""
    return asdict(trace)


@dataclass
class VerifyOptions:
    method: str = "tcp"
    port: int | None = None  # None: the endpoint's own port
    probes: int = 3
    max_hops: int = 30
    timeout: float = 2.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def verify_targets(
    targets: Sequence[Target],
    zones: Zones,
    *,
    resolve: Callable[[str], Resolution],
    trace: Callable[[list[tuple[str, int]]], dict[tuple[str, int], TraceResult]],
    providers: Providers,
    vantage: VantagePoint | None,
    options: VerifyOptions,
    tool_version: str,
    generated_at: str,
    policy_file: str = "",
    policy_sha256: str = "",
) -> Report:
    """Verify ``targets``: resolve each host, trace every address (one batch, so the tracer can
    run them concurrently), attribute every hop and judge it against ``zones``.

    ``resolve(host) -> Resolution`` (IP literals should come back as themselves);
    ``trace([(address, port), …]) -> {(address, port): TraceResult}``. Returns
    ``Report(kind="verify-residency")`` with one Check per endpoint address and the evidence
    (options, vantage, sources, resolutions, raw traces) in ``metadata``."""
    resolutions = {t.host: resolve(t.host) for t in targets}
    jobs: list[tuple[str, int]] = []
    for t in targets:
        port = options.port or t.port
        for a in resolutions[t.host].addresses:
            if (a, port) not in jobs:
                jobs.append((a, port))
    traces = trace(jobs) if jobs else {}
    checks: list[Check] = []
    for t in targets:
        res = resolutions[t.host]
        if not res.addresses:
            checks.append(unresolved_check(t, res))
            continue
        port = options.port or t.port
        for a in res.addresses:
            result = traces.get((a, port))
            if result is None:
                result = TraceResult(a, options.method, port, "none", fidelity_notes=["no trace result"])
            checks.append(judge_trace(result, t, zones, providers, vantage=vantage, resolution=res, address=a))
    return Report(
        kind="verify-residency",
        tool_version=tool_version,
        generated_at=generated_at,
        checks=checks,
        policy_file=policy_file,
        metadata=evidence_metadata(
            zones,
            providers,
            vantage,
            options,
            policy_sha256,
            resolutions={h: r.to_dict() | {"error": r.error} for h, r in resolutions.items()},
            traces=[trace_to_dict(tr) for tr in traces.values()],
        ),
    )


def evidence_metadata(
    zones: Zones,
    providers: Providers,
    vantage: VantagePoint | None,
    options: VerifyOptions | None,
    policy_sha256: str,
    *,
    resolutions: dict[str, Any],
    traces: list[dict[str, Any]],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "evidence": {
            "format": "mistral-sov-residency-evidence/1",
            "policy_sha256": policy_sha256,
            "zones": zones.model_dump(),
            "options": options.to_dict() if options else {},
            "vantage": vantage.to_dict() if vantage else None,
            "sources": [s.to_dict() for s in providers.sources],
            "rules": RULES,
            "resolutions": resolutions,
            "raw_traces": traces,
            **(extra or {}),
        }
    }


def judge_atlas(
    traces: Sequence[TraceResult],
    zones: Zones,
    providers: Providers,
    *,
    tool_version: str,
    generated_at: str,
    source_file: str,
    policy_file: str = "",
    policy_sha256: str = "",
    locate: Callable[[str], Target | None] | None = None,
) -> Report:
    """Judge RIPE Atlas results (one TraceResult per probe) with the same attribution and
    rules; the vantage of an Atlas probe is unknown here, so no physics bounds. ``locate``
    maps a destination name/address to a policy Target (for names and SARIF locations)."""
    checks: list[Check] = []
    for tr in traces:
        dst_name = str(tr.raw.get("dst_name") or tr.target)
        target = (locate(dst_name) if locate else None) or (locate(tr.target) if locate else None)
        if target is None:
            target = Target(dst_name, "", dst_name, tr.port)
        probe = tr.raw.get("prb_id")
        try:
            ipaddress.ip_address(tr.target)
        except ValueError:
            check = unresolved_check(target, Resolution(dst_name, error="; ".join(tr.fidelity_notes)))
            check.name = f"atlas probe {probe} → {target.name}"
            checks.append(check)
            continue
        check = judge_trace(tr, target, zones, providers, vantage=None, address=tr.target)
        check.name = f"atlas probe {probe} → {target.name} [{tr.target}]"
        check.title = check.name
        check.details["fidelity_notes"].append(f"RIPE Atlas probe {probe}, measurement {tr.raw.get('msm_id')}")
        checks.append(check)
    compliant = sum(1 for c in checks if c.verdict in (Verdict.COMPLIANT, Verdict.WARNING))
    summary = f"compliant from {compliant} of {len(checks)} vantage points"
    return Report(
        kind="verify-residency",
        tool_version=tool_version,
        generated_at=generated_at,
        checks=checks,
        policy_file=policy_file,
        metadata=evidence_metadata(
            zones,
            providers,
            None,
            None,
            policy_sha256,
            resolutions={},
            traces=[trace_to_dict(t) for t in traces],
            extra={
                "atlas": {
                    "file": source_file,
                    "vantage_points": len(checks),
                    "compliant": compliant,
                    "summary": summary,
                }
            },
        ),
    )
