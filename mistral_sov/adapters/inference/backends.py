"""Inference backends behind one interface: llama-cpp-python in process, or a managed
``llama-server`` subprocess pinned to loopback.

Both take OpenAI-shaped parameters (already validated and capped by the server) and return an
OpenAI-shaped dict, or an iterator of ``chat.completion.chunk``/``text_completion`` chunks when
``stream`` is true. Calls are made from one worker thread at a time (the server's FIFO queue).
Heavy modules (llama_cpp, httpx) are imported inside the functions that need them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from mistral_sov.errors import InputError, MissingBackendError, ModelRefusedError

BACKENDS = ("llama-cpp", "llama-server")


@runtime_checkable
class InferenceBackend(Protocol):
    """One loaded model. ``params`` hold OpenAI request fields (messages/prompt, max_tokens,
    temperature, top_p, stop, seed, stream, logit_bias…). Not thread-safe: one call at a time."""

    name: str  # backend kind, e.g. "llama-cpp"

    def chat(self, params: dict[str, Any]) -> dict[str, Any] | Iterator[dict[str, Any]]: ...

    def complete(self, params: dict[str, Any]) -> dict[str, Any] | Iterator[dict[str, Any]]: ...

    def last_usage(self) -> dict[str, int]: ...

    def close(self) -> None: ...


def default_threads() -> int:
    """Physical cores (decode is memory-bound; SMT siblings do not help)."""
    try:
        import psutil

        physical = psutil.cpu_count(logical=False)
    except ImportError:  # psutil is optional
        physical = None
    return max(1, physical or os.cpu_count() or 1)


def _llama_kwargs(params: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in params.items() if k not in ("model", "stream_options", "n", "user")}
    if out.get("logit_bias"):
        out["logit_bias"] = {int(k): float(v) for k, v in out["logit_bias"].items()}
    return out


class LlamaCppBackend:
    """llama-cpp-python in this process (default)."""

    name = "llama-cpp"

    def __init__(
        self, model_path: Path, *, n_ctx: int = 2048, n_threads: int | None = None, chat_format: str | None = None
    ) -> None:
        try:
            from llama_cpp import Llama
        except ImportError:
            raise MissingBackendError(
                "llama-cpp-python is not installed",
                hint="pip install 'mistral-sov[local]' (builds llama.cpp, about 8 minutes; see docs/local.md)",
            ) from None
        threads = n_threads or default_threads()
        try:
            self.llm = Llama(
                model_path=str(model_path),
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                chat_format=chat_format,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelRefusedError(
                f"llama.cpp could not load '{model_path}': {exc}",
                hint="the file passed the header check but llama.cpp refused it; check its architecture is supported",
            ) from None
        self.n_ctx = n_ctx
        self.n_threads = threads
        self._usage: dict[str, int] = {}

    # -- calls ------------------------------------------------------------------------
    def chat(self, params: dict[str, Any]) -> dict[str, Any] | Iterator[dict[str, Any]]:
        kwargs = _llama_kwargs(params)
        if kwargs.get("stream"):
            return self._stream(self.llm.create_chat_completion(**kwargs), chat=True)
        result: dict[str, Any] = self.llm.create_chat_completion(**kwargs)  # type: ignore[assignment]
        self._usage = dict(result.get("usage") or {})
        return result

    def complete(self, params: dict[str, Any]) -> dict[str, Any] | Iterator[dict[str, Any]]:
        kwargs = _llama_kwargs(params)
        if kwargs.get("stream"):
            return self._stream(self.llm.create_completion(**kwargs), chat=False)
        result: dict[str, Any] = self.llm.create_completion(**kwargs)  # type: ignore[assignment]
        self._usage = dict(result.get("usage") or {})
        return result

    def _stream(self, chunks: Any, *, chat: bool) -> Iterator[dict[str, Any]]:
        """Pass chunks through; count generated tokens (one chunk per token in llama-cpp-python)
        and derive prompt tokens from the evaluated context afterwards."""
        generated = 0
        self._usage = {}
        try:
            for chunk in chunks:
                choice = (chunk.get("choices") or [{}])[0]
                piece = (choice.get("delta") or {}).get("content") if chat else choice.get("text")
                if piece:
                    generated += 1
                yield chunk
        finally:
            with contextlib.suppress(Exception):
                chunks.close()
            evaluated = int(getattr(self.llm, "n_tokens", 0))
            prompt = max(0, evaluated - max(0, generated - 1))
            self._usage = {"prompt_tokens": prompt, "completion_tokens": generated, "total_tokens": prompt + generated}

    def chat_stream(self, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        result = self.chat({**params, "stream": True})
        assert not isinstance(result, dict)
        return result

    def complete_stream(self, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        result = self.complete({**params, "stream": True})
        assert not isinstance(result, dict)
        return result

    def last_usage(self) -> dict[str, int]:
        return dict(self._usage)

    def tokenize(self, text: str) -> list[int]:
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.llm.close()


# --------------------------------------------------------------------------------------
# llama-server as a managed subprocess

# Flags that open network egress, tools/agents (file and shell access), extra listeners,
# prompt logging, metadata rewriting or file serving. Matched on the flag name (before '=').
REFUSED_FLAGS = frozenset(
    {
        "--tools",
        "--agent",
        "-hf",
        "-hfr",
        "--hf-repo",
        "-hff",
        "--hf-file",
        "-hfv",
        "--hf-repo-v",
        "-hffv",
        "--hf-file-v",
        "-hft",
        "--hf-token",
        "-mu",
        "--model-url",
        "-dr",
        "--docker-repo",
        "--log-prompts-dir",
        "--webui",
        "--models-dir",
        "--models-preset",
        "--models-max",
        "--path",
        "--slot-save-path",
        "--override-kv",
        "--api-prefix",
        "--lora",
        "--lora-scaled",
        "--control-vector",
        "--control-vector-scaled",
        "--mmproj-url",
        "-mmu",
        "--rpc",
        "--cors",
    }
)
REFUSED_PREFIXES = ("--mcp", "--hf-", "-hf", "--webui-", "--ssl-")
# Flags we set ourselves: overriding them would unpin loopback, the model or the key.
PINNED_FLAGS = frozenset(
    {
        "--host",
        "--port",
        "-m",
        "--model",
        "--api-key",
        "--api-key-file",
        "--offline",
        "--no-webui",
        "-c",
        "--ctx-size",
        "-t",
        "--threads",
        "-np",
        "--parallel",
        "--metrics",
        "--no-slots",
        "--slots",
    }
)


def _flag_name(arg: str) -> str:
    return arg.split("=", 1)[0]


def check_server_args(extra: Sequence[str]) -> list[str]:
    """Refuse dangerous or pinned llama-server flags (InputError, exit 2); return the args."""
    for arg in extra:
        if not arg.startswith("-"):
            continue
        flag = _flag_name(arg)
        if flag in PINNED_FLAGS:
            raise InputError(
                f"llama-server flag '{flag}' is set by mistral-sov and cannot be overridden",
                hint="use the serve options (--host, --port, --ctx, --threads, --model) instead",
            )
        if flag in REFUSED_FLAGS or flag.endswith("-default") or any(flag.startswith(p) for p in REFUSED_PREFIXES):
            raise InputError(
                f"llama-server flag '{flag}' is refused: it can reach the network, run tools, "
                "log prompts or serve files",
                hint="remove it; the local server must stay offline and serve only the approved model",
            )
    return list(extra)


def build_server_args(
    binary: Path, model_path: Path, *, port: int, n_ctx: int, n_threads: int, extra: Sequence[str] = ()
) -> list[str]:
    """The full llama-server command line: loopback, offline, no web UI, one slot, our model."""
    return [
        str(binary),
        "--model",
        str(model_path),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--offline",
        "--no-webui",
        "--ctx-size",
        str(n_ctx),
        "--threads",
        str(n_threads),
        "--parallel",
        "1",
        "--no-slots",
        *check_server_args(extra),
    ]


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaServerBackend:
    """An existing ``llama-server`` binary on a random loopback port with a random internal key
    (passed via the environment, not the command line), proxied by our server."""

    name = "llama-server"

    def __init__(
        self,
        binary: Path,
        model_path: Path,
        *,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        extra_args: Sequence[str] = (),
        start_timeout: float = 120.0,
    ) -> None:
        binary = Path(binary)
        if not binary.is_file():
            raise MissingBackendError(
                f"llama-server binary '{binary}' not found",
                hint="build it from the llama-cpp-python sdist (docs/local.md) and pass --server-binary PATH",
            )
        import httpx

        self.port = free_loopback_port()
        self._key = secrets.token_urlsafe(32)
        args = build_server_args(
            binary, model_path, port=self.port, n_ctx=n_ctx, n_threads=n_threads or default_threads(), extra=extra_args
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LLAMA_ARG_", "HF_", "LLAMA_API_KEY"))}
        env["LLAMA_API_KEY"] = self._key
        env["LLAMA_OFFLINE"] = "1"
        # llama-server logs every request: send its output to a file, never to a pipe nobody
        # reads (a full pipe buffer would stall the server after a few hundred requests)
        import tempfile

        self._log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            args, env=env, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT
        )
        self.base = f"http://127.0.0.1:{self.port}"
        self.client = httpx.Client(
            base_url=self.base,
            timeout=httpx.Timeout(3600.0, connect=10.0),
            trust_env=False,
            headers={"Authorization": f"Bearer {self._key}"},
        )
        self._usage: dict[str, int] = {}
        deadline = time.monotonic() + start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.log_tail()
                raise MissingBackendError(
                    f"llama-server exited with code {self.proc.returncode}: {err}",
                    hint="run the binary by hand with --help to check it works",
                )
            with contextlib.suppress(httpx.HTTPError):
                if self.client.get("/health").status_code == 200:
                    return
            time.sleep(0.2)
        self.close()
        raise MissingBackendError("llama-server did not become ready in time", hint="check the model and binary")

    def _post(self, path: str, params: dict[str, Any]) -> dict[str, Any] | Iterator[dict[str, Any]]:
        body = {k: v for k, v in params.items() if k != "stream_options"}
        if body.get("stream"):
            body["stream_options"] = {"include_usage": True}
            return self._stream(path, body)
        reply = self.client.post(path, json=body)
        reply.raise_for_status()
        data: dict[str, Any] = reply.json()
        self._usage = dict(data.get("usage") or {})
        return data

    def _stream(self, path: str, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        import json

        self._usage = {}
        with self.client.stream("POST", path, json=body) as reply:
            reply.raise_for_status()
            for line in reply.iter_lines():
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    break
                chunk = json.loads(payload)
                if chunk.get("usage"):
                    self._usage = dict(chunk["usage"])
                if chunk.get("choices"):
                    yield chunk

    def chat(self, params: dict[str, Any]) -> dict[str, Any] | Iterator[dict[str, Any]]:
        return self._post("/v1/chat/completions", params)

    def complete(self, params: dict[str, Any]) -> dict[str, Any] | Iterator[dict[str, Any]]:
        return self._post("/v1/completions", params)

    def last_usage(self) -> dict[str, int]:
        return dict(self._usage)

    def log_tail(self, limit: int = 800) -> str:
        """The last characters llama-server printed (for error messages)."""
        try:
            self._log.seek(0, os.SEEK_END)
            size = self._log.tell()
            self._log.seek(max(0, size - limit))
            return bytes(self._log.read()).decode(errors="replace")
        except (OSError, ValueError):
            return ""

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        with contextlib.suppress(OSError):
            self._log.close()
