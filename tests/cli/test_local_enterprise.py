"""``local models seal`` and serving a sealed model, end to end (subprocesses, real model):
the store keeps only ciphertext; ``local run`` answers from the model decrypted into memory;
another machine's key, a copied store, a flipped byte or a missing key are refused (exit 5/4)
before any engine starts; the managed policy applies to ``local run``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from gguf_models import smollm2 as _smol

SHA = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("sealsite")
    env = {
        **os.environ,
        "MISTRAL_SOV_MODEL_STORE": str(root / "store"),
        "MISTRAL_SOV_SEAL_KEY": str(root / "keys" / "seal.key"),
        "NO_COLOR": "1",
    }
    env.pop("MISTRAL_SOV_POLICY", None)
    policy = root / "sovereignty.yaml"
    policy.write_text(
        "version: 1\norganization: Hospital\nlocal_inference:\n  models:\n"
        f"    - {{name: smollm2, sha256: '{SHA}', license: apache-2.0}}\n",
        encoding="utf-8",
    )
    site = {"root": root, "env": env, "policy": policy}
    assert cli(site, "models", "import", str(_smol()), "--name", "smollm2").returncode == 0
    return site


@pytest.fixture
def sealed(site: dict) -> dict:
    r = cli(site, "models", "seal", "smollm2")  # idempotent: "already sealed" the second time
    assert r.returncode == 0, r.stderr
    return site


def cli(site: dict, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    extra = ["-p", str(site["policy"])] if args[0] in ("run", "serve") else []
    return subprocess.run(
        [sys.executable, "-m", "mistral_sov", "local", *args, *extra],
        capture_output=True,
        text=True,
        env=env or site["env"],
        timeout=300,
        cwd=site["root"],
    )


def test_seal_leaves_only_ciphertext_in_the_store(site: dict) -> None:
    r = cli(site, "models", "seal", "smollm2")
    assert r.returncode == 0, r.stderr
    blobs = sorted(p.name for p in (site["root"] / "store" / "blobs").iterdir())
    assert blobs == [f"sha256-{SHA}.gguf.sealed"]
    sealed = site["root"] / "store" / "blobs" / blobs[0]
    with sealed.open("rb") as f:
        assert f.read(8) == b"MSOVSEAL" and b"GGUF" not in f.read(1 << 20)
    key = Path(site["env"]["MISTRAL_SOV_SEAL_KEY"])
    assert key.stat().st_mode & 0o777 == 0o400
    r = cli(site, "models", "seal", "smollm2")
    assert r.returncode == 0 and "already sealed" in r.stdout


@pytest.mark.llm
def test_run_answers_from_the_sealed_model_in_memory(sealed: dict, site: dict) -> None:
    r = cli(site, "run", "Say hello.", "--max-tokens", "8")
    assert r.returncode == 0, r.stderr
    assert "decrypted into memory" in r.stderr and "approved" in r.stderr
    assert r.stdout.strip()


def _refused(site: dict, env: dict, expect: str, code: int = 5) -> None:
    r = cli(site, "run", "hi", "--max-tokens", "2", env=env)
    assert r.returncode == code, (r.returncode, r.stderr)
    assert expect in r.stderr and "Traceback" not in r.stderr


def test_another_machines_key_is_refused(sealed: dict, site: dict, tmp_path: Path) -> None:
    other = tmp_path / "other.key"
    other.write_bytes(os.urandom(32))
    other.chmod(0o400)
    _refused(site, {**site["env"], "MISTRAL_SOV_SEAL_KEY": str(other)}, "sealed with another key")


def test_copied_store_is_useless_elsewhere(sealed: dict, site: dict, tmp_path: Path) -> None:
    copy = tmp_path / "copied-store"
    shutil.copytree(site["root"] / "store", copy)
    env = {
        **site["env"],
        "MISTRAL_SOV_MODEL_STORE": str(copy),
        "MISTRAL_SOV_SEAL_KEY": str(tmp_path / "k" / "seal.key"),
    }
    _refused(site, env, "no sealing key", code=4)  # the other machine has no key at all
    from mistral_sov.adapters.inference import seal

    seal.create_key(tmp_path / "k" / "seal.key")  # ... or its own key
    _refused(site, env, "sealed with another key")


def test_flipped_byte_is_refused(sealed: dict, site: dict, tmp_path: Path) -> None:
    copy = tmp_path / "damaged-store"
    shutil.copytree(site["root"] / "store", copy)
    blob = next((copy / "blobs").glob("*.sealed"))
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0x01
    blob.write_bytes(bytes(data))
    _refused(site, {**site["env"], "MISTRAL_SOV_MODEL_STORE": str(copy)}, "fails authentication")


def test_managed_policy_applies_to_local_run(site: dict, tmp_path: Path) -> None:
    """A managed ApprovedModels list without this model's hash refuses it (exit 5), although
    sovereignty.yaml approves it: managed values win."""
    code = (
        "import sys, json; from pathlib import Path; from mistral_sov.adapters import managed; "
        f"p = Path({str(tmp_path / 'managed.json')!r}); "
        "p.write_text(json.dumps({'ApprovedModels': {'other': 'c' * 64}})); "
        "managed.MANAGED_JSON = p; from mistral_sov.cli.app import main; "
        f"main(['local', 'run', 'hi', '-p', {str(site['policy'])!r}])"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=site["env"], timeout=120)
    assert r.returncode == 5, r.stderr
    assert "managed policy: 1 setting(s)" in r.stderr and "is not listed under local_inference.models" in r.stderr, (
        r.stderr
    )


def test_policy_effective_json_names_the_managed_source(site: dict, tmp_path: Path) -> None:
    managed = tmp_path / "managed.json"
    managed.write_text(json.dumps({"EnforceLocalOnly": True}), encoding="utf-8")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "mistral_sov",
            "policy",
            "effective",
            "-p",
            str(site["policy"]),
            "--managed",
            str(managed),
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        env=site["env"],
        timeout=60,
    )
    rows = {row["setting"]: row for row in json.loads(r.stdout)["settings"]}
    assert rows["local_inference.enforce_local_only"]["source"] == f"managed: {managed}"


@pytest.mark.llm
@pytest.mark.browser
def test_chat_page_streams_an_answer_from_the_real_sealed_model_in_chromium(sealed: dict, site: dict) -> None:
    import socket
    import time
    import urllib.request

    from cdp import Browser

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mistral_sov",
            "local",
            "serve",
            "--port",
            str(port),
            "--ctx",
            "1024",
            "-p",
            str(site["policy"]),
        ],
        env=site["env"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"serve exited {proc.returncode}: {proc.stdout.read() if proc.stdout else ''}")
                time.sleep(0.5)
        with urllib.request.urlopen(url + "/chat/info", timeout=5) as r:
            info = json.load(r)
        assert info["model"] == {"name": "smollm2", "license": "apache-2.0", "sha256": SHA, "sealed": True}
        with Browser() as b:
            b.navigate(url + "/")
            b.wait_for("document.body.dataset.ready === 'true'", 20)
            b.evaluate(
                "window.updates = 0; new MutationObserver(() => window.updates++)"
                ".observe(document.getElementById('log'), {subtree: true, childList: true, characterData: true})"
            )
            b.evaluate("document.getElementById('prompt').focus()")
            b.send("Input.insertText", text="What is the capital of France? Answer in one sentence.")
            b.evaluate("document.getElementById('send').click()")
            b.wait_for("!!document.querySelector('li.assistant[data-done]')", 120)
            answer = b.evaluate("document.querySelector('li.assistant').textContent")
            error = b.evaluate("document.getElementById('error').textContent")
            assert answer.strip() and not error, (answer, error)
            assert b.evaluate("window.updates") >= 3  # streamed in pieces, not one block
            shot = b.screenshot("chat-page.png")
            assert shot.stat().st_size > 10_000
    finally:
        proc.terminate()
        proc.wait(30)


def test_remove_deletes_the_sealed_blob_too(tmp_path: Path) -> None:
    store = tmp_path / "store"
    env = {**os.environ, "MISTRAL_SOV_MODEL_STORE": str(store), "MISTRAL_SOV_SEAL_KEY": str(tmp_path / "seal.key")}
    site = {"root": tmp_path, "env": env, "policy": tmp_path / "none.yaml"}
    assert cli(site, "models", "import", str(_smol()), "--name", "gone").returncode == 0
    assert cli(site, "models", "seal", "gone").returncode == 0
    assert cli(site, "models", "remove", "gone").returncode == 0
    assert list((store / "blobs").iterdir()) == []


def test_reimporting_a_sealed_model_keeps_it_sealed(tmp_path: Path) -> None:
    """Importing the same model again (under its name or another) never puts a clear copy back
    beside the sealed blob: serve would otherwise load the clear one."""
    store = tmp_path / "store"
    env = {**os.environ, "MISTRAL_SOV_MODEL_STORE": str(store), "MISTRAL_SOV_SEAL_KEY": str(tmp_path / "seal.key")}
    site = {"root": tmp_path, "env": env, "policy": tmp_path / "none.yaml"}
    assert cli(site, "models", "import", str(_smol()), "--name", "kept").returncode == 0
    assert cli(site, "models", "seal", "kept").returncode == 0
    for name in ("kept", "twin"):
        r = cli(site, "models", "import", str(_smol()), "--name", name)
        assert r.returncode == 0, r.stderr
        assert sorted(p.name for p in (store / "blobs").iterdir()) == [f"sha256-{SHA}.gguf.sealed"]
    manifest = json.loads((store / "manifests" / "twin.json").read_text(encoding="utf-8"))
    assert manifest["sha256"] == SHA and manifest["gguf"]
    shown = json.loads(cli(site, "models", "show", "twin", "-o", "json").stdout)
    assert shown["sealed"] is True and shown["file"].endswith(".gguf.sealed")


def test_doctor_shows_the_managed_policy_and_sealed_models(sealed: dict) -> None:
    r = cli(sealed, "doctor", "--no-smoke", "-o", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["managed_policy"].startswith("none")  # no managed policy on a test machine
    assert {"name": "smollm2", "sealed": True} in data["models"]


@pytest.mark.browser
def test_chat_page_signs_in_with_oidc_pkce_then_chats(tmp_path: Path) -> None:
    """Chromium on the chat page: not signed in → the server answers 401; "Sign in" runs the
    authorization-code + PKCE flow against a local issuer (authorize, token over CORS under the
    page's CSP), then the streamed answer comes back and the audit log names the user."""
    from cdp import Browser
    from inference_fakes import FakeLauncher
    from oidc_issuer import AUD, LocalIssuer

    from mistral_sov.adapters.inference.engine.client import EngineClient
    from mistral_sov.adapters.inference.engine.supervisor import EngineSupervisor
    from mistral_sov.adapters.inference.server import LocalServer, ServerSettings, ServerThread
    from mistral_sov.adapters.inference.server.observe import AuditLog
    from mistral_sov.cli.local_enterprise import build_auth, chat_routes_for
    from mistral_sov.core.policy import Policy

    with LocalIssuer() as issuer:
        policy = Policy.model_validate(
            {
                "version": 1,
                "organization": "Klinikum",
                "local_inference": {"oidc": {"issuer": issuer.url, "audience": [AUD], "client_id": "chat-page"}},
            }
        )
        auth, info = build_auth(policy, tmp_path / "sovereignty.yaml", [], "smollm2")
        assert info["token_endpoint"] == issuer.url + "/token" and info["scope"] == f"openid profile {AUD}/.default"
        verified: Any = SimpleNamespace(path=tmp_path / "m.gguf", sha256=SHA)  # what the page shows of it
        sup = EngineSupervisor(FakeLauncher("ok", slots=2)).start()
        audit_file = tmp_path / "audit.jsonl"
        server = LocalServer(
            EngineClient(sup),
            ServerSettings(model_id="smollm2", model_sha256=SHA),
            auth=auth,
            audit=AuditLog(audit_file),
        )
        server.extra_routes += chat_routes_for(policy, "smollm2", verified, "apache-2.0", info)
        try:
            with ServerThread(server.app()) as thread, Browser() as b:
                b.navigate(thread.url + "/")
                b.wait_for("document.body.dataset.ready === 'true'", 20)
                assert b.evaluate("document.getElementById('who').textContent") == "Not signed in"
                b.evaluate("document.getElementById('prompt').value = 'hello'; document.getElementById('send').click()")
                b.wait_for("!document.getElementById('error').hidden", 20)
                assert "sign in" in b.evaluate("document.getElementById('error').textContent")
                b.evaluate("document.getElementById('signin').click()")  # → issuer → back with a code
                b.wait_for("document.getElementById('who').textContent.startsWith('Signed in as')", 20)
                assert b.evaluate("document.getElementById('who').textContent") == "Signed in as alice@klinikum.example"
                assert b.evaluate("location.search") == ""  # the code is not left in the address bar
                b.evaluate("document.getElementById('prompt').value = 'hello'; document.getElementById('send').click()")
                b.wait_for("document.querySelectorAll('li.assistant[data-done]').length === 1", 20)  # page reloaded
                answer = b.evaluate("[...document.querySelectorAll('li.assistant')].pop().textContent")
                assert answer.strip(), b.evaluate("document.getElementById('error').textContent")
            assert "/token" in issuer.requests
            records = [json.loads(line) for line in audit_file.read_text().splitlines()]
            assert [
                r["status"]
                for r in records
                if r.get("user") == "alice@klinikum.example"
                and r.get("identity") == "user:alice@klinikum.example"
                and "key_id" not in r
            ] == [200]
        finally:
            auth.validator.stop()
            sup.close()
