"""Benchmark: `policy export` rendering and atomic writing.

Run: python tests/benchmarks/export.py
Prints seconds for the full default export (every registered format, the shipped catalog,
rendered and written atomically) and for synthetic catalogs of 1,000 / 10,000 / 100,000
domains (network formats; browser formats only up to 1,000 entries, their limit). Figures are
ratios against the 1,000-domain run in the same process: a time-per-domain ratio near 1.0
means linear growth. Target: the full default export under 1 s.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from mistral_sov import __version__
from mistral_sov.adapters.bundle import write_bundle
from mistral_sov.adapters.catalogfile import load_catalog
from mistral_sov.adapters.exporters import EXPORTERS, get_exporter
from mistral_sov.adapters.policyfile import load_policy
from mistral_sov.core.catalog import Catalog, Service
from mistral_sov.ports import ExportOptions
from mistral_sov.services.export import render_bundle

POLICY = Path(__file__).resolve().parents[1] / "data" / "policy-export.yaml"


def synthetic_catalog(domains: int, per_service: int = 10) -> Catalog:
    services = []
    for s in range(0, domains, per_service):
        names = tuple(f"svc{s // per_service}-d{i}.ai-bench.example" for i in range(min(per_service, domains - s)))
        services.append(
            Service(
                id=f"bench-{s // per_service}",
                name=f"Bench {s // per_service}",
                vendor="Bench",
                country="US",
                categories=("chat",),
                domains=names,
                source="https://example.org",
            )
        )
    return Catalog(version=1, services=tuple(services))


def timed(fn, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def export_once(policy, catalog, names: list[str], out: Path, sha: str) -> int:
    exporters = [get_exporter(n) for n in names]
    artifacts = render_bundle(policy, catalog, exporters, ExportOptions(tool_version=__version__), sha)
    write_bundle(out, artifacts)
    return sum(len(a.data) for a in artifacts)


def main() -> None:
    loaded = load_policy(POLICY, load_catalog())
    policy = loaded.policy
    tmp = Path(tempfile.mkdtemp(prefix="msov-bench-"))
    catalog = load_catalog()
    default_domains = sum(len(s.domains) for s in catalog.services)
    # warm-up: imports of the exporter modules
    export_once(policy, catalog, list(EXPORTERS), tmp / "warm", loaded.sha256)
    full = timed(lambda: export_once(policy, catalog, list(EXPORTERS), tmp / "default", loaded.sha256), 5)
    net_only = timed(lambda: export_once(policy, catalog, ["network"], tmp / "net", loaded.sha256), 5)
    print(f"python {sys.version.split()[0]}; formats registered: {', '.join(EXPORTERS)}")
    print(
        f"default catalog ({default_domains} domains), all formats, render+write: {full:.3f} s "
        f"({'OK' if full < 1 else 'OVER'} the 1 s target); network only: {net_only:.3f} s "
        f"(all formats = {full / net_only:.1f}x network only)"
    )

    bare = policy.model_copy(deep=True)
    bare.blocking.extra_domains = []
    bare.blocking.catalog = "all"
    rows = []
    for n in (1_000, 10_000, 100_000):
        cat = synthetic_catalog(n)
        names = ["network"] + (["browsers"] if n <= 1_000 else [])
        repeat = 3 if n < 100_000 else 1
        size = export_once(bare, cat, names, tmp / f"n{n}", loaded.sha256)
        net = timed(lambda cat=cat, n=n: export_once(bare, cat, ["network"], tmp / f"n{n}", loaded.sha256), repeat)
        both = (
            timed(lambda cat=cat, n=n, names=names: export_once(bare, cat, names, tmp / f"n{n}", loaded.sha256), repeat)
            if n <= 1_000
            else None
        )
        rows.append((n, net, both, size))
    base = rows[0][1] / rows[0][0]
    print(
        f"{'domains':>8} {'network s':>10} {'us/domain':>10} {'per-domain ratio vs 1k':>23} {'bundle MB':>10}"
        f" {'network+browsers s':>19}"
    )
    for n, net, both, size in rows:
        per = net / n
        extra = f"{both:.3f}" if both is not None else "excluded (>1,000)"
        print(f"{n:>8} {net:>10.3f} {per * 1e6:>10.2f} {per / base:>23.2f} {size / 1e6:>10.2f} {extra:>19}")


if __name__ == "__main__":
    main()
