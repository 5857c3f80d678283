"""`policy validate` on policies with 10,000 and 100,000 extra domains.

Prints wall time for each (in-process, median of runs) and the per-domain cost ratio
between the two sizes (≈1.0 means linear growth). Target: 10,000 domains under 1 s.
Usage: python tests/benchmarks/validate_scale.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from clihelp import run_cli  # noqa: E402


def policy_with(n: int) -> str:
    base = (REPO / "templates" / "policies" / "starter.yaml").read_text(encoding="utf-8")
    if n == 0:
        return base
    domains = "\n".join(f"    - ai-{i}.blocked-example{i % 97}.net" for i in range(n))
    return base.replace("  extra_domains: []", "  extra_domains:\n" + domains)


def measure(n: int, runs: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sovereignty.yaml"
        path.write_text(policy_with(n), encoding="utf-8")
        run_cli("policy", "validate", "-p", str(path))  # warm imports and catalog
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            result = run_cli("policy", "validate", "-p", str(path))
            times.append(time.perf_counter() - start)
            assert result.code == 0, result.err
        return statistics.median(times)


def main() -> None:
    base = measure(0, 5)
    t10k = measure(10_000, 5)
    t100k = measure(100_000, 3)
    print(f"starter policy (0 extra):  {base:7.3f} s")
    print(f"10,000 extra domains:      {t10k:7.3f} s   (target < 1 s)")
    print(f"100,000 extra domains:     {t100k:7.3f} s")
    per10k = (t10k - base) / 10_000
    per100k = (t100k - base) / 100_000
    print(
        f"per-domain cost: {per10k * 1e6:.1f} us vs {per100k * 1e6:.1f} us  -> ratio {per100k / per10k:.2f} (1.0 = linear)"
    )


if __name__ == "__main__":
    main()
