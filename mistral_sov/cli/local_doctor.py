"""``mistral-sov local doctor`` and ``local bench``.

doctor: CPU, RAM, bandwidth; per stored model whether it fits and how fast it should be; and a
real multi-token smoke generation **in a child process** per fitting model, so an engine crash
(e.g. llama.cpp's repacked AMX kernels on some AVX-512/AMX CPUs) becomes a diagnosis with the
fix instead of killing the doctor. Works without the ``local`` extra (then exits 4 saying so).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from mistral_sov.cli._ui import OutputFormat
from mistral_sov.cli.common import DEFAULT_POLICY, OutputOption, PolicyOption
from mistral_sov.cli.local_common import (
    LOCAL_EXTRA_HINT,
    CtxOption,
    ModelOption,
    NoRepackOption,
    StoreOption,
    ThreadsOption,
    human,
    launcher_for,
    prepare,
    require_local_extra,
    start_engine,
    store_of,
)


def engine_smoke(path: Path, n_ctx: int, measure: bool = False) -> dict[str, Any]:
    """Start the llama-cpp-python worker child on ``path`` (its start-up runs a multi-token smoke
    generation, with the repacking fall-back) and report what happened."""
    from mistral_sov.adapters.inference.engine.launchers import SAFE_MODE_TEXT, WorkerLauncher
    from mistral_sov.adapters.inference.engine.supervisor import EngineStartError, EngineSupervisor

    events: list[dict[str, Any]] = []
    supervisor = EngineSupervisor(WorkerLauncher(path, n_ctx=n_ctx), on_event=events.append)
    t0 = time.perf_counter()
    try:
        supervisor.start()
    except EngineStartError as exc:
        return {
            "ok": False,
            "repacking": "crashes either way" if any(e["event"] == "engine_fallback" for e in events) else "n/a",
            "diagnosis": exc.message,
            "fix": exc.hint,
        }
    try:
        result: dict[str, Any] = {"ok": True, "start_seconds": round(time.perf_counter() - t0, 2)}
        fallback = next((e for e in events if e["event"] == "engine_fallback"), None)
        if fallback:
            result.update(
                repacking="off (crashed when on)",
                diagnosis=f"llama.cpp crashed with {fallback['signal']} on a multi-token prompt with CPU weight "
                "repacking on (the AMX/repacked kernels of this build fault on this CPU)",
                fix=f"mistral-sov falls back to {SAFE_MODE_TEXT} automatically; pass --no-repack to skip the crash "
                "at start, or rebuild llama-cpp-python with CMAKE_ARGS='-DGGML_NATIVE=OFF' (docs/local.md)",
            )
        else:
            result["repacking"] = "on"
        if measure:
            result["measured_tokens_per_s"] = _measure(supervisor)
        return result
    finally:
        supervisor.close()


def _measure(supervisor: Any) -> float:
    import asyncio

    from mistral_sov.adapters.inference.engine.client import EngineClient

    client = EngineClient(supervisor)

    async def go() -> float:
        stamps: list[float] = []
        usage: dict[str, int] = {}
        try:
            async for chunk in client.stream(
                False,
                {"prompt": "Doctor: the quick brown fox", "max_tokens": 48, "temperature": 0.0, "ignore_eos": True},
                usage,
            ):
                if chunk["choices"][0].get("text"):
                    stamps.append(time.perf_counter())
        finally:
            await client.aclose()
        return round((len(stamps) - 1) / (stamps[-1] - stamps[0]), 1) if len(stamps) > 1 else 0.0

    return asyncio.run(go())


def doctor(
    ctx: CtxOption = 2048,
    bench: Annotated[bool, typer.Option("--bench", help="Also measure generation speed per fitting model.")] = False,
    smoke: Annotated[
        bool, typer.Option("--smoke/--no-smoke", help="Run a multi-token generation per fitting model, in a child.")
    ] = True,
    store: StoreOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """CPU, RAM, memory bandwidth; per stored model: fits? how fast? does the engine really run?"""
    import importlib.util

    from mistral_sov.adapters.inference import doctor as doc
    from mistral_sov.adapters.inference.gguf_header import read_header
    from mistral_sov.cli._ui import echo, emit, print_kv, warn
    from mistral_sov.errors import MissingBackendError, MistralSovError

    cpu = doc.cpu_info()
    mem = doc.memory_info()
    bw = doc.measure_bandwidth()
    have_engine = importlib.util.find_spec("llama_cpp") is not None
    models: list[dict[str, Any]] = []
    s = store_of(store)
    from mistral_sov.cli.local_enterprise import is_sealed_blob, managed_summary

    managed = managed_summary()
    for m in s.list():
        if is_sealed_blob(m.path):
            models.append({"name": m.name, "sealed": True})
            continue
        try:
            header = read_header(m.path)
        except MistralSovError as exc:
            models.append({"name": m.name, "error": exc.message})
            continue
        fit = doc.model_fit(m.name, header, ctx, mem["available"], bw).to_dict()
        if have_engine and fit["fits"] and (smoke or bench):
            fit["engine"] = engine_smoke(m.path, min(ctx, 1024), measure=bench)
            if "measured_tokens_per_s" in fit["engine"]:
                fit["measured_tokens_per_s"] = fit["engine"]["measured_tokens_per_s"]
        models.append(fit)
    engine_problem = "" if have_engine else "llama-cpp-python (the 'local' extra) is not installed"
    data = {
        "cpu": cpu,
        "memory": mem,
        "bandwidth_bytes_per_s": round(bw),
        "eta": [doc.ETA_LOW, doc.ETA_HIGH],
        "engine_installed": have_engine,
        "managed_policy": managed,
        "models": models,
    }
    failed = [f for f in models if isinstance(f.get("engine"), dict) and not f["engine"]["ok"]]
    if output is not OutputFormat.table:
        emit(data, output)
    else:
        print_kv(
            [
                ("CPU", f"{cpu['model']} — {cpu['physical_cores']} physical / {cpu['logical_cores']} logical cores"),
                ("Features", ", ".join(cpu["features"]) or "unknown"),
                ("RAM", f"{human(mem['total'])} total, {human(mem['available'])} available"),
                ("Memory bandwidth", f"{bw / 1e9:.1f} GB/s (buffer copy, read+write)"),
                ("Engine", "llama-cpp-python installed" if have_engine else f"NOT INSTALLED — {LOCAL_EXTRA_HINT}"),
                ("Managed policy", managed),
            ],
            title="This machine",
        )
        for fit in models:
            if "error" in fit:
                echo(f"{fit['name']}: unreadable — {fit['error']}")
                continue
            if fit.get("sealed"):
                echo(f"{fit['name']}: sealed at rest — serve and run decrypt it into memory only")
                continue
            low, high = fit["predicted_tokens_per_s"]
            line = (
                f"{fit['name']}: {'fits' if fit['fits'] else 'DOES NOT FIT'} — needs {human(fit['needed_bytes'])} "
                f"(weights {human(fit['weights_bytes'])} + KV {human(fit['kv_cache_bytes'] or 0)} at ctx "
                f"{fit['n_ctx']} + buffers {human(fit['overhead_bytes'])}); predicted generation "
                f"{low}–{high} tokens/s (η {doc.ETA_LOW}–{doc.ETA_HIGH} × bandwidth / model size)"
            )
            if "measured_tokens_per_s" in fit:
                line += f"; measured {fit['measured_tokens_per_s']} tokens/s"
            echo(line)
            engine = fit.get("engine")
            if engine:
                if engine["ok"]:
                    echo(f"  engine smoke (multi-token, in a child): ok, repacking {engine['repacking']}")
                else:
                    warn(f"  engine smoke FAILED: {engine['diagnosis']}")
                if engine.get("diagnosis") and engine["ok"]:
                    warn(f"  diagnosis: {engine['diagnosis']}")
                if engine.get("fix"):
                    warn(f"  fix: {engine['fix']}")
        if not models:
            echo(f"no models in {s.root}; import one with `mistral-sov local models import PATH`")
    if engine_problem:
        raise MissingBackendError(engine_problem, hint=LOCAL_EXTRA_HINT)
    if failed:
        raise MissingBackendError(
            f"the inference engine cannot run {', '.join(f['name'] for f in failed)} on this machine",
            hint=str(failed[0]["engine"].get("fix") or ""),
        )


def bench(  # noqa: PLR0917
    model: ModelOption = None,
    tokens: Annotated[int, typer.Option("--tokens", min=8, max=4096, help="Tokens generated per run.")] = 128,
    runs: Annotated[int, typer.Option("--runs", min=1, max=50, help="Runs per path (medians reported).")] = 5,
    ctx: CtxOption = 1024,
    threads: ThreadsOption = None,
    no_repack: NoRepackOption = False,
    policy: PolicyOption = DEFAULT_POLICY,
    store: StoreOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """pp and tg tokens/s through our server and directly through llama-cpp-python, with the ratio."""
    require_local_extra("llama_cpp", "starlette", "uvicorn")
    from mistral_sov.adapters.inference import doctor as doc
    from mistral_sov.adapters.inference.backends import LlamaCppBackend
    from mistral_sov.adapters.inference.bench import run_bench
    from mistral_sov.cli._ui import echo, emit

    _pol, name, verified, _approval, _ = prepare(model, policy, store)
    n_ctx = max(ctx, tokens + 256)
    try:
        supervisor = start_engine(launcher_for("llama-cpp", verified.path, ctx=n_ctx, threads=threads), safe=no_repack)
    finally:
        verified.close()
    try:
        # the direct path uses the repacking mode the engine child proved safe on this CPU
        engine = LlamaCppBackend(verified.path, n_ctx=n_ctx, n_threads=threads, extra_bufts=not supervisor.safe)
        try:
            result = run_bench(engine, supervisor, n_gen=tokens, runs=runs, model_id=name, sha256=verified.sha256)
        finally:
            engine.close()
    finally:
        supervisor.close()
    summary = result.summary()
    bw = doc.measure_bandwidth()
    bound = bw / verified.size
    summary.update(
        model=name,
        threads=engine.n_threads,
        repacking="off" if supervisor.safe else "on",
        bandwidth_bytes_per_s=round(bw),
        bandwidth_bound_tokens_per_s=round(bound, 1),
        server_tg_fraction_of_bound=round(summary["server"]["tg_tokens_per_s"] / bound, 3),
    )
    if output is not OutputFormat.table:
        emit(summary, output)
        return
    d, sv, r = summary["direct"], summary["server"], summary["ratio_server_vs_direct"]
    echo(
        f"model {name}: {summary['prompt_tokens']} prompt tokens, {tokens} generated, {runs} runs, "
        f"{engine.n_threads} threads, repacking {summary['repacking']} (medians)"
    )
    echo(f"  {'':22}{'pp tokens/s':>14}{'tg tokens/s':>14}")
    echo(f"  {'llama-cpp-python':22}{d['pp_tokens_per_s']:>14}{d['tg_tokens_per_s']:>14}")
    echo(f"  {'via mistral-sov server':22}{sv['pp_tokens_per_s']:>14}{sv['tg_tokens_per_s']:>14}")
    echo(f"  {'ratio server/direct':22}{r['pp']:>14}{r['tg']:>14}")
    echo(
        f"  bandwidth bound {bound:.0f} tokens/s ({bw / 1e9:.1f} GB/s / {human(verified.size)}); "
        f"server generation = {summary['server_tg_fraction_of_bound']:.0%} of it"
    )


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
    app.command("bench")(bench)
