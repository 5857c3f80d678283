"""Benchmark: tracing 1 vs 20 endpoints with our tracer, and the same path with Debian's
``traceroute -T`` and ``mtr --report`` in the same run, through a real namespace topology.

Run as root:  python tests/benchmarks/trace.py [--routers 3] [--rounds 3]
Prints wall times and ratios against our 1-endpoint trace (target: 20 endpoints < 2x one).
Not collected by pytest; no timed assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests/ for netns_topo
REPO = HERE.parents[1]

import netns_topo  # noqa: E402

CHILD = r"""
import json, shutil, subprocess, sys, time
from mistral_sov.adapters.probes import tracers
from mistral_sov.adapters.probes.tracer_scapy import ScapyTracer
from mistral_sov.adapters.probes.tracer_linux import LinuxTracer
args = json.loads(sys.argv[1])
targets, rounds, hops = args["targets"], args["rounds"], args["hops"]
out = {"ours_1": [], "ours_20": [], "linux_1": [], "linux_20": [], "traceroute_T": [], "mtr_report": []}
raw, lin = ScapyTracer(), LinuxTracer()
kw = dict(probes=3, max_hops=hops + 3, timeout=2.0)
def timed(fn):
    t0 = time.perf_counter(); r = fn(); return time.perf_counter() - t0, r
for _ in range(rounds):
    dt, r = timed(lambda: tracers.trace_many(raw, targets[:1], method="tcp", port=443, **kw))
    assert all(x.reached for x in r); out["ours_1"].append(dt)
    dt, r = timed(lambda: tracers.trace_many(raw, targets, method="tcp", port=443, **kw))
    assert all(x.reached for x in r), [x.target for x in r if not x.reached]; out["ours_20"].append(dt)
    if args.get("only_raw"):
        continue
    dt, r = timed(lambda: tracers.trace_many(lin, targets[:1], method="udp", port=33434, **kw))
    assert all(x.reached for x in r); out["linux_1"].append(dt)
    dt, r = timed(lambda: tracers.trace_many(lin, targets, method="udp", port=33434, **kw))
    assert all(x.reached for x in r); out["linux_20"].append(dt)
    if shutil.which("traceroute"):
        dt, p = timed(lambda: subprocess.run(["traceroute", "-T", "-p", "443", "-n", "-q", "3", "-w", "2",
                                              "-m", str(hops + 3), targets[0]], capture_output=True, text=True))
        assert targets[0] in p.stdout, p.stdout + p.stderr; out["traceroute_T"].append(dt)
    if shutil.which("mtr"):
        dt, p = timed(lambda: subprocess.run(["mtr", "--report", "--report-cycles", "3", "-n", "--tcp",
                                              "--port", "443", targets[0]], capture_output=True, text=True))
        assert targets[0] in p.stdout, p.stdout + p.stderr; out["mtr_report"].append(dt)
print(json.dumps(out))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--routers", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ns = ap.parse_args()
    ok, why = netns_topo.available()
    if not ok:
        print(f"skipped: {why}")
        return 0
    data = _run(netns_topo.TopoSpec(routers=ns.routers, servers=20), ns.rounds, ns.routers, only_raw=False)
    if data is None:
        return 1
    # Timeout-bound case (as on the Internet, where some hop is always silent): the last router
    # never answers, so every trace waits its full 2 s timeout.
    silent = _run(
        netns_topo.TopoSpec(routers=ns.routers, servers=20, silent_routers={ns.routers}), 1, ns.routers, only_raw=True
    )
    if silent is None:
        return 1
    _report(data, ns.rounds, ns.routers, "all hops answer: traces end as soon as every probe is answered")
    print()
    _report(silent, 1, ns.routers, f"router {ns.routers} silent: every trace waits its 2 s timeout")
    print()
    return _verify_cli(ns.routers, ns.rounds)


def _verify_cli(routers: int, rounds: int) -> int:
    """The whole command (resolve, trace, attribute, judge, report) for 1 and 20 endpoints."""
    import tempfile
    import time

    from residency_helpers import write_city_mmdb

    with (
        netns_topo.build(netns_topo.TopoSpec(routers=routers, servers=20)) as topo,
        tempfile.TemporaryDirectory() as tmp,
    ):
        db = write_city_mmdb(
            Path(tmp) / "city.mmdb", {"198.51.100.0/24": ("DE", 50.11, 8.68), "203.0.113.0/24": ("DE", 50.11, 8.68)}
        )
        targets = topo.server_addrs(4)[:20]
        base = [
            sys.executable,
            "-m",
            "mistral_sov",
            "verify-residency",
            "--geoip-db",
            str(db),
            "--ranges-dir",
            str(Path(tmp) / "ranges"),
            "--timeout",
            "2",
            "-o",
            "json",
        ]
        times: dict[int, list[float]] = {1: [], 20: []}
        for _ in range(rounds):
            for n in (1, 20):
                start = time.perf_counter()
                proc = topo.run_in_client([*base, *targets[:n]], cwd=tmp, timeout=300)
                times[n].append(time.perf_counter() - start)
                if proc.returncode != 0:
                    print(proc.stdout[-2000:], proc.stderr[-2000:])
                    return 1
        one, twenty = statistics.median(times[1]), statistics.median(times[20])
    print("verify-residency end to end (process start, resolve, raw TCP trace, attribution, verdict, JSON)")
    print(f"{'1 endpoint':<34}{one:>10.3f}{1.0:>12.2f}")
    print(f"{'20 endpoints':<34}{twenty:>10.3f}{twenty / one:>12.2f}")
    print(f"20 endpoints / 1 endpoint (verify-residency): {twenty / one:.2f}x (target < 2x)")
    return 0


def _run(spec: netns_topo.TopoSpec, rounds: int, routers: int, *, only_raw: bool) -> dict[str, list[float]] | None:
    with netns_topo.build(spec) as topo:
        targets = topo.server_addrs(4)[:10] + topo.server_addrs(6)[:10]
        env = dict(os.environ, PYTHONPATH=str(REPO))
        args = json.dumps({"targets": targets, "rounds": rounds, "hops": routers + 1, "only_raw": only_raw})
        proc = topo.run_in_client([sys.executable, "-c", CHILD, args], env=env, cwd="/", timeout=600)
        if proc.returncode != 0:
            print(proc.stderr)
            return None
        return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _report(data: dict[str, list[float]], rounds: int, routers: int, title: str) -> None:
    med = {k: statistics.median(v) for k, v in data.items() if v}
    base = med["ours_1"]
    print(
        f"{title}\ntopology: client -> {routers} routers -> server; 3 probes/hop, timeout 2 s, {rounds} round(s), median"
    )
    print(f"{'run':<34}{'seconds':>10}{'x ours(1)':>12}")
    labels = {
        "ours_1": "ours raw TCP, 1 endpoint",
        "ours_20": "ours raw TCP, 20 endpoints (v4+v6)",
        "linux_1": "ours unprivileged UDP, 1 endpoint",
        "linux_20": "ours unprivileged UDP, 20 endpts",
        "traceroute_T": "traceroute -T, 1 endpoint",
        "mtr_report": "mtr --report -c3 --tcp, 1 endpt",
    }
    for key, label in labels.items():
        if key in med:
            print(f"{label:<34}{med[key]:>10.3f}{med[key] / base:>12.2f}")
    print(f"20 endpoints / 1 endpoint (raw): {med['ours_20'] / base:.2f}x (target < 2x)")


if __name__ == "__main__":
    raise SystemExit(main())
