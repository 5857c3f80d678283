"""The OpenAI-compatible API server (Starlette) in front of one approved model whose engine runs
in a supervised child process.

Endpoints: ``POST /v1/chat/completions`` and ``/v1/completions`` (JSON or SSE streaming),
``GET /v1/models``, ``GET /health`` (public), ``GET /metrics`` (Prometheus text).

* identity from one pluggable ``Authenticator`` (API keys by default; ``auth.py``);
* rate limit and daily quota per identity → 429 + ``Retry-After``;
* bodies bounded (413), ``max_tokens`` capped, unknown fields, ``n`` > 1, bad JSON/UTF-8 → 400;
* at most ``slots`` generations at once (the engine's parallel sequences), the rest wait FIFO;
* an engine crash answers in-flight requests 503 (OpenAI error JSON), is audited with its
  signal, shown on /health and /metrics, and the supervisor restarts the engine;
* any unexpected failure is a 500 in the same JSON shape, audited — never a traceback page;
* a JSONL audit log: time, identity, model SHA-256, endpoint, status, tokens, latency; prompt
  and answer text only when the policy says ``log_prompts: true``.
starlette is imported inside functions so ``mistral-sov --help`` stays fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mistral_sov.adapters.inference.engine.client import EngineClient, EngineCrashed, EngineRejected
from mistral_sov.adapters.inference.engine.supervisor import EngineUnavailable
from mistral_sov.adapters.inference.integrity import ModelChanged, ModelLock
from mistral_sov.adapters.inference.server.auth import ApiKeyAuth, Authenticator, audit_identity
from mistral_sov.adapters.inference.server.limits import Admission, Limiter
from mistral_sov.adapters.inference.server.observe import AuditLog, Metrics, now_iso
from mistral_sov.adapters.inference.server.problems import HTTPProblem, error_body, error_response

MAX_BODY_BYTES = 1 << 20  # 1 MiB
GENERATION_ENDPOINTS = ("/v1/chat/completions", "/v1/completions")

CHAT_FIELDS = {
    "model",
    "messages",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "stop",
    "seed",
    "stream",
    "stream_options",
    "presence_penalty",
    "frequency_penalty",
    "repeat_penalty",
    "logit_bias",
    "n",
    "user",
    "response_format",
}
COMPLETION_FIELDS = (CHAT_FIELDS - {"messages", "max_completion_tokens", "response_format"}) | {"prompt", "echo"}


@dataclass
class ServerSettings:
    model_id: str
    model_sha256: str
    model_license: str = ""
    backend_name: str = "llama-cpp"
    api_keys: list[str] = field(default_factory=list)
    daily_quota: int = 1000
    rate_limit_per_minute: int = 60
    max_tokens: int = 2048
    audit_log: Path | None = None
    log_prompts: bool = False
    max_body_bytes: int = MAX_BODY_BYTES
    n_ctx: int = 2048
    metadata: dict[str, Any] = field(default_factory=dict)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class LocalServer:
    """Governance state + routes; generation is delegated to the engine child via ``engine``."""

    def __init__(
        self,
        engine: EngineClient,
        settings: ServerSettings,
        *,
        clock: Callable[[], float] = time.time,
        auth: Authenticator | None = None,
        audit: AuditLog | None = None,
        limiter: Admission | None = None,
        integrity: ModelLock | None = None,
    ) -> None:
        self.engine = engine
        self.integrity = integrity
        self.settings = settings
        self.auth = auth or ApiKeyAuth(settings.api_keys)
        self.limiter: Admission = limiter or Limiter(settings.rate_limit_per_minute, settings.daily_quota, clock)
        self.metrics = Metrics()
        self.audit = audit or AuditLog(settings.audit_log)
        self.created = int(time.time())
        self.slots = max(1, int(getattr(engine.supervisor, "slots", 1)))
        self._gates: dict[int, asyncio.Semaphore] = {}
        # routes other modules add (e.g. a chat page); kept here so app() builds them all
        self.extra_routes: list[Any] = []

    # -- parsing ------------------------------------------------------------------------
    async def read_json(self, request: Any) -> dict[str, Any]:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                raise HTTPProblem(400, "invalid Content-Length", "invalid_request_error") from None
            if too_big:
                raise HTTPProblem(413, f"request body larger than {limit} bytes", "request_too_large")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise HTTPProblem(413, f"request body larger than {limit} bytes", "request_too_large")
        try:
            data = json.loads(bytes(body).decode("utf-8"), parse_constant=_no_constants)
        except UnicodeDecodeError:
            raise HTTPProblem(400, "request body is not valid UTF-8", "invalid_request_error") from None
        except (ValueError, RecursionError):
            raise HTTPProblem(400, "request body is not valid JSON", "invalid_request_error") from None
        if not isinstance(data, dict):
            raise HTTPProblem(400, "request body must be a JSON object", "invalid_request_error")
        return data

    def validate(self, data: dict[str, Any], chat: bool) -> dict[str, Any]:
        allowed = CHAT_FIELDS if chat else COMPLETION_FIELDS
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise HTTPProblem(400, f"unsupported field(s): {', '.join(unknown)}", "invalid_request_error")
        model = data.get("model")
        if model not in (None, self.settings.model_id, self.settings.model_sha256):
            raise HTTPProblem(
                404,
                f"model '{str(model)[:100]}' is not served here (serving '{self.settings.model_id}')",
                "model_not_found",
            )
        if chat:
            msgs = data.get("messages")
            if (
                not isinstance(msgs, list)
                or not msgs
                or not all(
                    isinstance(m, dict)
                    and isinstance(m.get("role"), str)
                    and isinstance(m.get("content"), (str, type(None)))
                    for m in msgs
                )
            ):
                raise HTTPProblem(
                    400, "'messages' must be a non-empty list of {role, content} objects", "invalid_request_error"
                )
        elif not isinstance(data.get("prompt"), str):
            raise HTTPProblem(400, "'prompt' must be a string", "invalid_request_error")
        n = data.get("n", 1)
        if n is not None and (n != 1 or isinstance(n, bool)):
            raise HTTPProblem(400, "only n=1 is supported", "invalid_request_error")
        params = {k: v for k, v in data.items() if k not in ("model", "n", "user", "max_completion_tokens")}
        requested = data.get("max_completion_tokens", data.get("max_tokens"))
        cap = self.settings.max_tokens
        if requested is None:
            params["max_tokens"] = cap
        elif not isinstance(requested, int) or isinstance(requested, bool) or requested < 1:
            raise HTTPProblem(400, "'max_tokens' must be a positive integer", "invalid_request_error")
        else:
            params["max_tokens"] = min(requested, cap)
        for name in ("temperature", "top_p", "min_p", "presence_penalty", "frequency_penalty", "repeat_penalty"):
            if name in params and params[name] is not None and not _number(params[name]):
                raise HTTPProblem(400, f"'{name}' must be a number", "invalid_request_error")
        for name in ("top_k", "seed"):
            if (
                name in params
                and params[name] is not None
                and (not isinstance(params[name], int) or isinstance(params[name], bool))
            ):
                raise HTTPProblem(400, f"'{name}' must be an integer", "invalid_request_error")
        stop = params.get("stop")
        if stop is not None and not (
            isinstance(stop, str)
            or (isinstance(stop, list) and len(stop) <= 16 and all(isinstance(x, str) for x in stop))
        ):
            raise HTTPProblem(400, "'stop' must be a string or a list of at most 16 strings", "invalid_request_error")
        if "logit_bias" in params and params["logit_bias"] is not None:
            bias = params["logit_bias"]
            if not isinstance(bias, dict) or not all(
                str(k).lstrip("-").isdigit() and len(str(k)) < 12 and _number(v) for k, v in bias.items()
            ):
                raise HTTPProblem(400, "'logit_bias' must map token ids to numbers", "invalid_request_error")
        if "stream" in params and params["stream"] is not None and not isinstance(params["stream"], bool):
            raise HTTPProblem(400, "'stream' must be true or false", "invalid_request_error")
        options = params.get("stream_options")
        if options is not None and not isinstance(options, dict):
            raise HTTPProblem(400, "'stream_options' must be an object", "invalid_request_error")
        if params.get("response_format") is not None and not isinstance(params["response_format"], dict):
            raise HTTPProblem(400, "'response_format' must be an object", "invalid_request_error")
        params["stream"] = bool(params.get("stream", False))
        return params

    # -- audit --------------------------------------------------------------------------
    def record(
        self,
        *,
        ident: str,
        endpoint: str,
        status: int,
        started: float,
        usage: dict[str, int],
        stream: bool = False,
        params: dict[str, Any] | None = None,
        answer: str | None = None,
        error: str = "",
        extra: dict[str, Any] | None = None,
    ) -> None:
        latency = time.perf_counter() - started
        if endpoint in GENERATION_ENDPOINTS:
            self.metrics.observe(endpoint, status, latency, usage)
        else:
            with self.metrics.lock:
                self.metrics.requests[(endpoint, status)] += 1
        entry: dict[str, Any] = {
            "time": now_iso(),
            **audit_identity(ident),
            "model": self.settings.model_id,
            "model_sha256": self.settings.model_sha256,
            "endpoint": endpoint,
            "status": status,
            "stream": stream,
            "prompt_tokens": int(usage.get("prompt_tokens", 0)),
            "completion_tokens": int(usage.get("completion_tokens", 0)),
            "latency_ms": round(latency * 1000, 1),
        }
        if error:
            entry["error"] = error
        if extra:
            entry.update(extra)
        if self.settings.log_prompts and params is not None:
            entry["prompt"] = params.get("messages", params.get("prompt"))
            if answer is not None:
                entry["answer"] = answer
        self.audit.write(entry)

    # -- generation ---------------------------------------------------------------------
    def _gate(self) -> asyncio.Semaphore:
        loop = id(asyncio.get_running_loop())
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = asyncio.Semaphore(self.slots)
        return gate

    @contextlib.asynccontextmanager
    async def _slot(self) -> Any:
        """Wait (FIFO) for one of the engine's ``slots``; counted in /metrics."""
        gate = self._gate()
        with self.metrics.lock:
            self.metrics.queue_depth += 1
        try:
            await gate.acquire()
        finally:
            with self.metrics.lock:
                self.metrics.queue_depth -= 1
        with self.metrics.lock:
            self.metrics.processing += 1
        try:
            yield
        finally:
            with self.metrics.lock:
                self.metrics.processing -= 1
            gate.release()

    async def _check_model(self) -> None:
        """The hash lock: the served file still holds the approved bytes (``integrity.py``)."""
        if self.integrity is not None:
            await asyncio.to_thread(self.integrity.check)

    @staticmethod
    def _engine_problem(exc: Exception) -> HTTPProblem:
        if isinstance(exc, ModelChanged):
            return HTTPProblem(503, str(exc), "model_integrity_error")
        if isinstance(exc, EngineCrashed):
            return HTTPProblem(503, str(exc), "engine_crashed", {"Retry-After": "2"})
        if isinstance(exc, EngineUnavailable):
            headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
            return HTTPProblem(503, str(exc), "engine_unavailable", headers)
        if isinstance(exc, EngineRejected):
            status = exc.status if exc.status in (400, 413, 429) else 502
            kind = "invalid_request_error" if status == 400 else "engine_error"
            return HTTPProblem(status, exc.message, kind)
        return HTTPProblem(500, f"internal error: {type(exc).__name__}", "server_error")

    async def generate(self, request: Any, chat: bool) -> Any:
        from starlette.responses import JSONResponse, StreamingResponse

        endpoint = request.url.path
        started = time.perf_counter()
        ident = "-"
        params: dict[str, Any] | None = None
        try:
            ident = self.auth.identify(request.headers)
            data = await self.read_json(request)
            params = self.validate(data, chat)
            self.limiter.admit(ident)
        except HTTPProblem as exc:
            self.record(ident=ident, endpoint=endpoint, status=exc.status, started=started, usage={}, error=exc.kind)
            return error_response(exc.status, exc.message, exc.kind, exc.headers)
        include_usage = bool((params.pop("stream_options", None) or {}).get("include_usage"))
        if params["stream"]:
            try:  # no engine now, or not the approved bytes: a plain 503 before the stream starts
                self.engine.supervisor.endpoint()
                await self._check_model()
            except (EngineUnavailable, ModelChanged) as exc:
                problem = self._engine_problem(exc)
                self.record(ident=ident, endpoint=endpoint, status=503, started=started, usage={}, error=problem.kind)
                return error_response(problem.status, problem.message, problem.kind, problem.headers)
            return StreamingResponse(
                self._sse(chat, params, ident, endpoint, started, include_usage),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        try:
            await self._check_model()
            async with self._slot():
                result = await self.engine.call(chat, params)
            await self._check_model()  # changed during generation: this answer is not trusted either
        except (EngineCrashed, EngineUnavailable, EngineRejected, ModelChanged) as exc:
            problem = self._engine_problem(exc)
            extra = {"engine_signal": exc.signal} if isinstance(exc, EngineCrashed) else None
            self.record(
                ident=ident,
                endpoint=endpoint,
                status=problem.status,
                started=started,
                usage={},
                params=params,
                error=problem.kind,
                extra=extra,
            )
            return error_response(problem.status, problem.message, problem.kind, problem.headers)
        usage = {k: int(v) for k, v in (result.get("usage") or {}).items() if isinstance(v, int)}
        answer = None
        with contextlib.suppress(Exception):
            choice = result["choices"][0]
            answer = choice["message"]["content"] if chat else choice["text"]
        self.record(
            ident=ident, endpoint=endpoint, status=200, started=started, usage=usage, params=params, answer=answer
        )
        result["model"] = self.settings.model_id
        result.pop("timings", None)
        return JSONResponse(result)

    async def _sse(  # noqa: PLR0917
        self,
        chat: bool,
        params: dict[str, Any],
        ident: str,
        endpoint: str,
        started: float,
        include_usage: bool,
    ) -> Any:
        status, error = 499, ""  # 499: the client went away before the end
        extra: dict[str, Any] | None = None
        usage: dict[str, int] = {}
        pieces: list[str] = []
        last_id, created = "", int(time.time())
        try:
            async with self._slot():
                try:
                    async for chunk in self.engine.stream(chat, params, usage):
                        chunk["model"] = self.settings.model_id
                        chunk.pop("timings", None)
                        last_id, created = chunk.get("id", last_id), chunk.get("created", created)
                        choice = (chunk.get("choices") or [{}])[0]
                        piece = (choice.get("delta") or {}).get("content") if chat else choice.get("text")
                        if piece:
                            pieces.append(piece)
                        yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"
                    await self._check_model()
                except (EngineCrashed, EngineUnavailable, EngineRejected, ModelChanged) as exc:
                    problem = self._engine_problem(exc)
                    status, error = problem.status, problem.kind
                    if isinstance(exc, EngineCrashed):
                        extra = {"engine_signal": exc.signal}
                    yield f"data: {json.dumps(error_body(problem.status, problem.message, problem.kind))}\n\n"
                    return
            status = 200
            if include_usage:
                final: dict[str, Any] = {
                    "id": last_id,
                    "object": "chat.completion.chunk" if chat else "text_completion",
                    "created": created,
                    "model": self.settings.model_id,
                    "choices": [],
                    "usage": usage,
                }
                yield f"data: {json.dumps(final)}\n\n"
            yield "data: [DONE]\n\n"
        finally:
            self.record(
                ident=ident,
                endpoint=endpoint,
                status=status,
                started=started,
                usage=usage,
                stream=True,
                params=params,
                answer="".join(pieces),
                error=error,
                extra=extra,
            )

    # -- other endpoints ------------------------------------------------------------------
    async def models(self, request: Any) -> Any:
        from starlette.responses import JSONResponse

        started = time.perf_counter()
        try:
            ident = self.auth.identify(request.headers)
        except HTTPProblem as exc:
            self.record(ident="-", endpoint="/v1/models", status=exc.status, started=started, usage={}, error=exc.kind)
            return error_response(exc.status, exc.message, exc.kind, exc.headers)
        self.record(ident=ident, endpoint="/v1/models", status=200, started=started, usage={})
        s = self.settings
        engine = self.engine.supervisor.status()
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {
                        "id": s.model_id,
                        "object": "model",
                        "created": self.created,
                        "owned_by": "local",
                        "meta": {
                            "sha256": s.model_sha256,
                            "license": s.model_license,
                            "backend": s.backend_name,
                            "n_ctx": s.n_ctx,
                            "max_tokens": s.max_tokens,
                            "slots": self.slots,
                            "engine_state": engine["state"],
                            **s.metadata,
                        },
                    }
                ],
            }
        )

    async def health(self, request: Any) -> Any:
        from starlette.responses import JSONResponse

        engine = self.engine.supervisor.status()
        public = {
            k: engine[k]
            for k in ("state", "backend", "restarts", "crashes", "last_crash", "safe_mode", "last_restart_seconds")
        }
        broken = self.integrity.broken if self.integrity is not None else ""
        if broken:
            return JSONResponse(
                {"status": "model integrity lost", "model": self.settings.model_id, "engine": public, "error": broken},
                503,
            )
        if engine["state"] == "ready":
            return JSONResponse({"status": "ok", "model": self.settings.model_id, "engine": public})
        return JSONResponse(
            {"status": f"engine {engine['state']}", "model": self.settings.model_id, "engine": public},
            503,
            headers={"Retry-After": "2"},
        )

    async def prometheus(self, request: Any) -> Any:
        from starlette.responses import PlainTextResponse

        try:
            self.auth.identify(request.headers)
        except HTTPProblem as exc:
            return error_response(exc.status, exc.message, exc.kind, exc.headers)
        engine = self.engine.supervisor.status()
        if self.integrity is not None:
            engine["model_integrity_ok"] = not self.integrity.broken
        return PlainTextResponse(
            self.metrics.render(self.settings, engine),
            media_type="text/plain; version=0.0.4; charset=utf-8",
        )

    def engine_event(self, event: dict[str, Any]) -> None:
        """Supervisor events (crash, restart, fall-back) into the audit log."""
        self.audit.write({**event, "model": self.settings.model_id, "model_sha256": self.settings.model_sha256})

    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.routing import Route

        async def chat(request: Any) -> Any:
            return await self.generate(request, chat=True)

        async def completions(request: Any) -> Any:
            return await self.generate(request, chat=False)

        async def not_found(request: Any, exc: Exception) -> Any:
            return error_response(404, f"no route {request.url.path[:200]}", "not_found")

        async def not_allowed(request: Any, exc: Exception) -> Any:
            return error_response(
                405, f"method {request.method} not allowed on {request.url.path[:200]}", "method_not_allowed"
            )

        routes = [
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/v1/completions", completions, methods=["POST"]),
            Route("/v1/models", self.models, methods=["GET"]),
            Route("/health", self.health, methods=["GET"]),
            Route("/v1/health", self.health, methods=["GET"]),
            Route("/metrics", self.prometheus, methods=["GET"]),
            *self.extra_routes,
        ]

        async def crashed(request: Any, exc: Exception) -> Any:
            # audited here, before the 500 leaves: Starlette re-raises after sending it, and _Guard
            # (which audits what escapes elsewhere) skips an exception already audited
            self.record(
                ident="-",
                endpoint=str(request.url.path)[:200],
                status=500,
                started=time.perf_counter(),
                usage={},
                error=f"internal:{type(exc).__name__}",
            )
            exc.__dict__[_AUDITED] = True
            return error_response(500, f"internal error: {type(exc).__name__}", "server_error")

        inner = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed, Exception: crashed})
        return _Guard(inner, self)

    def close(self) -> None:
        return None


_AUDITED = "_mistral_sov_audited"


class _Guard:
    """ASGI wrapper: an exception escaping a handler becomes a 500 in OpenAI error JSON (if the
    response has not started), is audited, and never reaches the client as a traceback."""

    def __init__(self, app: Any, server: LocalServer) -> None:
        self.app = app
        self.server = server

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started_response = False
        t0 = time.perf_counter()

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started_response
            if message["type"] == "http.response.start":
                started_response = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if exc.__dict__.get(_AUDITED):
                return  # the 500 was sent and audited by the app's exception handler
            self.server.record(
                ident="-",
                endpoint=str(scope.get("path", ""))[:200],
                status=500,
                started=t0,
                usage={},
                error=f"internal:{type(exc).__name__}",
            )
            if started_response:
                return
            body = json.dumps(error_body(500, f"internal error: {type(exc).__name__}", "server_error")).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
