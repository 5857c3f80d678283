"""The OpenAI-compatible local server (Starlette + uvicorn) in front of one approved model.

Endpoints: ``POST /v1/chat/completions`` and ``/v1/completions`` (JSON or SSE streaming),
``GET /v1/models``, ``GET /health`` (public), ``GET /metrics`` (Prometheus text).

Governance built in, none of which llama-server, Ollama or llama-cpp-python offer:
* API keys compared in constant time (``hmac.compare_digest``); a key is identified in logs only
  by ``key_id`` = first 16 hex of SHA-256(key), never by the key itself;
* per-key daily request quota (UTC day) and per-minute rate limit -> 429 + ``Retry-After``;
* request bodies bounded (413), ``max_tokens`` capped by the policy, unknown fields refused;
* a FIFO queue: requests are admitted in arrival order and run one at a time on a single worker
  thread; none is dropped (clients wait);
* a JSONL audit log: time, key_id, model SHA-256, endpoint, status, token counts, latency;
  prompt and answer text only when the policy says ``log_prompts: true``.
starlette/uvicorn are imported inside functions so ``mistral-sov --help`` stays fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mistral_sov.adapters.inference.backends import InferenceBackend

MAX_BODY_BYTES = 1 << 20  # 1 MiB
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
ANONYMOUS = "loopback"

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


def key_id(key: str) -> str:
    """A stable, non-reversible identifier for an API key (safe to log)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def is_loopback_host(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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


class HTTPProblem(Exception):
    def __init__(self, status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.headers = headers or {}


class Limiter:
    """Per-key sliding one-minute window and UTC-day counter (in memory, thread-safe)."""

    def __init__(self, per_minute: int, per_day: int, clock: Callable[[], float] = time.time) -> None:
        self.per_minute = per_minute
        self.per_day = per_day
        self.clock = clock
        self._minute: dict[str, deque[float]] = defaultdict(deque)
        self._day: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()

    def admit(self, ident: str) -> None:
        now = self.clock()
        day = datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%d")
        with self._lock:
            used_day, count = self._day.get(ident, (day, 0))
            if used_day != day:
                count = 0
            if count >= self.per_day:
                midnight = (int(now) // 86400 + 1) * 86400
                raise HTTPProblem(
                    429,
                    f"daily quota of {self.per_day} requests exhausted for this key",
                    "quota_exceeded",
                    {"Retry-After": str(max(1, int(midnight - now)))},
                )
            window = self._minute[ident]
            while window and window[0] <= now - 60:
                window.popleft()
            if len(window) >= self.per_minute:
                retry = max(1, int(window[0] + 60 - now + 0.999))
                raise HTTPProblem(
                    429,
                    f"rate limit of {self.per_minute} requests per minute exceeded",
                    "rate_limit_exceeded",
                    {"Retry-After": str(retry)},
                )
            window.append(now)
            self._day[ident] = (day, count + 1)


class Metrics:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: dict[tuple[str, int], int] = defaultdict(int)
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self.latency_sum = 0.0
        self.latency_count = 0
        self.queue_depth = 0
        self.processing = 0

    def observe(self, endpoint: str, status: int, latency: float, usage: dict[str, int]) -> None:
        with self.lock:
            self.requests[(endpoint, status)] += 1
            self.prompt_tokens += int(usage.get("prompt_tokens", 0))
            self.completion_tokens += int(usage.get("completion_tokens", 0))
            i = next((i for i, b in enumerate(LATENCY_BUCKETS) if latency <= b), len(LATENCY_BUCKETS))
            self.buckets[i] += 1
            self.latency_sum += latency
            self.latency_count += 1

    def render(self, settings: ServerSettings) -> str:
        p = "mistral_sov_local"
        lines = [
            f"# HELP {p}_model_info The approved model being served.",
            f"# TYPE {p}_model_info gauge",
            f'{p}_model_info{{model="{settings.model_id}",sha256="{settings.model_sha256}",'
            f'backend="{settings.backend_name}"}} 1',
            f"# HELP {p}_requests_total Requests by endpoint and HTTP status.",
            f"# TYPE {p}_requests_total counter",
        ]
        with self.lock:
            for (endpoint, status), n in sorted(self.requests.items()):
                lines.append(f'{p}_requests_total{{endpoint="{endpoint}",status="{status}"}} {n}')
            lines += [
                f"# HELP {p}_prompt_tokens_total Prompt tokens processed.",
                f"# TYPE {p}_prompt_tokens_total counter",
                f"{p}_prompt_tokens_total {self.prompt_tokens}",
                f"# HELP {p}_completion_tokens_total Tokens generated.",
                f"# TYPE {p}_completion_tokens_total counter",
                f"{p}_completion_tokens_total {self.completion_tokens}",
                f"# HELP {p}_request_duration_seconds Latency of generation requests.",
                f"# TYPE {p}_request_duration_seconds histogram",
            ]
            cumulative = 0
            for bound, n in zip((*LATENCY_BUCKETS, float("inf")), self.buckets, strict=True):
                cumulative += n
                le = "+Inf" if bound == float("inf") else repr(bound)
                lines.append(f'{p}_request_duration_seconds_bucket{{le="{le}"}} {cumulative}')
            lines += [
                f"{p}_request_duration_seconds_sum {self.latency_sum:.6f}",
                f"{p}_request_duration_seconds_count {self.latency_count}",
                f"# HELP {p}_queue_depth Requests waiting for the model.",
                f"# TYPE {p}_queue_depth gauge",
                f"{p}_queue_depth {self.queue_depth}",
                f"# HELP {p}_requests_processing Requests being generated now.",
                f"# TYPE {p}_requests_processing gauge",
                f"{p}_requests_processing {self.processing}",
            ]
        return "\n".join(lines) + "\n"


class AuditLog:
    """Append-only JSONL; one line per request, flushed at once. Never the key, never the prompt
    unless ``log_prompts``."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, record: dict[str, Any]) -> None:
        if self.path is None:
            return
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8", newline="\n") as handle:
            handle.write(line)


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> Any:
    from starlette.responses import JSONResponse

    return JSONResponse({"error": {"message": message, "type": kind, "code": status}}, status, headers=headers)


class LocalServer:
    """Holds the backend, the single worker thread and the governance state."""

    def __init__(
        self, backend: InferenceBackend, settings: ServerSettings, clock: Callable[[], float] = time.time
    ) -> None:
        self.backend = backend
        self.settings = settings
        self.limiter = Limiter(settings.rate_limit_per_minute, settings.daily_quota, clock)
        self.metrics = Metrics()
        self.audit = AuditLog(settings.audit_log)
        # one worker: FIFO (ThreadPoolExecutor's work queue is a FIFO queue), one generation at a time
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mistral-sov-generate")
        self._keys = [(k.encode("utf-8"), key_id(k)) for k in settings.api_keys if k]
        self.created = int(time.time())

    # -- auth -------------------------------------------------------------------------
    def identify(self, headers: Any) -> str:
        if not self._keys:
            return ANONYMOUS
        auth = headers.get("authorization", "")
        presented = auth[7:].strip() if auth[:7].lower() == "bearer " else headers.get("x-api-key", "")
        if not presented:
            raise HTTPProblem(
                401,
                "missing API key (Authorization: Bearer KEY)",
                "authentication_error",
                {"WWW-Authenticate": "Bearer"},
            )
        given = presented.encode("utf-8")
        match = ""
        for key, ident in self._keys:  # compare with every key: time does not reveal which matched
            if hmac.compare_digest(given, key):
                match = ident
        if not match:
            raise HTTPProblem(401, "invalid API key", "authentication_error", {"WWW-Authenticate": "Bearer"})
        return match

    # -- request parsing ---------------------------------------------------------------
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
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
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
                404, f"model '{model}' is not served here (serving '{self.settings.model_id}')", "model_not_found"
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
        if data.get("n", 1) != 1:
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
            if name in params and (not isinstance(params[name], (int, float)) or isinstance(params[name], bool)):
                raise HTTPProblem(400, f"'{name}' must be a number", "invalid_request_error")
        if "logit_bias" in params and params["logit_bias"] is not None:
            bias = params["logit_bias"]
            if not isinstance(bias, dict) or not all(
                str(k).lstrip("-").isdigit() and isinstance(v, (int, float)) for k, v in bias.items()
            ):
                raise HTTPProblem(400, "'logit_bias' must map token ids to numbers", "invalid_request_error")
        params["stream"] = bool(params.get("stream", False))
        return params

    # -- audit -------------------------------------------------------------------------
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
    ) -> None:
        latency = time.perf_counter() - started
        if endpoint in ("/v1/chat/completions", "/v1/completions"):
            self.metrics.observe(endpoint, status, latency, usage)
        else:
            with self.metrics.lock:
                self.metrics.requests[(endpoint, status)] += 1
        entry: dict[str, Any] = {
            "time": _now_iso(),
            "key_id": ident,
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
        if self.settings.log_prompts and params is not None:
            entry["prompt"] = params.get("messages", params.get("prompt"))
            if answer is not None:
                entry["answer"] = answer
        self.audit.write(entry)

    # -- generation ---------------------------------------------------------------------
    def _call(self, chat: bool, params: dict[str, Any]) -> Any:
        return self.backend.chat(params) if chat else self.backend.complete(params)

    async def generate(self, request: Any, chat: bool) -> Any:
        from starlette.responses import JSONResponse, StreamingResponse

        endpoint = request.url.path
        started = time.perf_counter()
        ident = "-"
        params: dict[str, Any] | None = None
        try:
            ident = self.identify(request.headers)
            data = await self.read_json(request)
            params = self.validate(data, chat)
            self.limiter.admit(ident)
        except HTTPProblem as exc:
            self.record(ident=ident, endpoint=endpoint, status=exc.status, started=started, usage={}, error=exc.kind)
            return _error(exc.status, exc.message, exc.kind, exc.headers)
        if params["stream"]:
            include_usage = bool((params.get("stream_options") or {}).get("include_usage"))
            params.pop("stream_options", None)
            return StreamingResponse(
                self._sse(chat, params, ident, endpoint, started, include_usage),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        params.pop("stream_options", None)
        loop = asyncio.get_running_loop()
        with self.metrics.lock:
            self.metrics.queue_depth += 1
        try:
            result, usage = await loop.run_in_executor(self.executor, self._run_blocking, chat, params)
        except ValueError as exc:  # e.g. prompt longer than the context window
            self.record(
                ident=ident,
                endpoint=endpoint,
                status=400,
                started=started,
                usage={},
                params=params,
                error="invalid_request_error",
            )
            return _error(400, str(exc), "invalid_request_error")
        except Exception as exc:  # a backend failure is a 500 for this request, not a crash
            self.record(
                ident=ident,
                endpoint=endpoint,
                status=500,
                started=started,
                usage={},
                params=params,
                error=type(exc).__name__,
            )
            return _error(500, f"generation failed: {type(exc).__name__}", "server_error")
        answer = None
        with contextlib.suppress(Exception):
            choice = result["choices"][0]
            answer = choice["message"]["content"] if chat else choice["text"]
        self.record(
            ident=ident, endpoint=endpoint, status=200, started=started, usage=usage, params=params, answer=answer
        )
        result["model"] = self.settings.model_id
        return JSONResponse(result)

    def _run_blocking(self, chat: bool, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, int]]:
        with self.metrics.lock:
            self.metrics.queue_depth -= 1
            self.metrics.processing += 1
        try:
            result = self._call(chat, params)
            assert isinstance(result, dict)
            return result, dict(result.get("usage") or self.backend.last_usage())
        finally:
            with self.metrics.lock:
                self.metrics.processing -= 1

    def _stream_worker(
        self, chat: bool, params: dict[str, Any], push: Callable[[Any], None], cancelled: threading.Event
    ) -> None:
        with self.metrics.lock:
            self.metrics.queue_depth -= 1
            self.metrics.processing += 1
        try:
            if cancelled.is_set():
                push(("cancelled", None))
                return
            chunks: Iterator[dict[str, Any]] = self._call(chat, params)
            try:
                for chunk in chunks:
                    if cancelled.is_set():
                        break
                    push(("chunk", chunk))
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
            push(("done", self.backend.last_usage()))
        except Exception as exc:
            push(("error", exc))
        finally:
            with self.metrics.lock:
                self.metrics.processing -= 1

    async def _sse(  # noqa: PLR0917
        self,
        chat: bool,
        params: dict[str, Any],
        ident: str,
        endpoint: str,
        started: float,
        include_usage: bool,
    ) -> Any:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        cancelled = threading.Event()

        def push(item: tuple[str, Any]) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        with self.metrics.lock:
            self.metrics.queue_depth += 1
        self.executor.submit(self._stream_worker, chat, params, push, cancelled)
        status, error = 499, ""
        usage: dict[str, int] = {}
        pieces: list[str] = []
        last_id, created = "", int(time.time())
        try:
            batch: list[str] = []
            while True:
                if batch and queue.empty():  # coalesce: one write for every chunk ready now
                    yield "".join(batch)
                    batch = []
                kind, value = await queue.get()
                if kind == "chunk":
                    value["model"] = self.settings.model_id
                    last_id, created = value.get("id", last_id), value.get("created", created)
                    choice = (value.get("choices") or [{}])[0]
                    piece = (choice.get("delta") or {}).get("content") if chat else choice.get("text")
                    if piece:
                        pieces.append(piece)
                    batch.append(f"data: {json.dumps(value, ensure_ascii=False)}\n\n")
                    continue
                if batch:
                    yield "".join(batch)
                    batch = []
                if kind == "done":
                    usage = value or {}
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
                    break
                elif kind == "error":
                    status = 400 if isinstance(value, ValueError) else 500
                    error = type(value).__name__
                    message = str(value) if status == 400 else f"generation failed: {error}"
                    yield f"data: {json.dumps({'error': {'message': message, 'code': status}})}\n\n"
                    break
                else:
                    break
        finally:
            cancelled.set()
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
            )

    # -- other endpoints ----------------------------------------------------------------
    async def models(self, request: Any) -> Any:
        from starlette.responses import JSONResponse

        started = time.perf_counter()
        try:
            ident = self.identify(request.headers)
        except HTTPProblem as exc:
            self.record(ident="-", endpoint="/v1/models", status=exc.status, started=started, usage={})
            return _error(exc.status, exc.message, exc.kind, exc.headers)
        self.record(ident=ident, endpoint="/v1/models", status=200, started=started, usage={})
        s = self.settings
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
                            **s.metadata,
                        },
                    }
                ],
            }
        )

    async def health(self, request: Any) -> Any:
        from starlette.responses import JSONResponse

        return JSONResponse({"status": "ok", "model": self.settings.model_id})

    async def prometheus(self, request: Any) -> Any:
        from starlette.responses import PlainTextResponse

        try:
            self.identify(request.headers)
        except HTTPProblem as exc:
            return _error(exc.status, exc.message, exc.kind, exc.headers)
        return PlainTextResponse(
            self.metrics.render(self.settings), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.routing import Route

        async def chat(request: Any) -> Any:
            return await self.generate(request, chat=True)

        async def completions(request: Any) -> Any:
            return await self.generate(request, chat=False)

        async def not_found(request: Any, exc: Exception) -> Any:
            return _error(404, f"no route {request.url.path}", "not_found")

        async def not_allowed(request: Any, exc: Exception) -> Any:
            return _error(405, f"method {request.method} not allowed on {request.url.path}", "method_not_allowed")

        routes = [
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/v1/completions", completions, methods=["POST"]),
            Route("/v1/models", self.models, methods=["GET"]),
            Route("/health", self.health, methods=["GET"]),
            Route("/v1/health", self.health, methods=["GET"]),
            Route("/metrics", self.prometheus, methods=["GET"]),
        ]
        return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.backend.close()


class ServerThread:
    """Run uvicorn in a background thread (tests, ``local bench``); ``with`` stops it."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        from mistral_sov.adapters.inference.backends import free_loopback_port

        self.host = host
        self.port = port or free_loopback_port()
        config = uvicorn.Config(
            app, host=host, port=self.port, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="mistral-sov-uvicorn", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the local server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
