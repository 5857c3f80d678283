"""``verify-residency --from-fleet FILE…``: wires the fleet readers (``adapters.fleet``), the
attribution providers and the fleet judge (``services.fleet``). Streaming end to end; with
``workers > 1`` devices are judged in worker processes, a bounded number of chunks in flight.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mistral_sov.adapters.policyfile import LoadedPolicy
    from mistral_sov.core.findings import Report
    from mistral_sov.core.physics import VantagePoint
    from mistral_sov.services.fleet import DeviceJudge, DeviceOutcome, FleetItem, FleetOptions
    from mistral_sov.services.verify import VerifyOptions

CHUNK = 1000
PARALLEL_FROM_BYTES = 8 * 1024 * 1024
MAX_WORKERS = 4


def load_site_map(path: Path) -> dict[str, VantagePoint]:
    """``SITE,VANTAGE`` per line (CSV, '#' comments): SITE is an AD site name, a default
    gateway or a public egress address as the collector reports them; VANTAGE a known city or
    ``LAT,LON`` (quote it: ``"50.11,8.68"``). Errors name file:line."""
    import csv

    from mistral_sov.core.physics import parse_vantage
    from mistral_sov.errors import InputError, Location

    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read the site map '{path}': {exc}",
            location=Location(str(path)),
            hint='a UTF-8 CSV file: SITE,CITY or SITE,"LAT,LON"',
        ) from None
    out: dict[str, VantagePoint] = {}
    for lineno, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
            continue
        if lineno == 1 and row[0].strip().lower() == "site":
            continue
        if len(row) < 2 or not row[1].strip():
            raise InputError(
                "a site map line needs SITE,VANTAGE",
                location=Location(str(path), lineno, 1),
                hint='e.g. Frankfurt-HQ,Frankfurt or Lyon-Office,"45.76,4.84"',
            )
        try:
            out[row[0].strip().lower()] = parse_vantage(row[1])
        except InputError as exc:
            raise InputError(
                exc.message, location=Location(str(path), lineno, len(row[0]) + 2), hint=exc.hint
            ) from None
    return out


def _site_vantage(table: dict[str, VantagePoint]) -> Callable[[dict[str, str]], VantagePoint | None]:
    def lookup(site: dict[str, str]) -> VantagePoint | None:
        for key in ("ad", "eg", "gw"):
            value = site.get(key)
            if value and value.lower() in table:
                return table[value.lower()]
        return None

    return lookup


def _flag_chain(chain: list[str]) -> list[str]:
    from mistral_sov.adapters.probes.resolver import match_front_doors

    flags: list[str] = []
    for m in match_front_doors(chain):
        flag = f"{m.kind}:{m.provider}"
        if flag not in flags:
            flags.append(flag)
    return flags


# --------------------------------------------------------------------------- workers

_WORKER: DeviceJudge | None = None


def _init_worker(setup: dict[str, Any]) -> None:
    global _WORKER
    _WORKER = _make_judge(setup)


def _judge_chunk(items: list[FleetItem]) -> list[DeviceOutcome]:
    assert _WORKER is not None
    outcomes = [_WORKER.judge(i) for i in items]
    for out in outcomes:
        for e in out.endpoints:
            e.pack()
    return outcomes


def _make_judge(setup: dict[str, Any]) -> DeviceJudge:
    from mistral_sov.cli.residency_wiring import build_providers
    from mistral_sov.services.fleet import DeviceJudge

    providers = build_providers(setup["geoip_dbs"], setup["geofeeds"], setup["ranges_dir"])
    return DeviceJudge(
        setup["targets"],
        setup["zones"],
        providers,
        site_vantage=_site_vantage(setup["sites"]),
        flag_chain=_flag_chain,
        options=setup["options"],
        physics_action=setup["physics_action"],
    )


def _chunks(items: Iterable[FleetItem], size: int) -> Iterator[list[FleetItem]]:
    chunk: list[FleetItem] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def judge_stream(
    items: Iterable[FleetItem], setup: dict[str, Any], workers: int, on_progress: Callable[[int], None] | None = None
) -> Iterator[DeviceOutcome]:
    """Outcomes in input order; at most ``2 * workers`` chunks in flight (flat memory)."""
    done = 0
    if workers <= 1:
        judge = _make_judge(setup)
        for item in items:
            yield judge.judge(item)
            done += 1
            if on_progress and done % CHUNK == 0:
                on_progress(done)
        return
    import collections
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(setup,)) as pool:
        pending: collections.deque[Any] = collections.deque()
        for chunk in _chunks(items, CHUNK):
            pending.append(pool.submit(_judge_chunk, chunk))
            while len(pending) >= 2 * workers:
                outcomes = pending.popleft().result()
                done += len(outcomes)
                yield from outcomes
                if on_progress:
                    on_progress(done)
        while pending:
            outcomes = pending.popleft().result()
            done += len(outcomes)
            yield from outcomes
            if on_progress:
                on_progress(done)


def judge_fleet(
    loaded: LoadedPolicy | None,
    files: Sequence[Path],
    options: VerifyOptions,
    *,
    sites: Path | None = None,
    workers: int | None = None,
    fleet_options: FleetOptions | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Report:
    """Judge every device result in ``files`` against the policy's endpoints and zones
    (``options``: the data sources and the endpoints to judge, as for any residency run)."""
    from mistral_sov import __version__
    from mistral_sov.adapters.fleet.sources import read_all
    from mistral_sov.cli.residency_wiring import build_providers, now_utc, targets_for
    from mistral_sov.core.findings import Check, Finding, Verdict
    from mistral_sov.errors import InputError
    from mistral_sov.services.fleet import FleetOptions, FleetTally

    if loaded is None or not loaded.policy.endpoints:
        raise InputError(
            "--from-fleet judges the policy's approved endpoints, and the policy lists none",
            hint="pass -p sovereignty.yaml with endpoints:",
        )
    max_age = loaded.policy.evidence.max_data_age.get("fleet", FleetOptions.max_age_days)
    opts = fleet_options or FleetOptions(max_age_days=max_age)
    targets = targets_for(loaded, options.endpoints)
    site_map = load_site_map(sites) if sites is not None else {}
    sources, stream = read_all(list(files))
    providers = build_providers(options.geoip_dbs, options.geofeeds, options.ranges_dir)  # fail early
    setup = {
        "targets": targets,
        "zones": loaded.policy.zones,
        "geoip_dbs": list(options.geoip_dbs),
        "geofeeds": list(options.geofeeds),
        "ranges_dir": options.ranges_dir,
        "sites": site_map,
        "options": opts,
        "physics_action": loaded.policy.evidence.physics,
    }
    if workers is None:  # worker processes pay off from a few thousand devices on
        import os

        big = sum(s.path.stat().st_size for s in sources) > PARALLEL_FROM_BYTES
        workers = min(os.cpu_count() or 1, MAX_WORKERS) if big else 1
    tally = FleetTally(targets, opts.worst)
    for outcome in judge_stream(stream, setup, workers, on_progress):
        tally.add(outcome)
    report = tally.report(
        loaded.policy.zones,
        providers,
        tool_version=__version__,
        generated_at=now_utc(),
        inputs=[s.info() for s in sources],
        policy_file=str(loaded.path),
        policy_sha256=loaded.sha256,
        options=opts,
    )
    problems = [p for s in sources for p in s.problems]
    if problems:
        check = Check(name="fleet input", title="fleet input: files that end or break mid-record")
        for problem in problems:
            check.findings.append(
                Finding("FLEET-OUTPUT", Verdict.INCONCLUSIVE, problem, hint="download the results again")
            )
        report.checks.insert(0, check)
    if not site_map:
        report.metadata["evidence"]["fleet"]["notes"] = [
            "no --fleet-sites map: device vantage points unknown, so no physics bounds were computed"
        ]
    return report
