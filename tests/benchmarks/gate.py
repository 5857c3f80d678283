"""Gate benchmark: policies with 1, 20 and 200 endpoints, full gate (policy, drift on a fresh
bundle, admx-lint, local-models, catalog-conflicts, residency) and every report format.

Residency runs against a network-namespace topology (tests/netns_topo.py, root) when the
verify-residency hook ``mistral_sov.cli.verify.gate_residency_checks`` exists; otherwise it is
reported SKIPPED and the timings cover the other checks. Prints times and ratios to the
1-endpoint case. Usage: python tests/benchmarks/gate.py [REPEATS]
"""

from __future__ import annotations

import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
SIZES = (1, 20, 200)


def policy_text(n: int, hosts: list[str]) -> str:
    eps = "\n".join(f"  - name: ep{i}\n    url: https://{hosts[i % len(hosts)]}/v{i}" for i in range(n))
    return (
        "version: 1\norganization: Bench\nzones: {allowed_countries: [EU]}\n"
        f"endpoints:\n{eps}\nblocking: {{catalog: all, exceptions: []}}\n"
    )


def run(cmd: list[str], cwd: Path, prefix: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(prefix + cmd, cwd=cwd, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, proc.returncode


def main() -> None:
    residency = importlib.util.find_spec("mistral_sov.cli.verify") is not None
    prefix: list[str] = []
    hosts = [f"203.0.113.{10 + i}" for i in range(max(SIZES))]
    topo_ctx = None
    if residency:
        sys.path.insert(0, str(REPO / "tests"))
        import netns_topo

        # one distinct server address per endpoint, so 200 endpoints really are 200 traces
        topo_ctx = netns_topo.build(netns_topo.TopoSpec(routers=3, servers=max(SIZES), listener=True))
        topo = topo_ctx.__enter__()
        hosts = topo.server_addrs(4)  # IPv4 addresses of all the servers
        prefix = ["ip", "netns", "exec", topo.client_ns]
    print(f"residency: {'namespace topology, concurrent traces' if residency else 'SKIPPED (no verify hook)'}")
    mistral = [sys.executable, "-m", "mistral_sov"]
    results: dict[int, float] = {}
    try:
        for n in SIZES:
            with tempfile.TemporaryDirectory() as tmp:
                cwd = Path(tmp)
                (cwd / "sovereignty.yaml").write_text(policy_text(n, hosts), encoding="utf-8")
                subprocess.run(
                    [*mistral, "policy", "export", "--out", "bundle"], cwd=cwd, check=True, capture_output=True
                )
                reports = [
                    a
                    for f, ext in (
                        ("json", "json"),
                        ("junit", "xml"),
                        ("sarif", "sarif"),
                        ("markdown", "md"),
                        ("html", "html"),
                    )
                    for a in ("--report", f"{f}:r.{ext}")
                ]
                geo: list[str] = []
                if residency:
                    from residency_helpers import write_city_mmdb

                    # place the topology's documentation-range addresses in Frankfurt, so the
                    # residency verdicts are real (COMPLIANT) rather than INCONCLUSIVE
                    db = write_city_mmdb(
                        cwd / "city.mmdb",
                        {"198.51.100.0/24": ("DE", 50.11, 8.68), "203.0.113.0/24": ("DE", 50.11, 8.68)},
                    )
                    geo = [
                        "--geoip-db",
                        str(db),
                        "--method",
                        "tcp",
                        "--timeout",
                        "2",
                        "--ranges-dir",
                        str(cwd / "ranges"),
                    ]
                cmd = [*mistral, "gate", "-q", "--bundle", "bundle", *reports, *geo]
                times, codes = [], set()
                for _ in range(REPEATS):
                    t, code = run(cmd, cwd, prefix)
                    times.append(t)
                    codes.add(code)
                results[n] = statistics.median(times)
                print(f"{n:>4} endpoints: median {results[n]:.3f} s over {REPEATS} runs (exit codes {sorted(codes)})")
    finally:
        if topo_ctx is not None:
            topo_ctx.__exit__(None, None, None)
    base = results[SIZES[0]]
    for n in SIZES[1:]:
        print(f"ratio {n}/{SIZES[0]} endpoints: {results[n] / base:.2f}x")


if __name__ == "__main__":
    main()
