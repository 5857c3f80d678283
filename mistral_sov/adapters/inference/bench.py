"""Prompt-processing and generation speed, directly through llama-cpp-python (in this process)
and through our HTTP server (whose engine is the supervised worker child, same model, same
repacking mode), in the same run (so the ratio isolates our overhead).

Each run streams a completion of exactly ``n_gen`` tokens (end-of-sequence suppressed with a
logit bias) after a prompt that starts with a unique marker, so no KV-cache prefix is reused:
* prompt processing (pp) tokens/s = prompt tokens / time to first token;
* generation (tg) tokens/s = (tokens - 1) / (time of last token - time of first token).
Direct and server runs alternate; medians are reported.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mistral_sov.adapters.inference.backends import LlamaCppBackend
from mistral_sov.adapters.inference.engine.client import EngineClient
from mistral_sov.adapters.inference.engine.supervisor import EngineSupervisor
from mistral_sov.adapters.inference.server import LocalServer, ServerSettings, ServerThread

FILLER = (
    "Data residency means that prompts and answers stay inside designated zones. "
    "Administrators approve one model, pin its hash and serve it on this machine only. "
)


@dataclass
class Sample:
    prompt_tokens: int
    gen_tokens: int
    ttft: float
    gen_seconds: float

    @property
    def pp(self) -> float:
        return self.prompt_tokens / self.ttft if self.ttft > 0 else 0.0

    @property
    def tg(self) -> float:
        return (self.gen_tokens - 1) / self.gen_seconds if self.gen_seconds > 0 else 0.0


@dataclass
class BenchResult:
    n_gen: int
    prompt_tokens: int
    direct: list[Sample] = field(default_factory=list)
    server: list[Sample] = field(default_factory=list)

    @staticmethod
    def _median(samples: list[Sample], attr: str) -> float:
        return statistics.median(getattr(s, attr) for s in samples) if samples else 0.0

    def summary(self) -> dict[str, Any]:
        d_pp, s_pp = self._median(self.direct, "pp"), self._median(self.server, "pp")
        d_tg, s_tg = self._median(self.direct, "tg"), self._median(self.server, "tg")
        return {
            "prompt_tokens": self.prompt_tokens,
            "generated_tokens": self.n_gen,
            "runs": len(self.direct),
            "direct": {"pp_tokens_per_s": round(d_pp, 1), "tg_tokens_per_s": round(d_tg, 1)},
            "server": {"pp_tokens_per_s": round(s_pp, 1), "tg_tokens_per_s": round(s_tg, 1)},
            "ratio_server_vs_direct": {
                "pp": round(s_pp / d_pp, 3) if d_pp else None,
                "tg": round(s_tg / d_tg, 3) if d_tg else None,
            },
        }


def _time_stream(chunks: Iterable[Any], started: float) -> tuple[int, float, float]:
    stamps = []
    for _ in chunks:
        stamps.append(time.perf_counter())
    if not stamps:
        return 0, 0.0, 0.0
    return len(stamps), stamps[0] - started, stamps[-1] - stamps[0]


def _client_main() -> None:
    """Benchmark client, run as a separate process (as real clients are): reads one JSON request
    per stdin line, streams it from the server given in argv[1], prints one JSON sample per line."""
    import sys

    import httpx

    with httpx.Client(base_url=sys.argv[1], timeout=600, trust_env=False) as client:
        print("ready", flush=True)
        for line in sys.stdin:
            body = json.loads(line)
            t0 = time.perf_counter()
            stamps = []
            with client.stream("POST", "/v1/completions", json=body) as response:
                response.raise_for_status()
                for raw in response.iter_lines():
                    for event in raw.split("\n"):
                        if (
                            event.startswith("data:")
                            and '"text":"' in event.replace(" ", "")
                            and '"text":""' not in event.replace(" ", "")
                        ):
                            stamps.append(time.perf_counter())
            print(
                json.dumps(
                    {
                        "n": len(stamps),
                        "ttft": stamps[0] - t0 if stamps else 0.0,
                        "gen": stamps[-1] - stamps[0] if stamps else 0.0,
                    }
                ),
                flush=True,
            )


def run_bench(
    backend: LlamaCppBackend,
    supervisor: EngineSupervisor,
    *,
    n_gen: int = 64,
    prompt_words: int = 100,
    runs: int = 3,
    model_id: str = "bench",
    sha256: str = "0" * 64,
) -> BenchResult:
    import subprocess
    import sys

    eos = backend.llm.token_eos()
    filler = (FILLER * (prompt_words // 20 + 1)).split()[:prompt_words]
    base = " ".join(filler)
    params: dict[str, Any] = {"max_tokens": n_gen, "temperature": 0.0, "stream": True, "logit_bias": {str(eos): -100.0}}
    probe = f"Run 0: {base}"
    result = BenchResult(n_gen=n_gen, prompt_tokens=len(backend.tokenize(probe)))
    settings = ServerSettings(
        model_id=model_id,
        model_sha256=sha256,
        max_tokens=max(n_gen, 1),
        rate_limit_per_minute=1_000_000,
        daily_quota=100_000_000,
        n_ctx=backend.n_ctx,
    )
    server = LocalServer(EngineClient(supervisor), settings)
    try:
        with ServerThread(server.app()) as st:
            client = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "from mistral_sov.adapters.inference.bench import _client_main; _client_main()",
                    st.url,
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert client.stdin is not None and client.stdout is not None
            try:
                client.stdout.readline()  # "ready"

                def via_server(prompt: str, max_tokens: int = n_gen) -> Sample:
                    assert client.stdin is not None and client.stdout is not None
                    client.stdin.write(json.dumps({**params, "prompt": prompt, "max_tokens": max_tokens}) + "\n")
                    client.stdin.flush()
                    got = json.loads(client.stdout.readline())
                    return Sample(result.prompt_tokens, got["n"], got["ttft"], got["gen"])

                def direct(prompt: str, max_tokens: int = n_gen) -> Sample:
                    t0 = time.perf_counter()
                    chunks = backend.complete_stream({**params, "prompt": prompt, "max_tokens": max_tokens})
                    n, ttft, gen = _time_stream((c for c in chunks if c["choices"][0].get("text")), t0)
                    return Sample(result.prompt_tokens, n, ttft, gen)

                direct("Warm up: " + base, 8)  # first-call allocations, page-in
                via_server("Warm up 2: " + base, 8)
                for i in range(runs):
                    result.direct.append(direct(f"Run {2 * i + 1}: {base}"))
                    result.server.append(via_server(f"Run {2 * i + 2}: {base}"))
            finally:
                client.stdin.close()
                client.wait(30)
    finally:
        server.close()
    return result
