"""The model store: atomic import with streaming SHA-256, GGUF metadata, refusals, the hash cache."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from mistral_sov.adapters.inference.gguf_header import GGUFFormatError
from mistral_sov.adapters.inference.store import HashCache, ModelStore, sha256_file, verify_file
from mistral_sov.errors import InputError, ModelRefusedError

SMOL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
SMOL_SIZE = 98_362_432


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, smol_gguf: Path) -> ModelStore:
    s = ModelStore(tmp_path_factory.mktemp("store"))
    s.import_file(smol_gguf, "smollm2")
    return s


def test_import_records_hash_size_and_metadata(store: ModelStore) -> None:
    m = store.require("smollm2")
    assert m.sha256 == SMOL_SHA256
    assert m.size == SMOL_SIZE == m.path.stat().st_size
    assert m.path.name == f"sha256-{SMOL_SHA256}.gguf"
    meta = m.metadata
    assert meta["architecture"] == "llama" and meta["license_claim"] == "apache-2.0"
    assert meta["quantization"] == "Q4_1" and meta["context_length"] == 8192
    assert meta["parameter_count"] == 134_515_008
    manifest = json.loads((store.manifests / "smollm2.json").read_text(encoding="utf-8"))
    assert manifest["sha256"] == SMOL_SHA256 and manifest["imported_at"].endswith("Z")
    assert not list(store.blobs.glob("*.tmp")), "no temporary file may be left behind"
    assert [x.name for x in store.list()] == ["smollm2"]


def test_same_content_under_second_name_is_deduplicated(store: ModelStore) -> None:
    blob = store.require("smollm2").path
    again = store.import_file(blob, "alias")
    assert again.path == blob and len(list(store.blobs.glob("*.gguf"))) == 1
    store.remove("alias")
    assert blob.exists(), "the blob stays while another name refers to it"


def test_hash_cache_hit_and_invalidation(tmp_path: Path) -> None:
    f = tmp_path / "x.bin"
    f.write_bytes(b"a" * 1000)
    cache = HashCache(tmp_path / "cache.json")
    first, cached = cache.sha256(f)
    assert not cached and first == sha256_file(f)
    again, cached = cache.sha256(f)
    assert cached and again == first
    with f.open("r+b") as h:  # flip a byte in place: mtime changes, the cache must not be trusted
        h.seek(10)
        h.write(b"b")
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    third, cached = cache.sha256(f)
    assert not cached and third != first
    entry = next(iter(json.loads((tmp_path / "cache.json").read_text())["entries"].values()))
    assert set(entry["identity"]) == {"size", "mtime_ns", "ctime_ns", "inode", "device"} and entry["sha256"]


def test_flipped_byte_changes_verified_hash(store: ModelStore, tmp_path: Path) -> None:
    copy = tmp_path / "flipped.gguf"
    shutil.copyfile(store.require("smollm2").path, copy)
    with copy.open("r+b") as h:  # a byte in the tensor data: the header still parses
        h.seek(SMOL_SIZE - 1000)
        b = h.read(1)
        h.seek(SMOL_SIZE - 1000)
        h.write(bytes([b[0] ^ 0xFF]))
    verified = verify_file(copy, store.cache)
    verified.close()
    assert verified.header.architecture == "llama"
    assert verified.sha256 != SMOL_SHA256


def test_truncated_and_non_gguf_refused_before_copy(store: ModelStore, tmp_path: Path) -> None:
    truncated = tmp_path / "trunc.gguf"
    with store.require("smollm2").path.open("rb") as src:
        truncated.write_bytes(src.read(SMOL_SIZE // 2))
    with pytest.raises(GGUFFormatError, match="truncated"):
        store.import_file(truncated, "trunc")
    fake = tmp_path / "notes.gguf"
    fake.write_text("just text, not a model\n")
    with pytest.raises(ModelRefusedError, match="not a GGUF file"):
        store.import_file(fake, "fake")
    assert store.get("trunc") is None and store.get("fake") is None
    assert not list(store.blobs.glob("*.tmp"))
    with pytest.raises(ModelRefusedError, match="truncated"):
        verify_file(truncated, store.cache)


def test_bad_names_and_conflicts(store: ModelStore, tmp_path: Path, smol_gguf: Path) -> None:
    with pytest.raises(InputError, match="invalid model name"):
        store.import_file(smol_gguf, "../evil")
    with pytest.raises(InputError, match="no model named"):
        store.require("absent")
    with pytest.raises(InputError, match="not a file"):
        store.import_file(tmp_path / "missing.gguf")
    with pytest.raises(ModelRefusedError, match="missing"):
        verify_file(tmp_path / "missing.gguf", store.cache)


def test_one_model_file_rule_for_serve_and_gate(store: ModelStore, tmp_path: Path, monkeypatch) -> None:
    from types import SimpleNamespace

    from mistral_sov.adapters.inference.store import locate_model
    from mistral_sov.cli.gate import _model_resolver

    policy = tmp_path / "conf" / "sovereignty.yaml"
    (tmp_path / "conf" / "models").mkdir(parents=True)
    local = tmp_path / "conf" / "models" / "m.gguf"
    local.write_bytes(b"GGUF")
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "home.gguf").write_bytes(b"GGUF")
    monkeypatch.setenv("MISTRAL_SOV_MODEL_STORE", str(store.root))
    gate_resolve = _model_resolver(policy)
    cases = [
        (SimpleNamespace(file="models/m.gguf", sha256=SMOL_SHA256), local),  # relative to the policy file
        (SimpleNamespace(file="~/home.gguf", sha256=SMOL_SHA256), tmp_path / "home.gguf"),
        (SimpleNamespace(file="models/absent.gguf", sha256=SMOL_SHA256), None),
        (SimpleNamespace(file=None, sha256=SMOL_SHA256.upper()), store.blob_path(SMOL_SHA256)),  # the store
        (SimpleNamespace(file=None, sha256="f" * 64), None),
    ]
    for entry, expected in cases:
        assert locate_model(entry, policy, store) == expected
        assert gate_resolve(entry) == expected, "the gate follows the same rule"
