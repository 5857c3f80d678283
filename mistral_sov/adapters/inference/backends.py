"""llama-cpp-python behind one interface (used inside the engine worker child), and the
``llama-server`` command line: pinned to loopback and offline, dangerous flags refused.

Both take OpenAI-shaped parameters (already validated and capped by the server) and return an
OpenAI-shaped dict, or an iterator of ``chat.completion.chunk``/``text_completion`` chunks when
``stream`` is true. Calls are made from one worker thread at a time (the server's FIFO queue).
Heavy modules (llama_cpp, httpx) are imported inside the functions that need them.
"""

from __future__ import annotations

import contextlib
import os
import socket
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


def _llama_kwargs(params: dict[str, Any], eos: int | None = None) -> dict[str, Any]:
    out = {k: v for k, v in params.items() if k not in ("model", "stream_options", "n", "user", "ignore_eos")}
    if out.get("logit_bias"):
        out["logit_bias"] = {int(k): float(v) for k, v in out["logit_bias"].items()}
    if params.get("ignore_eos") and eos is not None:  # llama-server's field, used by benchmarks
        out["logit_bias"] = {**(out.get("logit_bias") or {}), eos: -100.0}
    return out


@contextlib.contextmanager
def _repacking(enabled: bool) -> Iterator[None]:
    """``use_extra_bufts`` is a llama.cpp model parameter llama-cpp-python does not expose: with
    ``enabled=False`` the defaults it starts from are patched while the model loads (CPU weight
    repacking and the AMX buffer type off)."""
    if enabled:
        yield
        return
    import llama_cpp.llama_cpp as lib

    original = lib.llama_model_default_params

    def defaults() -> Any:
        params = original()
        params.use_extra_bufts = False
        return params

    lib.llama_model_default_params = defaults
    try:
        yield
    finally:
        lib.llama_model_default_params = original


class LlamaCppBackend:
    """llama-cpp-python, loaded in the process that creates it: the engine worker child
    (``engine/worker.py``), never the API server."""

    name = "llama-cpp"

    def __init__(
        self,
        model_path: Path,
        *,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        chat_format: str | None = None,
        extra_bufts: bool = True,
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
            with _repacking(extra_bufts):
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
        kwargs = _llama_kwargs(params, self.llm.token_eos())
        if kwargs.get("stream"):
            return self._stream(self.llm.create_chat_completion(**kwargs), chat=True)
        result: dict[str, Any] = self.llm.create_chat_completion(**kwargs)  # type: ignore[assignment]
        self._usage = dict(result.get("usage") or {})
        return result

    def complete(self, params: dict[str, Any]) -> dict[str, Any] | Iterator[dict[str, Any]]:
        kwargs = _llama_kwargs(params, self.llm.token_eos())
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
    binary: Path,
    model_path: Path,
    *,
    port: int,
    n_ctx: int,
    n_threads: int,
    slots: int = 1,
    extra: Sequence[str] = (),
) -> list[str]:
    """The full llama-server command line: loopback, offline, no web UI, ``slots`` parallel
    sequences (continuous batching), our model."""
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
        str(slots),
        "--cont-batching",
        "--no-slots",
        *check_server_args(extra),
    ]


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
