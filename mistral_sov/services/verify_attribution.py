"""Attribute one hop address: ask every provider, check every claim against physics, combine.

Physics: every location claim is checked against the speed-of-light bound from the vantage
point (when one is known) **and** against the previous placed hop of the same trace (both
answered the same vantage point, so they cannot be farther apart than light travels in the
sum of their round trips). A refuted claim is reported and dropped for that hop; it never
becomes a pass. Registration countries are location claims only when no geolocation claim
survives, and are then checked the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mistral_sov.core.attribution import (
    GEOLOCATION,
    REGISTRATION,
    AsnFact,
    GeoFact,
    Operator,
    RangeMatch,
    is_internal,
)
from mistral_sov.core.memo import bounded, enabled
from mistral_sov.core.physics import Area, Contradiction, VantagePoint, refutes
from mistral_sov.core.places import find_place
from mistral_sov.core.residency import PHYSICS_NOT_EVALUATED, PHYSICS_PASSED, PHYSICS_REFUTED, Claim

if TYPE_CHECKING:
    from mistral_sov.services.verify import Providers


@dataclass(frozen=True)
class Placed:
    """The last hop of a trace placed beyond doubt: where, and its round trip."""

    area: Area
    rtt_ms: float
    ttl: int

    @property
    def where(self) -> str:
        return f"({self.area.country})" if self.area.country else f"({self.area.lat:.2f},{self.area.lon:.2f})"


@dataclass
class Refutation:
    fact: GeoFact
    contradiction: Contradiction
    against: str  # "vantage" or "hop N"
    rtt_budget_ms: float


@dataclass
class Attribution:
    address: str
    internal: bool = False
    facts: list[GeoFact] = field(default_factory=list)  # accepted facts
    rejected: list[Refutation] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)  # every source's statement, typed
    country: str | None = None
    countries: set[str] = field(default_factory=set)  # countries claimed by the sources in use
    uncertain: bool = False
    asn: AsnFact | None = None
    operator: Operator | None = None
    range: RangeMatch | None = None
    lat: float | None = None
    lon: float | None = None
    physics: str = PHYSICS_NOT_EVALUATED

    @property
    def jurisdiction(self) -> str | None:
        return self.operator.jurisdiction if self.operator else None

    @property
    def country_sources(self) -> dict[str, str | None]:
        return {c.source: c.country for c in self.claims}

    @property
    def located(self) -> bool:
        return bool(self.countries)

    def area(self) -> Area | None:
        """Where this hop is, for the next hop's consistency check (None: not placed)."""
        if self.country is None or self.uncertain:
            return None
        if self.lat is not None and self.lon is not None:
            accuracy = next((f.accuracy_km for f in self.facts if f.lat == self.lat and f.lon == self.lon), None)
            return Area(f"hop {self.address}", self.lat, self.lon, accuracy or 0.0)
        return Area(f"hop {self.address} ({self.country})", country=self.country)


@bounded(65536)
def _fact_area(fact: GeoFact) -> Area | None:
    if fact.lat is not None and fact.lon is not None:
        return Area(f"{fact.lat:.2f},{fact.lon:.2f}", fact.lat, fact.lon, fact.accuracy_km or 0.0)
    if fact.country:
        return Area(f"{fact.country} (country)", country=fact.country)
    return None


def _range_fact(rng: RangeMatch) -> GeoFact:
    place = find_place(rng.city or "") if rng.city else None
    here = place is not None and place.country == rng.country
    return GeoFact(
        rng.source,
        rng.version,
        rng.country,
        GEOLOCATION,
        place.lat if here and place else None,
        place.lon if here and place else None,
        50.0 if here else None,
        rng.city,
    )


@bounded(1024)
def _vantage_area(lat: float, lon: float) -> Area:
    return Area("vantage", lat, lon)


_MEMO_LIMIT = 50_000  # about 800 bytes each
_ATTRIBUTION_LIMIT = 10_000


def _lookups(address: str, providers: Providers) -> tuple[bool, list[GeoFact], RangeMatch | None, AsnFact | None]:
    """What every provider says about ``address`` (memoised for the run: providers are pure)."""
    memo = providers.memo if enabled() else {}
    hit = memo.get(address)
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    internal = is_internal(address)
    facts: list[GeoFact] = []
    for provider in providers.geo:
        if internal and not provider.user_supplied:
            continue
        fact = provider.locate(address)
        if fact is not None and (fact.country or fact.lat is not None):
            facts.append(fact)
    rng = None if internal else providers.ranges.lookup(address)
    if rng is not None and rng.country:
        facts.append(_range_fact(rng))
    asn: AsnFact | None = None
    if not internal:
        # ASN: a database first, else implied by a cloud range
        for asn_provider in providers.asn:
            asn = asn_provider.asn(address)
            if asn is not None:
                break
        if asn is None and rng is not None and rng.implied_asns:
            asn = AsnFact(rng.implied_asns[0], rng.provider, rng.source, rng.version)
    out = (internal, facts, rng, asn)
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()  # bounded: a fleet of unique addresses starts afresh
    memo[address] = out
    return out


def attribute(
    address: str,
    rtt_ms: float | None,
    providers: Providers,
    vantage: VantagePoint | None,
    previous: Placed | None = None,
) -> Attribution:
    """Ask every provider about one address; drop claims physics refutes; combine.

    When physics refutes none of the sources' claims (the common case), the result depends only
    on the address and on whether physics was evaluated, not on the RTT values: a run then reuses
    one Attribution per (address, evaluated), so it must be treated as read-only. A refutation
    carries its RTT budget, so such attributions are always built afresh."""
    evaluated = rtt_ms is not None and (vantage is not None or previous is not None)
    memo = providers.attributions if enabled() else None
    if memo is None or (evaluated and _any_refuted(address, rtt_ms, providers, vantage, previous)):
        return _attribute(address, rtt_ms, providers, vantage, previous)
    key = (address, evaluated)
    hit = memo.get(key)
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    att = _attribute(address, rtt_ms, providers, vantage, previous)
    if len(memo) >= _ATTRIBUTION_LIMIT:
        memo.clear()  # bounded (an Attribution is about 1 KB)
    memo[key] = att
    return att


def _any_refuted(
    address: str, rtt_ms: float | None, providers: Providers, vantage: VantagePoint | None, previous: Placed | None
) -> bool:
    """Would physics refute any claim about ``address`` (a superset of what ``_attribute``
    checks, so False means it refutes none)?"""
    if rtt_ms is None:
        return False
    _internal, facts, _rng, _asn = _lookups(address, providers)
    for fact in facts:
        area = _fact_area(fact)
        if area is None:
            continue
        if vantage is not None and refutes(_vantage_area(vantage.lat, vantage.lon), area, rtt_ms) is not None:
            return True
        if previous is not None and refutes(previous.area, area, rtt_ms + previous.rtt_ms) is not None:
            return True
    return False


def _attribute(
    address: str,
    rtt_ms: float | None,
    providers: Providers,
    vantage: VantagePoint | None,
    previous: Placed | None,
) -> Attribution:
    internal, facts, att_range, asn = _lookups(address, providers)
    att = Attribution(address, internal=internal)
    att.range = att_range

    evaluated = rtt_ms is not None and (vantage is not None or previous is not None)
    details: dict[int, str] = {}

    def refute(fact: GeoFact) -> Refutation | None:
        if rtt_ms is None:
            return None
        area = _fact_area(fact)
        if area is None:
            return None
        if vantage is not None:
            bad = refutes(_vantage_area(vantage.lat, vantage.lon), area, rtt_ms)
            if bad is not None:
                return Refutation(fact, bad, "vantage", rtt_ms)
        if previous is not None:
            budget = rtt_ms + previous.rtt_ms
            bad = refutes(previous.area, area, budget)
            if bad is not None:
                return Refutation(fact, bad, f"hop {previous.ttl} {previous.where}", budget)
        return None

    def judge(fact: GeoFact, check: bool) -> None:
        bad = refute(fact) if check else None
        if bad is None:
            att.facts.append(fact)
            details[id(fact)] = PHYSICS_PASSED if (check and evaluated) else PHYSICS_NOT_EVALUATED
        else:
            att.rejected.append(bad)

    for fact in [f for f in facts if f.kind == GEOLOCATION]:
        judge(fact, True)
    geo_left = any(f.country for f in att.facts)
    for fact in [f for f in facts if f.kind != GEOLOCATION]:
        judge(fact, not geo_left)
    if att.internal and att.facts:
        att.internal = False  # explicit user data places it
    geo = [f for f in att.facts if f.kind == GEOLOCATION and f.country]
    reg = [f for f in att.facts if f.kind == REGISTRATION and f.country]
    used = geo or reg
    att.countries = {f.country for f in used if f.country}
    if len(att.countries) == 1:
        att.country = next(iter(att.countries))
    elif len(att.countries) > 1:
        att.uncertain = True
    with_coords = next((f for f in used if f.lat is not None and f.lon is not None), None)
    if with_coords is not None:
        att.lat, att.lon = with_coords.lat, with_coords.lon
    for fact in att.facts:
        att.claims.append(
            Claim(
                fact.source,
                fact.version,
                fact.country,
                fact.kind,
                details.get(id(fact), PHYSICS_NOT_EVALUATED),
                "" if fact in used else "outranked by a geolocation source",
                fact in used,
            )
        )
    for bad in att.rejected:
        c = bad.contradiction
        att.claims.append(
            Claim(
                bad.fact.source,
                bad.fact.version,
                bad.fact.country,
                bad.fact.kind,
                PHYSICS_REFUTED,
                f"{c.claim} is ≥ {c.distance_km:,.0f} km from the {bad.against}, but {bad.rtt_budget_ms:.3f} ms "
                f"allows at most {c.max_km_vacuum:,.0f} km at the speed of light",
                False,
            )
        )
    if att.rejected:
        att.physics = PHYSICS_REFUTED
    elif evaluated and att.facts:
        att.physics = PHYSICS_PASSED
    if not att.internal:
        att.asn = asn
    if att.asn is not None:
        att.operator = providers.operators.operator(att.asn.asn)
    return att


def registered_country(address: str, providers: Providers) -> str | None:
    """The country any provider gives for ``address`` (registration or location), or None."""
    try:
        internal, facts, _rng, _asn = _lookups(address, providers)
    except ValueError:
        return None
    countries = sorted({f.country for f in facts if f.country})
    return countries[0] if len(countries) == 1 and not internal else None
