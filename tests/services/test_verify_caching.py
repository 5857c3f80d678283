"""The engine's caches change speed, never verdicts: the shared RIPE Atlas results (and fleet
devices built from their hops) are judged with every cache off, then on (cold and warm), and
the whole reports must be identical — verdicts, findings, hop rows, claims, physics."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fleet_samples import EU_PATH, US_PATH, line
from sharedpaths import shared_path

from mistral_sov.adapters import atlas
from mistral_sov.adapters.geo import ranges
from mistral_sov.adapters.geo.countries import IptoccProvider
from mistral_sov.adapters.geo.operators import OperatorTable
from mistral_sov.core import memo
from mistral_sov.core.physics import parse_vantage
from mistral_sov.core.policy import Zones
from mistral_sov.reports import json as json_report
from mistral_sov.services.fleet import DeviceJudge, FleetItem, FleetOptions
from mistral_sov.services.verify import Providers, RunContext, Target, judge_measurements

ATLAS = shared_path("fixtures/ripe-atlas/traceroutes.jsonl")
TARGETS = ("121.244.76.25", "220.226.205.30", "2001:6b0:e:3::1", "2a00:1450:4013:c01::5e", "2a02:d28:667::2")


def _providers() -> Providers:
    base = shared_path("fixtures/cloud-ranges")
    files = ["microsoft-azure-ip-ranges.json", "aws-ip-ranges.json", "google-cloud-ip-ranges.json"]
    index = ranges.RangeIndex([ranges.parse((base / f).read_bytes(), f) for f in files])
    return Providers(geo=[IptoccProvider()], ranges=index, operators=OperatorTable.load())


def _probes(tmp_path: Path, lon: float, lat: float) -> atlas.ProbeDirectory:
    ids = {json.loads(x)["prb_id"] for x in ATLAS.read_text(encoding="utf-8").splitlines() if x.strip()}
    doc = {
        "count": len(ids),
        "results": [
            {"id": i, "country_code": "DE", "geometry": {"type": "Point", "coordinates": [lon, lat]}} for i in ids
        ],
    }
    path = tmp_path / f"probes-{lon}-{lat}.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return atlas.load_probes(path)


def _atlas_report(providers: Providers, zones: Zones, probes) -> bytes:
    targets = [Target(h, f"https://{h}", h, 443, in_policy=True) for h in TARGETS]
    ctx = RunContext(zones, providers, "t", "2026-12-03T00:00:00+00:00", "p.yaml", "ab" * 32, "warn")
    # the file twice: the second pass meets every address, distance and RTT again (warm caches)
    records = [*atlas.records(ATLAS, probes), *atlas.records(ATLAS, probes)]
    return json_report.render(judge_measurements(records, targets, ctx, source_file="atlas.jsonl"))


@pytest.mark.parametrize(
    ("zones", "place"),
    [
        (Zones(operator_jurisdictions={"US": "warn"}), None),  # no vantage: physics not evaluated
        (Zones(operator_jurisdictions={"US": "fail"}), (8.68, 50.11)),  # Frankfurt: physics refutes claims
        (Zones(allowed_countries=["EU", "IN"], transit="endpoint"), (-121.99, 37.55)),  # a US probe
    ],
)
def test_atlas_reports_identical_with_caches_on_and_off(tmp_path, zones, place):
    probes = _probes(tmp_path, *place) if place else None
    with memo.caching(False):
        off = _atlas_report(_providers(), zones, probes)
    with memo.caching(True):
        cold = _atlas_report(_providers(), zones, probes)
        warm = _atlas_report(_providers(), zones, probes)  # module-level caches already filled
    assert json.loads(off)["checks"], "the shared results must be judged"
    verdicts = {c["verdict"] for c in json.loads(off)["checks"]}
    assert len(verdicts) > 1, verdicts  # a mix, so a wrong cache would show
    assert off == cold == warm


def _atlas_paths() -> list[list[tuple[str, list[int]]]]:
    out = []
    for text in ATLAS.read_text(encoding="utf-8").splitlines():
        hops = []
        for h in json.loads(text).get("result", []):
            rs = [r for r in h.get("result", []) if "from" in r and isinstance(r.get("rtt"), (int, float))]
            if rs and ":" not in rs[0]["from"]:
                hops.append((rs[0]["from"], [int(r["rtt"]) for r in rs]))
        if len(hops) >= 3:
            out.append(hops)
    return out


def test_fleet_verdicts_identical_with_caches_on_and_off():
    """Devices whose paths are the shared Atlas hops (then the destination), in two sites with
    different vantage points; the fleet's own verdict memo is part of what is switched off."""
    from mistral_sov.cli.residency_wiring import build_providers

    now = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.timezone.utc)
    dest = "51.159.105.130"
    items = []
    paths = [[("10.0.0.1", [0, 1, 0]), *h, (dest, [h[-1][1][0] + 3] * 3)] for h in _atlas_paths()]
    for n, path in enumerate([*paths, EU_PATH, US_PATH] * 3):
        site = {"ad": "FRA" if n % 2 else "SYD"}
        items.append(FleetItem(f"PC-{n}", line(f"PC-{n}", path, site=site), "2026-12-03T10:00:00Z", where=f"row {n}"))
    vantages = {"FRA": parse_vantage("Frankfurt"), "SYD": parse_vantage("-33.87,151.21")}
    targets = [Target("mistral-eu", "https://api.mistral.ai", "api.mistral.ai", 443)]
    zones = Zones(
        allowed_countries=["EU"], transit="strict", unknown_hops="warn", operator_jurisdictions={"US": "warn"}
    )

    def run() -> list[tuple[str, str, str]]:
        providers = build_providers(ranges_dir=shared_path("fixtures/cloud-ranges"))
        judge = DeviceJudge(
            targets,
            zones,
            providers,
            site_vantage=lambda s: vantages.get(s.get("ad", "")),
            options=FleetOptions(now=now),
        )
        return [(o.device, e.verdict.value, e.reason) for o in (judge.judge(i) for i in items) for e in o.endpoints]

    with memo.caching(False):
        off = run()
    with memo.caching(True):
        on = run()
    assert len({v for _d, v, _r in off}) > 1
    assert off == on
