"""``mistral-sov local …``: an approved open-weight model, served on this machine only.

models list|show|import|remove, serve, run, doctor, bench. Heavy modules (llama_cpp, starlette,
uvicorn, numpy, psutil) are imported inside the commands. Exit 5 = model refused (unapproved,
altered, truncated, not GGUF); 2 = usage (e.g. non-loopback bind without an API key).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mistral_sov.cli._ui import OutputFormat
from mistral_sov.cli.common import DEFAULT_POLICY, OutputOption, PolicyOption

if TYPE_CHECKING:
    from mistral_sov.adapters.inference.store import ModelStore, VerifiedFile
    from mistral_sov.core.policy import Policy
    from mistral_sov.services.local import Approval

app = typer.Typer(
    help="Serve an approved open-weight model on this machine only (OpenAI-compatible).", no_args_is_help=True
)
models_app = typer.Typer(help="The local model store (offline import, SHA-256, GGUF metadata).", no_args_is_help=True)
app.add_typer(models_app, name="models")

StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store",
        envvar="MISTRAL_SOV_MODEL_STORE",
        show_default=False,
        help="Model store directory (default: the user data dir; or $MISTRAL_SOV_MODEL_STORE).",
    ),
]
ModelOption = Annotated[
    str | None, typer.Option("--model", "-m", help="Model name (store or policy); default: the only approved one.")
]
CtxOption = Annotated[int, typer.Option("--ctx", min=128, max=1_048_576, help="Context window in tokens.")]
ThreadsOption = Annotated[
    int | None, typer.Option("--threads", min=1, max=1024, help="CPU threads (default: physical cores).")
]


def _store(path: Path | None) -> ModelStore:
    from mistral_sov.adapters.inference.store import ModelStore

    return ModelStore(path)


def _maybe_policy(path: Path) -> Policy | None:
    from mistral_sov.cli.common import load_policy

    if not path.exists():
        return None
    return load_policy(path, print_warnings=False).policy


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return str(n)


def _approval_text(policy: Policy | None, sha: str, claim: str | None) -> tuple[str, Approval | None]:
    from mistral_sov.services.local import assess

    if policy is None:
        return "unknown (no policy file)", None
    result = assess(policy.local_inference, sha, claim)
    return ("approved" if result.approved else "NOT approved"), result


# --------------------------------------------------------------------------------------- models
@models_app.command("list")
def models_list(
    store: StoreOption = None, policy: PolicyOption = DEFAULT_POLICY, output: OutputOption = OutputFormat.table
) -> None:
    """List stored models with their hash, quantisation, licence claim and approval."""
    from mistral_sov.cli._ui import emit

    s = _store(store)
    pol = _maybe_policy(policy)
    rows: list[dict[str, Any]] = []
    for m in s.list():
        meta = m.metadata
        status, _ = _approval_text(pol, m.sha256, meta.get("license_claim"))
        rows.append(
            {
                "name": m.name,
                "sha256": m.sha256,
                "size": m.size,
                "architecture": meta.get("architecture"),
                "quantization": meta.get("quantization"),
                "parameters": meta.get("parameter_count"),
                "license_claim": meta.get("license_claim"),
                "approval": status,
            }
        )
    if output is not OutputFormat.table:
        emit({"store": str(s.root), "models": rows}, output)
        return
    table = [
        [
            r["name"],
            r["sha256"][:12] + "…",
            _human(r["size"]),
            r["architecture"],
            r["quantization"],
            r["license_claim"],
            r["approval"],
        ]
        for r in rows
    ]
    emit(
        rows,
        output,
        columns=[
            ("name", "Name"),
            ("sha256", "SHA-256"),
            ("size", "Size"),
            ("architecture", "Arch"),
            ("quantization", "Quant"),
            ("license_claim", "Licence (GGUF claim)"),
            ("approval", "Policy"),
        ],
        rows=table,
        title=f"{len(rows)} model(s) in {s.root}",
    )


@models_app.command("show")
def models_show(
    name: Annotated[str, typer.Argument(help="Stored model name.")],
    store: StoreOption = None,
    policy: PolicyOption = DEFAULT_POLICY,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Everything an administrator reviews before approving a model."""
    from mistral_sov.cli._ui import emit, print_kv, warn

    s = _store(store)
    m = s.require(name)
    meta = m.metadata
    pol = _maybe_policy(policy)
    status, approval = _approval_text(pol, m.sha256, meta.get("license_claim"))
    data: dict[str, Any] = {
        "name": m.name,
        "sha256": m.sha256,
        "size": m.size,
        "file": str(m.path),
        "source": m.manifest.get("source"),
        "imported_at": m.manifest.get("imported_at"),
        "approval": status,
        "policy_entry": approval.entry.model_dump() if approval and approval.entry else None,
        "approval_problems": approval.problems if approval else [],
        "approval_warnings": approval.warnings if approval else [],
        "gguf": meta,
    }
    if output is not OutputFormat.table:
        emit(data, output)
        return
    params = meta.get("parameter_count")
    pairs: list[tuple[str, Any]] = [
        ("Name", m.name),
        ("SHA-256", m.sha256),
        ("Size", f"{_human(m.size)} ({m.size:,} bytes)"),
        ("File", m.path),
        ("Imported from", data["source"]),
        ("Imported at", data["imported_at"]),
        (
            "Policy",
            status
            + (f" as '{approval.entry.name}', licence {approval.entry.license}" if approval and approval.entry else ""),
        ),
        ("Licence (GGUF claim)", meta.get("license_claim") or "none written in the file"),
        ("Architecture", meta.get("architecture")),
        ("Quantisation", meta.get("quantization")),
        ("Parameters", f"{params:,}" if isinstance(params, int) else params),
        ("Context length", meta.get("context_length")),
        ("Chat template SHA-256", meta.get("chat_template_sha256")),
    ]
    for key, label in (
        ("name", "GGUF name"),
        ("organization", "Organisation"),
        ("author", "Author"),
        ("size_label", "Size label"),
        ("license_name", "Licence name"),
        ("license_link", "Licence link"),
        ("repo_url", "Repository"),
        ("quantized_by", "Quantised by"),
        ("base_models", "Base models"),
        ("languages", "Languages"),
    ):
        if meta.get(key) is not None:
            pairs.append((label, meta[key]))
    layers = (meta.get("n_layer"), meta.get("n_embd"), meta.get("n_head"), meta.get("n_head_kv"))
    pairs.append(("Layers / embd / heads / KV heads", " / ".join(str(x) for x in layers)))
    print_kv(pairs, title=f"Model {m.name}")
    if approval:
        for p in approval.problems:
            warn(f"refused: {p}")
        if approval.problems and approval.hint:
            warn(f"    hint: {approval.hint}")
        for w in approval.warnings:
            warn(f"warning: {w}")


@models_app.command("import")
def models_import(
    path: Annotated[Path, typer.Argument(help="A .gguf file (e.g. on a USB stick).")],
    name: Annotated[str | None, typer.Option("--name", "-n", help="Name in the store (default: file stem).")] = None,
    store: StoreOption = None,
    policy: PolicyOption = DEFAULT_POLICY,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Copy a GGUF into the store (atomic, streaming SHA-256), recording its governance metadata."""
    from mistral_sov.cli._ui import echo, emit, warn

    s = _store(store)
    m = s.import_file(path, name)
    pol = _maybe_policy(policy)
    status, approval = _approval_text(pol, m.sha256, m.metadata.get("license_claim"))
    if output is not OutputFormat.table:
        emit({"name": m.name, "sha256": m.sha256, "size": m.size, "file": str(m.path), "approval": status}, output)
        return
    echo(f"imported '{m.name}' into {s.root}")
    echo(f"  sha256   {m.sha256}")
    echo(f"  size     {_human(m.size)} ({m.size:,} bytes)")
    echo(f"  licence  {m.metadata.get('license_claim') or 'none claimed in the file'}")
    echo(f"  policy   {status}")
    if approval is not None and not approval.approved:
        warn(
            "  to approve it after review, add to sovereignty.yaml under local_inference.models:\n"
            f"    - {{name: {m.name}, sha256: {m.sha256}, license: "
            f"{m.metadata.get('license_claim') or 'SPDX-ID'}}}"
        )


@models_app.command("remove")
def models_remove(name: Annotated[str, typer.Argument(help="Stored model name.")], store: StoreOption = None) -> None:
    """Remove a model from the store (the blob goes when no other name refers to it)."""
    from mistral_sov.cli._ui import echo

    m = _store(store).remove(name)
    echo(f"removed '{m.name}' ({m.sha256[:12]}…)")


# --------------------------------------------------------------------------------------- helpers
def _resolve(name: str | None, policy: Policy, policy_path: Path, s: ModelStore) -> tuple[str, Path]:
    """Which file to serve: a policy entry's ``file:``, a stored model, or the only approved one."""
    from mistral_sov.errors import InputError

    entries = policy.local_inference.models

    def entry_file(entry: Any) -> Path | None:
        if entry.file:
            p = Path(entry.file)
            return p if p.is_absolute() else (policy_path.parent / p)
        stored = s.by_sha256(entry.sha256)
        return stored.path if stored else None

    if name:
        entry = next((e for e in entries if e.name == name), None)
        if entry is not None and entry.file:
            return name, entry_file(entry) or Path(entry.file)
        stored = s.get(name)
        if stored is not None:
            return name, stored.path
        if entry is not None:
            found = entry_file(entry)
            if found is not None:
                return name, found
        raise InputError(
            f"model '{name}' is neither in the store ({s.root}) nor a policy entry with a file",
            hint="import it with `mistral-sov local models import PATH --name NAME`",
        )
    available = [(e.name, p) for e in entries if (p := entry_file(e)) is not None]
    if len(available) == 1:
        return available[0]
    stored_all = s.list()
    if not available and len(stored_all) == 1:
        return stored_all[0].name, stored_all[0].path
    raise InputError(
        "which model? " + ("several approved models are available" if available else "no approved model is available"),
        hint="pass --model NAME" + ("" if available else "; import and approve one first (docs/local.md)"),
    )


def _prepare(
    name: str | None, policy_path: Path, store: Path | None
) -> tuple[Policy, str, VerifiedFile, Approval, Path]:
    """Resolve, verify (header + cached SHA-256) and approve, before anything is loaded."""
    from mistral_sov.adapters.inference.store import verify_file
    from mistral_sov.cli._ui import warn
    from mistral_sov.cli.common import load_policy
    from mistral_sov.services.local import require_approved

    loaded = load_policy(policy_path)
    s = _store(store)
    model_name, path = _resolve(name, loaded.policy, loaded.path, s)
    verified = verify_file(path, s.cache)
    approval = require_approved(loaded.policy.local_inference, verified.sha256, verified.header.license, model_name)
    for w in approval.warnings:
        warn(f"warning: {w}")
    how = "cached verdict" if verified.from_cache else "hashed"
    warn(
        f"model '{model_name}' {approval.summary}; sha256 {verified.sha256[:16]}… verified ({how}, "
        f"{verified.seconds:.2f} s)"
    )
    enforce = loaded.policy.local_inference.enforce_local_only
    warn(
        "enforce_local_only: "
        + (
            "ON — cloud AI services are blocked by policy; this local model is the approved assistant"
            if enforce
            else "off (cloud endpoints may also be allowed)"
        )
    )
    return loaded.policy, model_name, verified, approval, loaded.path


def _backend(  # noqa: PLR0917
    kind: str, path: Path, ctx: int, threads: int | None, binary: Path | None, extra: list[str]
) -> Any:
    from mistral_sov.errors import InputError

    if kind == "llama-cpp":
        if binary is not None or extra:
            raise InputError(
                "--server-binary/--server-arg need --backend llama-server", hint="add --backend llama-server"
            )
        from mistral_sov.adapters.inference.backends import LlamaCppBackend

        return LlamaCppBackend(path, n_ctx=ctx, n_threads=threads)
    if kind == "llama-server":
        from mistral_sov.adapters.inference.backends import LlamaServerBackend, check_server_args

        check_server_args(extra)
        if binary is None:
            raise InputError(
                "--backend llama-server needs --server-binary PATH",
                hint="build llama-server from the llama-cpp-python sdist (docs/local.md)",
            )
        return LlamaServerBackend(binary, path, n_ctx=ctx, n_threads=threads, extra_args=extra)
    raise InputError(f"unknown backend '{kind}'", hint="use llama-cpp or llama-server")


def _api_keys(env_var: str | None) -> list[str]:
    from mistral_sov.errors import InputError

    if env_var is None:
        return []
    value = os.environ.get(env_var, "")
    keys = [k.strip() for k in value.split(",") if k.strip()]
    if not keys:
        raise InputError(
            f"environment variable {env_var} is empty or not set",
            hint=f"set {env_var} to one or more API keys separated by commas",
        )
    short = [k for k in keys if len(k) < 16]
    if short:
        raise InputError(
            f"{len(short)} API key(s) in {env_var} are shorter than 16 characters",
            hint='generate keys with: python -c "import secrets; print(secrets.token_urlsafe(32))"',
        )
    return keys


# --------------------------------------------------------------------------------------- serve
@app.command("serve")
def serve(  # noqa: PLR0917
    model: ModelOption = None,
    host: Annotated[str, typer.Option("--host", help="Bind address (non-loopback needs --api-key-env).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8080,
    api_key_env: Annotated[
        str | None,
        typer.Option("--api-key-env", metavar="VAR", help="Environment variable holding API keys (comma-separated)."),
    ] = None,
    ctx: CtxOption = 2048,
    threads: ThreadsOption = None,
    backend: Annotated[str, typer.Option("--backend", help="llama-cpp (in process) or llama-server.")] = "llama-cpp",
    server_binary: Annotated[Path | None, typer.Option("--server-binary", help="llama-server binary.")] = None,
    server_arg: Annotated[
        list[str] | None,
        typer.Option("--server-arg", help="Extra llama-server flag (dangerous ones are refused); repeatable."),
    ] = None,
    policy: PolicyOption = DEFAULT_POLICY,
    store: StoreOption = None,
) -> None:
    """Serve the approved model: /v1/chat/completions, /v1/completions, /v1/models, /health, /metrics."""
    from mistral_sov.adapters.inference.server import is_loopback_host
    from mistral_sov.cli._ui import warn
    from mistral_sov.errors import InputError

    keys = _api_keys(api_key_env)
    if not is_loopback_host(host) and not keys:
        raise InputError(
            f"refusing to bind {host} without an API key: the model would be open to the network",
            hint="keep the default --host 127.0.0.1, or pass --api-key-env VAR (and put TLS in front)",
        )
    extra = list(server_arg or [])
    if backend == "llama-server":
        from mistral_sov.adapters.inference.backends import check_server_args

        check_server_args(extra)  # refuse before hashing or loading anything
    pol, name, verified, approval, policy_path = _prepare(model, policy, store)
    settings_li = pol.local_inference
    n_ctx = min(ctx, verified.header.context_length or ctx)
    engine = _backend(backend, verified.path, n_ctx, threads, server_binary, extra)
    import uvicorn

    from mistral_sov.adapters.inference.server import LocalServer, ServerSettings

    audit = Path(settings_li.audit_log) if settings_li.audit_log else _store(store).root / "audit.jsonl"
    if not audit.is_absolute() and settings_li.audit_log:
        audit = policy_path.parent / audit
    settings = ServerSettings(
        model_id=name,
        model_sha256=verified.sha256,
        model_license=approval.entry.license if approval.entry else "",
        backend_name=engine.name,
        api_keys=keys,
        daily_quota=settings_li.daily_quota,
        rate_limit_per_minute=settings_li.rate_limit_per_minute,
        max_tokens=settings_li.max_tokens,
        audit_log=audit,
        log_prompts=settings_li.log_prompts,
        n_ctx=n_ctx,
        metadata={"quantization": verified.header.quantization, "architecture": verified.header.architecture},
    )
    server = LocalServer(engine, settings)
    warn(
        f"serving '{name}' on http://{host}:{port}/v1 (backend {engine.name}, ctx {n_ctx}, "
        f"{'API keys required' if keys else 'no API key: loopback only'}); audit log {audit}"
        + ("; PROMPTS ARE LOGGED (log_prompts: true)" if settings_li.log_prompts else "")
    )
    try:
        uvicorn.run(server.app(), host=host, port=port, log_level="warning", access_log=False, lifespan="off")
    finally:
        server.close()


# --------------------------------------------------------------------------------------- run
@app.command("run")
def run(  # noqa: PLR0917
    prompt: Annotated[str, typer.Argument(help="The question.")],
    model: ModelOption = None,
    system: Annotated[str | None, typer.Option("--system", help="System message.")] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", min=1, help="Cap (policy max_tokens wins).")] = None,
    ctx: CtxOption = 2048,
    threads: ThreadsOption = None,
    policy: PolicyOption = DEFAULT_POLICY,
    store: StoreOption = None,
) -> None:
    """Answer one prompt with the approved model, streamed to the terminal."""
    from mistral_sov.adapters.inference.backends import LlamaCppBackend

    pol, _name, verified, _approval, _ = _prepare(model, policy, store)
    cap = pol.local_inference.max_tokens
    n_ctx = min(ctx, verified.header.context_length or ctx)
    engine = LlamaCppBackend(verified.path, n_ctx=n_ctx, n_threads=threads)
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
    try:
        stream = engine.chat_stream({"messages": messages, "max_tokens": min(max_tokens or cap, cap)})
        for chunk in stream:
            piece = (chunk["choices"][0].get("delta") or {}).get("content")
            if piece:
                sys.stdout.write(piece)
                sys.stdout.flush()
    except ValueError as exc:
        from mistral_sov.errors import InputError

        raise InputError(str(exc), hint="shorten the prompt or raise --ctx") from None
    finally:
        engine.close()
    sys.stdout.write("\n")


# --------------------------------------------------------------------------------------- doctor
@app.command("doctor")
def doctor(
    ctx: CtxOption = 2048,
    bench: Annotated[bool, typer.Option("--bench", help="Also run a short real generation per fitting model.")] = False,
    store: StoreOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """CPU, RAM, memory bandwidth; for each stored model: does it fit, how fast should it be."""
    from mistral_sov.adapters.inference import doctor as doc
    from mistral_sov.adapters.inference.gguf_header import read_header
    from mistral_sov.cli._ui import echo, emit, print_kv
    from mistral_sov.errors import MistralSovError

    cpu = doc.cpu_info()
    mem = doc.memory_info()
    bw = doc.measure_bandwidth()
    models: list[dict[str, Any]] = []
    s = _store(store)
    for m in s.list():
        try:
            header = read_header(m.path)
        except MistralSovError as exc:
            models.append({"name": m.name, "error": exc.message})
            continue
        fit = doc.model_fit(m.name, header, ctx, mem["available"], bw).to_dict()
        if bench and fit["fits"]:
            fit["measured_tokens_per_s"] = _short_generation(m.path, min(ctx, 1024))
        models.append(fit)
    data = {
        "cpu": cpu,
        "memory": mem,
        "bandwidth_bytes_per_s": round(bw),
        "eta": [doc.ETA_LOW, doc.ETA_HIGH],
        "models": models,
    }
    if output is not OutputFormat.table:
        emit(data, output)
        return
    print_kv(
        [
            ("CPU", f"{cpu['model']} — {cpu['physical_cores']} physical / {cpu['logical_cores']} logical cores"),
            ("Features", ", ".join(cpu["features"]) or "unknown"),
            ("RAM", f"{_human(mem['total'])} total, {_human(mem['available'])} available"),
            ("Memory bandwidth", f"{bw / 1e9:.1f} GB/s (numpy copy, read+write)"),
        ],
        title="This machine",
    )
    for fit in models:
        if "error" in fit:
            echo(f"{fit['name']}: unreadable — {fit['error']}")
            continue
        low, high = fit["predicted_tokens_per_s"]
        line = (
            f"{fit['name']}: {'fits' if fit['fits'] else 'DOES NOT FIT'} — needs {_human(fit['needed_bytes'])} "
            f"(weights {_human(fit['weights_bytes'])} + KV {_human(fit['kv_cache_bytes'] or 0)} at ctx "
            f"{fit['n_ctx']} + buffers {_human(fit['overhead_bytes'])}); predicted generation "
            f"{low}–{high} tokens/s (η {doc.ETA_LOW}–{doc.ETA_HIGH} × bandwidth / model size)"
        )
        if "measured_tokens_per_s" in fit:
            line += f"; measured {fit['measured_tokens_per_s']} tokens/s"
        echo(line)
    if not models:
        echo(f"no models in {s.root}; import one with `mistral-sov local models import PATH`")


def _short_generation(path: Path, n_ctx: int) -> float:
    import time

    from mistral_sov.adapters.inference.backends import LlamaCppBackend

    engine = LlamaCppBackend(path, n_ctx=n_ctx)
    try:
        eos = engine.llm.token_eos()
        stamps = []
        for chunk in engine.complete_stream(
            {
                "prompt": "Doctor: the quick brown fox",
                "max_tokens": 48,
                "temperature": 0.0,
                "logit_bias": {str(eos): -100.0},
            }
        ):
            if chunk["choices"][0].get("text"):
                stamps.append(time.perf_counter())
        return round((len(stamps) - 1) / (stamps[-1] - stamps[0]), 1) if len(stamps) > 1 else 0.0
    finally:
        engine.close()


# --------------------------------------------------------------------------------------- bench
@app.command("bench")
def bench(  # noqa: PLR0917
    model: ModelOption = None,
    tokens: Annotated[int, typer.Option("--tokens", min=8, max=4096, help="Tokens generated per run.")] = 128,
    runs: Annotated[int, typer.Option("--runs", min=1, max=50, help="Runs per path (medians reported).")] = 5,
    ctx: CtxOption = 1024,
    threads: ThreadsOption = None,
    policy: PolicyOption = DEFAULT_POLICY,
    store: StoreOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """pp and tg tokens/s through our server and directly through llama-cpp-python, with the ratio."""
    from mistral_sov.adapters.inference import doctor as doc
    from mistral_sov.adapters.inference.backends import LlamaCppBackend
    from mistral_sov.adapters.inference.bench import run_bench
    from mistral_sov.cli._ui import echo, emit

    _pol, name, verified, _approval, _ = _prepare(model, policy, store)
    engine = LlamaCppBackend(verified.path, n_ctx=max(ctx, tokens + 256), n_threads=threads)
    try:
        result = run_bench(engine, n_gen=tokens, runs=runs, model_id=name, sha256=verified.sha256)
    finally:
        engine.close()
    summary = result.summary()
    bw = doc.measure_bandwidth()
    bound = bw / verified.size
    summary.update(
        model=name,
        threads=engine.n_threads,
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
        f"{engine.n_threads} threads (medians)"
    )
    echo(f"  {'':22}{'pp tokens/s':>14}{'tg tokens/s':>14}")
    echo(f"  {'llama-cpp-python':22}{d['pp_tokens_per_s']:>14}{d['tg_tokens_per_s']:>14}")
    echo(f"  {'via mistral-sov server':22}{sv['pp_tokens_per_s']:>14}{sv['tg_tokens_per_s']:>14}")
    echo(f"  {'ratio server/direct':22}{r['pp']:>14}{r['tg']:>14}")
    echo(
        f"  bandwidth bound {bound:.0f} tokens/s ({bw / 1e9:.1f} GB/s / {_human(verified.size)}); "
        f"server generation = {summary['server_tg_fraction_of_bound']:.0%} of it"
    )
