"""Benchmark: judging fleet results (``verify-residency --from-fleet``) at scale.

Generates N device results in the collector's schema, wrapped as Intune Graph
``deviceRunStates`` pages, from the shared RIPE Atlas hops (../shared/fixtures/ripe-atlas)
and namespace-like office topologies (LAN gateway, ISP edge, transit, destination), with
per-device RTT jitter as tracert prints it (integer ms). Each size runs in its own process and
reports wall time, devices/s and peak RSS (parent + worker processes), for

* ``parse``: merely reading the file and decoding every device's line and paths (baseline);
* ``judge``: the whole ``--from-fleet`` run (attribution, physics from the sites' vantage
  points, verdicts, aggregation), with the default worker processes.

``--unique`` makes every device's path different (its own LAN and CGNAT addresses, a public
ISP edge address out of a /16 and per-device RTTs), so no two observations are alike and the
engine's verdict memo never hits: the cost of judging a path from scratch.

Run:  python tests/benchmarks/fleet.py [--devices 10000 100000] [--endpoints 2] [--unique]
Prints the figures, the judge/parse ratio (wall and CPU) and the CPU time (main + workers),
which does not depend on what else the machine runs; memory is flat when peak RSS does not
grow with the device count. Not collected by pytest; no timed assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SHARED = Path(os.environ.get("MISTRAL_SOV_SHARED", REPO.parent / "shared"))
ATLAS = SHARED / "fixtures" / "ripe-atlas" / "traceroutes.jsonl"

SITES = [
    ("FRA-HQ", "Frankfurt"),
    ("BER-Campus", "Berlin"),
    ("MUC-Klinik", "Munich"),
    ("PAR-Office", "Paris"),
    ("AMS-DC", "Amsterdam"),
    ("VIE-Office", "Vienna"),
    ("MAD-Office", "Madrid"),
    ("WAW-Office", "Warsaw"),
]
ENDPOINTS = [("mistral-eu", "api.mistral.ai", "51.159.105.130"), ("chat-eu", "chat.mistral.ai", "51.159.105.131")]
POLICY = """version: 1
organization: Benchmark Klinikum
zones:
  allowed_countries: [EU]
  transit: strict
  unknown_hops: warn
endpoints:
{endpoints}
blocking:
  catalog: all
  exceptions: [{hosts}]
"""


def atlas_hops() -> list[list[tuple[str, float]]]:
    """Public hop lists (address, min RTT) of the shared Atlas results (IPv4 only)."""
    out = []
    for line in ATLAS.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        hops = []
        for h in rec.get("result", []):
            replies = [r for r in h.get("result", []) if "from" in r and isinstance(r.get("rtt"), (int, float))]
            if replies and ":" not in replies[0]["from"]:
                hops.append((replies[0]["from"], min(r["rtt"] for r in replies)))
        if len(hops) >= 3:
            out.append(hops)
    return out


def site_paths(rng: random.Random) -> dict[str, list[list[tuple[str | None, float]]]]:
    """Per site, a few path variants (ECMP) to each endpoint: LAN, ISP edge, Atlas transit hops."""
    atlas = atlas_hops()
    paths: dict[str, list[list[tuple[str | None, float]]]] = {}
    for s, (site, _city) in enumerate(SITES):
        variants = []
        for v in range(3):
            transit = atlas[(s * 3 + v) % len(atlas)]
            path: list[tuple[str | None, float]] = [(f"10.{s}.0.1", 0.4), (f"100.64.{s}.1", 2.0)]
            path += [("62.155.240.1", 4.0), ("80.156.160.162", 6.0)]  # DE ISP edge
            if v == 2:
                path.append((None, 0.0))  # a silent hop
            path += [(a, 8.0 + rtt / 20) for a, rtt in transit[1:4]]
            variants.append(path)
        paths[site] = variants
    return paths


def unique_path(base: list[tuple[str | None, float]], i: int, rng: random.Random) -> list[tuple[str | None, float]]:
    """The site's path with this device's own LAN, CGNAT and ISP edge addresses and RTTs."""
    a, b, c = (i >> 16) & 255, (i >> 8) & 255, i & 255
    own = [(f"10.{a}.{b}.{c or 1}", 0.4), (f"100.{64 + a % 64}.{b}.{c or 1}", 2.0), (f"62.155.{b}.{c or 1}", 4.0)]
    return own + [(addr, rtt + rng.randrange(40)) for addr, rtt in base[3:]]


def generate(path: Path, devices: int, endpoints: int, seed: int = 7, unique: bool = False) -> None:
    """A Graph deviceRunStates file (several pages concatenated as JSON Lines of pages would
    be unusual: one page object, as ``$top`` large exports come)."""
    sys.path.insert(0, str(REPO))
    from mistral_sov.core.collector import EndpointObservation, Observation, ParsedHop, render_line

    rng = random.Random(seed)
    paths = site_paths(rng)
    with path.open("w", encoding="utf-8") as fh:
        fh.write('{"@odata.context":"https://graph.microsoft.com/beta/$metadata#deviceRunStates","value":[')
        for i in range(devices):
            site, _city = SITES[i % len(SITES)]
            eps = []
            for name, host, dest in ENDPOINTS[:endpoints]:
                base = paths[site][rng.randrange(3)]
                if unique:
                    base = unique_path(base, i, rng)
                hops = []
                for ttl, (addr, rtt) in enumerate([*base, (dest, base[-1][1] + 3)], start=1):
                    if addr is None:
                        hops.append(ParsedHop(ttl, None, [None]))
                    else:
                        hops.append(ParsedHop(ttl, addr, [int(rtt) + rng.randrange(3) for _ in range(3)]))
                eps.append(EndpointObservation(name, host, 443, [], [dest], dest, hops, True, 12 + rng.randrange(9)))
            when = f"2026-12-03T{8 + i % 8:02d}:{i % 60:02d}:00Z"
            obs = Observation(f"PC-{i:06d}", when, {"ad": site, "gw": f"10.{i % len(SITES)}.0.1"}, eps)
            line, _ = render_line(obs)
            state = {
                "id": f"s{i}",
                "detectionState": "success",
                "lastStateUpdateDateTime": when,
                "preRemediationDetectionScriptOutput": line,
                "managedDevice": {"id": f"{i:032x}", "deviceName": f"PC-{i:06d}"},
            }
            if i:
                fh.write(",")
            fh.write(json.dumps(state))
        fh.write("]}")


CHILD = r"""
import json, os, resource, sys, time, datetime as dt
from pathlib import Path
args = json.loads(sys.argv[1])
from mistral_sov.adapters.fleet.sources import FleetSource
from mistral_sov.core.collector import decode_line, endpoint_path
t0 = time.perf_counter()
n = 0
if args["mode"] == "parse":
    src = FleetSource(Path(args["file"]))
    for item in src.items():
        doc = decode_line(item.output)
        for i, ep in enumerate(doc.endpoints):
            endpoint_path(ep, i, doc.steps)
        n += 1
else:
    from mistral_sov.adapters.policyfile import load_policy
    from mistral_sov.adapters.catalogfile import load_catalog
    from mistral_sov.cli.verify_fleet import judge_fleet
    from mistral_sov.services.fleet import FleetOptions
    from mistral_sov.services.verify import VerifyOptions
    loaded = load_policy(Path(args["policy"]), load_catalog())
    now = dt.datetime(2026, 12, 3, 18, 0, tzinfo=dt.timezone.utc)
    report = judge_fleet(loaded, [Path(args["file"])], VerifyOptions(ranges_dir=Path(args["ranges"])),
                         sites=Path(args["sites"]), fleet_options=FleetOptions(now=now))
    fleet = report.metadata["evidence"]["fleet"]
    n = fleet["devices"]
    args["summary"] = {k: v["summary"] for k, v in fleet["endpoints"].items()}
    args["verdict"] = report.verdict.value
dt_s = time.perf_counter() - t0
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
print(json.dumps({"devices": n, "seconds": dt_s, "self_mb": me.ru_maxrss / 1024, "worker_mb": kids.ru_maxrss / 1024,
                  "cpu_s": cpu, "load": os.getloadavg()[0],
                  "summary": args.get("summary"), "verdict": args.get("verdict")}))
"""


def run(mode: str, file: Path, tmp: Path) -> dict:
    args = {"mode": mode, "file": str(file), "policy": str(tmp / "policy.yaml"), "sites": str(tmp / "sites.csv")}
    args["ranges"] = str(tmp / "ranges")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(args)], capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--endpoints", type=int, default=2, choices=[1, 2])
    ap.add_argument("--unique", action="store_true", help="every device's path different (no memo hits)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        eps = ENDPOINTS[: a.endpoints]
        rows = "\n".join(f"  - name: {n}\n    url: https://{h}" for n, h, _ in eps)
        (tmp / "policy.yaml").write_text(
            POLICY.format(endpoints=rows, hosts=", ".join(h for _, h, _ in eps)), encoding="utf-8"
        )
        (tmp / "sites.csv").write_text("".join(f"{s},{c}\n" for s, c in SITES), encoding="utf-8")
        print(f"cpus: {os.cpu_count()}  endpoints per device: {a.endpoints}  unique paths: {a.unique}")
        for n in a.devices:
            file = tmp / f"fleet-{n}.json"
            t0 = time.perf_counter()
            generate(file, n, a.endpoints, unique=a.unique)
            gen = time.perf_counter() - t0
            size = file.stat().st_size / 1e6
            parse = run("parse", file, tmp)
            judge = run("judge", file, tmp)
            print(
                f"{n:>7} devices ({size:,.0f} MB Graph JSON, generated in {gen:.1f} s)\n"
                f"  read+parse : {parse['seconds']:6.1f} s  {n / parse['seconds']:9,.0f} devices/s  "
                f"peak {parse['self_mb']:.0f} MB\n"
                f"  judge      : {judge['seconds']:6.1f} s  {n / judge['seconds']:9,.0f} devices/s  "
                f"peak {judge['self_mb']:.0f} MB main + {judge['worker_mb']:.0f} MB largest worker\n"
                f"  ratio judge/parse: {judge['seconds'] / parse['seconds']:.1f}x wall, "
                f"{judge['cpu_s'] / parse['cpu_s']:.1f}x CPU   verdict {judge['verdict']}; {judge['summary']}\n"
                f"  CPU time: parse {parse['cpu_s']:.1f} s, judge {judge['cpu_s']:.1f} s (main + workers) = "
                f"{n / judge['cpu_s']:,.0f} devices per CPU-second; load average during the run "
                f"{judge['load']:.1f} on {os.cpu_count()} cores (other work shares the machine)"
            )
            file.unlink()


if __name__ == "__main__":
    main()
