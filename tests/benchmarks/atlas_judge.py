"""RIPE Atlas judging benchmark: 10,000 results generated from the 19 shared ones (probe ids
and timestamps varied), judged by the residency engine with the real providers (iptocc, the
shared cloud range files, the operator table) and a probes file placing every probe.

Baseline in the same process: merely reading them (JSON Lines parsed into trace records).
Prints the best of three alternating rounds (wall and CPU seconds, caches cold in every judge
round) and the ratio judge/read. Usage: python tests/benchmarks/atlas_judge.py [N]
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
N = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
ROUNDS = 3


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

    try:
        from mistral_sov.core import memo
    except ImportError:  # a checkout from before the engine caches (to compare)

        class memo:  # type: ignore[no-redef]
            @staticmethod
            def clear() -> None:
                pass

    def fresh(p: Providers) -> dict:
        """The providers' fields with empty per-run memo dicts."""
        out = {f.name: getattr(p, f.name) for f in dataclasses.fields(p)}
        return {k: (type(v)() if isinstance(v, dict) else v) for k, v in out.items()}

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

        # warm-up (iptocc tables) on a small slice, then alternate read and judge rounds and keep
        # the best of each (a shared machine: CPU time is less disturbed than wall time)
        list(atlas.records(results, atlas.load_probes(probes_file)))[:10]
        read_s, judge_s, read_cpu, judge_cpu = [], [], [], []
        for _ in range(ROUNDS):
            start, cpu = time.perf_counter(), time.process_time()
            count = sum(1 for _ in atlas.records(results, atlas.load_probes(probes_file)))
            read_s.append(time.perf_counter() - start)
            read_cpu.append(time.process_time() - cpu)
            memo.clear()  # every round starts cold: no cache carried over from the last one
            ctx = RunContext(zones, Providers(**fresh(providers)), "bench", "2026-12-03T00:00:00+00:00")
            start, cpu = time.perf_counter(), time.process_time()
            report = judge_measurements(
                atlas.records(results, atlas.load_probes(probes_file)), targets, ctx, keep_raw=False
            )
            judge_s.append(time.perf_counter() - start)
            judge_cpu.append(time.process_time() - cpu)
    m = report.metadata["evidence"]["measurements"]
    print(f"results: {count} ({m['vantage_points']} probes, {m['out_of_policy']} out of policy)")
    r, j, rc, jc = min(read_s), min(judge_s), min(read_cpu), min(judge_cpu)
    print(f"best of {ROUNDS} rounds; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"read (parse into trace records): {r:.2f} s wall, {rc:.2f} CPU-s")
    print(
        f"judge (read + attribute + physics + verdicts): {j:.2f} s wall, {jc:.2f} CPU-s  = {j / r:.1f}x reading "
        f"(wall), {jc / rc:.1f}x (CPU)"
    )
    print(
        f"per result: {jc / count * 1000:.2f} ms CPU; {count / jc:,.0f} results per CPU-second; "
        f"verdict {report.verdict.value}; {m['summary']}"
    )


if __name__ == "__main__":
    main()
