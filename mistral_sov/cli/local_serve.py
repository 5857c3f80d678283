"""``mistral-sov local serve`` and ``local run``: the approved model, its engine in a supervised
child process (a crash there never takes the API server or the terminal down)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from mistral_sov.cli.common import DEFAULT_POLICY, PolicyOption
from mistral_sov.cli.local_common import (
    BackendOption,
    CtxOption,
    ModelOption,
    NoRepackOption,
    ParallelOption,
    ServerArgOption,
    ServerBinaryOption,
    StoreOption,
    ThreadsOption,
    api_keys,
    audit_path,
    launcher_for,
    lock_after_load,
    prepare,
    require_local_extra,
    start_engine,
)


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
    backend: BackendOption = "llama-cpp",
    server_binary: ServerBinaryOption = None,
    server_arg: ServerArgOption = None,
    parallel: ParallelOption = None,
    no_repack: NoRepackOption = False,
    policy: PolicyOption = DEFAULT_POLICY,
    store: StoreOption = None,
) -> None:
    """Serve the approved model: /v1/chat/completions, /v1/completions, /v1/models, /health, /metrics."""
    from mistral_sov.adapters.inference.server.auth import is_loopback_host
    from mistral_sov.cli._ui import warn
    from mistral_sov.cli.local_enterprise import oidc_configured
    from mistral_sov.errors import InputError

    require_local_extra("starlette", "uvicorn")
    keys = api_keys(api_key_env)
    if not is_loopback_host(host) and not keys and not oidc_configured(policy):
        raise InputError(
            f"refusing to bind {host} without an API key: the model would be open to the network",
            hint="keep the default --host 127.0.0.1, or pass --api-key-env VAR or set local_inference.oidc "
            "(and put TLS in front)",
        )
    extra = list(server_arg or [])
    if backend == "llama-server":
        from mistral_sov.adapters.inference.backends import check_server_args

        check_server_args(extra)  # refuse before hashing or loading anything
    pol, name, verified, approval, policy_path = prepare(model, policy, store)
    settings_li = pol.local_inference
    n_ctx = min(ctx, verified.header.context_length or ctx)
    launcher = launcher_for(
        backend,
        verified.path,
        ctx=n_ctx,
        threads=threads,
        binary=server_binary,
        extra=extra,
        parallel=parallel,
        model_fd=verified.pinned.engine_fd(),
    )
    from mistral_sov.adapters.inference.engine.client import EngineClient
    from mistral_sov.adapters.inference.engine.supervisor import EngineStartError
    from mistral_sov.adapters.inference.server import LocalServer, ServerSettings, serve_foreground
    from mistral_sov.adapters.inference.server.limits import USAGE_FILE, UsageStore
    from mistral_sov.adapters.inference.server.observe import AuditLog

    audit_file = audit_path(pol, policy_path, store)
    audit = AuditLog(audit_file)
    usage = UsageStore(audit_file.parent / USAGE_FILE, settings_li.rate_limit_per_minute, settings_li.daily_quota)

    def on_event(event: dict[str, Any]) -> None:
        audit.write({**event, "model": name, "model_sha256": verified.sha256})

    supervisor = start_engine(launcher, safe=no_repack, on_event=on_event)
    integrity = lock_after_load(verified, supervisor, on_event)
    settings = ServerSettings(
        model_id=name,
        model_sha256=verified.sha256,
        model_license=approval.entry.license if approval.entry else "",
        backend_name=launcher.name,
        api_keys=keys,
        daily_quota=settings_li.daily_quota,
        rate_limit_per_minute=settings_li.rate_limit_per_minute,
        max_tokens=settings_li.max_tokens,
        audit_log=audit_file,
        log_prompts=settings_li.log_prompts,
        n_ctx=n_ctx,
        metadata={"quantization": verified.header.quantization, "architecture": verified.header.architecture},
    )
    from mistral_sov.cli.local_enterprise import build_auth, chat_routes_for

    auth, auth_info = build_auth(pol, policy_path, keys, name)  # OIDC single sign-on when configured
    server = LocalServer(EngineClient(supervisor), settings, audit=audit, integrity=integrity, limiter=usage, auth=auth)
    server.extra_routes += chat_routes_for(pol, name, verified, settings.model_license, auth_info)  # chat page at /
    warn(
        f"serving '{name}' on http://{host}:{port}/v1 (engine {launcher.name} pid {supervisor.pid()}, "
        f"{launcher.slots} slot(s), ctx {n_ctx}, "
        f"{auth_info['mode'] if auth else ('API keys required' if keys else 'no API key: loopback only')}); "
        f"chat page http://{host}:{port}/; audit log {audit_file}, quotas in {usage.path}"
        + ("; PROMPTS ARE LOGGED (log_prompts: true)" if settings_li.log_prompts else "")
    )
    try:
        fatal = serve_foreground(server.app(), supervisor, host, port)
    finally:
        verified.close()
    if fatal:
        raise EngineStartError(f"the inference engine stopped the service: {fatal}", hint=supervisor_hint())


def supervisor_hint() -> str:
    from mistral_sov.adapters.inference.engine.supervisor import RESTART_FIX_HINT

    return RESTART_FIX_HINT


def run(  # noqa: PLR0917
    prompt: Annotated[str, typer.Argument(help="The question.")],
    model: ModelOption = None,
    system: Annotated[str | None, typer.Option("--system", help="System message.")] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", min=1, help="Cap (policy max_tokens wins).")] = None,
    ctx: CtxOption = 2048,
    threads: ThreadsOption = None,
    no_repack: NoRepackOption = False,
    policy: PolicyOption = DEFAULT_POLICY,
    store: StoreOption = None,
) -> None:
    """Answer one prompt with the approved model, streamed to the terminal."""
    import asyncio

    from mistral_sov.adapters.inference.engine.client import EngineClient, EngineCrashed, EngineRejected
    from mistral_sov.errors import InputError

    require_local_extra("llama_cpp")
    pol, _name, verified, _approval, _ = prepare(model, policy, store)
    cap = pol.local_inference.max_tokens
    n_ctx = min(ctx, verified.header.context_length or ctx)
    launcher = launcher_for(
        "llama-cpp", verified.path, ctx=n_ctx, threads=threads, model_fd=verified.pinned.engine_fd()
    )
    try:
        supervisor = start_engine(launcher, safe=no_repack)
    except BaseException:
        verified.close()
        raise
    lock_after_load(verified, supervisor)
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
    client = EngineClient(supervisor)

    async def answer() -> None:
        usage: dict[str, int] = {}
        try:
            async for chunk in client.stream(
                True, {"messages": messages, "max_tokens": min(max_tokens or cap, cap)}, usage
            ):
                piece = (chunk["choices"][0].get("delta") or {}).get("content")
                if piece:
                    sys.stdout.write(piece)
                    sys.stdout.flush()
        finally:
            await client.aclose()

    try:
        asyncio.run(answer())
    except EngineRejected as exc:
        raise InputError(exc.message, hint="shorten the prompt or raise --ctx") from None
    except EngineCrashed as exc:
        from mistral_sov.adapters.inference.engine.supervisor import EngineStartError

        raise EngineStartError(str(exc), hint=supervisor_hint()) from None
    finally:
        supervisor.close()
        verified.close()
    sys.stdout.write("\n")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("run")(run)
