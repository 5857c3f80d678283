"""llama-server as a managed subprocess: the command line is pinned to loopback and offline, and
flags that open egress, tools, prompt logs or file serving are refused (no binary installed here)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from mistral_sov.adapters.inference.backends import (
    InferenceBackend,
    build_server_args,
    check_server_args,
    free_loopback_port,
)
from mistral_sov.errors import ExitStatus, InputError, MissingBackendError


def test_command_line_is_pinned() -> None:
    args = build_server_args(
        Path("/opt/llama-server"),
        Path("/m/x.gguf"),
        port=41234,
        n_ctx=1024,
        n_threads=2,
        extra=["--temp", "0.1", "--batch-size=256"],
    )
    assert args[0] == "/opt/llama-server"
    joined = " ".join(args)
    assert "--host 127.0.0.1" in joined and "--port 41234" in joined
    assert "--offline" in args and "--no-webui" in args and "--no-slots" in args
    assert args[args.index("--parallel") + 1] == "1" and "--cont-batching" in args
    assert "--model /m/x.gguf" in joined and "--ctx-size 1024" in joined
    assert args[-3:] == ["--temp", "0.1", "--batch-size=256"]
    assert "--api-key" not in joined, "the internal key travels in the environment, not argv"


@pytest.mark.parametrize(
    "flag",
    [
        "--tools",
        "--agent",
        "--mcp-servers-file",
        "--mcp-config=x",
        "-hf",
        "--hf-repo",
        "--model-url",
        "-mu",
        "-dr",
        "--docker-repo",
        "--log-prompts-dir",
        "--log-prompts-dir=/tmp/p",
        "--webui",
        "--path",
        "--gpt-oss-20b-default",
        "--override-kv",
        "--models-dir",
        "--rpc",
        "--cors",
        "--ssl-key-file",
    ],
)
def test_dangerous_flags_refused(flag: str) -> None:
    with pytest.raises(InputError, match="refused") as info:
        check_server_args(["--temp", "0.5", flag, "value"])
    assert info.value.exit_status is ExitStatus.USAGE and info.value.hint


@pytest.mark.parametrize("flag", ["--host", "--port=9", "-m", "--api-key", "--api-key-file", "-c", "--threads"])
def test_pinned_flags_cannot_be_overridden(flag: str) -> None:
    with pytest.raises(InputError, match="cannot be overridden"):
        build_server_args(Path("b"), Path("m"), port=1, n_ctx=1, n_threads=1, extra=[flag, "0.0.0.0"])


def test_free_port_is_loopback_and_bindable() -> None:
    port = free_loopback_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_missing_binary_is_a_missing_backend(tmp_path: Path) -> None:
    from mistral_sov.cli.local_common import launcher_for

    with pytest.raises(MissingBackendError, match="not found") as info:
        launcher_for("llama-server", tmp_path / "m.gguf", ctx=512, threads=1, binary=tmp_path / "llama-server")
    assert info.value.exit_status is ExitStatus.MISSING_BACKEND


def test_backends_satisfy_the_protocol() -> None:
    from mistral_sov.adapters.inference.backends import LlamaCppBackend

    for member in ("chat", "complete", "last_usage", "close"):
        assert callable(getattr(LlamaCppBackend, member))
    assert InferenceBackend is not None
