"""A fake inference engine child for offline tests: the same HTTP shape as our worker and
llama-server (``/health``, ``/v1/chat/completions``, ``/v1/completions``, JSON or SSE), words
instead of a model, and crashes on demand.

FAKE_ENGINE_MODE: ok | crash-unless-safe (SIGSEGV on the first completion unless --no-repack)
| always-crash | exit-at-start | crash-on-restart (the first start works, later ones SIGSEGV at
load; the marker file is FAKE_ENGINE_MARKER). Prompts containing ``__segv__``/``__kill__``
make it kill itself mid-answer; ``__slow__`` makes every token take 0.1 s.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def main() -> None:
    args = sys.argv[1:]
    port = int(args[args.index("--port") + 1])
    safe = "--no-repack" in args
    mode = os.environ.get("FAKE_ENGINE_MODE", "ok")
    key = os.environ.get("MISTRAL_SOV_ENGINE_KEY") or os.environ.get("LLAMA_API_KEY", "")
    print(f"fake engine pid {os.getpid()} safe={safe} mode={mode}", flush=True)
    model_sha = ""
    if "--model" in args:  # "load" the model: hash the file the engine was told to open
        import hashlib

        model_sha = hashlib.sha256(Path(args[args.index("--model") + 1]).read_bytes()).hexdigest()
    if mode == "exit-at-start":
        print("cannot load the model: bad magic", flush=True)
        sys.exit(3)
    if mode == "crash-on-restart":
        marker = Path(os.environ["FAKE_ENGINE_MARKER"])
        if marker.exists():
            os.kill(os.getpid(), signal.SIGSEGV)
        marker.write_text("started once", encoding="utf-8")

    dropped: list[bool] = []

    def die(sig: int) -> None:
        sys.stdout.flush()
        os.kill(os.getpid(), sig)
        time.sleep(5)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *a: object) -> None:
            return

        def _json(self, status: int, data: dict) -> None:
            raw = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            if self.path == "/health":
                self._json(200, {"status": "ok"})
            elif self.path == "/model-sha256":
                self._json(200, {"sha256": model_sha})
            else:
                self._json(404, {})

        def do_POST(self) -> None:
            if self.headers.get("Authorization", "") != f"Bearer {key}":
                self._json(401, {"error": {"message": "bad key", "code": 401}})
                return
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            chat = self.path.endswith("chat/completions")
            text = json.dumps(body.get("messages")) if chat else str(body.get("prompt"))
            if mode == "always-crash" or (mode == "crash-unless-safe" and not safe):
                die(signal.SIGSEGV)
            if "__drop_once__" in text and not dropped:  # like a keep-alive connection closed by the engine
                dropped.append(True)
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if "__too_long__" in text:
                self._json(400, {"error": {"message": "the prompt exceeds the context window", "code": 400}})
                return
            n = int(body.get("max_tokens") or 16)
            words = [f"w{i} " for i in range(n)]
            usage = {"prompt_tokens": len(text.split()), "completion_tokens": n, "total_tokens": len(text.split()) + n}
            kind = "chat.completion" if chat else "text_completion"
            if not body.get("stream"):
                for _ in words:
                    self._tick(text)
                choice = {"index": 0, "finish_reason": "length"}
                choice.update(
                    {"message": {"role": "assistant", "content": "".join(words)}} if chat else {"text": "".join(words)}
                )
                self._json(200, {"id": "x", "object": kind, "created": 1, "choices": [choice], "usage": usage})
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            for w in words:
                choice = {"index": 0, "finish_reason": None}
                choice.update({"delta": {"content": w}} if chat else {"text": w})
                obj = {"id": "x", "object": kind + (".chunk" if chat else ""), "created": 1, "choices": [choice]}
                self.wfile.write(f"data: {json.dumps(obj)}\n\n".encode())
                self.wfile.flush()
                self._tick(text)
            self.wfile.write(
                f"data: {json.dumps({'id': 'x', 'choices': [], 'usage': usage})}\n\ndata: [DONE]\n\n".encode()
            )
            self.wfile.flush()

        def _tick(self, text: str) -> None:
            if "__slow__" in text:
                time.sleep(0.1)
            if "__segv__" in text:
                time.sleep(0.3)
                die(signal.SIGSEGV)
            if "__kill__" in text:
                time.sleep(0.3)
                die(signal.SIGKILL)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
