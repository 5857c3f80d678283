"""Sealed weights: AES-256-GCM in authenticated chunks under an OS-held key; decryption only
into an anonymous memory file; every kind of damage, a wrong key or another model is refused
(exit 5), never served."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mistral_sov.adapters.inference import seal
from mistral_sov.errors import MissingBackendError, ModelRefusedError

CHUNK = 4096
DATA = os.urandom(3 * CHUNK + 123)
SHA = __import__("hashlib").sha256(DATA).hexdigest()


@pytest.fixture
def key(tmp_path: Path) -> bytes:
    return seal.create_key(tmp_path / "keys" / "seal.key")


@pytest.fixture
def sealed(tmp_path: Path, key: bytes) -> Path:
    plain = tmp_path / "model.gguf"
    plain.write_bytes(DATA)
    out = tmp_path / "model.gguf.sealed"
    seal.seal_file(plain, out, SHA, key, chunk=CHUNK)
    return out


def test_round_trip_through_memory_file(sealed: Path, key: bytes):
    raw = sealed.read_bytes()
    assert DATA[:64] not in raw and len(raw) == seal.HEADER_SIZE + len(DATA) + 4 * seal.TAG
    with seal.unseal_to_memory(sealed, key, SHA) as model:
        assert model.path.read_bytes() == DATA
        assert os.readlink(model.path).startswith("/memfd:mistral-sov-model")  # not a disk file
    assert not any(p.name.endswith(".tmp") for p in sealed.parent.iterdir())


def test_key_file_is_created_owner_only(tmp_path: Path):
    path = tmp_path / "k" / "seal.key"
    key = seal.create_key(path)
    assert len(key) == 32 and path.stat().st_mode & 0o777 == 0o400
    assert seal.load_key(path) == key == seal.create_key(path)  # created once


def test_loosely_protected_or_missing_key_is_exit_4(tmp_path: Path):
    path = tmp_path / "seal.key"
    path.write_bytes(os.urandom(32))
    path.chmod(0o644)
    with pytest.raises(MissingBackendError, match="readable by other accounts"):
        seal.load_key(path)
    with pytest.raises(MissingBackendError, match="no sealing key"):
        seal.load_key(tmp_path / "absent.key")


def test_wrong_key_is_refused_before_decrypting(sealed: Path):
    with pytest.raises(ModelRefusedError, match="sealed with another key") as info:
        seal.unseal_to_memory(sealed, os.urandom(32), SHA)
    assert info.value.exit_status == 5


def test_another_model_than_the_approved_one_is_refused(sealed: Path, key: bytes):
    with pytest.raises(ModelRefusedError, match="not the approved"):
        seal.unseal_to_memory(sealed, key, "0" * 64)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(st.data())
def test_any_flipped_byte_is_refused(sealed: Path, key: bytes, data):
    raw = bytearray(sealed.read_bytes())
    pos = data.draw(st.integers(0, len(raw) - 1))
    raw[pos] ^= data.draw(st.integers(1, 255))
    bad = sealed.with_name("flipped.sealed")
    bad.write_bytes(bytes(raw))
    with pytest.raises(ModelRefusedError):
        with seal.unseal_to_memory(bad, key, SHA):
            pass


@pytest.mark.parametrize("damage", ["truncate-chunk", "drop-last-chunk", "append", "swap-chunks", "header-size"])
def test_structural_damage_is_refused(sealed: Path, key: bytes, damage: str):
    raw = sealed.read_bytes()
    h, body = raw[: seal.HEADER_SIZE], raw[seal.HEADER_SIZE :]
    step = CHUNK + seal.TAG
    chunks = [body[i : i + step] for i in range(0, len(body), step)]
    if damage == "truncate-chunk":
        raw = raw[:-5]
    elif damage == "drop-last-chunk":
        raw = h + b"".join(chunks[:-1])
    elif damage == "append":
        raw = raw + b"\x00" * 20
    elif damage == "swap-chunks":
        raw = h + chunks[1] + chunks[0] + b"".join(chunks[2:])
    else:  # claim a shorter plaintext so the last full chunk looks final
        import struct

        raw = h[:13] + struct.pack("<Q", 3 * CHUNK) + h[21:] + body
    bad = sealed.with_name("bad.sealed")
    bad.write_bytes(raw)
    with pytest.raises(ModelRefusedError):
        with seal.unseal_to_memory(bad, key, SHA):
            pass


def test_not_a_sealed_file(tmp_path: Path, key: bytes):
    other = tmp_path / "x.sealed"
    other.write_bytes(b"GGUF" + b"\x00" * 200)
    with pytest.raises(ModelRefusedError, match="not a sealed model"):
        list(seal.unseal_chunks(other, key))


def test_empty_plaintext_round_trips(tmp_path: Path, key: bytes):
    plain = tmp_path / "empty"
    plain.write_bytes(b"")
    out = tmp_path / "empty.sealed"
    empty_sha = __import__("hashlib").sha256(b"").hexdigest()
    seal.seal_file(plain, out, empty_sha, key)
    assert b"".join(seal.unseal_chunks(out, key, empty_sha)) == b""


def test_source_changed_during_sealing_is_refused(tmp_path: Path, key: bytes):
    plain = tmp_path / "m.gguf"
    plain.write_bytes(DATA)
    with pytest.raises(ModelRefusedError, match="changed while"):
        seal.seal_file(plain, tmp_path / "m.sealed", "f" * 64, key, chunk=CHUNK)
    assert not (tmp_path / "m.sealed").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="memfd is Linux-only")
def test_without_memfd_sealed_models_are_not_decrypted_to_disk(monkeypatch, sealed: Path, key: bytes):
    monkeypatch.delattr(os, "memfd_create")
    with pytest.raises(MissingBackendError, match="memfd"):
        seal.unseal_to_memory(sealed, key, SHA)
