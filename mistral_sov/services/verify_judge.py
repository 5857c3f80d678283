"""Judge one trace record against the policy zones: the rules of docs/residency.md.

``judge_record`` turns one ``TraceRecord`` (any source: local tracer, RIPE Atlas, fleet) into
one ``Check`` whose ``residency`` holds the typed hop table. Hops are ordered by hop number;
duplicate hop numbers are merged and flagged, replies after the destination are shown,
attributed and flagged; every reply attributes its hop even without a usable RTT.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from mistral_sov.core.findings import Check, Finding, Verdict
from mistral_sov.core.memo import bounded
from mistral_sov.core.physics import bounds
from mistral_sov.core.policy import Zones
from mistral_sov.core.residency import HopRow, HttpsEvidence, NotEvaluated, ResidencyDetails, TraceRecord
from mistral_sov.core.trace import Hop, Resolution, canonical_address
from mistral_sov.core.zones import COUNTRY_GROUPS, deployment_problem, expand_countries
from mistral_sov.services.verify_attribution import Attribution, Placed, attribute

if TYPE_CHECKING:
    from mistral_sov.services.verify import Providers, Target

GLOBAL_DNS_FLAGS = ("front-door", "frontdoor", "cdn", "global", "anycast", "traffic-manager", "dns-steering")
FINAL_ATTEMPT_TTL = 255  # RIPE Atlas: the last attempt after the hop limit


@bounded(64)
def _allowed(codes: tuple[str, ...]) -> frozenset[str]:
    return expand_countries(codes)


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


def same_address(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        return canonical_address(a)[0] == canonical_address(b)[0]
    except ValueError:
        return False


def ordered_hops(hops: Sequence[Hop]) -> list[Hop]:
    """Hops sorted by hop number; entries with the same number merged into one hop (flagged)."""
    merged: dict[int, Hop] = {}
    for hop in sorted(hops, key=lambda h: h.ttl):
        if hop.ttl in merged:
            into = merged[hop.ttl]
            into.replies.extend(hop.replies)
            into.sent += hop.sent
            note = f"duplicate hop number {hop.ttl}: entries merged, every reply judged"
            if note not in into.notes:
                into.notes.append(note)
            into.notes.extend(n for n in hop.notes if n not in into.notes)
        else:
            merged[hop.ttl] = Hop(hop.ttl, hop.sent, list(hop.replies), list(hop.notes))
    return list(merged.values())


def _min_rtt(hop: Hop, address: str) -> float | None:
    """The smallest usable RTT of the replies from ``address`` (each address has its own bound)."""
    return min((r.rtt_ms for r in hop.replies if r.address == address and r.rtt_ms is not None), default=None)


def hop_row(hop: Hop, att: Attribution | None, destination: bool, after_destination: bool) -> HopRow:
    min_rtt = hop.min_rtt_ms
    b = bounds(min_rtt) if min_rtt is not None else None  # cached: RTTs repeat
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
    if after_destination:
        flags.append("after-destination")
    if any(n.startswith("duplicate") for n in hop.notes):
        flags.append("duplicate")
    if hop.ttl == FINAL_ATTEMPT_TTL:
        flags.append("final-attempt")
    elif not 1 <= hop.ttl < FINAL_ATTEMPT_TTL:
        flags.append("out-of-range")
    rtts = [r.rtt_ms for r in hop.replies if r.rtt_ms is not None]
    if len(rtts) < len(hop.replies):
        flags.append("no-rtt")
    notes = list(hop.notes) + sorted({f"{r.address}: {r.note}" for r in hop.replies if r.note})
    addresses = hop.addresses
    operator = None
    if att is not None and att.asn is not None:
        operator = att.operator.organisation if att.operator else (att.asn.organisation or None)
    return HopRow(
        ttl=hop.ttl,
        address=addresses[0] if addresses else None,
        addresses=addresses,
        rtt_ms=[round(r, 3) for r in rtts],
        min_rtt_ms=round(min_rtt, 3) if min_rtt is not None else None,
        country=att.country if att else None,
        claims=list(att.claims) if att else [],
        uncertain=bool(att and att.uncertain),
        asn=att.asn.asn if att and att.asn else None,
        operator=operator,
        asn_source=att.asn.source if att and att.asn else None,
        jurisdiction=att.jurisdiction if att else None,
        region=att.range.region if att and att.range else None,
        lat=att.lat if att else None,
        lon=att.lon if att else None,
        max_km_fibre=b.max_km_fibre if b else None,
        max_km_vacuum=b.max_km_vacuum if b else None,
        physics=att.physics if att else "not evaluated",
        flags=flags,
        notes=notes,
    )


class Judge:
    """Collects the findings of one check (one endpoint address, one vantage point)."""

    def __init__(self, target: Target, zones: Zones, check: Check) -> None:
        self.target = target
        self.zones = zones
        self.allowed = _allowed(tuple(zones.allowed_countries))
        self.check = check
        self.no_operator_data: list[str] = []
        self.skipped: list[NotEvaluated] = []
        self.deployment_judged = False
        self.vantage_trusted = True  # the operator's own vantage (policy, --vantage)

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

    def physics(self, att: Attribution, ttl: int | None) -> None:
        for bad in att.rejected:
            c = bad.contradiction
            # against the vantage point the claim alone is wrong (WARNING: the hop is unplaced);
            # against an earlier hop one of two claims is wrong and nothing says which: INCONCLUSIVE.
            # A self-reported vantage (RIPE Atlas probe metadata) may itself be wrong: refuting an
            # out-of-zone claim with it is INCONCLUSIVE, never a quiet warning.
            outside = bool(bad.fact.country and bad.fact.country not in self.allowed)
            trusted = bad.against == "vantage" and (self.vantage_trusted or not outside)
            self.add(
                "RES-PHYSICS",
                Verdict.WARNING if trusted else Verdict.INCONCLUSIVE,
                f"{bad.fact.source} places {att.address} at {c.claim}, ≥ {c.distance_km:,.0f} km from the "
                f"{bad.against}, but {bad.rtt_budget_ms:.3f} ms allows at most {c.max_km_vacuum:,.0f} km even at "
                "the speed of light: the claim is refuted and not used for this hop",
                hop=ttl,
                hint="geo-IP data is unreliable for router interfaces; supply a geofeed or a better database",
                evidence={
                    "address": att.address,
                    "claim": c.claim,
                    "against": bad.against,
                    "distance_km": c.distance_km,
                    "max_km_vacuum": c.max_km_vacuum,
                    "rtt_budget_ms": bad.rtt_budget_ms,
                },
                sources=[bad.fact.source],
            )

    def jurisdiction(self, att: Attribution, ttl: int | None) -> None:
        op = att.operator
        if op is None:
            if not att.internal and att.asn is None:
                self.no_operator_data.append(f"hop {ttl} {att.address}" if ttl is not None else att.address)
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
            why = " (a private address inside the path)" if att.internal else ""
            if att.rejected and not att.located:
                why = " (every claim about it is refuted by physics)"
            self.unknown(
                ttl,
                f"hop {ttl} ({att.address}) cannot be placed in any country{why}",
                {"address": att.address, "country_sources": att.country_sources},
            )
            return
        outside = sorted(att.countries - self.allowed)
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
        self.deployment()
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
            else:
                self.private_link(att, ttl, resolution)
        elif t.private_link:
            self.add(
                "RES-PRIVATE-LINK",
                Verdict.INCONCLUSIVE,
                f"the endpoint is declared private_link, but {att.address} is a public address: the traffic "
                "does not use the private endpoint",
                hop=ttl,
                hint="check the private DNS zone (privatelink.*) is linked to the network the clients resolve from",
                evidence={"address": att.address},
            )
            self.located(att, ttl)
        else:
            self.located(att, ttl)
        self.region(att, ttl)
        self.frontdoor(att, ttl, resolution)

    def private_link(self, att: Attribution, ttl: int | None, resolution: Resolution | None) -> None:
        """Private Link is proven only by DNS: the CNAME chain passes a ``privatelink.*`` zone and
        the answer is a private address. ``private_link: true`` alone proves nothing."""
        chain = list(resolution.cname_chain) if resolution is not None else []
        via = next((n for n in chain if "privatelink" in n.lower().rstrip(".").split(".")), None)
        if via is not None:
            return
        self.add(
            "RES-PRIVATE-LINK",
            Verdict.INCONCLUSIVE,
            f"{att.address} is private and the endpoint is declared private_link, but the DNS answer did not pass "
            "a privatelink.* zone"
            + (f" (CNAME chain: {' → '.join(chain)})" if chain else " (no CNAME chain: an IP literal or no DNS)"),
            hop=ttl,
            hint="resolve the endpoint's public name through the private DNS zone (e.g. "
            "x.privatelink.openai.azure.com); a private address alone does not show where the service runs",
            evidence={"address": att.address, "cname_chain": chain},
        )

    def deployment(self) -> None:
        t = self.target
        if self.deployment_judged:
            return
        problem = deployment_problem(t.deployment, t.region, self.allowed)
        if problem is None:
            return
        self.deployment_judged = True
        self.add(
            "RES-DEPLOYMENT",
            Verdict.INCONCLUSIVE if problem.undetermined else Verdict.VIOLATION,
            f"{t.name}: {problem.message}, whatever the network path shows",
            hint=problem.hint,
            evidence={"deployment": t.deployment, "region": t.region},
        )

    def located(self, att: Attribution, ttl: int | None) -> None:
        if att.uncertain and att.countries - self.allowed:
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
            why = " (every claim about it is refuted by physics)" if att.rejected else ""
            self.add(
                "RES-DEST-COUNTRY",
                Verdict.INCONCLUSIVE,
                f"no data source places the destination {att.address}{why}",
                hop=ttl,
                hint="add --geoip-db, a geofeed, or cloud ranges (`mistral-sov ranges update`)",
                evidence={"address": att.address, "country_sources": att.country_sources},
            )
        elif att.countries - self.allowed:
            self.add(
                "RES-DEST-COUNTRY",
                Verdict.VIOLATION,
                f"the destination {att.address} is in {att.country}, outside the allowed countries",
                hop=ttl,
                hint="use an endpoint in an allowed country, or correct zones.allowed_countries",
                evidence={"address": att.address, "country": att.country, "country_sources": att.country_sources},
                sources=list(att.country_sources),
            )

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

    def anomalies(self, rows: list[HopRow]) -> None:
        odd = [r for r in rows if {"duplicate", "after-destination", "out-of-range"} & set(r.flags) and not r.silent]
        if odd:
            self.add(
                "RES-PATH-ANOMALY",
                Verdict.WARNING,
                "the hop list is inconsistent: "
                + "; ".join(
                    f"hop {r.ttl} ({', '.join(r.addresses)}, {r.country or 'unplaced'}): "
                    + ", ".join(f for f in r.flags if f in ("duplicate", "after-destination", "out-of-range"))
                    for r in odd
                ),
                hop=odd[0].ttl,
                hint="every reply is shown and attributed; check the measurement (duplicated or edited hops, "
                "replies after the destination)",
                evidence={"hops": [r.ttl for r in odd]},
            )

    def not_evaluated(self, what: str, reason: str, action: str, *, hint: str = "") -> None:
        self.skipped.append(NotEvaluated(what, reason))
        if action == "allow":
            return
        self.add(
            "RES-NOT-EVALUATED",
            Verdict.INCONCLUSIVE if action == "fail" else Verdict.WARNING,
            f"{what} not evaluated: {reason}",
            hint=hint or _NOT_EVALUATED_HINTS.get(what, ""),
            evidence={"check": what, "reason": reason},
        )


_FLEET_PHYSICS_HINT = (
    "map each site (AD site, default gateway or egress address) to a city or LAT,LON: --fleet-sites FILE"
)
_NOT_EVALUATED_HINTS = {
    "physics": "give a vantage point (policy vantage:, --vantage, or --probes FILE for RIPE Atlas)",
    "jurisdiction": "give an ASN source (--geoip-db with an ASN mmdb such as GeoLite2-ASN or DB-IP ASN)",
}


def judge_record(
    record: TraceRecord,
    target: Target,
    zones: Zones,
    providers: Providers,
    *,
    physics_action: str = "warn",
) -> Check:
    """One Check for one trace record (see services/verify.py for the rule table)."""
    trace = record.trace
    address = record.address or trace.target
    vantage = record.vantage
    name = f"{target.name} [{address}]"
    if record.source != "local" and record.vantage_id:
        name = f"{record.vantage_id} → {name}"
    check = Check(name=name, title=name.replace(" [", " → ", 1).rstrip("]"), duration_s=trace.duration_s)
    judge = Judge(target, zones, check)
    judge.vantage_trusted = not record.vantage_self_reported
    strict = zones.transit == "strict"
    hops = ordered_hops(trace.hops)
    dest_index = next((i for i, h in enumerate(hops) if any(same_address(a, address) for a in h.addresses)), None)
    reached = dest_index is not None or (trace.reached and bool(hops))
    path_end = dest_index if dest_index is not None else len(hops) - 1
    rows: list[HopRow] = []
    seen_public = False
    previous: Placed | None = None
    last_answer = max((i for i, h in enumerate(hops[: path_end + 1]) if not h.silent), default=-1)
    for i, hop in enumerate(hops):
        is_dest = i == dest_index
        after = dest_index is not None and i > dest_index
        if hop.silent:
            rows.append(hop_row(hop, None, False, after))
            if strict and not after and not is_dest and i < last_answer:
                judge.unknown(hop.ttl, f"hop {hop.ttl} is silent (no reply to any probe)", {"ttl": hop.ttl})
            continue
        rtt = hop.min_rtt_ms
        atts = [attribute(a, _min_rtt(hop, a), providers, vantage, previous) for a in hop.addresses]
        rows.append(hop_row(hop, atts[0], is_dest, after))
        if len(atts) > 1:  # one row per hop; other addresses' places are listed in the claims of their own facts
            rows[-1].notes.append(
                "several addresses answered: " + ", ".join(f"{a.address} ({a.country or 'unplaced'})" for a in atts)
            )
        for att in atts:
            judge.physics(att, hop.ttl)
            if is_dest and same_address(att.address, address):
                judge.destination(att, hop.ttl, record.resolution)
                judge.jurisdiction(att, hop.ttl)
            elif strict or after:
                judge.transit(att, hop.ttl, seen_public)
                judge.jurisdiction(att, hop.ttl)
            if not att.internal:
                seen_public = True
        if rtt is not None and len(atts) == 1:
            area = atts[0].area()
            if area is not None:
                previous = Placed(area, rtt, hop.ttl)
    judge.anomalies(rows)
    if strict and last_answer < path_end and not reached:
        silent_tail = [h.ttl for h in hops[last_answer + 1 : path_end + 1]]
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
            f"{address} never answered (after {len(hops)} hops): the path is incomplete",
            hint="try another --method/--port, raise --max-hops or --timeout; a firewall may drop probes",
            evidence={"address": address, "hops": len(hops), "method": trace.method, "port": trace.port},
        )
        att = attribute(address, None, providers, vantage)  # still judge where the destination itself is
        judge.destination(att, None, record.resolution)
        judge.jurisdiction(att, None)
    if vantage is None:
        reason = record.vantage_missing_reason or "no vantage point given"
        judge.not_evaluated(
            "physics",
            f"{reason}: RTTs are not checked against the vantage point (only hop-to-hop consistency)",
            "fail" if record.physics_required else physics_action,
            hint=_FLEET_PHYSICS_HINT if record.source == "fleet" else "",
        )
    if (
        not providers.geo
        and isinstance(getattr(providers.ranges, "name", None), str)
        and providers.ranges.name == "none"
    ):
        judge.not_evaluated(
            "geolocation", "no country source at all (no geo database, geofeed or cloud ranges)", "fail"
        )
    if judge.no_operator_data:
        actions = {a for a in zones.operator_jurisdictions.values() if a != "allow"}
        action = "fail" if "fail" in actions else ("warn" if "warn" in actions else "allow")
        judge.not_evaluated(
            "jurisdiction",
            "no ASN data for "
            + ", ".join(judge.no_operator_data[:8])
            + ("…" if len(judge.no_operator_data) > 8 else ""),
            action,
        )
    notes = list(trace.fidelity_notes) + list(record.notes)
    check.residency = ResidencyDetails(
        endpoint=target.name,
        url=target.url,
        host=target.host,
        address=address,
        port=trace.port,
        method=trace.method,
        tracer=trace.tracer,
        source=record.source,
        vantage_id=record.vantage_id,
        vantage=vantage,
        vantage_country=record.vantage_country,
        measured_at=record.measured_at or trace.started_at,
        in_policy=target.in_policy,
        reached=reached,
        resolution=record.resolution,
        fidelity_notes=notes,
        not_evaluated=judge.skipped,
        hops=rows,
    )
    return check


def unresolved_check(target: Target, resolution: Resolution, record: TraceRecord | None = None) -> Check:
    check = Check(name=f"{target.name} [unresolved]", title=f"{target.name} → {target.host}")
    Judge(target, Zones(), check).add(
        "RES-UNRESOLVED",
        Verdict.INCONCLUSIVE,
        f"{target.host} resolves to no address" + (f" ({resolution.error})" if resolution.error else ""),
        hint="check the name and DNS; no path can be verified without an address",
        evidence={"host": target.host, "resolution": resolution.to_dict(), "error": resolution.error},
    )
    check.residency = ResidencyDetails(
        endpoint=target.name,
        url=target.url,
        host=target.host,
        port=target.port,
        source=record.source if record else "local",
        vantage_id=record.vantage_id if record else "",
        vantage=record.vantage if record else None,
        vantage_country=record.vantage_country if record else None,
        measured_at=record.measured_at if record else "",
        in_policy=target.in_policy,
        resolution=resolution,
        fidelity_notes=list(record.notes) if record else [],
    )
    return check


def judge_https(check: Check, target: Target, evidence: HttpsEvidence, zones: Zones) -> None:
    """Attach the HTTPS probe's evidence to a check and judge the serving-region headers:
    a region outside the allowed countries is a VIOLATION, one that differs from the endpoint's
    declared region a WARNING. A failed probe is "not evaluated" (never a pass by itself)."""
    judge = Judge(target, zones, check)
    if check.residency is not None:
        check.residency.https = evidence
    if evidence.error:
        if check.residency is not None:
            check.residency.not_evaluated.append(
                NotEvaluated("serving region", f"the HTTPS probe of {evidence.url} failed: {evidence.error}")
            )
        return
    res = check.residency
    if res is not None and evidence.address and res.address and not same_address(evidence.address, res.address):
        traced = res.resolution.addresses if res.resolution is not None else [res.address]
        if not any(same_address(evidence.address, a) for a in traced):
            res.fidelity_notes.append(
                f"the HTTPS probe connected to {evidence.address}, which is not among the traced addresses "
                f"({', '.join(traced)}): DNS answered differently between the two"
            )
    serving = [r for r in evidence.regions if r.reveals == "serving-region"]
    if not serving and check.residency is not None:
        check.residency.not_evaluated.append(
            NotEvaluated("serving region", f"{evidence.url} answered without a header that names its region")
        )
    for r in serving:
        ev = {"header": r.header, "value": r.value, "region": r.region, "country": r.country, "url": evidence.url}
        if r.country is None:
            judge.add(
                "RES-SERVING-REGION",
                Verdict.WARNING,
                f"{r.header}: {r.value} names a region mistral-sov does not know, so its country is unknown",
                hint="check the region name; `mistral-sov policy regions azure` lists the known ones",
                evidence=ev,
            )
        elif r.country not in judge.allowed:
            judge.add(
                "RES-SERVING-REGION",
                Verdict.VIOLATION,
                f"the endpoint says it served the request in {r.region} ({r.country}) — {r.header}: {r.value} — "
                "outside the allowed countries",
                hint="deploy the model in an in-zone region (regional or data-zone deployment), or correct the zone",
                evidence=ev,
            )
        elif target.region and r.region != target.region:
            judge.add(
                "RES-SERVING-REGION",
                Verdict.WARNING,
                f"the endpoint served the request in {r.region}, but the policy declares {target.region}",
                hint="correct the endpoint's region in the policy, or check the deployment",
                evidence=ev,
            )
