"""The llama-cpp-python engine child: ``python -m mistral_sov.adapters.inference.engine.worker``.

A small loopback HTTP server (stdlib) around one ``Llama``: ``GET /health``,
``POST /v1/chat/completions`` and ``/v1/completions`` (JSON, or SSE when ``stream``), the same
shape as llama-server, so the API server treats both engines alike. Requests need the internal
key from ``$MISTRAL_SOV_ENGINE_KEY``. llama-cpp-python generates one request at a time (a lock).
If llama.cpp crashes, only this process dies; the supervisor in the API server restarts it.
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mistral_sov.adapters.inference.engine.launchers import ENGINE_KEY_ENV

MAX_BODY = 8 << 20


def _serve(backend: Any, port: int, key: str) -> None:
    lock = threading.Lock()
    secret = key.encode("utf-8")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # no request logs (privacy)
            return

        def _json(self, status: int, data: dict[str, Any]) -> None:
            raw = json.dumps(data, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _authorised(self) -> bool:
            given = self.headers.get("Authorization", "")[7:].encode("utf-8")
            if hmac.compare_digest(given, secret):
                return True
            self._json(401, {"error": {"message": "invalid engine key", "type": "authentication_error", "code": 401}})
            return False

        def do_GET(self) -> None:
            if self.path == "/health":
                self._json(200, {"status": "ok"})
            else:
                self._json(404, {"error": {"message": "not found", "type": "not_found", "code": 404}})

        def do_POST(self) -> None:
            if not self._authorised():
                return
            if self.path not in ("/v1/chat/completions", "/v1/completions"):
                self._json(404, {"error": {"message": "not found", "type": "not_found", "code": 404}})
                return
            try:
                length = int(self.headers.get("Content-Length", "0"))
                if not 0 < length <= MAX_BODY:
                    raise ValueError("bad body length")
                params = json.loads(self.rfile.read(length))
                if not isinstance(params, dict):
                    raise ValueError("body must be an object")
            except ValueError as exc:
                self._json(400, {"error": {"message": str(exc), "type": "invalid_request_error", "code": 400}})
                return
            chat = self.path == "/v1/chat/completions"
            params.pop("stream_options", None)
            with lock:
                if params.get("stream"):
                    self._stream(chat, params)
                else:
                    self._complete(chat, params)

        def _complete(self, chat: bool, params: dict[str, Any]) -> None:
            try:
                result = backend.chat(params) if chat else backend.complete(params)
            except ValueError as exc:  # e.g. the prompt exceeds the context window
                self._json(400, {"error": {"message": str(exc), "type": "invalid_request_error", "code": 400}})
                return
            self._json(200, result)

        def _stream(self, chat: bool, params: dict[str, Any]) -> None:
            try:
                chunks = backend.chat(params) if chat else backend.complete(params)
                first = next(chunks, None)
            except ValueError as exc:
                self._json(400, {"error": {"message": str(exc), "type": "invalid_request_error", "code": 400}})
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                last: dict[str, Any] = {}
                if first is not None:
                    last = first
                    self.wfile.write(f"data: {json.dumps(first, ensure_ascii=False)}\n\n".encode())
                    self.wfile.flush()
                for chunk in chunks:
                    last = chunk
                    self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
                    self.wfile.flush()
                final = {
                    "id": last.get("id", ""),
                    "object": last.get("object", ""),
                    "created": last.get("created", 0),
                    "choices": [],
                    "usage": backend.last_usage(),
                }
                self.wfile.write(f"data: {json.dumps(final)}\n\ndata: [DONE]\n\n".encode())
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):  # the API server cancelled the request
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="mistral-sov-engine")
    ap.add_argument("--model", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ctx", type=int, default=2048)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--no-repack", action="store_true", help="use_extra_bufts=False (no CPU weight repacking)")
    args = ap.parse_args(argv)
    key = os.environ.get(ENGINE_KEY_ENV, "")
    if len(key) < 16:
        print("the engine key is missing", file=sys.stderr)
        return 2
    from pathlib import Path

    from mistral_sov.adapters.inference.backends import LlamaCppBackend
    from mistral_sov.errors import MistralSovError

    try:
        backend = LlamaCppBackend(
            Path(args.model), n_ctx=args.ctx, n_threads=args.threads or None, extra_bufts=not args.no_repack
        )
    except MistralSovError as exc:
        print(f"{exc.message} ({exc.hint})", file=sys.stderr)
        return int(exc.exit_status)
    print(f"engine ready: llama-cpp-python, repacking {'off' if args.no_repack else 'on'}", file=sys.stderr, flush=True)
    _serve(backend, args.port, key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
