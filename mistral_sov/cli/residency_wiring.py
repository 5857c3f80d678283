"""Wires the residency adapters (resolver, tracers, geo/ASN/range providers, RIPE Atlas files)
into ``services.verify``. ``verify-residency`` and ``gate`` both call ``run_residency``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mistral_sov.adapters.policyfile import LoadedPolicy
    from mistral_sov.core.findings import Report
    from mistral_sov.core.physics import VantagePoint
    from mistral_sov.core.trace import Resolution
    from mistral_sov.services.verify import Providers, Target, VerifyOptions


def build_providers(
    geoip_dbs: Sequence[Path] = (), geofeeds: Sequence[Path] = (), ranges_dir: Path | None = None
) -> Providers:
    """The attribution providers for the given files (iptocc + operators always)."""
    from mistral_sov.adapters.geo import ranges as ranges_mod
    from mistral_sov.adapters.geo.countries import IptoccProvider, iptocc_sha256
    from mistral_sov.adapters.geo.geofeed import Geofeed
    from mistral_sov.adapters.geo.mmdb import MmdbDatabase
    from mistral_sov.adapters.geo.operators import OperatorTable
    from mistral_sov.core.attribution import NullRangeProvider, SourceInfo
    from mistral_sov.services.verify import Providers

    providers = Providers()
    iptocc = IptoccProvider()
    providers.geo.append(iptocc)
    providers.sources.append(
        SourceInfo(
            "iptocc",
            iptocc.version,
            "country",
            {"note": "RIR registration country (embedded in the package's compiled module)", "sha256": iptocc_sha256()},
        )
    )
    for path in geoip_dbs:
        db = MmdbDatabase(Path(path))
        if db.has_geo:
            providers.geo.append(db)
        if db.has_asn:
            providers.asn.append(db)
        providers.sources.append(db.info())
    for path in geofeeds:
        feed = Geofeed.from_file(Path(path))
        providers.geo.append(feed)
        providers.sources.append(feed.info())
    directory = Path(ranges_dir) if ranges_dir is not None else ranges_mod.default_dir()
    if (directory / ranges_mod.MANIFEST).exists():
        index = ranges_mod.RangeIndex.load(directory)
        providers.ranges = index
        providers.sources.extend(index.infos())
    else:
        providers.ranges = NullRangeProvider()
        providers.sources.append(
            SourceInfo("cloud-ranges", "", "missing", {"note": f"no cloud range files installed in {directory}"})
        )
    from mistral_sov.adapters.geo.asn_table import AsnTable

    asn_table = AsnTable.load(directory)
    if asn_table is not None:
        providers.asn.append(asn_table)  # after any --geoip-db ASN database: explicit data first
        providers.sources.append(asn_table.info())
    table = OperatorTable.load()
    providers.operators = table
    providers.sources.append(table.info())
    return providers


def resolve_host(host: str) -> Resolution:
    """DNS evidence for ``host`` (IP literals as they are)."""
    import ipaddress

    from mistral_sov.core.trace import Resolution
    from mistral_sov.errors import InconclusiveError

    try:
        return Resolution.literal(str(ipaddress.ip_address(host.strip("[]"))))
    except ValueError:
        pass
    from mistral_sov.adapters.probes import resolver as probe_resolver

    try:
        res = probe_resolver.resolve(host)
    except InconclusiveError as exc:
        return Resolution.failed(host, exc.message)
    if not res.ok and not res.error:
        res.error = f"DNS answered '{res.status}' for {host}"
    return res


def make_tracer(
    options: VerifyOptions, *, on_progress: Callable[[int, int, Any], None] | None = None
) -> Callable[[list[tuple[str, int]]], dict[tuple[str, int], Any]]:
    """A batch trace function over ``select_tracer``/``trace_many``."""
    from mistral_sov.adapters.probes.tracers import select_tracer, trace_many

    tracer = select_tracer(options.method, demanded=options.method_demanded)

    def run(jobs: list[tuple[str, int]]) -> dict[tuple[str, int], Any]:
        out: dict[tuple[str, int], Any] = {}
        for port in sorted({p for _a, p in jobs}):
            addresses = [a for a, p in jobs if p == port]
            results = trace_many(
                tracer,
                addresses,
                method=options.method,
                port=port,
                probes=options.probes,
                max_hops=options.max_hops,
                timeout=options.timeout,
                on_progress=on_progress,
            )
            for address, result in zip(addresses, results, strict=True):
                out[(address, port)] = result
        return out

    return run


def now_utc() -> str:
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def policy_vantage(loaded: LoadedPolicy | None) -> VantagePoint | None:
    from mistral_sov.core.physics import VantagePoint, parse_vantage

    if loaded is None or loaded.policy.vantage is None:
        return None
    v = loaded.policy.vantage
    if v.city:
        return parse_vantage(v.city)
    if v.lat is not None and v.lon is not None:
        return VantagePoint(None, v.lat, v.lon)
    return None


def _location(loaded: LoadedPolicy, index: int) -> Any:
    from mistral_sov.core.findings import SourceLocation

    loc = loaded.where(("endpoints", index, "url"))
    return SourceLocation(loc.file, loc.line, loc.column)


def policy_targets(loaded: LoadedPolicy | None) -> list[Target]:
    from mistral_sov.services.verify import Target

    if loaded is None:
        return []
    return [Target.from_endpoint(ep, _location(loaded, i)) for i, ep in enumerate(loaded.policy.endpoints)]


def targets_for(loaded: LoadedPolicy | None, raw_targets: Sequence[str]) -> list[Target]:
    """Policy endpoints (all, or those a TARGET names) and ad-hoc TARGETs (URL, host or IP)."""
    from urllib.parse import urlsplit

    from mistral_sov.errors import InputError
    from mistral_sov.services.verify import Target, match_target

    endpoints = policy_targets(loaded)
    if not raw_targets:
        if not endpoints:
            raise InputError(
                "nothing to verify: no TARGET given and the policy lists no endpoints",
                hint="pass TARGET (URL, host or IP), or add endpoints: to the policy",
            )
        return endpoints
    out: list[Target] = []
    for raw in raw_targets:
        text = raw.strip()
        match = next((t for t in endpoints if text in (t.name, t.url)), None) or match_target(endpoints, text)
        if match is not None:
            out.append(match)
            continue
        bare = text if ":" not in text or text.startswith("[") else f"[{text}]"
        url = text if "://" in text else f"https://{bare}"
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
            port = parts.port or (80 if parts.scheme == "http" else 443)
        except ValueError as exc:
            raise InputError(
                f"'{raw}' is not a URL, host name or IP address ({exc})",
                field="TARGET",
                hint="e.g. https://api.mistral.ai, api.mistral.ai or 203.0.113.10",
            ) from None
        if not host or any(c.isspace() for c in host):
            raise InputError(
                f"'{raw}' is not a URL, host name or IP address",
                field="TARGET",
                hint="e.g. https://api.mistral.ai, api.mistral.ai or 203.0.113.10",
            )
        out.append(Target(host, url if "://" in text else "", host, port))
    return out


def run_residency(
    loaded: LoadedPolicy | None,
    options: VerifyOptions,
    *,
    on_progress: Callable[[int, int, Any], None] | None = None,
) -> Report:
    """Verify residency as ``options`` say: trace from here, or judge RIPE Atlas results.

    Returns the Report (``kind='verify-residency'``); ``report.exit_status(fail_on)`` gives
    0/1/3. Raises InputError (2) for bad input, MissingBackendError (4) without a tracer."""
    from mistral_sov import __version__
    from mistral_sov.core.physics import parse_vantage
    from mistral_sov.core.policy import Zones
    from mistral_sov.services.verify import RunContext, judge_measurements, verify_targets

    zones = loaded.policy.zones if loaded else Zones()
    physics_action = loaded.policy.evidence.physics if loaded else "warn"
    max_age: dict[str, int] = {str(k): v for k, v in loaded.policy.evidence.max_data_age.items()} if loaded else {}
    providers = build_providers(options.geoip_dbs, options.geofeeds, options.ranges_dir)
    if options.atlas_results is not None:
        from mistral_sov.adapters import atlas

        probes = atlas.load_probes(options.atlas_probes) if options.atlas_probes is not None else None
        ctx = RunContext(
            zones,
            providers,
            __version__,
            now_utc(),
            str(loaded.path) if loaded else "",
            loaded.sha256 if loaded else "",
            physics_action,
            max_age,
        )
        targets = targets_for(loaded, options.endpoints) if (loaded and loaded.policy.endpoints) else []
        return judge_measurements(
            atlas.records(options.atlas_results, probes),
            targets,
            ctx,
            options=options,
            source_file=str(options.atlas_results),
        )
    point = parse_vantage(options.vantage) if options.vantage else policy_vantage(loaded)
    wanted = targets_for(loaded, options.endpoints)
    return verify_targets(
        wanted,
        zones,
        resolve=resolve_host,
        trace=make_tracer(options, on_progress=on_progress),
        providers=providers,
        vantage=point,
        options=options,
        tool_version=__version__,
        generated_at=now_utc(),
        policy_file=str(loaded.path) if loaded else "",
        policy_sha256=loaded.sha256 if loaded else "",
        physics_action=physics_action,
        max_data_age=max_age,
        https=https_prober(options) if options.https_probe else None,
    )


def https_prober(options: VerifyOptions) -> Callable[[Target], Any]:
    """The HTTPS probe of one endpoint (its URL, or https://host:port for an ad-hoc target)."""
    from mistral_sov.adapters.probes.https_probe import probe

    def run(target: Target) -> Any:
        url = (
            target.url or f"https://{target.host if ':' not in target.host else '[' + target.host + ']'}:{target.port}/"
        )
        return probe(url, timeout=max(options.timeout, 1.0), verify=options.ca_bundle)

    return run
