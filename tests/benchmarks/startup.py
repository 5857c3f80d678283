"""Startup benchmark: median wall time of `mistral-sov --help` vs `python -c "import typer"`.

Both are run alternately in the same process, N times each; the ratio is what matters
(target <= 1.5). Usage: python tests/benchmarks/startup.py [N]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 21
BASELINE = [sys.executable, "-c", "import typer"]
OURS = [sys.executable, "-m", "mistral_sov", "--help"]


def once(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    once(BASELINE), once(OURS)  # warm the file cache
    base, ours = [], []
    for _ in range(N):
        base.append(once(BASELINE))
        ours.append(once(OURS))
    b, o = statistics.median(base), statistics.median(ours)
    print(f"python -c 'import typer'  median {b * 1000:7.1f} ms  (n={N})")
    print(f"mistral-sov --help        median {o * 1000:7.1f} ms  (n={N})")
    print(f"ratio {o / b:.2f}  (target <= 1.5)")


if __name__ == "__main__":
    main()
