"""The API server with OIDC single sign-on, end to end over HTTP (fake engine child, local
issuer on loopback): the failure matrix as OpenAI-shaped errors, the user in the audit log,
quotas per user, models restricted by group, API keys for service accounts, hostile headers
and a hanging identity provider answered at once."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from inference_fakes import FakeLauncher
from oidc_issuer import AUD, CASES, LocalIssuer, failure_matrix

from mistral_sov.adapters.inference.engine.client import EngineClient
from mistral_sov.adapters.inference.engine.supervisor import EngineSupervisor
from mistral_sov.adapters.inference.oidc import OidcValidator
from mistral_sov.adapters.inference.oidc_auth import OidcAuth
from mistral_sov.adapters.inference.server import LocalServer, ServerSettings, ServerThread
from mistral_sov.adapters.inference.server.observe import AuditLog
from mistral_sov.core.policy import Oidc

pytest.importorskip("starlette")

SERVICE_KEY = "service-account-key-0123456789"
BODY = {"model": "smollm2", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 8}


@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer() as iss:
        yield iss


@pytest.fixture(scope="module")
def engine() -> Iterator[EngineSupervisor]:
    sup = EngineSupervisor(FakeLauncher("ok", slots=4)).start()
    yield sup
    sup.close()


def _server(engine, issuer, tmp: Path, model: str = "smollm2", **oidc_kw):  # type: ignore[no-untyped-def]
    validator = OidcValidator(Oidc(issuer=issuer.url, audience=[AUD], **oidc_kw), fetch_timeout=1.0)
    validator.start()
    settings = ServerSettings(
        model_id=model, model_sha256="0" * 64, rate_limit_per_minute=3, audit_log=tmp / "audit.jsonl"
    )
    server = LocalServer(
        EngineClient(engine),
        settings,
        auth=OidcAuth(validator, [SERVICE_KEY], model),
        audit=AuditLog(tmp / "audit.jsonl"),
    )
    return server, validator


@pytest.fixture(scope="module")
def served(engine, issuer, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("oidc-server")
    server, validator = _server(engine, issuer, tmp)
    with ServerThread(server.app()) as thread:
        yield thread.url, tmp / "audit.jsonl"
    validator.stop()


def _post(url: str, token: str | None, body: dict | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.post(url + "/v1/chat/completions", json=body or BODY, headers=headers, timeout=30)


def test_valid_token_is_answered_and_the_user_is_audited(served, issuer):
    url, audit = served
    r = _post(url, issuer.token(preferred_username="carol@klinikum.example"))
    assert r.status_code == 200, r.text
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert any(
        rec.get("user") == "carol@klinikum.example" and "key_id" not in rec and rec.get("status") == 200
        for rec in records
    ), records


@pytest.mark.parametrize("case", CASES)
def test_failure_matrix_over_http_is_401_openai_json(served, issuer, case):
    url, _ = served
    token, _code = failure_matrix(issuer)[case]
    if case == "10 MB token":
        token = "eyJ" + "A" * 100_000 + ".e30."  # the app's own limit; 10 MB is refused by the HTTP layer
    r = _post(url, token)
    assert r.status_code == 401, (case, r.text)
    err = r.json()["error"]
    assert err["type"] == "authentication_error" and err["message"] and err["code"] == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_no_credentials_is_401_even_on_loopback_and_service_keys_still_work(served):
    url, _ = served
    r = _post(url, None)
    assert r.status_code == 401 and "sign in" in r.json()["error"]["message"]
    assert _post(url, "not-the-key-but-long-enough").status_code == 401
    assert _post(url, SERVICE_KEY).status_code == 200


def test_quotas_are_per_user(served, issuer):
    url, _ = served
    dave = issuer.token(preferred_username="dave@klinikum.example")
    codes = [_post(url, dave).status_code for _ in range(4)]
    assert codes[:3] == [200, 200, 200] and codes[3] == 429
    assert _post(url, issuer.token(preferred_username="erin@klinikum.example")).status_code == 200


def test_group_claim_restricts_the_model(engine, issuer, tmp_path):
    server, validator = _server(engine, issuer, tmp_path, model_groups={"smollm2": ["doctors"]})
    try:
        with ServerThread(server.app()) as thread:
            r = _post(thread.url, issuer.token(groups=["staff"]))
            assert r.status_code == 403 and r.json()["error"]["type"] == "permission_error"
            assert _post(thread.url, issuer.token(groups=["doctors"])).status_code == 200
    finally:
        validator.stop()


def test_ten_megabyte_header_is_refused_quickly_and_the_server_keeps_serving(served, issuer):
    url, _ = served
    host, port = url.removeprefix("http://").split(":")
    start = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer eyJ")
        answer = b""
        try:
            for _ in range(10 * 1024):
                s.sendall(b"A" * 1024)
            s.sendall(b"\r\n\r\n")
            answer = s.recv(200)
        except OSError:
            pass  # the server closed the connection: refused, not hung
    assert time.monotonic() - start < 10
    assert answer == b"" or answer.split(b" ")[1] in (b"400", b"401", b"413", b"431"), answer
    assert _post(url, issuer.token()).status_code == 200


def test_hanging_identity_provider_is_503_at_once(engine, issuer, tmp_path):
    issuer.mode = "hang"
    try:
        server, validator = _server(engine, issuer, tmp_path)
        with ServerThread(server.app()) as thread:
            t0 = time.monotonic()
            r = _post(thread.url, issuer.token())
            assert time.monotonic() - t0 < 1.0
            assert r.status_code == 503 and r.headers["Retry-After"] == "30"
            assert "identity provider is unavailable" in r.json()["error"]["message"]
            assert httpx.get(thread.url + "/health", timeout=5).status_code == 200
    finally:
        issuer.mode = "ok"
        validator.stop()
