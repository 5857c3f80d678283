"""The hash lock holds against the integrity attacks found by hostile testing:

1. re-importing the genuine model over a tampered blob of the same size replaces the blob (and
   the cache holds the hash of what is in the store, not of the source);
2. the ``os.utime`` bypass: edit in place at the same size, restore mtime → re-hashed, refused;
3. TOCTOU: swap a symlinked model between the check and the engine's load → the engine still
   loads the hashed bytes (it opens the pinned descriptor);
4. an edit while serving → detected at the next request: 503, audited; a mere chmod re-hashes
   and carries on.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import httpx
import pytest
from inference_fakes import FakeLauncher

from mistral_sov.adapters.inference.engine.client import EngineClient
from mistral_sov.adapters.inference.engine.supervisor import EngineSupervisor
from mistral_sov.adapters.inference.integrity import ModelChanged, ModelLock, PinnedModel
from mistral_sov.adapters.inference.server import LocalServer, ServerSettings, ServerThread
from mistral_sov.adapters.inference.server.observe import AuditLog
from mistral_sov.adapters.inference.store import ModelStore, verify_file

SMOL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX change time; Windows re-hashes every time")
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/fd")


def _flip(path: Path, offset: int) -> None:
    with path.open("r+b") as h:
        h.seek(offset)
        b = h.read(1)
        h.seek(offset)
        h.write(bytes([b[0] ^ 0xFF]))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_reimport_replaces_a_tampered_blob_of_the_same_size(tmp_path: Path, smol_gguf: Path) -> None:
    store = ModelStore(tmp_path / "store")
    blob = store.import_file(smol_gguf, "smollm2").path
    _flip(blob, blob.stat().st_size - 5000)  # tampered in the store, same size
    again = store.import_file(smol_gguf, "smollm2")  # what the refusal hint tells the admin to do
    assert again.path == blob and _sha(blob) == SMOL_SHA256, "the tampered blob must be replaced"
    verified = verify_file(blob, store.cache)
    verified.close()
    assert verified.sha256 == SMOL_SHA256


@posix_only
def test_utime_bypass_is_caught(tmp_path: Path, smol_gguf: Path) -> None:
    store = ModelStore(tmp_path / "store")
    blob = store.import_file(smol_gguf, "smollm2").path
    first = verify_file(blob, store.cache)
    first.close()
    assert first.from_cache and first.sha256 == SMOL_SHA256  # the import stored a verdict
    st = blob.stat()
    _flip(blob, st.st_size - 5000)  # edit in place, same size ...
    os.utime(blob, ns=(st.st_atime_ns, st.st_mtime_ns))  # ... and restore the timestamps
    after = blob.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (st.st_size, st.st_mtime_ns, st.st_ino)
    second = verify_file(blob, store.cache)
    second.close()
    assert not second.from_cache, "a restored mtime must not revive the cached verdict"
    assert second.sha256 != SMOL_SHA256


@linux_only
def test_symlink_swap_after_the_check_still_serves_the_hashed_bytes(tmp_path: Path, smol_gguf: Path) -> None:
    approved = tmp_path / "approved.gguf"
    shutil.copyfile(smol_gguf, approved)
    evil = tmp_path / "evil.gguf"
    shutil.copyfile(smol_gguf, evil)
    _flip(evil, evil.stat().st_size - 5000)
    link = tmp_path / "model.gguf"
    link.symlink_to(approved)
    store = ModelStore(tmp_path / "store")
    verified = verify_file(link, store.cache)
    assert verified.sha256 == SMOL_SHA256
    link.unlink()
    link.symlink_to(evil)  # the swap, after the check, before the engine opens anything
    launcher = FakeLauncher(model=link, model_fd=verified.pinned.engine_fd())
    sup = EngineSupervisor(launcher).start()
    try:
        seen = httpx.get(sup.endpoint().base + "/model-sha256").json()["sha256"]
        assert seen == SMOL_SHA256 != _sha(evil), "the engine must load the pinned, hashed inode"
        assert not verified.pinned.path_still_names_it(), "and the swap itself is visible"
    finally:
        sup.close()
        verified.close()


@posix_only
def test_edit_while_serving_is_refused_and_audited(tmp_path: Path) -> None:
    model = tmp_path / "m.bin"
    model.write_bytes(b"weights" * 100_000)
    sha = _sha(model)
    audit_file = tmp_path / "audit.jsonl"
    audit = AuditLog(audit_file)
    pinned = PinnedModel(model)
    lock = ModelLock(pinned, sha, on_event=audit.write)
    sup = EngineSupervisor(FakeLauncher()).start()
    server = LocalServer(EngineClient(sup), ServerSettings(model_id="m", model_sha256=sha), audit=audit, integrity=lock)
    try:
        with ServerThread(server.app()) as thread:
            ok = httpx.post(thread.url + "/v1/completions", json={"prompt": "a", "max_tokens": 2})
            assert ok.status_code == 200
            os.chmod(model, 0o600)  # a metadata change: ctime moves, the bytes do not
            assert httpx.post(thread.url + "/v1/completions", json={"prompt": "b", "max_tokens": 2}).status_code == 200
            assert lock.rehashes == 1
            st = model.stat()
            _flip(model, 1000)
            os.utime(model, ns=(st.st_atime_ns, st.st_mtime_ns))
            for stream in (False, True):
                r = httpx.post(thread.url + "/v1/completions", json={"prompt": "c", "max_tokens": 2, "stream": stream})
                assert r.status_code == 503, r.text
                assert (
                    r.json()["error"]["type"] == "model_integrity_error" and "changed" in r.json()["error"]["message"]
                )
            health = httpx.get(thread.url + "/health")
            assert health.status_code == 503 and health.json()["status"] == "model integrity lost"
            assert "mistral_sov_local_model_integrity_ok 0" in httpx.get(thread.url + "/metrics").text
    finally:
        sup.close()
        pinned.close()
    records = [json.loads(x) for x in audit_file.read_text().splitlines()]
    assert [r["event"] for r in records if "event" in r] == ["model_rehashed", "model_changed"]
    refused = [r for r in records if r.get("status") == 503]
    assert len(refused) == 2 and all(r["error"] == "model_integrity_error" for r in refused)
    with pytest.raises(ModelChanged):
        lock.check()
