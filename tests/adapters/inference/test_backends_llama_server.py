"""The ``llama-server`` backend against a real llama.cpp server binary (built from the
llama-cpp-python sdist by .ci/build-llama.sh): started pinned to loopback and offline,
proxied by our server, answered through the official ``openai`` client, and stopped."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.llm, pytest.mark.slow]

openai = pytest.importorskip("openai")

from mistral_sov.adapters.inference.engine.client import EngineClient  # noqa: E402
from mistral_sov.adapters.inference.engine.launchers import LlamaServerLauncher  # noqa: E402
from mistral_sov.adapters.inference.engine.supervisor import EngineSupervisor  # noqa: E402
from mistral_sov.adapters.inference.server import LocalServer, ServerSettings, ServerThread  # noqa: E402

SHA = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
KEY = "key-llama-server-0123456789"


def _binary() -> Path:
    candidates = [
        os.environ.get("MISTRAL_SOV_LLAMA_SERVER", ""),
        str(Path.home() / ".cache" / "mistral-sov" / "bin" / "llama-server"),
        shutil.which("llama-server") or "",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    reason = "no llama-server binary (built by .ci/build-llama.sh into ~/.cache/mistral-sov/bin)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason + " — CI must not pass by skipping")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def served(smol_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EngineSupervisor, str]]:
    backend = EngineSupervisor(LlamaServerLauncher(_binary(), smol_gguf, n_ctx=1024, n_threads=1, slots=2)).start()
    audit = tmp_path_factory.mktemp("audit") / "audit.jsonl"
    settings = ServerSettings(
        model_id="smollm2",
        model_sha256=SHA,
        model_license="apache-2.0",
        audit_log=audit,
        n_ctx=1024,
        api_keys=[KEY],
        max_tokens=16,
    )
    server = LocalServer(EngineClient(backend), settings)
    thread = ServerThread(server.app())
    thread.__enter__()
    try:
        yield backend, thread.url
    finally:
        thread.__exit__()
        server.close()
        backend.close()


def test_llama_server_is_pinned_to_loopback_and_offline(served) -> None:
    backend, _url = served
    pid = backend.pid()
    assert pid is not None
    import psutil

    args = psutil.Process(pid).cmdline()
    assert args[args.index("--host") + 1] == "127.0.0.1"
    assert "--offline" in args and "--no-webui" in args
    listening = [c.laddr for c in psutil.Process(pid).net_connections(kind="inet") if c.status == "LISTEN"]
    assert listening and all(addr.ip == "127.0.0.1" for addr in listening), listening


def test_openai_client_through_llama_server(served) -> None:
    _backend, url = served
    client = openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0, timeout=120)
    reply = client.chat.completions.create(
        model="smollm2", messages=[{"role": "user", "content": "Say hello."}], max_tokens=8
    )
    assert reply.choices[0].message.content
    assert reply.usage is not None and reply.usage.completion_tokens > 0
    chunks = list(
        client.chat.completions.create(
            model="smollm2", messages=[{"role": "user", "content": "Count to three."}], max_tokens=8, stream=True
        )
    )
    text = "".join((c.choices[0].delta.content or "") for c in chunks if c.choices)
    assert text.strip()
    # many requests: the subprocess's log output must never fill a pipe and stall it
    for _ in range(30):
        r = client.completions.create(model="smollm2", prompt="The capital of France is", max_tokens=4)
        assert r.choices[0].text is not None


def test_backend_close_stops_the_process(smol_gguf: Path) -> None:
    backend = EngineSupervisor(LlamaServerLauncher(_binary(), smol_gguf, n_ctx=512, n_threads=1, slots=1)).start()
    pid = backend.pid()
    assert pid is not None
    backend.close()
    assert backend.pid() is None
    import psutil

    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
