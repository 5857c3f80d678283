"""The OpenAI-compatible server with the real SmolLM2 model and the official ``openai`` client:
chat, streaming, completions, models, health, metrics, auth, quotas, body limit, audit log, and
a load test (10 concurrent clients x 3 requests, none dropped); the engine runs in its
supervised worker child."""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.llm]

openai = pytest.importorskip("openai")
pytest.importorskip("llama_cpp")

from mistral_sov.adapters.inference.engine.client import EngineClient  # noqa: E402
from mistral_sov.adapters.inference.engine.launchers import WorkerLauncher  # noqa: E402
from mistral_sov.adapters.inference.engine.supervisor import EngineSupervisor  # noqa: E402
from mistral_sov.adapters.inference.server import LocalServer, ServerSettings, ServerThread, key_id  # noqa: E402

SHA = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
KEY_A = "key-a-0123456789abcdef0123"
KEY_B = "key-b-0123456789abcdef0123"


@pytest.fixture(scope="module")
def backend(smol_gguf: Path) -> Iterator[EngineSupervisor]:
    """The real llama-cpp-python engine, in its worker child (start-up smoke + crash fall-back)."""
    # one thread: robust on a shared, oversubscribed CI machine (llama.cpp threads spin on barriers)
    sup = EngineSupervisor(WorkerLauncher(smol_gguf, n_ctx=1024, n_threads=1)).start()
    yield sup
    sup.close()


def _serve(backend: EngineSupervisor, audit: Path, **kw) -> tuple[LocalServer, ServerThread]:
    settings = ServerSettings(
        model_id="smollm2", model_sha256=SHA, model_license="apache-2.0", audit_log=audit, n_ctx=1024, **kw
    )
    server = LocalServer(EngineClient(backend), settings)
    thread = ServerThread(server.app())
    thread.__enter__()
    return server, thread


@pytest.fixture(scope="module")
def main(
    backend: EngineSupervisor, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LocalServer, str, Path]]:
    audit = tmp_path_factory.mktemp("audit") / "audit.jsonl"
    server, thread = _serve(
        backend, audit, api_keys=[KEY_A, KEY_B], max_tokens=16, rate_limit_per_minute=10_000, daily_quota=10_000
    )
    yield server, thread.url, audit
    thread.__exit__()
    server.close()


def client(url: str, key: str = KEY_A) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=600)


def test_chat_completion_with_openai_client(main) -> None:
    _server, url, _audit = main
    reply = client(url).chat.completions.create(
        model="smollm2",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        max_tokens=500,
        temperature=0,
    )
    assert reply.model == "smollm2"
    assert reply.choices[0].message.role == "assistant" and reply.choices[0].message.content.strip()
    assert reply.usage.completion_tokens <= 16, "max_tokens is capped by the policy"
    assert reply.usage.prompt_tokens > 5


def test_streamed_chat_and_completion(main) -> None:
    _, url, _ = main
    c = client(url)
    stream = c.chat.completions.create(
        model="smollm2",
        messages=[{"role": "user", "content": "Say hello"}],
        max_tokens=12,
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces, usage = [], None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        if chunk.usage:
            usage = chunk.usage
    assert len(pieces) >= 2 and "".join(pieces).strip()
    assert usage is not None and usage.completion_tokens == len(pieces)
    text = "".join(
        ch.choices[0].text
        for ch in c.completions.create(model="smollm2", prompt="The capital of Germany is", max_tokens=8, stream=True)
    )
    assert text.strip()
    plain = c.completions.create(model="smollm2", prompt="One, two, three,", max_tokens=6, temperature=0)
    assert plain.choices[0].text and plain.usage.completion_tokens <= 6


def test_models_health_metrics(main) -> None:
    _, url, _ = main
    models = client(url).models.list()
    assert [m.id for m in models.data] == ["smollm2"]
    raw = httpx.get(url + "/v1/models", headers={"Authorization": f"Bearer {KEY_A}"}).json()
    assert raw["data"][0]["meta"]["sha256"] == SHA
    assert httpx.get(url + "/health").json()["status"] == "ok"  # public
    assert httpx.get(url + "/metrics").status_code == 401
    metrics = httpx.get(url + "/metrics", headers={"Authorization": f"Bearer {KEY_A}"})
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert 'mistral_sov_local_requests_total{endpoint="/v1/chat/completions",status="200"}' in text
    assert "mistral_sov_local_request_duration_seconds_bucket" in text and "mistral_sov_local_queue_depth 0" in text
    tokens = [line for line in text.splitlines() if line.startswith("mistral_sov_local_completion_tokens_total")]
    assert int(tokens[0].split()[-1]) > 0


def test_wrong_or_missing_key_is_401(main) -> None:
    _, url, _ = main
    with pytest.raises(openai.AuthenticationError):
        client(url, "wrong-key-0123456789abcdef").chat.completions.create(
            model="smollm2", messages=[{"role": "user", "content": "hi"}], max_tokens=2
        )
    r = httpx.post(url + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    r = httpx.post(url + "/v1/completions", json={"prompt": "x"}, headers={"X-Api-Key": KEY_B}, timeout=120)
    assert r.status_code == 200


def test_oversized_body_is_413_and_bad_requests_are_400(main) -> None:
    _, url, _ = main
    auth = {"Authorization": f"Bearer {KEY_A}"}
    big = {"model": "smollm2", "messages": [{"role": "user", "content": "x" * (2 << 20)}]}
    r = httpx.post(url + "/v1/chat/completions", json=big, headers=auth)
    assert r.status_code == 413

    # a chunked body without Content-Length is bounded too
    def gen():
        for _ in range(40):
            yield b"x" * 65536

    r = httpx.post(url + "/v1/chat/completions", content=gen(), headers=auth)
    assert r.status_code == 413
    assert httpx.post(url + "/v1/chat/completions", content=b"{not json", headers=auth).status_code == 400
    r = httpx.post(url + "/v1/chat/completions", json={"messages": [], "model": "smollm2"}, headers=auth)
    assert r.status_code == 400
    r = httpx.post(
        url + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "x"}], "tools": []}, headers=auth
    )
    assert r.status_code == 400 and "tools" in r.json()["error"]["message"]
    r = httpx.post(
        url + "/v1/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]},
        headers=auth,
    )
    assert r.status_code == 404


def test_audit_log_has_no_prompt_text_and_no_key(main) -> None:
    _, url, audit = main
    secret_prompt = "my patient Jean Dupont has diabetes"
    client(url, KEY_B).chat.completions.create(
        model="smollm2", messages=[{"role": "user", "content": secret_prompt}], max_tokens=3
    )
    text = audit.read_text(encoding="utf-8")
    assert "Jean Dupont" not in text and KEY_A not in text and KEY_B not in text
    records = [json.loads(line) for line in text.splitlines()]
    last = [r for r in records if r["endpoint"] == "/v1/chat/completions" and r["status"] == 200][-1]
    assert last["key_id"] == key_id(KEY_B) and last["model_sha256"] == SHA
    assert last["prompt_tokens"] > 0 and 0 < last["completion_tokens"] <= 3 and last["latency_ms"] > 0
    assert {r["status"] for r in records} >= {200, 401, 413}
    assert "prompt" not in last and "answer" not in last


def test_quota_and_rate_limit_are_429_with_retry_after(backend, tmp_path: Path) -> None:
    server, thread = _serve(
        backend,
        tmp_path / "a.jsonl",
        api_keys=[KEY_A, KEY_B],
        max_tokens=2,
        daily_quota=2,
        rate_limit_per_minute=100,
        log_prompts=True,
    )
    try:
        c = client(thread.url)
        for _ in range(2):
            c.completions.create(model="smollm2", prompt="Hello", max_tokens=2)
        with pytest.raises(openai.RateLimitError) as info:
            c.completions.create(model="smollm2", prompt="Hello", max_tokens=2)
        assert int(info.value.response.headers["Retry-After"]) > 0
        assert "daily quota" in info.value.response.json()["error"]["message"]
        # quotas are per key: the other key still works
        assert client(thread.url, KEY_B).completions.create(model="smollm2", prompt="Hi", max_tokens=2).choices
        records = [json.loads(x) for x in (tmp_path / "a.jsonl").read_text().splitlines()]
        records = [r for r in records if "endpoint" in r]
        assert [r["status"] for r in records] == [200, 200, 429, 200]
        assert records[0]["prompt"] == "Hello" and "answer" in records[0], "log_prompts: true records text"
    finally:
        thread.__exit__()
        server.close()
    server, thread = _serve(backend, tmp_path / "b.jsonl", max_tokens=2, rate_limit_per_minute=2)
    try:
        c = client(thread.url, "unused")
        c.completions.create(model="smollm2", prompt="a", max_tokens=1)
        c.completions.create(model="smollm2", prompt="b", max_tokens=1)
        with pytest.raises(openai.RateLimitError) as info:
            c.completions.create(model="smollm2", prompt="c", max_tokens=1)
        assert 0 < int(info.value.response.headers["Retry-After"]) <= 60
    finally:
        thread.__exit__()
        server.close()


def test_load_10_clients_x_3_requests_none_dropped(main, capsys) -> None:
    _server, url, _ = main
    latencies: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        c = client(url, KEY_A if i % 2 else KEY_B)
        for j in range(3):
            t0 = time.perf_counter()
            try:
                r = c.chat.completions.create(
                    model="smollm2", messages=[{"role": "user", "content": f"Count to {i + j}"}], max_tokens=4
                )
                assert r.choices[0].message.content is not None and r.usage.completion_tokens >= 1
            except BaseException as exc:
                with lock:
                    errors.append(exc)
                continue
            with lock:
                latencies.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(10)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    assert not errors, errors[:3]
    assert len(latencies) == 30
    q = statistics.quantiles(latencies, n=100)
    with capsys.disabled():
        print(
            f"\nload test: 30/30 ok in {wall:.1f} s; latency p50 {q[49]:.2f} s, p90 {q[89]:.2f} s, "
            f"p99 {q[98]:.2f} s, max {max(latencies):.2f} s, min {min(latencies):.2f} s"
        )
    metrics = httpx.get(url + "/metrics", headers={"Authorization": f"Bearer {KEY_A}"}).text
    assert "mistral_sov_local_queue_depth 0" in metrics and "mistral_sov_local_requests_processing 0" in metrics
