"""``mistral-sov gate`` (the CI compliance gate) and ``mistral-sov gate history``.

This module wires concrete adapters into ``mistral_sov.services.gate``: the policy loader,
the exporters and bundle comparison, the ADMX linter, the model hasher and the residency service
(``services.verify`` wired by ``cli.residency_wiring``). Exit codes: 0 compliant, 1 a
check failed (or a warning under --fail-on warning), 2 bad input, 3 inconclusive (never a
pass); ``--soft-fail`` reports and exits 0.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mistral_sov.cli._ui import OutputFormat
from mistral_sov.cli.common import DEFAULT_POLICY, FailOn, OutputOption, PolicyOption, ProbeMethod

if TYPE_CHECKING:
    from mistral_sov.core.findings import Check, Report
    from mistral_sov.services.gate import Unit
    from mistral_sov.services.verify import VerifyOptions

app = typer.Typer(
    help="CI compliance gate: policy, bundle drift, ADMX lint, residency, local models, catalog conflicts.",
    rich_markup_mode=None,
    no_args_is_help=False,
    invoke_without_command=True,
)

STEP_SUMMARY_LIMIT = 1024 * 1024  # GitHub refuses a step summary over 1 MiB


def _residency_unit(loaded: Any, options: VerifyOptions, provenance: dict[str, Any] | None = None) -> Unit:
    """The residency unit: ``services.verify`` through ``cli.residency_wiring`` (one check
    per endpoint address; the same options object as ``verify-residency``). The residency
    run's data sources and vantage are added to ``provenance`` (the gate report's evidence)."""
    from mistral_sov.services.gate import Unit, residency_checks

    if loaded is None:
        return Unit("residency", None, "the policy did not load (see the policy check)")

    def verify(_policy: Any) -> list[Check]:
        from mistral_sov.cli.residency_wiring import run_residency

        report = run_residency(loaded, options)
        if provenance is not None:
            add_residency_provenance(provenance, report.metadata.get("evidence") or {})
        return report.checks

    return Unit("residency", lambda: residency_checks(loaded.policy, loaded.where, verify))


def _now() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def gate_provenance(policy_bytes: bytes, loaded: Any, catalog: Any, now: str) -> dict[str, Any]:
    """What a gate report rests on (its ``metadata.evidence``, rendered by every report format):
    the policy file's SHA-256 (of the bytes read, even when they do not load), its zones, and
    each data source with version, publication date, age and SHA-256 — the shipped AI-service
    catalog always, the residency sources when the residency check ran."""
    import hashlib

    from mistral_sov import resources
    from mistral_sov.adapters.catalogfile import CATALOG_FILE
    from mistral_sov.core.attribution import SourceInfo
    from mistral_sov.services.verify_freshness import source_ages

    catalog_sha = hashlib.sha256(resources.path(CATALOG_FILE).read_bytes()).hexdigest()
    info = SourceInfo(
        "ai-service-catalog",
        f"version {catalog.version}",
        "catalog",
        {"sha256": catalog_sha, "file": CATALOG_FILE},
        published=str(catalog.updated or ""),
    )
    limits = dict(loaded.policy.evidence.max_data_age) if loaded is not None else {}
    return {
        "format": "mistral-sov-gate-provenance/1",
        "policy_sha256": hashlib.sha256(policy_bytes).hexdigest(),
        "zones": loaded.policy.zones.model_dump() if loaded is not None else {},
        "vantage": None,
        "source_ages": source_ages([info], now, limits),
        "residency_sources": "the residency check did not run: no residency data sources were used",
    }


def add_residency_provenance(provenance: dict[str, Any], evidence: dict[str, Any]) -> None:
    rows = evidence.get("source_ages")
    if not isinstance(rows, list):
        rows = [s for s in evidence.get("sources", []) if isinstance(s, dict)]
    provenance["source_ages"] = [*provenance.get("source_ages", []), *rows]
    provenance["vantage"] = evidence.get("vantage")
    provenance["residency_sources"] = f"{len(rows)} residency data source(s), listed with the catalog"


def _model_resolver(policy_path: Path) -> Any:
    """The model-file rule of ``local serve`` (adapters/inference/store.py ``locate_model``)."""
    from mistral_sov.adapters.inference.store import ModelStore, locate_model

    store = ModelStore()
    return lambda model: locate_model(model, policy_path, store)


def _bundle_expected(loaded: Any, bundle: Path) -> Any:
    """A fresh export with the formats and languages recorded in the bundle's manifest."""
    import json

    from mistral_sov import __version__
    from mistral_sov.adapters.catalogfile import load_catalog
    from mistral_sov.adapters.exporters import EXPORTERS, get_documenter, get_exporter
    from mistral_sov.ports import ExportOptions
    from mistral_sov.services.export import render_bundle

    formats: list[str] = list(EXPORTERS)
    languages: tuple[str, ...] = ExportOptions().languages
    try:
        manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
        if isinstance(manifest, dict):
            recorded = [f for f in manifest.get("formats", []) if f in EXPORTERS]
            formats = recorded or formats
            langs = manifest.get("languages")
            if isinstance(langs, list) and langs and all(isinstance(x, str) for x in langs):
                languages = tuple(langs)
    except (OSError, ValueError):
        pass  # no readable manifest: compare with a default export; the manifest itself drifts

    def expected() -> Any:
        options = ExportOptions(languages=languages, tool_version=__version__)
        exporters = [get_exporter(f) for f in formats]
        return render_bundle(
            loaded.policy, load_catalog(), exporters, options, loaded.sha256, documenter=get_documenter()
        )

    return expected


def _display(path: Path) -> str:
    """``path`` relative to the working directory when inside it (for SARIF and annotations)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, RuntimeError, OSError):  # outside the working directory, a symlink loop
        return str(path)


def build_units(
    policy_path: Path, bundle: Path | None, residency_options: VerifyOptions, provenance: dict[str, Any] | None = None
) -> tuple[list[Unit], Any]:
    """The gate's units; ``provenance`` (when given) is filled with the policy hash, zones and
    data sources the checks rest on (see ``gate_provenance``)."""
    from mistral_sov.adapters import policyfile
    from mistral_sov.adapters.catalogfile import load_catalog
    from mistral_sov.services import gate

    catalog = load_catalog()
    state: dict[str, Any] = {"loaded": None}
    display = _display(policy_path)
    data = policyfile.read_policy_bytes(policy_path)  # a missing file is bad input: exit 2

    def load() -> Any:
        state["loaded"] = policyfile.parse_policy(data, display, catalog)
        return state["loaded"]

    policy_check = gate.run_unit(gate.Unit("policy", lambda: gate.policy_check(load)), "")
    loaded = state["loaded"]
    if provenance is not None:
        provenance.update(gate_provenance(data, loaded, catalog, _now()))
    not_loaded = "the policy did not load (see the policy check)"
    units: list[gate.Unit] = [gate.Unit("policy", lambda: policy_check)]

    if bundle is None:
        units.append(gate.Unit("drift", None, "no bundle directory given (--bundle DIR)"))
        units.append(gate.Unit("admx-lint", None, "no bundle directory given (--bundle DIR)"))
    else:
        from mistral_sov.adapters.bundle import check_bundle

        label = _display(bundle)
        if loaded is None:
            units.append(gate.Unit("drift", None, not_loaded))
        else:
            expected = _bundle_expected(loaded, bundle)
            units.append(
                gate.Unit(
                    "drift",
                    lambda: gate.drift_check(label, expected, lambda artifacts: check_bundle(bundle, artifacts)),
                )
            )

        def admx() -> Check:
            from mistral_sov.adapters.admx.lint import lint_admx

            files = sorted(bundle.rglob("*.admx")) if bundle.is_dir() else []
            by_label = {_display(f): f for f in files}
            return gate.admx_check(list(by_label), lambda label_: lint_admx(by_label[label_]))

        units.append(gate.Unit("admx-lint", admx))

    units.append(_residency_unit(loaded, residency_options, provenance))

    if loaded is None:
        units.append(gate.Unit("local-models", None, not_loaded))
        units.append(gate.Unit("catalog-conflicts", None, not_loaded))
    else:
        from mistral_sov.adapters.inference.store import sha256_file
        from mistral_sov.services.local import verify_models

        resolve = _model_resolver(policy_path)

        def models() -> Check:
            return gate.local_models_check(
                loaded.policy, loaded.where, lambda p: verify_models(p, resolve, sha256_file)
            )

        units.append(gate.Unit("local-models", models))
        units.append(
            gate.Unit("catalog-conflicts", lambda: gate.catalog_conflicts_check(loaded.policy, catalog, loaded.where))
        )
    return units, loaded


def _write(path: Path, data: bytes) -> None:
    import sys

    from mistral_sov.adapters.fileio import atomic_write_bytes

    if str(path) == "-":
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is not None:
            sys.stdout.flush()
            buffer.write(data)
            buffer.flush()
        else:
            sys.stdout.write(data.decode("utf-8", errors="replace"))
        sys.stdout.flush()
        return
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        from mistral_sov.errors import InputError, Location

        raise InputError(
            f"cannot write report '{path}': {exc.strerror or exc}",
            location=Location(str(path)),
            hint="check the directory exists and is writable",
        ) from None


def github_outputs(report: Report, fail_on: str, environ: Any) -> None:
    """Annotations on stdout and the Markdown step summary, when running on GitHub Actions."""
    import sys

    from mistral_sov.reports import render

    if environ.get("GITHUB_ACTIONS") != "true":
        return
    sys.stdout.write(render(report, "github", fail_on=fail_on).decode("utf-8"))
    sys.stdout.flush()
    summary = environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        body = render(report, "markdown", max_bytes=STEP_SUMMARY_LIMIT - 1024)
        try:
            with Path(summary).open("ab") as handle:
                handle.write(body + b"\n")
        except OSError as exc:
            sys.stderr.write(f"warning: cannot append to $GITHUB_STEP_SUMMARY ({summary}): {exc}\n")


@app.callback()
def gate_command(  # noqa: PLR0917
    ctx: typer.Context,
    policy: PolicyOption = DEFAULT_POLICY,
    bundle: Annotated[
        Path | None, typer.Option("--bundle", help="Exported bundle directory to check for drift and lint.")
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option("--only", metavar="CHECKS", help="Run only these checks (comma-separated or repeated)."),
    ] = None,
    skip: Annotated[list[str] | None, typer.Option("--skip", metavar="CHECKS", help="Skip these checks.")] = None,
    fail_on_choice: Annotated[
        FailOn,
        typer.Option("--fail-on", case_sensitive=False, help="Fail on 'violation' (default) or also on 'warning'."),
    ] = FailOn.violation,
    soft_fail: Annotated[bool, typer.Option("--soft-fail", help="Report, but always exit 0.")] = False,
    report_specs: Annotated[
        list[str] | None,
        typer.Option(
            "--report",
            metavar="FORMAT:PATH",
            help="Write a report: FORMAT:PATH (json, junit, sarif, markdown, html, "
            "console, github); repeatable; PATH '-' is stdout.",
        ),
    ] = None,
    sign_key: Annotated[
        Path | None, typer.Option("--sign-key", help="Sign JSON reports as evidence (Ed25519 PEM).")
    ] = None,
    timestamp_url: Annotated[
        str | None, typer.Option("--timestamp-url", help="RFC 3161 TSA that time-stamps signed JSON reports.")
    ] = None,
    history: Annotated[
        Path | None, typer.Option("--history", help="Record verdicts and route fingerprints in this SQLite file.")
    ] = None,
    endpoint: Annotated[
        list[str] | None,
        typer.Option("--endpoint", metavar="NAME", help="Residency: only these endpoints (repeatable)."),
    ] = None,
    method_choice: Annotated[
        ProbeMethod | None,
        typer.Option("--method", case_sensitive=False, help="Residency: probe type (default tcp)."),
    ] = None,
    port: Annotated[int | None, typer.Option("--port", min=1, max=65535, help="Residency: destination port.")] = None,
    probes: Annotated[int | None, typer.Option("--probes", min=1, max=16, help="Residency: probes per hop.")] = None,
    max_hops: Annotated[int | None, typer.Option("--max-hops", min=1, max=64, help="Residency: highest TTL.")] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", min=0.05, max=60, help="Residency: seconds to wait per trace.")
    ] = None,
    geoip_db: Annotated[
        list[Path] | None, typer.Option("--geoip-db", metavar="FILE", help="Residency: .mmdb database (repeatable).")
    ] = None,
    geofeed: Annotated[
        list[Path] | None, typer.Option("--geofeed", metavar="FILE", help="Residency: RFC 8805 geofeed (repeatable).")
    ] = None,
    ranges_dir: Annotated[
        Path | None, typer.Option("--ranges-dir", help="Residency: cloud range data directory.")
    ] = None,
    vantage: Annotated[
        str | None, typer.Option("--vantage", metavar="CITY|LAT,LON", help="Residency: where probes leave from.")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No console tables; reports and exit code only.")
    ] = False,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Run every gate check and exit 0 (compliant), 1 (failed), 2 (bad input) or 3 (inconclusive)."""
    if ctx.invoked_subcommand is not None:
        return
    import os
    from datetime import datetime, timezone

    from mistral_sov import __version__, reports
    from mistral_sov.services import gate

    fail_on = fail_on_choice.value
    method = method_choice.value if method_choice is not None else None
    only_list = gate.parse_check_list(only, "--only")
    skip_list = gate.parse_check_list(skip, "--skip")
    specs = [reports.parse_report_spec(s) for s in report_specs or []]
    if sign_key is not None:
        from mistral_sov.adapters.evidence import load_private_key

        load_private_key(sign_key)  # a bad key fails before any check runs
    from mistral_sov.services.verify import VerifyOptions

    residency_options = VerifyOptions(
        method=method or "tcp",
        method_demanded=method is not None,
        port=port,
        probes=probes or 3,
        max_hops=max_hops or 30,
        timeout=timeout or 2.0,
        endpoints=tuple(endpoint or ()),
        geoip_dbs=tuple(geoip_db or ()),
        geofeeds=tuple(geofeed or ()),
        ranges_dir=ranges_dir,
        vantage=vantage,
    )
    provenance: dict[str, Any] = {}
    units, _loaded = build_units(policy, bundle, residency_options, provenance)
    from mistral_sov.adapters.evidence_time import choose_url

    policy_tsa = _loaded.policy.evidence.tsa if _loaded is not None else None
    tsa = choose_url(timestamp_url, policy_tsa, sign_key is not None)  # checked before the residency probes
    report = gate.run_gate(
        units,
        only=only_list,
        skip=skip_list,
        tool_version=__version__,
        generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        policy_file=_display(policy),
        metadata={"fail_on": fail_on, "soft_fail": soft_fail, "bundle": str(bundle) if bundle else None},
    )
    report.metadata["evidence"] = provenance  # filled while the units ran (residency sources)
    for fmt, path in specs:
        data = reports.render(report, fmt, fail_on=fail_on, base_dir=Path.cwd())
        if fmt == "json" and sign_key is not None:
            from mistral_sov.adapters.evidence_time import sign_report

            data = sign_report(data, sign_key, tsa)
        _write(path, data)
    if history is not None:
        from mistral_sov.adapters.history import record

        record(history, report, gate.route_fingerprint)
    if output is not OutputFormat.table:  # -o json|yaml: the JSON report on stdout
        import json

        from mistral_sov.cli.common import print_document

        print_document(json.loads(reports.render(report, "json")), output.value)
    elif not quiet and not any(str(p) == "-" for _, p in specs):
        from mistral_sov.cli._ui import console
        from mistral_sov.reports.console import print_report

        print_report(report, console())
    github_outputs(report, fail_on, os.environ)
    status = report.exit_status(fail_on)
    if tsa is not None:
        from mistral_sov.adapters.evidence_time import settle

        status = type(status)(settle(int(status)))  # a TSA failure makes a pass exit 3
    if soft_fail and int(status):
        import sys

        sys.stderr.write(f"--soft-fail: the gate verdict is {report.verdict.value} (exit {int(status)}), exiting 0\n")
        raise typer.Exit(0)
    raise typer.Exit(int(status))


@app.command("history")
def history_command(
    history: Annotated[Path, typer.Option("--history", help="The SQLite file written by `gate --history`.")] = Path(
        "mistral-sov-history.sqlite"
    ),
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", metavar="NAME", help="Only this endpoint (or check).")
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("-o", "--output", help="Output format.", case_sensitive=False)
    ] = OutputFormat.table,
    all_runs: Annotated[bool, typer.Option("--all", help="Show every run, not only changes.")] = False,
) -> None:
    """Show when an endpoint's route or verdict changed between recorded gate runs."""
    from mistral_sov.adapters.history import changes
    from mistral_sov.cli._ui import echo, emit

    rows = changes(history, endpoint, include_unchanged=all_runs)
    data = [c.to_dict() for c in rows]
    if output is OutputFormat.table and not data:
        echo(f"no recorded runs{' for ' + endpoint if endpoint else ''} in {history}")
        return
    emit(
        data,
        output,
        columns=[
            ("run", "Run"),
            ("at", "At"),
            ("endpoint", "Endpoint"),
            ("change", "Change"),
            ("previous_verdict", "Was"),
            ("verdict", "Now"),
            ("route", "Route"),
            ("hops", "Hops"),
        ],
        title=f"{history}: route and verdict changes",
    )
