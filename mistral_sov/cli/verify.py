"""``mistral-sov verify-residency``: trace the approved endpoints and judge every hop.

Thin: parses the options into one ``VerifyOptions``; ``cli.residency_wiring`` wires the
adapters into ``services.verify``; the report writers render the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mistral_sov.cli._ui import OutputFormat
from mistral_sov.cli.common import OutputOption

if TYPE_CHECKING:
    from mistral_sov.adapters.policyfile import LoadedPolicy
    from mistral_sov.core.findings import Report


class Method(str, Enum):
    tcp = "tcp"
    udp = "udp"
    icmp = "icmp"


class FailOn(str, Enum):
    warning = "warning"
    violation = "violation"


def report_bytes(
    report: Report, fmt: str, sign_key: Path | None, fail_on: str = "violation", timestamp_url: str | None = None
) -> bytes:
    """The bytes of one report; JSON is the evidence record, signed when ``sign_key`` is set
    (and RFC 3161 time-stamped when ``timestamp_url`` is set)."""
    from mistral_sov import reports

    data = reports.render(report, fmt, fail_on=fail_on)
    if fmt == "json" and sign_key is not None:
        from mistral_sov.adapters.evidence_time import sign_report

        data = sign_report(data, sign_key, timestamp_url)
    return data


def write_reports(
    report: Report, specs: Sequence[str], sign_key: Path | None, fail_on: str, timestamp_url: str | None = None
) -> None:

    from mistral_sov import reports
    from mistral_sov.adapters.fileio import atomic_write_bytes

    parsed = [reports.parse_report_spec(s) for s in specs]
    for fmt, path in parsed:
        data = report_bytes(report, fmt, sign_key, fail_on, timestamp_url)
        if str(path) == "-":
            _stdout_bytes(data)
        else:
            atomic_write_bytes(path, data)


def _stdout_bytes(data: bytes) -> None:
    import sys

    buffer = getattr(sys.stdout, "buffer", None)
    sys.stdout.flush()
    if buffer is not None:
        buffer.write(data)
        buffer.flush()
    else:
        sys.stdout.write(data.decode("utf-8", errors="replace"))
    sys.stdout.flush()


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
    probes: Annotated[
        str,
        typer.Option(
            "--probes",
            metavar="N|FILE",
            help="Probes per hop (1-16); with --from-atlas: the RIPE Atlas probes file (probes API JSON) "
            "giving each probe's location.",
        ),
    ] = "3",
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
    from_fleet: Annotated[
        list[Path] | None,
        typer.Option(
            "--from-fleet",
            help="Judge device results: Intune Graph JSON / portal CSV, collector JSON Lines, tracert captures "
            "(repeatable; docs/fleet.md).",
        ),
    ] = None,
    fleet_sites: Annotated[
        Path | None,
        typer.Option("--fleet-sites", help="CSV SITE,CITY|LAT,LON: vantage points of the devices' sites."),
    ] = None,
    https_probe: Annotated[
        bool,
        typer.Option(
            "--https-probe/--no-https-probe",
            help="One HTTPS request per endpoint: TLS chain and the headers naming the serving region.",
        ),
    ] = True,
    ca_bundle: Annotated[
        Path | None, typer.Option("--ca-bundle", help="CA certificates (PEM) for the HTTPS probe (default: system).")
    ] = None,
    report: Annotated[
        list[str] | None,
        typer.Option("--report", help="FORMAT:PATH, repeatable (json, junit, sarif, markdown, html, console, github)."),
    ] = None,
    sign_key: Annotated[
        Path | None, typer.Option("--sign-key", help="Ed25519 private key (PEM) to sign JSON evidence.")
    ] = None,
    timestamp_url: Annotated[
        str | None,
        typer.Option("--timestamp-url", help="RFC 3161 TSA that time-stamps signed evidence (default: evidence.tsa)."),
    ] = None,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="Exit 1 on warnings too, or only on violations.")
    ] = FailOn.violation,
    output: OutputOption = OutputFormat.table,
) -> int:
    """Trace each approved endpoint and prove every hop stays in the allowed zones."""
    from mistral_sov import reports
    from mistral_sov.adapters.evidence_time import choose_url
    from mistral_sov.cli.residency_wiring import run_residency
    from mistral_sov.services.verify import VerifyOptions

    specs = list(report or [])
    for spec in specs:
        reports.parse_report_spec(spec)  # bad specs fail before any probe leaves
    if sign_key is not None:
        from mistral_sov.adapters import evidence

        evidence.load_private_key(sign_key)
    per_hop, probes_file = _probes(probes, from_atlas is not None)
    if from_atlas is not None and vantage is not None:
        from mistral_sov.errors import InputError

        raise InputError(
            "--vantage does not apply to RIPE Atlas results: each result has its own probe",
            field="--vantage",
            hint="give the probes' locations with --probes PROBES.json (Atlas probes API format)",
        )
    loaded = _load(policy, required=not targets and from_atlas is None)
    tsa = choose_url(timestamp_url, loaded.policy.evidence.tsa if loaded else None, sign_key is not None)
    options = VerifyOptions(
        method=(method or Method.tcp).value,
        method_demanded=method is not None,
        port=port,
        probes=per_hop,
        max_hops=max_hops,
        timeout=timeout,
        endpoints=tuple(targets or ()),
        geoip_dbs=tuple(geoip_db or ()),
        geofeeds=tuple(geofeed or ()),
        ranges_dir=ranges_dir,
        vantage=vantage,
        atlas_results=from_atlas,
        atlas_probes=probes_file,
        https_probe=https_probe,
        ca_bundle=ca_bundle,
    )
    if from_fleet:
        from mistral_sov.cli.verify_fleet import judge_fleet

        result = judge_fleet(loaded, from_fleet, options, sites=fleet_sites)
    elif from_atlas is not None:
        result = run_residency(loaded, options)
    else:
        from mistral_sov.cli._ui import progress

        with progress("tracing") as on_progress:
            result = run_residency(loaded, options, on_progress=on_progress)
    write_reports(result, specs, sign_key, fail_on.value, tsa)
    _show(result, output, sign_key, fail_on.value, tsa)
    from mistral_sov.adapters.evidence_time import settle

    return settle(int(result.exit_status(fail_on.value)))  # a TSA failure makes a pass exit 3


def _probes(value: str, atlas: bool) -> tuple[int, Path | None]:
    """``--probes``: a count of probes per hop, or (with --from-atlas) the Atlas probes file."""
    from mistral_sov.errors import InputError

    text = value.strip()
    if text.isdigit():
        n = int(text)
        if not 1 <= n <= 16:
            raise InputError(f"--probes {n}: probes per hop must be 1..16", field="--probes", hint="e.g. --probes 3")
        return n, None
    if not atlas:
        raise InputError(
            f"--probes '{value}' is not a number of probes per hop",
            field="--probes",
            hint="give 1..16; a probes FILE is only read with --from-atlas",
        )
    return 3, Path(text)


def _show(
    result: Report, output: OutputFormat, sign_key: Path | None, fail_on: str, timestamp_url: str | None = None
) -> None:
    import sys

    if output is OutputFormat.table:
        from mistral_sov.cli._ui import console
        from mistral_sov.reports.console import print_report

        print_report(result, console())
        measured = result.metadata.get("evidence", {}).get("measurements")
        if measured:
            console().print(measured["summary"])
            for row in measured["per_vantage"]:
                console().print(f"  {row['vantage_id']} ({row['country'] or '?'}): {row['verdict']}")
        for name, info in result.metadata.get("evidence", {}).get("fleet", {}).get("endpoints", {}).items():
            console().print(f"{name}: {info['summary']}")
        return
    fmt = "json"
    data = report_bytes(result, fmt, sign_key, fail_on, timestamp_url)
    if output is OutputFormat.yaml:
        import json

        from mistral_sov.cli._ui import dump_yaml

        sys.stdout.write(dump_yaml(json.loads(data)))
        return
    _stdout_bytes(data)


def register(app: typer.Typer) -> None:
    app.command("verify-residency")(verify_residency)
