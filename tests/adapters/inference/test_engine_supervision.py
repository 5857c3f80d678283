"""Engine isolation, offline, against a fake engine child (``fake_engine.py``): a crash at start-up
falls back to repacking off, a crash that persists is an exit-4 diagnosis (no loop), a SIGSEGV
or SIGKILL mid-request answers every in-flight request 503 in OpenAI error JSON (audited with
the signal), /health and /metrics show it, the engine restarts, and the engine never outlives
its parent (SIGTERM, SIGINT, SIGKILL)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from inference_fakes import FakeLauncher

from mistral_sov.adapters.inference.engine.client import EngineClient
from mistral_sov.adapters.inference.engine.supervisor import EngineStartError, EngineSupervisor
from mistral_sov.adapters.inference.server import LocalServer, ServerSettings, ServerThread
from mistral_sov.adapters.inference.server.observe import AuditLog
from mistral_sov.errors import ExitStatus

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="POSIX signals and PR_SET_PDEATHSIG (Windows: Job Object path)"
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (OSError, IndexError):
        return True


def _wait_dead(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_start_up_crash_falls_back_to_repacking_off() -> None:
    events: list[dict] = []
    sup = EngineSupervisor(FakeLauncher("crash-unless-safe"), on_event=events.append).start()
    try:
        assert sup.safe and "SIGSEGV" in sup.safe_reason
        assert [e["event"] for e in events] == ["engine_fallback", "engine_ready"]
        assert events[0]["signal"] == "SIGSEGV" and events[1]["safe_mode"] is True
    finally:
        sup.close()


def test_persistent_start_up_crash_is_an_exit_4_diagnosis_not_a_loop() -> None:
    events: list[dict] = []
    with pytest.raises(EngineStartError) as info:
        EngineSupervisor(FakeLauncher("always-crash"), on_event=events.append).start()
    assert info.value.exit_status is ExitStatus.MISSING_BACKEND
    assert "SIGSEGV" in info.value.message and "also with CPU weight repacking off" in info.value.message
    assert info.value.hint and "--backend llama-server" in info.value.hint
    assert [e["event"] for e in events] == ["engine_fallback", "engine_failed"]


def test_engine_that_exits_at_start_is_reported_with_its_output() -> None:
    with pytest.raises(EngineStartError) as info:
        EngineSupervisor(FakeLauncher("exit-at-start")).start()
    assert "exit 3" in info.value.message and "bad magic" in info.value.message


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[EngineSupervisor, str, Path]]:
    audit_file = tmp_path / "audit.jsonl"
    audit = AuditLog(audit_file)
    sup = EngineSupervisor(FakeLauncher("ok", slots=8), on_event=lambda e: audit.write(e), backoff_initial=0.1).start()
    server = LocalServer(EngineClient(sup), ServerSettings(model_id="fake", model_sha256="0" * 64), audit=audit)
    with ServerThread(server.app()) as thread:
        yield sup, thread.url, audit_file
    sup.close()


def _post(url: str, content: str, stream: bool, out: dict, i: int) -> None:
    body = {"messages": [{"role": "user", "content": content}], "max_tokens": 40, "stream": stream}
    try:
        with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=30) as r:
            text = r.read().decode()
            out[i] = (r.status_code, r.headers.get("content-type", ""), text)
    except httpx.HTTPError as exc:  # a dropped connection would be a silently lost request
        out[i] = (0, "", repr(exc))


@pytest.mark.parametrize("sig", [signal.SIGSEGV, signal.SIGKILL])
def test_engine_killed_mid_request_answers_503_and_recovers(served, sig: signal.Signals) -> None:
    sup, url, audit = served
    pid = sup.pid()
    assert pid is not None
    out: dict[int, tuple[int, str, str]] = {}
    threads = [
        threading.Thread(target=_post, args=(url, f"__slow__ request {i}", i % 2 == 0, out, i)) for i in range(6)
    ]
    for t in threads:
        t.start()
    time.sleep(1.0)  # all six are in flight inside the engine (each token takes 0.1 s)
    killed = time.monotonic()
    os.kill(pid, sig)
    for t in threads:
        t.join(30)
    assert sorted(out) == list(range(6)), "every accepted request got an answer"
    kinds = []
    for i, (status, ctype, text) in out.items():
        if i % 2:  # plain JSON: 503 in the OpenAI error shape
            assert status == 503 and ctype.startswith("application/json"), (status, text)
            err = json.loads(text)["error"]
        else:  # a stream that had started: an error event ends it (a 503 if it had not)
            assert status in (200, 503) and "[DONE]" not in text, text
            err = json.loads(text.split("data: ")[-1].strip() if status == 200 else text)["error"]
        assert err["code"] == 503, err
        kinds.append(err["type"])
        if err["type"] == "engine_crashed":
            assert sig.name in err["message"]
    # a request still on its way to the engine when it died finds it restarting: also a 503
    assert set(kinds) <= {"engine_crashed", "engine_unavailable"} and kinds.count("engine_crashed") >= 4, kinds
    health = httpx.get(url + "/health")
    if health.status_code == 503:
        assert health.json()["engine"]["state"] in ("restarting", "starting")
    deadline = time.monotonic() + 20
    while httpx.get(url + "/health").status_code != 200:
        assert time.monotonic() < deadline, "the engine did not come back"
        time.sleep(0.05)
    restart = time.monotonic() - killed
    h = httpx.get(url + "/health").json()["engine"]
    assert h["restarts"] == 1 and h["crashes"] == {sig.name: 1} and h["last_crash"]["signal"] == sig.name
    assert sup.pid() != pid and not _alive(pid)
    assert sup.safe is (sig is signal.SIGSEGV), "only a CPU fault turns repacking off, not a kill from outside"
    r = httpx.post(url + "/v1/completions", json={"prompt": "after", "max_tokens": 3})
    assert r.status_code == 200 and r.json()["choices"][0]["text"] == "w0 w1 w2 "
    metrics = httpx.get(url + "/metrics").text
    assert f'mistral_sov_local_engine_crashes_total{{signal="{sig.name}"}} 1' in metrics
    assert "mistral_sov_local_engine_restarts_total 1" in metrics and 'state="ready"} 1' in metrics
    records = [json.loads(x) for x in audit.read_text().splitlines()]
    requests = [r for r in records if r.get("endpoint") == "/v1/chat/completions"]
    assert len(requests) == 6 and {r["status"] for r in requests} == {503}
    assert all(r["engine_signal"] == sig.name for r in requests if r["error"] == "engine_crashed")
    crash = [r for r in records if r.get("event") == "engine_crash"]
    assert len(crash) == 1 and crash[0]["signal"] == sig.name and crash[0]["pid"] == pid
    assert any(r.get("event") == "engine_restarted" for r in records)
    print(f"\nengine {sig.name} -> ready again in {restart:.2f} s (fake engine; supervisor {h})")


def test_requests_while_restarting_get_503_with_retry_after(served) -> None:
    sup, url, _ = served
    sup.backoff_initial = 1.0
    sup_pid = sup.pid()
    assert sup_pid
    os.kill(sup_pid, signal.SIGKILL)
    sup.death_of(sup.generation, 5)
    time.sleep(0.1)
    r = httpx.post(url + "/v1/completions", json={"prompt": "x", "max_tokens": 2})
    assert r.status_code == 503 and r.headers["retry-after"] == "2"
    assert r.json()["error"]["type"] in ("engine_unavailable", "engine_crashed")


def _parent(mode: str = "ok", marker: Path | None = None) -> tuple[subprocess.Popen[str], int, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH", ""), os.getcwd()]))}
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("fake_parent.py")), mode, *([str(marker)] if marker else [])],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    engine, url = 0, ""
    for line in proc.stdout:
        if line.startswith("ENGINE "):
            engine = int(line.split()[1])
        if line.startswith("URL "):
            url = line.split()[1]
            break
    assert engine and url, "the parent did not start"
    deadline = time.monotonic() + 15
    while True:
        try:
            if httpx.get(url + "/health").status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return proc, engine, url


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_engine_never_outlives_the_server(sig: signal.Signals) -> None:
    proc, engine, _url = _parent()
    assert _alive(engine)
    proc.send_signal(sig)
    proc.wait(15)
    assert _wait_dead(engine), f"engine {engine} survived {sig.name} of its parent"
    if sig is not signal.SIGKILL:  # a graceful stop (uvicorn re-raises the signal once shut down)
        assert proc.returncode in (0, 128 + sig, 130), proc.stdout.read() if proc.stdout else ""


def test_repeated_start_up_crashes_stop_the_service_with_exit_4(tmp_path: Path) -> None:
    proc, engine, _url = _parent("crash-on-restart", tmp_path / "marker")
    os.kill(engine, signal.SIGSEGV)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 4, out
    assert "FATAL the engine failed to start 2 times in a row" in out and "SIGSEGV" in out
