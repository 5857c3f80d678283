"""Hostile input against the API server (fake engine child, offline): every bad request gets its
documented status in the OpenAI error JSON shape, is audited, and the service keeps serving;
nothing ends in a traceback, a text/plain 500 or a hung worker."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from inference_fakes import FakeLauncher

from mistral_sov.adapters.inference.engine.client import EngineClient
from mistral_sov.adapters.inference.engine.supervisor import EngineSupervisor
from mistral_sov.adapters.inference.server import LocalServer, ServerSettings, ServerThread
from mistral_sov.adapters.inference.server.observe import AuditLog

KEY = "hostile-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}
CHAT = "/v1/chat/completions"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalServer, str, Path]]:
    audit_file = tmp_path_factory.mktemp("hostile") / "audit.jsonl"
    sup = EngineSupervisor(FakeLauncher(slots=4)).start()
    settings = ServerSettings(
        model_id="fake",
        model_sha256="0" * 64,
        api_keys=[KEY],
        max_tokens=8,
        rate_limit_per_minute=100_000,
        daily_quota=100_000,
        audit_log=audit_file,
    )
    server = LocalServer(EngineClient(sup), settings, audit=AuditLog(audit_file))
    with ServerThread(server.app()) as thread:
        yield server, thread.url, audit_file
    sup.close()


def _msgs(text: str = "hi") -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def _error(r: httpx.Response, status: int, kind: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json"), r.headers
    err = r.json()["error"]
    assert err["code"] == status and isinstance(err["message"], str) and err["type"]
    if kind:
        assert err["type"] == kind, err
    assert "Traceback" not in r.text
    return err


BAD_BODIES: list[tuple[str, bytes, int]] = [
    ("malformed JSON", b"{not json", 400),
    ("invalid UTF-8", b'{"messages": [{"role": "user", "content": "\xff\xfe"}]}', 400),
    ("JSON array", b"[1, 2]", 400),
    ("JSON string", b'"hello"', 400),
    ("empty body", b"", 400),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000, 400),
    ("NaN literal", b'{"messages": [{"role": "user", "content": "x"}], "temperature": NaN}', 400),
    ("Infinity literal", b'{"messages": [{"role": "user", "content": "x"}], "top_p": -Infinity}', 400),
    ("unknown model", json.dumps({"model": "gpt-4o", "messages": _msgs()}).encode(), 404),
    ("n = 2", json.dumps({"messages": _msgs(), "n": 2}).encode(), 400),
    ("n = true", json.dumps({"messages": _msgs(), "n": True}).encode(), 400),
    ("messages a string", json.dumps({"messages": "hi"}).encode(), 400),
    ("message without role", json.dumps({"messages": [{"content": "x"}]}).encode(), 400),
    ("content a number", json.dumps({"messages": [{"role": "user", "content": 5}]}).encode(), 400),
    ("temperature a string", json.dumps({"messages": _msgs(), "temperature": "hot"}).encode(), 400),
    ("max_tokens negative", json.dumps({"messages": _msgs(), "max_tokens": -1}).encode(), 400),
    ("max_tokens a float", json.dumps({"messages": _msgs(), "max_tokens": 2.5}).encode(), 400),
    ("stop a dict", json.dumps({"messages": _msgs(), "stop": {"a": 1}}).encode(), 400),
    ("logit_bias not ids", json.dumps({"messages": _msgs(), "logit_bias": {"abc": 1}}).encode(), 400),
    ("stream a string", json.dumps({"messages": _msgs(), "stream": "yes"}).encode(), 400),
    ("tools (unsupported)", json.dumps({"messages": _msgs(), "tools": []}).encode(), 400),
    ("prompt too long for the engine", json.dumps({"messages": _msgs("__too_long__")}).encode(), 400),
]


@pytest.mark.parametrize(("what", "body", "status"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_bodies_get_their_status_in_openai_error_json(served, what: str, body: bytes, status: int) -> None:
    _server, url, audit = served
    r = httpx.post(url + CHAT, content=body, headers={**AUTH, "Content-Type": "application/json"}, timeout=30)
    _error(r, status)
    last = json.loads(audit.read_text().splitlines()[-1])
    assert last["status"] == status and last["error"], "every refusal is audited"


def test_max_tokens_beyond_the_cap_is_capped(served) -> None:
    _, url, _ = served
    r = httpx.post(url + CHAT, json={"messages": _msgs(), "max_tokens": 10**12}, headers=AUTH)
    assert r.status_code == 200 and r.json()["usage"]["completion_tokens"] == 8


def test_oversized_bodies_413_declared_and_chunked(served) -> None:
    _, url, _ = served
    _error(httpx.post(url + CHAT, json={"messages": _msgs("x" * (2 << 20))}, headers=AUTH), 413, "request_too_large")

    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"x" * 65536

    _error(httpx.post(url + CHAT, content=chunks(), headers=AUTH), 413)


def test_auth_routes_and_methods(served) -> None:
    _, url, _ = served
    _error(httpx.post(url + CHAT, json={"messages": _msgs()}), 401, "authentication_error")
    _error(httpx.post(url + CHAT, json={"messages": _msgs()}, headers={"Authorization": "Bearer x"}), 401)
    _error(httpx.post(url + CHAT, json={"messages": _msgs()}, headers={"X-Api-Key": ("é" * 20).encode("latin-1")}), 401)
    _error(httpx.get(url + CHAT, headers=AUTH), 405, "method_not_allowed")
    _error(httpx.get(url + "/v1/../../etc/passwd", headers=AUTH), 404)
    _error(httpx.get(url + "/v1/models"), 401)


def test_handler_crash_is_a_json_500_audited_and_the_service_goes_on(served, monkeypatch) -> None:
    server, url, audit = served

    async def broken(chat: bool, params: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("bug in a handler")

    monkeypatch.setattr(server.engine, "call", broken)
    _error(httpx.post(url + CHAT, json={"messages": _msgs()}, headers=AUTH), 500, "server_error")
    last = json.loads(audit.read_text().splitlines()[-1])
    assert last["status"] == 500 and last["error"] == "internal:RuntimeError"
    monkeypatch.undo()
    assert httpx.post(url + CHAT, json={"messages": _msgs()}, headers=AUTH).status_code == 200


def test_client_disconnect_mid_stream_and_100_idle_connections(served) -> None:
    _, url, audit = served
    host, port = url.removeprefix("http://").split(":")
    body = json.dumps({"messages": _msgs("__slow__ go"), "max_tokens": 8, "stream": True}).encode()
    s = socket.create_connection((host, int(port)))
    s.sendall(
        f"POST {CHAT} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    assert b"200 OK" in s.recv(4096)
    s.close()  # gone mid-stream
    idle = [socket.create_connection((host, int(port))) for _ in range(100)]
    try:
        t0 = time.perf_counter()
        r = httpx.post(url + CHAT, json={"messages": _msgs()}, headers=AUTH, timeout=10)
        assert r.status_code == 200 and time.perf_counter() - t0 < 5
    finally:
        for c in idle:
            c.close()
    deadline = time.monotonic() + 5
    while True:
        records = [json.loads(x) for x in audit.read_text().splitlines()]
        if any(r.get("status") == 499 and r.get("stream") for r in records):
            break
        assert time.monotonic() < deadline, "the abandoned stream is audited as 499"
        time.sleep(0.05)
    metrics = httpx.get(url + "/metrics", headers=AUTH).text
    assert "mistral_sov_local_requests_processing 0" in metrics


def test_a_connection_dropped_by_the_live_engine_is_retried_once(served) -> None:
    _, url, _ = served
    r = httpx.post(url + CHAT, json={"messages": _msgs("__drop_once__")}, headers=AUTH, timeout=30)
    assert r.status_code == 200, r.text
