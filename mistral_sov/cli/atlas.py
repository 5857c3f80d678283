"""``mistral-sov atlas``: live RIPE Atlas measurements of the approved endpoints.

``measure`` creates one-off TCP traceroutes to each endpoint's port from probes in the allowed
zone, waits, downloads the results and the probes' metadata, and judges them exactly as
``verify-residency --from-atlas RESULTS --probes PROBES`` does. ``probes`` saves probe metadata
in the probes API format. Needs the optional extra ``atlas`` (ripe-atlas-cousteau, GPL-3.0).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mistral_sov.cli._ui import OutputFormat
from mistral_sov.cli.common import OutputOption

if TYPE_CHECKING:
    from mistral_sov.adapters.atlas_live import Selection

app = typer.Typer(help="Live RIPE Atlas measurements of the approved endpoints.", no_args_is_help=True)

KeyFile = Annotated[
    Path | None,
    typer.Option("--key-file", help="File holding the RIPE Atlas API key (default: $RIPE_ATLAS_KEY)."),
]
Server = Annotated[str, typer.Option("--server", help="RIPE Atlas API host.", hidden=True)]


def _selections(countries: list[str], asns: list[int], per: int, allowed: set[str]) -> list[Selection]:
    from mistral_sov.adapters.atlas_live import Selection
    from mistral_sov.errors import InputError

    out = []
    for cc in countries:
        code = cc.strip().upper()
        if len(code) != 2 or not code.isalpha():
            raise InputError(f"--country '{cc}' is not an ISO 3166 code", field="--country", hint="e.g. DE, FR, NL")
        if allowed and code not in allowed:
            raise InputError(
                f"--country {code} is outside the policy's allowed countries",
                field="--country",
                hint="probes outside the zone say nothing about the paths your users take; pick allowed countries",
            )
        out.append(Selection("country", code, per))
    out += [Selection("asn", str(a), per) for a in asns]
    return out


@app.command("measure")
def measure(  # noqa: PLR0917
    endpoints: Annotated[
        list[str] | None, typer.Argument(help="Endpoint names (default: every approved endpoint).", show_default=False)
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option("-p", "--policy", envvar="MISTRAL_SOV_POLICY", help="Policy file (default ./sovereignty.yaml)."),
    ] = None,
    country: Annotated[
        list[str] | None, typer.Option("--country", help="Probes from this country (repeatable; in the zone).")
    ] = None,
    asn: Annotated[list[int] | None, typer.Option("--asn", help="Probes in this ASN (repeatable).")] = None,
    per_source: Annotated[int, typer.Option("--probes-per", min=1, max=50, help="Probes per country/ASN.")] = 2,
    af: Annotated[int, typer.Option("--af", min=4, max=6, help="Address family, 4 or 6.")] = 4,
    wait: Annotated[float, typer.Option("--wait", min=0, max=3600, help="Seconds to wait for results.")] = 600,
    results_out: Annotated[
        Path, typer.Option("--results-out", help="Where the downloaded results are written (JSON Lines).")
    ] = Path("atlas-results.jsonl"),
    probes_out: Annotated[
        Path, typer.Option("--probes-out", help="Where the probes' metadata is written (probes API format).")
    ] = Path("atlas-probes.json"),
    key_file: KeyFile = None,
    server: Server = "atlas.ripe.net",
    geoip_db: Annotated[list[Path] | None, typer.Option("--geoip-db", help="mmdb for attribution.")] = None,
    ranges_dir: Annotated[Path | None, typer.Option("--ranges-dir", help="Cloud range data directory.")] = None,
    report: Annotated[list[str] | None, typer.Option("--report", help="FORMAT:PATH, repeatable.")] = None,
    sign_key: Annotated[Path | None, typer.Option("--sign-key", help="Ed25519 key to sign JSON evidence.")] = None,
    output: OutputOption = OutputFormat.table,
) -> int:
    """Trace each endpoint from RIPE Atlas probes in the allowed zone and judge the paths."""
    import json

    from mistral_sov import reports
    from mistral_sov.adapters.atlas_live import CREDITS_PER_PROBE, AtlasClient, load_key, probes_document
    from mistral_sov.adapters.fileio import atomic_write_bytes
    from mistral_sov.cli._ui import progress, warn
    from mistral_sov.cli.residency_wiring import run_residency, targets_for
    from mistral_sov.cli.verify import _load, _show, write_reports
    from mistral_sov.core.zones import expand_countries
    from mistral_sov.errors import InputError
    from mistral_sov.services.verify import VerifyOptions

    for spec in report or []:
        reports.parse_report_spec(spec)
    loaded = _load(policy, required=True)
    assert loaded is not None
    targets = targets_for(loaded, endpoints or [])
    allowed = set(expand_countries(loaded.policy.zones.allowed_countries))
    if not country and not asn:
        raise InputError(
            "say where the probes should be: --country CC (repeatable) and/or --asn N",
            field="--country",
            hint=f"e.g. --country DE --country FR; allowed: {', '.join(sorted(allowed)[:12])}…",
        )
    selections = _selections(country or [], asn or [], per_source, allowed)
    key = load_key(key_file)
    client = AtlasClient(key, server)
    probes_total = sum(s.requested for s in selections) * len(targets)
    credits = probes_total * CREDITS_PER_PROBE
    warn(f"creating {len(targets)} measurement(s), up to {probes_total} probe(s): about {credits:,} credits")
    ids = [client.create_traceroute(t.host, t.port, selections, af=af) for t in targets]
    with progress("waiting for RIPE Atlas") as on_progress:
        statuses = client.wait(ids, timeout_s=wait, on_progress=on_progress)
    results = [r for msm in ids for r in client.results(msm)]
    lines = "".join(json.dumps(r, sort_keys=True) + "\n" for r in results)
    atomic_write_bytes(results_out, lines.encode("utf-8"))
    probe_ids = sorted({r["prb_id"] for r in results if isinstance(r.get("prb_id"), int)})
    probes = client.probes(id__in=probe_ids) if probe_ids else []
    atomic_write_bytes(probes_out, (json.dumps(probes_document(probes), indent=1) + "\n").encode("utf-8"))
    pending = {m: s for m, s in statuses.items() if s not in ("Stopped",)}
    if pending:
        warn("not finished: " + ", ".join(f"measurement {m} is '{s}'" for m, s in pending.items()))
    if not results:
        raise InputError(
            f"no results yet for measurement(s) {', '.join(map(str, ids))}",
            hint="wait longer (--wait), then download them: "
            + " ".join(f"https://atlas.ripe.net/api/v2/measurements/{m}/results/" for m in ids),
        )
    options = VerifyOptions(
        endpoints=tuple(endpoints or ()),
        geoip_dbs=tuple(geoip_db or ()),
        ranges_dir=ranges_dir,
        atlas_results=results_out,
        atlas_probes=probes_out if probes else None,
    )
    result = run_residency(loaded, options)
    result.metadata["evidence"]["atlas_measurements"] = {
        "ids": ids,
        "statuses": {str(k): v for k, v in statuses.items()},
        "selections": [s.to_dict() for s in selections],
        "results_file": str(results_out),
        "probes_file": str(probes_out),
    }
    write_reports(result, report or [], sign_key, "violation")
    _show(result, output, sign_key, "violation")
    return int(result.exit_status("violation"))


@app.command("probes")
def probes_cmd(
    out: Annotated[Path, typer.Option("--out", help="Where to write the probes (probes API format).")],
    country: Annotated[list[str] | None, typer.Option("--country", help="Country code (repeatable).")] = None,
    asn: Annotated[list[int] | None, typer.Option("--asn", help="ASN (repeatable).")] = None,
    probe_id: Annotated[list[int] | None, typer.Option("--id", help="Probe id (repeatable).")] = None,
    server: Server = "atlas.ripe.net",
) -> int:
    """Save RIPE Atlas probe metadata (location, country, ASN) for physics bounds."""
    import json

    from mistral_sov.adapters.atlas_live import AtlasClient, probes_document
    from mistral_sov.adapters.fileio import atomic_write_bytes
    from mistral_sov.cli._ui import console
    from mistral_sov.errors import InputError

    if not (country or asn or probe_id):
        raise InputError(
            "say which probes: --country CC, --asn N or --id N", field="--country", hint="e.g. --country DE"
        )
    client = AtlasClient(None, server)
    found: dict[int, dict[str, Any]] = {}
    queries: list[dict[str, Any]] = [{"id__in": probe_id}] if probe_id else []
    queries += [{"country_code": c.upper(), "status": 1} for c in country or []]
    queries += [{"asn_v4": a, "status": 1} for a in asn or []]
    for q in queries:
        for p in client.probes(**q):
            if isinstance(p.get("id"), int):
                found[p["id"]] = p
    atomic_write_bytes(out, (json.dumps(probes_document(list(found.values())), indent=1) + "\n").encode("utf-8"))
    console().print(f"{len(found)} probe(s) written to {out}")
    return 0
