"""``mistral-sov verify-residency``: trace the approved endpoints and judge every hop.

Thin: wires the resolver and tracer (``adapters.probes``), the attribution providers
(``adapters.geo``), the verdict engine (``services.verify``) and the report writers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mistral_sov.cli._ui import OutputFormat
from mistral_sov.cli.common import OutputOption

if TYPE_CHECKING:
    from mistral_sov.adapters.policyfile import LoadedPolicy
    from mistral_sov.core.findings import Report
    from mistral_sov.core.physics import VantagePoint
    from mistral_sov.services.verify import Providers, Resolution, Target


class Method(str, Enum):
    tcp = "tcp"
    udp = "udp"
    icmp = "icmp"


class FailOn(str, Enum):
    warning = "warning"
    violation = "violation"


def build_providers(
    geoip_dbs: Sequence[Path] = (), geofeeds: Sequence[Path] = (), ranges_dir: Path | None = None
) -> Providers:
    """The attribution providers for the given files (iptocc + operators always)."""
    from mistral_sov.adapters.geo import ranges as ranges_mod
    from mistral_sov.adapters.geo.countries import IptoccProvider
    from mistral_sov.adapters.geo.geofeed import Geofeed
    from mistral_sov.adapters.geo.mmdb import MmdbDatabase
    from mistral_sov.adapters.geo.operators import OperatorTable
    from mistral_sov.core.attribution import NullRangeProvider, SourceInfo
    from mistral_sov.services.verify import Providers

    providers = Providers()
    iptocc = IptoccProvider()
    providers.geo.append(iptocc)
    providers.sources.append(
        SourceInfo("iptocc", iptocc.version, "country", {"note": "RIR registration country (embedded)"})
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
        providers.sources.append(SourceInfo("cloud-ranges", "", "ranges", {"note": f"none installed in {directory}"}))
    table = OperatorTable.load()
    providers.operators = table
    providers.sources.append(table.info())
    return providers


def resolve_host(host: str) -> Resolution:
    """DNS evidence for ``host`` (helper C's resolver when present; IP literals as is)."""
    import ipaddress

    from mistral_sov.services.verify import Resolution

    try:
        return Resolution(host, [str(ipaddress.ip_address(host.strip("[]")))], resolver="literal")
    except ValueError:
        pass
    try:
        from mistral_sov.adapters.probes import resolver as probe_resolver
    except ImportError:
        probe_resolver = None  # type: ignore[assignment]
    if probe_resolver is not None and hasattr(probe_resolver, "resolve"):
        from mistral_sov.errors import InconclusiveError

        try:
            res = probe_resolver.resolve(host)
        except InconclusiveError as exc:
            return Resolution(host, error=exc.message)
        error = res.error or ("" if res.ok else f"DNS answered '{res.status}' for {host}")
        return Resolution(
            host,
            [str(a) for a in res.addresses] if res.ok else [],
            [str(c) for c in res.cname_chain],
            res.nameserver,
            [str(f) for f in res.flags],
            error,
        )
    import socket

    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        return Resolution(host, resolver="system", error=str(exc))
    addresses: list[str] = []
    for info in infos:
        addr = str(info[4][0]).split("%")[0]
        if addr not in addresses:
            addresses.append(addr)
    return Resolution(host, addresses, resolver="system (getaddrinfo)")


def make_tracer(
    method: str,
    demanded: bool,
    probes: int,
    max_hops: int,
    timeout: float,
    *,
    on_progress: Callable[[int, int, Any], None] | None = None,
) -> Callable[[list[tuple[str, int]]], dict[tuple[str, int], Any]]:
    """A batch trace function over helper C's ``select_tracer``/``trace_many``."""
    from mistral_sov.adapters.probes.tracers import select_tracer, trace_many

    tracer = select_tracer(method, demanded=demanded)

    def run(jobs: list[tuple[str, int]]) -> dict[tuple[str, int], Any]:
        out: dict[tuple[str, int], Any] = {}
        ports = sorted({p for _a, p in jobs})
        for port in ports:
            addresses = [a for a, p in jobs if p == port]
            results = trace_many(
                tracer,
                addresses,
                method=method,
                port=port,
                probes=probes,
                max_hops=max_hops,
                timeout=timeout,
                on_progress=on_progress,
            )
            for address, result in zip(addresses, results, strict=True):
                out[(address, port)] = result
        return out

    return run


def _now() -> str:
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


def targets_for(loaded: LoadedPolicy | None, raw_targets: Sequence[str]) -> list[Target]:
    """Policy endpoints (all, or those a TARGET names) and ad-hoc TARGETs (URL, host or IP)."""
    from urllib.parse import urlsplit

    from mistral_sov.errors import InputError
    from mistral_sov.services.verify import Target

    endpoints = list(enumerate(loaded.policy.endpoints)) if loaded else []
    if not raw_targets:
        if not endpoints:
            raise InputError(
                "nothing to verify: no TARGET given and the policy lists no endpoints",
                hint="pass TARGET (URL, host or IP), or add endpoints: to the policy",
            )
        return [Target.from_endpoint(ep, _location(loaded, i)) for i, ep in endpoints]  # type: ignore[arg-type]
    out: list[Target] = []
    for raw in raw_targets:
        text = raw.strip()
        match = next(((i, ep) for i, ep in endpoints if text in (ep.name, ep.url, ep.host)), None)
        if match is not None:
            out.append(Target.from_endpoint(match[1], _location(loaded, match[0])))  # type: ignore[arg-type]
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


def verify_policy_endpoints(
    loaded: LoadedPolicy | None,
    targets: Sequence[str] = (),
    *,
    method: str = "tcp",
    method_demanded: bool = False,
    port: int | None = None,
    probes: int = 3,
    max_hops: int = 30,
    timeout: float = 2.0,
    geoip_dbs: Sequence[Path] = (),
    geofeeds: Sequence[Path] = (),
    ranges_dir: Path | None = None,
    vantage: str | None = None,
    on_progress: Callable[[int, int, Any], None] | None = None,
) -> Report:
    """Verify the residency of every approved endpoint of ``loaded`` (or of ``targets``).

    The function the CI gate calls: same options as ``verify-residency``; ``vantage`` is a
    city or ``LAT,LON`` (default: the policy's ``vantage``). Returns the Report
    (``kind='verify-residency'``); ``report.exit_status(fail_on)`` gives 0/1/3. Raises
    InputError (2) for bad input and MissingBackendError (4) when the tracer backend is
    missing."""
    from mistral_sov import __version__
    from mistral_sov.core.physics import parse_vantage
    from mistral_sov.core.policy import Zones
    from mistral_sov.services.verify import VerifyOptions, verify_targets

    point = parse_vantage(vantage) if vantage else policy_vantage(loaded)
    providers = build_providers(geoip_dbs, geofeeds, ranges_dir)
    wanted = targets_for(loaded, targets)
    trace = make_tracer(method, method_demanded, probes, max_hops, timeout, on_progress=on_progress)
    return verify_targets(
        wanted,
        loaded.policy.zones if loaded else Zones(),
        resolve=resolve_host,
        trace=trace,
        providers=providers,
        vantage=point,
        options=VerifyOptions(method, port, probes, max_hops, timeout),
        tool_version=__version__,
        generated_at=_now(),
        policy_file=str(loaded.path) if loaded else "",
        policy_sha256=loaded.sha256 if loaded else "",
    )


def report_bytes(report: Report, fmt: str, sign_key: Path | None, fail_on: str = "violation") -> bytes:
    """The bytes of one report; JSON is the evidence record, signed when ``sign_key`` is set."""
    from mistral_sov import reports

    data = reports.render(report, fmt, fail_on=fail_on)
    if fmt == "json" and sign_key is not None:
        import json

        from mistral_sov.adapters import evidence

        data = evidence.dump(evidence.sign(json.loads(data), evidence.load_private_key(sign_key)))
    return data


def write_reports(report: Report, specs: Sequence[str], sign_key: Path | None, fail_on: str) -> None:
    import sys

    from mistral_sov import reports
    from mistral_sov.adapters.fileio import atomic_write_bytes

    parsed = [reports.parse_report_spec(s) for s in specs]
    for fmt, path in parsed:
        data = report_bytes(report, fmt, sign_key, fail_on)
        if str(path) == "-":
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        else:
            atomic_write_bytes(path, data)


def _load(policy: Path | None, required: bool) -> LoadedPolicy | None:
    from mistral_sov.adapters.policyfile import default_policy_path
    from mistral_sov.cli.policy_effective import load_endpoint_policy as load_policy  # managed values win

    if policy is not None:
        return load_policy(policy)
    path = default_policy_path()
    if path.exists() or required:
        return load_policy(path)
    return None


def verify_residency(  # noqa: PLR0917
    targets: Annotated[
        list[str] | None,
        typer.Argument(
            help="URLs, host names or IPs (default: every approved endpoint in the policy).", show_default=False
        ),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(
            "-p",
            "--policy",
            envvar="MISTRAL_SOV_POLICY",
            help="Policy file (default ./sovereignty.yaml).",
            show_default=False,
        ),
    ] = None,
    method: Annotated[
        Method | None,
        typer.Option(
            "--method", help="Probe type (default tcp; tcp needs raw sockets, else falls back to udp with a note)."
        ),
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", min=1, max=65535, help="Destination port (default: the endpoint's).")
    ] = None,
    probes: Annotated[int, typer.Option("--probes", min=1, max=16, help="Probes per hop.")] = 3,
    max_hops: Annotated[int, typer.Option("--max-hops", min=1, max=64, help="Highest TTL.")] = 30,
    timeout: Annotated[float, typer.Option("--timeout", min=0.05, max=60, help="Seconds to wait per trace.")] = 2.0,
    geoip_db: Annotated[
        list[Path] | None, typer.Option("--geoip-db", help="MaxMind/DB-IP/IPinfo .mmdb (repeatable).")
    ] = None,
    geofeed: Annotated[list[Path] | None, typer.Option("--geofeed", help="RFC 8805 geofeed CSV (repeatable).")] = None,
    ranges_dir: Annotated[Path | None, typer.Option("--ranges-dir", help="Cloud range data directory.")] = None,
    vantage: Annotated[
        str | None,
        typer.Option("--vantage", help="Where probes leave from: CITY or LAT,LON (default: the policy's vantage)."),
    ] = None,
    from_atlas: Annotated[
        Path | None,
        typer.Option(
            "--from-atlas", help="Judge RIPE Atlas traceroute results (JSON or JSON Lines) instead of tracing."
        ),
    ] = None,
    report: Annotated[
        list[str] | None,
        typer.Option("--report", help="FORMAT:PATH, repeatable (json, junit, sarif, markdown, html, console, github)."),
    ] = None,
    sign_key: Annotated[
        Path | None, typer.Option("--sign-key", help="Ed25519 private key (PEM) to sign JSON evidence.")
    ] = None,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="Exit 1 on warnings too, or only on violations.")
    ] = FailOn.violation,
    output: OutputOption = OutputFormat.table,
) -> int:
    """Trace each approved endpoint and prove every hop stays in the allowed zones."""
    from mistral_sov import reports

    specs = list(report or [])
    for spec in specs:
        reports.parse_report_spec(spec)  # bad specs fail before any probe leaves
    if sign_key is not None:
        from mistral_sov.adapters import evidence

        evidence.load_private_key(sign_key)
    loaded = _load(policy, required=not targets and from_atlas is None)
    if from_atlas is not None:
        result = _judge_atlas(loaded, from_atlas, geoip_db or [], geofeed or [], ranges_dir)
    else:
        from mistral_sov.cli._ui import progress

        with progress("tracing") as on_progress:
            result = verify_policy_endpoints(
                loaded,
                targets or [],
                method=(method or Method.tcp).value,
                method_demanded=method is not None,
                port=port,
                probes=probes,
                max_hops=max_hops,
                timeout=timeout,
                geoip_dbs=geoip_db or [],
                geofeeds=geofeed or [],
                ranges_dir=ranges_dir,
                vantage=vantage,
                on_progress=on_progress,
            )
    write_reports(result, specs, sign_key, fail_on.value)
    _show(result, output, sign_key, fail_on.value)
    return int(result.exit_status(fail_on.value))


def _judge_atlas(
    loaded: LoadedPolicy | None, path: Path, dbs: Sequence[Path], feeds: Sequence[Path], ranges_dir: Path | None
) -> Report:
    from mistral_sov import __version__
    from mistral_sov.adapters import atlas
    from mistral_sov.core.policy import Zones
    from mistral_sov.services.verify import judge_atlas

    traces = atlas.load(path)
    providers = build_providers(dbs, feeds, ranges_dir)
    endpoints = targets_for(loaded, []) if loaded and loaded.policy.endpoints else []

    def locate(name: str) -> Target | None:
        return next((t for t in endpoints if name in (t.host, t.name)), None)

    return judge_atlas(
        traces,
        loaded.policy.zones if loaded else Zones(),
        providers,
        tool_version=__version__,
        generated_at=_now(),
        source_file=str(path),
        policy_file=str(loaded.path) if loaded else "",
        policy_sha256=loaded.sha256 if loaded else "",
        locate=locate,
    )


def _show(result: Report, output: OutputFormat, sign_key: Path | None, fail_on: str) -> None:
    import sys

    if output is OutputFormat.table:
        from mistral_sov.cli._ui import console
        from mistral_sov.reports.console import print_report

        print_report(result, console())
        atlas_info = result.metadata.get("evidence", {}).get("atlas")
        if atlas_info:
            console().print(atlas_info["summary"])
        return
    fmt = "json"
    data = report_bytes(result, fmt, sign_key, fail_on)
    if output is OutputFormat.yaml:
        import json

        from mistral_sov.cli._ui import dump_yaml

        sys.stdout.write(dump_yaml(json.loads(data)))
        return
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    app.command("verify-residency")(verify_residency)
