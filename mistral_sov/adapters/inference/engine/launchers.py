"""How to start an engine child: our llama-cpp-python worker, or llama.cpp's ``llama-server``.

Both listen on a random loopback port, require an internal random key (passed in the
environment, never on the command line) and speak the OpenAI HTTP shape. ``safe=True`` turns
CPU weight repacking off (``use_extra_bufts=False`` / ``--no-repack``): the fall-back when the
repacked kernels crash (ggml's AMX INT8 kernels fault on some AVX-512/AMX CPUs, docs/local.md).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from mistral_sov.adapters.inference.backends import build_server_args, default_threads

ENGINE_KEY_ENV = "MISTRAL_SOV_ENGINE_KEY"
SAFE_MODE_TEXT = "CPU weight repacking off (use_extra_bufts=False / --no-repack)"


class Launcher(Protocol):
    """What the supervisor needs to (re)start one engine child."""

    name: str  # backend kind shown in /health, /metrics, /v1/models
    slots: int  # requests the engine generates at the same time

    def command(self, port: int, safe: bool) -> list[str]: ...

    def environment(self, key: str) -> dict[str, str]: ...

    def pass_fds(self) -> tuple[int, ...]: ...


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("LLAMA_ARG_", "HF_", "LLAMA_API_KEY"))}


def model_argument(path: Path, fd: int | None) -> str:
    """The path the engine opens: the already-open, hashed descriptor when we hold one (Linux
    ``/proc/self/fd/N`` names exactly that inode), else the path."""
    if fd is not None and sys.platform.startswith("linux"):
        return f"/proc/self/fd/{fd}"
    return str(path)


@dataclass
class WorkerLauncher:
    """llama-cpp-python in ``python -m mistral_sov.adapters.inference.engine.worker``."""

    model_path: Path
    n_ctx: int = 2048
    n_threads: int | None = None
    model_fd: int | None = None
    name: str = "llama-cpp"
    slots: int = 1

    def command(self, port: int, safe: bool) -> list[str]:
        return [
            sys.executable,
            "-m",
            "mistral_sov.adapters.inference.engine.worker",
            "--model",
            model_argument(self.model_path, self.model_fd),
            "--port",
            str(port),
            "--ctx",
            str(self.n_ctx),
            "--threads",
            str(self.n_threads or default_threads()),
            *(["--no-repack"] if safe else []),
        ]

    def environment(self, key: str) -> dict[str, str]:
        env = _clean_env()
        env[ENGINE_KEY_ENV] = key
        env["PYTHONPATH"] = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH", ""), *_package_root()) if p)
        return env

    def pass_fds(self) -> tuple[int, ...]:
        return (self.model_fd,) if self.model_fd is not None else ()


def _package_root() -> tuple[str, ...]:
    import mistral_sov

    return (str(Path(mistral_sov.__file__).resolve().parent.parent),)


@dataclass
class LlamaServerLauncher:
    """llama.cpp's own server, pinned to loopback and offline, ``slots`` parallel sequences with
    continuous batching; the context is per slot (llama-server divides ``--ctx-size``)."""

    binary: Path
    model_path: Path
    n_ctx: int = 2048
    n_threads: int | None = None
    slots: int = 4
    extra: list[str] = field(default_factory=list)
    model_fd: int | None = None
    name: str = "llama-server"

    def command(self, port: int, safe: bool) -> list[str]:
        args = build_server_args(
            self.binary,
            Path(model_argument(self.model_path, self.model_fd)),
            port=port,
            n_ctx=self.n_ctx * self.slots,
            n_threads=self.n_threads or default_threads(),
            slots=self.slots,
            extra=self.extra,
        )
        if safe and "--no-repack" not in args and "-nr" not in args:
            args.append("--no-repack")
        return args

    def environment(self, key: str) -> dict[str, str]:
        env = _clean_env()
        env["LLAMA_API_KEY"] = key
        env["LLAMA_OFFLINE"] = "1"
        return env

    def pass_fds(self) -> tuple[int, ...]:
        return (self.model_fd,) if self.model_fd is not None else ()
