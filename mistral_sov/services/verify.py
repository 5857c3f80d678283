"""The residency pipeline: trace records + attribution + policy zones -> a Report.

Pure: providers, the resolver and the tracer come in as arguments (ARCHITECTURE.md); the CLI
(``verify-residency``, ``gate``) only wires adapters. Every source of traces feeds the same
engine, ``judge_records``: local traces (``verify_targets``), RIPE Atlas result files and
fleet device results are all ``TraceRecord``s. One ``Check`` per endpoint address and vantage
point; ``Check.residency`` holds the typed hop table every report writer renders. Rule ids
are stable; docs/residency.md explains each one, what its verdict proves and what it does not.

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
RES-PHYSICS            a source's claim is farther than light could travel in the hop's RTT
                       (from the vantage point or from the previous placed hop): the claim is
                       refuted and not used for that hop (WARNING)
RES-PATH-ANOMALY       duplicate hop numbers, replies after the destination, hop numbers out
                       of range: shown, attributed and flagged (WARNING)
RES-NOT-EVALUATED      a check could not run (physics without a vantage point, jurisdiction
                       without ASN data): WARNING, or INCONCLUSIVE where the policy says fail
RES-NO-MEASUREMENT     a policy endpoint has no measurement in the input (INCONCLUSIVE)
RES-OUT-OF-POLICY      a measurement of a target the policy does not list: reported, never
                       counted as compliance (SKIPPED)
RES-PRIVATE-LINK       private_link declared but not proven: the CNAME chain passes no
                       privatelink.* zone, or the answer is public (INCONCLUSIVE)
RES-DEPLOYMENT         a 'global' deployment, or a 'datazone' one whose data zone reaches outside the zone
                       (VIOLATION; INCONCLUSIVE when the data zone cannot be told)
RES-STALE-DATA         a data source older than evidence.max_data_age, or undated (WARNING)
RES-SERVING-REGION     the HTTPS response names its serving region (x-ms-region…): outside the
                       allowed countries (VIOLATION), not the declared region (WARNING)
=====================  ======================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mistral_sov.core.attribution import NullOperatorDirectory, NullRangeProvider, SourceInfo
from mistral_sov.core.findings import Check, Finding, Report, SourceLocation, Verdict
from mistral_sov.core.memo import bounded
from mistral_sov.core.physics import VantagePoint
from mistral_sov.core.policy import Endpoint, Zones
from mistral_sov.core.residency import HttpsEvidence, ResidencyDetails, TraceRecord
from mistral_sov.core.trace import Resolution, TraceResult
from mistral_sov.ports import AsnProvider, CloudRangeProvider, GeoProvider, OperatorDirectory
from mistral_sov.services.verify_judge import judge_https, judge_record, unresolved_check

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
    "RES-PATH-ANOMALY": "The hop list has duplicate hops, replies after the destination or odd hop numbers",
    "RES-NOT-EVALUATED": "A residency check could not be evaluated",
    "RES-NO-MEASUREMENT": "A policy endpoint has no measurement",
    "RES-OUT-OF-POLICY": "A measurement of a target the policy does not list",
    "RES-PRIVATE-LINK": "A declared private link is not proven by DNS (privatelink.* CNAME and a private answer)",
    "RES-DEPLOYMENT": "The deployment type (global, or a wider data zone) may process prompts outside the zone",
    "RES-STALE-DATA": "A data source is older than evidence.max_data_age allows, or undated",
    "RES-SERVING-REGION": "The endpoint's response names a serving region outside the zone or not the declared one",
}


# ----------------------------------------------------------------------------- inputs


@dataclass
class Providers:
    """Everything that attributes an address. Empty lists / null providers are fine."""

    geo: list[GeoProvider] = field(default_factory=list)
    asn: list[AsnProvider] = field(default_factory=list)
    ranges: CloudRangeProvider = field(default_factory=NullRangeProvider)
    operators: OperatorDirectory = field(default_factory=NullOperatorDirectory)
    sources: list[SourceInfo] = field(default_factory=list)  # recorded in the evidence
    memo: dict[str, Any] = field(default_factory=dict, repr=False)  # per-address lookups of this run
    attributions: dict[Any, Any] = field(default_factory=dict, repr=False)  # per (address, RTT, vantage, hop)


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
    in_policy: bool = False
    deployment: str | None = None

    @classmethod
    def from_endpoint(cls, ep: Endpoint, location: SourceLocation | None = None) -> Target:
        return cls(ep.name, ep.url, ep.host, ep.port, ep.region, ep.private_link, location, True, ep.deployment)


@dataclass
class VerifyOptions:
    """Every option of a residency run (``verify-residency`` and ``gate`` share it)."""

    method: str = "tcp"
    method_demanded: bool = False  # an explicit --method: no fallback to another probe type
    port: int | None = None  # None: the endpoint's own port
    probes: int = 3
    max_hops: int = 30
    timeout: float = 2.0
    endpoints: tuple[str, ...] = ()  # names/URLs/hosts/IPs to verify (empty: every policy endpoint)
    geoip_dbs: tuple[Path, ...] = ()
    geofeeds: tuple[Path, ...] = ()
    ranges_dir: Path | None = None
    vantage: str | None = None  # CITY or LAT,LON (default: the policy's vantage)
    atlas_results: Path | None = None  # judge RIPE Atlas results instead of tracing
    atlas_probes: Path | None = None  # RIPE Atlas probe metadata (probes API format)
    https_probe: bool = True  # one HTTPS request per endpoint: TLS chain, serving-region headers
    ca_bundle: Path | None = None  # CA certificates for the HTTPS probe (default: the system's)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "method_demanded": self.method_demanded,
            "port": self.port,
            "probes": self.probes,
            "max_hops": self.max_hops,
            "timeout": self.timeout,
            "endpoints": list(self.endpoints),
            "geoip_dbs": [str(p) for p in self.geoip_dbs],
            "geofeeds": [str(p) for p in self.geofeeds],
            "ranges_dir": str(self.ranges_dir) if self.ranges_dir else None,
            "vantage": self.vantage,
            "atlas_results": str(self.atlas_results) if self.atlas_results else None,
            "atlas_probes": str(self.atlas_probes) if self.atlas_probes else None,
            "https_probe": self.https_probe,
            "ca_bundle": str(self.ca_bundle) if self.ca_bundle else None,
        }


@dataclass
class RunContext:
    """What every check of one run shares: zones, providers, provenance."""

    zones: Zones
    providers: Providers
    tool_version: str
    generated_at: str
    policy_file: str = ""
    policy_sha256: str = ""
    physics_action: str = "warn"  # policy evidence.physics
    max_data_age: dict[str, int] = field(default_factory=dict)  # policy evidence.max_data_age


# ----------------------------------------------------------------------------- matching names


@bounded(16384)
def name_key(name: str) -> str:
    """A target name as compared: lower case, IDNA (punycode), no trailing dot, IPs canonical."""
    import ipaddress

    text = name.strip().rstrip(".").strip("[]")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    try:
        return text.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return text.lower()


def match_target(targets: Sequence[Target], *names: str) -> Target | None:
    """The policy target a measurement aimed at (by host, name or address; case-insensitive, IDNA)."""
    keys = {name_key(n) for n in names if n}
    for t in targets:
        if {name_key(t.host), name_key(t.name)} & keys:
            return t
    return None


# ----------------------------------------------------------------------------- the engine


def judge_records(
    records: Iterable[TraceRecord],
    targets: Sequence[Target],
    ctx: RunContext,
) -> Iterator[Check]:
    """The one judging engine: one Check per record, streamed. ``targets`` are the policy
    endpoints; a record aimed at none of them becomes a SKIPPED "out of policy" check (reported,
    never counted as compliance) when targets are given, else it is judged as an ad-hoc target."""
    for record in records:
        if record.vantage_country is None and record.source != "local":
            _registered_vantage_country(record, ctx.providers)
        target = match_target(targets, record.target_name, record.address or "", record.trace.target)
        if target is None:
            target = Target(record.target_name, "", name_key(record.target_name), record.trace.port)
            if targets:
                yield out_of_policy_check(record, target)
                continue
        if not _is_ip(record.address or record.trace.target):
            res = record.resolution or Resolution.failed(record.target_name, "; ".join(record.trace.fidelity_notes))
            yield unresolved_check(target, res, record)
            continue
        yield judge_record(record, target, ctx.zones, ctx.providers, physics_action=ctx.physics_action)


def _registered_vantage_country(record: TraceRecord, providers: Providers) -> None:
    """Without probe metadata, the country the probe's own address is registered in (a weak
    hint, labelled as such) so "k of n" can still list a country per vantage point."""
    from mistral_sov.services.verify_attribution import registered_country

    src = record.trace.raw.get("from") if isinstance(record.trace.raw, dict) else None
    if isinstance(src, str) and src:
        cc = registered_country(src, providers)
        if cc:
            record.vantage_country = cc
            record.notes.append(f"vantage country {cc}: where the probe's address {src} is registered (no location)")


@bounded(16384)
def _is_ip(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def out_of_policy_check(record: TraceRecord, target: Target) -> Check:
    name = f"{record.vantage_id or record.source} → {record.target_name}"
    check = Check(
        name=name,
        title=name,
        skipped_reason=f"{record.target_name} is not an endpoint of the policy: reported, not judged",
    )
    check.findings.append(
        Finding(
            "RES-OUT-OF-POLICY",
            Verdict.SKIPPED,
            f"a measurement of {record.target_name} ({record.address or record.trace.target}), which the policy "
            "does not list: it proves nothing about the policy's endpoints",
            subject=record.target_name,
            hint="measure the policy's endpoints, or add this target to endpoints:",
        )
    )
    check.residency = ResidencyDetails(
        endpoint=record.target_name,
        host=target.host,
        address=record.address or record.trace.target,
        source=record.source,
        vantage_id=record.vantage_id,
        vantage=record.vantage,
        vantage_country=record.vantage_country,
        measured_at=record.measured_at or record.trace.started_at,
        in_policy=False,
        tracer=record.trace.tracer,
        fidelity_notes=list(record.notes),
    )
    return check


def missing_measurements(targets: Sequence[Target], checks: Sequence[Check]) -> list[Check]:
    """An INCONCLUSIVE check for every policy endpoint no record measured."""
    measured = {name_key(c.residency.endpoint) for c in checks if c.residency is not None and c.residency.in_policy}
    out: list[Check] = []
    for t in targets:
        if not t.in_policy or name_key(t.name) in measured:
            continue
        check = Check(name=f"{t.name} [no measurement]", title=f"{t.name} → {t.host}")
        check.findings.append(
            Finding(
                "RES-NO-MEASUREMENT",
                Verdict.INCONCLUSIVE,
                f"the input holds no measurement of {t.host}: its residency is not shown",
                subject=t.name,
                hint="measure this endpoint (RIPE Atlas measurement to this host, or verify-residency)",
                location=t.location,
            )
        )
        check.residency = ResidencyDetails(endpoint=t.name, url=t.url, host=t.host, port=t.port, in_policy=True)
        out.append(check)
    return out


def vantage_summary(checks: Sequence[Check]) -> dict[str, Any]:
    """ "k of n": distinct vantage points, each with its country and worst verdict."""
    from mistral_sov.core.findings import worst

    per: dict[str, list[Check]] = {}
    for c in checks:
        r = c.residency
        if r is None or c.skipped_reason or not r.vantage_id:
            continue
        per.setdefault(r.vantage_id, []).append(c)
    rows = []
    for vid, cs in per.items():
        verdict = worst([c.verdict for c in cs])
        first = cs[0].residency
        rows.append(
            {
                "vantage_id": vid,
                "country": first.vantage_country if first else None,
                "country_from": ("vantage location" if first and first.vantage is not None else "address registration")
                if first and first.vantage_country
                else None,
                "verdict": verdict.value,
                "results": len(cs),
            }
        )
    ok = sum(1 for r in rows if r["verdict"] in (Verdict.COMPLIANT.value, Verdict.WARNING.value))
    return {
        "vantage_points": len(rows),
        "compliant": ok,
        "results": sum(r["results"] for r in rows),
        "summary": f"compliant from {ok} of {len(rows)} vantage points",
        "per_vantage": rows,
    }


def build_report(
    checks: list[Check],
    ctx: RunContext,
    *,
    options: VerifyOptions | None,
    vantage: VantagePoint | None,
    resolutions: dict[str, Any] | None = None,
    traces: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> Report:
    from mistral_sov.services.verify_freshness import freshness_check

    sources = freshness_check(ctx.providers.sources, ctx.generated_at, ctx.max_data_age)
    return Report(
        kind="verify-residency",
        tool_version=ctx.tool_version,
        generated_at=ctx.generated_at,
        checks=[*checks, sources],
        policy_file=ctx.policy_file,
        metadata=evidence_metadata(
            ctx.zones,
            ctx.providers,
            vantage,
            options,
            ctx.policy_sha256,
            resolutions=resolutions or {},
            traces=traces or [],
            extra={"source_ages": sources.details["sources"], **(extra or {})},
        ),
    )


def judge_measurements(
    records: Iterable[TraceRecord],
    targets: Sequence[Target],
    ctx: RunContext,
    *,
    options: VerifyOptions | None = None,
    source_file: str = "",
    keep_raw: bool = True,
) -> Report:
    """Judge recorded measurements (RIPE Atlas, fleet): every record through ``judge_records``,
    every policy endpoint accounted for, "k of n" over distinct vantage points."""
    raw: list[dict[str, Any]] = []

    def kept(rs: Iterable[TraceRecord]) -> Iterator[TraceRecord]:
        for r in rs:
            if keep_raw:
                raw.append(trace_to_dict(r.trace))
            yield r

    checks = list(judge_records(kept(records), targets, ctx))
    checks += missing_measurements(targets, checks)
    summary = vantage_summary(checks)
    summary["file"] = source_file
    summary["out_of_policy"] = sum(1 for c in checks if any(f.rule_id == "RES-OUT-OF-POLICY" for f in c.findings))
    return build_report(checks, ctx, options=options, vantage=None, traces=raw, extra={"measurements": summary})


def parallel_map(fn: Callable[[Any], Any], items: Sequence[Any], workers: int = 16) -> list[Any]:
    """``[fn(x) for x in items]`` in daemon threads; the wait wakes every 0.1 s so Ctrl-C stops
    the run at once and no thread holds up the exit. An exception of ``fn`` is re-raised."""
    import queue
    import threading

    todo: queue.Queue[int] = queue.Queue()
    for i in range(len(items)):
        todo.put(i)
    done: queue.Queue[tuple[int, Any, BaseException | None]] = queue.Queue()

    def work() -> None:
        while True:
            try:
                i = todo.get_nowait()
            except queue.Empty:
                return
            try:
                done.put((i, fn(items[i]), None))
            except BaseException as exc:
                done.put((i, None, exc))

    for _ in range(max(1, min(workers, len(items)))):
        threading.Thread(target=work, daemon=True).start()
    out: list[Any] = [None] * len(items)
    for _ in range(len(items)):
        while True:
            try:
                i, value, exc = done.get(timeout=0.1)
                break
            except queue.Empty:
                continue
        if exc is not None:
            raise exc
        out[i] = value
    return out


def trace_to_dict(trace: TraceResult) -> dict[str, Any]:
    """The raw probe results, for the evidence record."""
    from dataclasses import asdict

    return asdict(trace)


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
    physics_action: str = "warn",
    max_data_age: dict[str, int] | None = None,
    https: Callable[[Target], HttpsEvidence] | None = None,
) -> Report:
    """Verify ``targets`` from here: resolve each host, trace every address (one batch, so the
    tracer can run them concurrently), then judge every trace through ``judge_records``.

    ``resolve(host) -> Resolution`` (IP literals come back as themselves);
    ``trace([(address, port), …]) -> {(address, port): TraceResult}``; ``https(target)`` probes
    the endpoint over HTTPS (serving-region headers, TLS chain), when given."""
    ctx = RunContext(
        zones,
        providers,
        tool_version,
        generated_at,
        policy_file,
        policy_sha256,
        physics_action,
        dict(max_data_age or {}),
    )
    hosts = list(dict.fromkeys(t.host for t in targets))
    resolutions = dict(zip(hosts, parallel_map(resolve, hosts), strict=True))  # DNS for every host at once
    jobs: list[tuple[str, int]] = []
    for t in targets:
        port = options.port or t.port
        for a in resolutions[t.host].addresses:
            if (a, port) not in jobs:
                jobs.append((a, port))
    probed: dict[str, HttpsEvidence] = {}
    if https is not None:
        reachable = [t for t in targets if resolutions[t.host].addresses]
        probed = dict(zip([t.name for t in reachable], parallel_map(https, reachable), strict=True))
    traces = trace(jobs) if jobs else {}
    checks: list[Check] = []
    for t in targets:
        res = resolutions[t.host]
        if not res.addresses:
            checks.append(unresolved_check(t, res))
            continue
        port = options.port or t.port
        records = []
        for a in res.addresses:
            result = traces.get((a, port))
            if result is None:
                result = TraceResult(a, options.method, port, "none", fidelity_notes=["no trace result"])
            records.append(
                TraceRecord(
                    t.host,
                    result,
                    source="local",
                    vantage=vantage,
                    vantage_id="local",
                    measured_at=result.started_at or generated_at,
                    resolution=res,
                    address=a,
                )
            )
        judged = list(judge_records(records, [t], ctx))
        if t.name in probed:
            for check in judged:
                judge_https(check, t, probed[t.name], zones)
        checks.extend(judged)
    return build_report(
        checks,
        ctx,
        options=options,
        vantage=vantage,
        resolutions={h: r.to_dict() for h, r in resolutions.items()},
        traces=[trace_to_dict(tr) for tr in traces.values()],
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
    physics_action: str = "warn",
) -> Check:
    """One Check for one trace (a convenience over ``judge_record``)."""
    record = TraceRecord(target.host, trace, vantage=vantage, resolution=resolution, address=address)
    return judge_record(record, target, zones, providers, physics_action=physics_action)


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
            "format": "mistral-sov-residency-evidence/2",
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
