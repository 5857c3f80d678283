"""RIPE Atlas judging benchmark: 10,000 results generated from the 19 shared ones (probe ids
and timestamps varied), judged by the residency engine with the real providers (iptocc, the
shared cloud range files, the operator table) and a probes file placing every probe.

Baseline in the same process: merely reading them (JSON Lines parsed into trace records).
Prints seconds and the ratio judge/read. Usage: python tests/benchmarks/atlas_judge.py [N]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
N = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000


def generate(src: Path, out: Path, probes_out: Path, n: int) -> None:
    base = [json.loads(line) for line in src.read_text(encoding="utf-8").splitlines() if line.strip()]
    probes = []
    with out.open("w", encoding="utf-8") as fh:
        for i in range(n):
            rec = dict(base[i % len(base)])
            rec["prb_id"] = 100_000 + i % 500  # 500 distinct probes
            rec["timestamp"] = int(rec.get("timestamp") or 1_400_000_000) + i
            fh.write(json.dumps(rec) + "\n")
    for p in range(500):
        lon, lat = -10 + (p % 40), 36 + (p % 30)  # spread over Europe
        probes.append(
            {"id": 100_000 + p, "country_code": "DE", "geometry": {"type": "Point", "coordinates": [lon, lat]}}
        )
    probes_out.write_text(json.dumps({"count": len(probes), "results": probes}), encoding="utf-8")


def main() -> None:
    from sharedpaths import SHARED

    from mistral_sov.adapters import atlas
    from mistral_sov.adapters.geo import ranges
    from mistral_sov.adapters.geo.countries import IptoccProvider
    from mistral_sov.adapters.geo.operators import OperatorTable
    from mistral_sov.core.policy import Zones
    from mistral_sov.services.verify import Providers, RunContext, Target, judge_measurements

    base = SHARED / "fixtures" / "cloud-ranges"
    names = ["microsoft-azure-ip-ranges.json", "aws-ip-ranges.json", "google-cloud-ip-ranges.json"]
    index = ranges.RangeIndex([ranges.parse((base / f).read_bytes(), f) for f in names])
    providers = Providers(geo=[IptoccProvider()], ranges=index, operators=OperatorTable.load())
    with tempfile.TemporaryDirectory() as tmp:
        results, probes_file = Path(tmp) / "results.jsonl", Path(tmp) / "probes.json"
        generate(SHARED / "fixtures" / "ripe-atlas" / "traceroutes.jsonl", results, probes_file, N)
        targets = [
            Target(h, f"https://{h}", h, 443, in_policy=True)
            for h in ("121.244.76.25", "220.226.205.30", "2001:6b0:e:3::1", "2a00:1450:4013:c01::5e")
        ]
        zones = Zones(operator_jurisdictions={"US": "warn"})
        ctx = RunContext(zones, providers, "bench", "2026-12-03T00:00:00+00:00")

        # warm-up (iptocc tables, caches) on a small slice, then measure
        list(atlas.records(results, atlas.load_probes(probes_file)))[:10]
        start = time.perf_counter()
        count = sum(1 for _ in atlas.records(results, atlas.load_probes(probes_file)))
        read_s = time.perf_counter() - start
        start = time.perf_counter()
        report = judge_measurements(
            atlas.records(results, atlas.load_probes(probes_file)), targets, ctx, keep_raw=False
        )
        judge_s = time.perf_counter() - start
    m = report.metadata["evidence"]["measurements"]
    print(f"results: {count} ({m['vantage_points']} probes, {m['out_of_policy']} out of policy)")
    print(f"read (parse into trace records): {read_s:.2f} s")
    print(f"judge (read + attribute + physics + verdicts): {judge_s:.2f} s  = {judge_s / read_s:.1f}x reading")
    print(f"per result: {judge_s / count * 1000:.2f} ms; verdict {report.verdict.value}; {m['summary']}")


if __name__ == "__main__":
    main()
