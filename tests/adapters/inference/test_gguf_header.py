"""The stdlib GGUF header parser, proved against the independent ``gguf`` package (reader and
writer), and fuzzed with corrupted and truncated headers: it never crashes, it refuses cleanly."""

from __future__ import annotations

import math
import struct
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mistral_sov.adapters.inference.gguf_header import (
    FILE_TYPES,
    GGML_TYPES,
    ArraySummary,
    GGUFFormatError,
    parse_bytes,
    read_header,
)
from mistral_sov.errors import ExitStatus, ModelRefusedError

gguf = pytest.importorskip("gguf")


def _reader_value(field):  # the gguf package's own decoding of one field
    return field.contents()


def test_matches_gguf_reader_on_the_real_model(smol_gguf: Path) -> None:
    t0 = time.perf_counter()
    ours = read_header(smol_gguf)
    ours_s = time.perf_counter() - t0
    reader = gguf.GGUFReader(smol_gguf, "r")
    theirs = {name: f for name, f in reader.fields.items() if not name.startswith("GGUF.")}
    assert set(ours.kv) == set(theirs)
    for key, field in theirs.items():
        expected = _reader_value(field)
        got = ours.kv[key]
        if isinstance(got, ArraySummary):
            assert got.count == len(expected), key
        elif isinstance(expected, float):
            assert math.isclose(got, expected, rel_tol=1e-6), key
        else:
            assert got == expected, key
    assert len(ours.tensors) == len(reader.tensors) == 272
    for mine, ref in zip(ours.tensors, reader.tensors, strict=True):
        assert mine.name == ref.name
        assert mine.shape == tuple(int(x) for x in ref.shape)
        assert mine.ggml_type == int(ref.tensor_type)
        assert ours.data_offset + mine.offset == int(ref.data_offset)
        assert mine.n_bytes == int(ref.n_bytes)
        assert mine.n_elements == int(ref.n_elements)
    assert ours.data_offset == reader.data_offset
    # governance view (reference: SmolLM2 facts in shared/reference/local-inference.md §6)
    gov = ours.governance()
    assert gov["architecture"] == "llama"
    assert gov["license_claim"] == "apache-2.0"
    assert gov["quantization"] == "Q4_1"
    assert gov["context_length"] == 8192
    assert gov["parameter_count"] == 134_515_008
    assert gov["n_layer"] == 30 and gov["n_head_kv"] == 3
    assert len(gov["chat_template_sha256"]) == 64
    assert ours.expected_size == ours.file_size
    assert ours_s < 2.0  # sanity only (reference: 0.04 s vs 3.7 s for GGUFReader); timing in benchmarks


def test_type_tables_agree_with_gguf() -> None:
    for type_id, (name, block, size) in GGML_TYPES.items():
        qt = gguf.GGMLQuantizationType(type_id)
        assert qt.name == name
        assert gguf.GGML_QUANT_SIZES[qt] == (block, size)
    for ft, name in FILE_TYPES.items():
        assert gguf.LlamaFileType(ft).name == "MOSTLY_" + name or (ft == 0 and name == "F32")


# -- synthetic files from the gguf package's *writer* -------------------------------------------
kv_values = st.one_of(
    st.integers(0, 2**32 - 1).map(lambda v: ("uint32", v)),
    st.integers(-(2**31), 2**31 - 1).map(lambda v: ("int32", v)),
    st.integers(0, 2**64 - 1).map(lambda v: ("uint64", v)),
    st.booleans().map(lambda v: ("bool", v)),
    st.floats(allow_nan=False, width=32).map(lambda v: ("float32", v)),
    st.text(min_size=1, max_size=40).map(lambda v: ("string", v)),
    st.lists(st.integers(0, 2**31 - 1), min_size=1, max_size=300).map(lambda v: ("array", v)),
    st.lists(st.text(max_size=8), min_size=1, max_size=300).map(lambda v: ("sarray", v)),
)
keys = st.from_regex(r"\Ax\.[a-z_]{1,12}\Z")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(keys, kv_values, max_size=8), st.lists(st.integers(1, 40), min_size=1, max_size=3))
def test_matches_gguf_writer_output(kvs: dict, dims: list[int]) -> None:
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.gguf"
        w = gguf.GGUFWriter(path, "llama")
        for key, (kind, value) in kvs.items():
            if kind == "sarray":
                w.add_array(key, value)
            elif kind == "array":
                w.add_key_value(key, value, gguf.GGUFValueType.ARRAY, sub_type=gguf.GGUFValueType.INT32)
            else:
                getattr(w, f"add_{kind}")(key, value)
        w.add_tensor("t0", np.arange(math.prod(dims), dtype=np.float32).reshape(dims))
        w.add_tensor("t1", np.ones((3, 5), dtype=np.float16))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        ours = read_header(path)
        reader = gguf.GGUFReader(path, "r")
        for key, (kind, value) in kvs.items():
            got = ours.kv[key]
            expected = reader.fields[key].contents()
            if isinstance(got, ArraySummary):
                assert got.count == len(expected) == len(value)
            elif kind == "float32":
                assert got == pytest.approx(expected)
            else:
                assert got == expected
        assert [t.name for t in ours.tensors] == ["t0", "t1"]
        assert ours.tensors[0].shape == tuple(int(x) for x in reader.tensors[0].shape)
        assert ours.data_offset == reader.data_offset
        assert ours.expected_size is not None
        assert ours.expected_size <= path.stat().st_size < ours.expected_size + 32  # writer pads the end


# -- fuzzing: corrupted and truncated headers ---------------------------------------------------
def _kv_string(key: str, value: str) -> bytes:
    k, v = key.encode(), value.encode()
    return struct.pack("<Q", len(k)) + k + struct.pack("<I", 8) + struct.pack("<Q", len(v)) + v


def _tiny_gguf() -> bytes:
    kv = _kv_string("general.architecture", "llama") + _kv_string("general.license", "mit")
    arr_key = b"tokenizer.ggml.tokens"
    arr = struct.pack("<Q", len(arr_key)) + arr_key + struct.pack("<IIQ", 9, 8, 3)
    arr += b"".join(struct.pack("<Q", len(t)) + t for t in (b"a", b"bb", b"ccc"))
    tname = b"w"
    tensor = struct.pack("<Q", len(tname)) + tname + struct.pack("<I", 2) + struct.pack("<QQ", 4, 2)
    tensor += struct.pack("<IQ", 0, 0)  # F32, offset 0
    head = b"GGUF" + struct.pack("<IQQ", 3, 1, 3) + kv + arr + tensor
    pad = (-len(head)) % 32
    return head + b"\0" * pad + b"\1" * 32  # 4x2 F32 = 32 bytes


TINY = _tiny_gguf()


def test_tiny_reference_file_parses() -> None:
    h = parse_bytes(TINY)
    assert h.license == "mit" and h.kv["tokenizer.ggml.tokens"] == ["a", "bb", "ccc"]
    assert h.parameter_count == 8 and h.expected_size == len(TINY)


def test_every_truncation_is_refused_cleanly() -> None:
    for cut in range(len(TINY)):
        with pytest.raises(GGUFFormatError) as info:
            parse_bytes(TINY[:cut], "cut.gguf")
        assert info.value.exit_status is ExitStatus.MODEL_REFUSED
        assert "cut.gguf" in info.value.message and info.value.hint


def test_non_gguf_refused() -> None:
    with pytest.raises(GGUFFormatError, match="not a GGUF file"):
        parse_bytes(b"PK\x03\x04 this is a zip file")


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_corrupted_headers_never_crash(data: st.DataObject) -> None:
    buf = bytearray(TINY)
    for _ in range(data.draw(st.integers(1, 6))):
        pos = data.draw(st.integers(0, len(buf) - 1))
        buf[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(buf)))
    try:
        header = parse_bytes(bytes(buf[:cut]))
    except ModelRefusedError as exc:
        assert exc.message and exc.hint
    else:
        assert header.version in (2, 3)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_random_bytes_after_magic_never_crash(tail: bytes) -> None:
    try:
        parse_bytes(b"GGUF" + tail)
    except ModelRefusedError:
        pass


def test_huge_claimed_counts_are_refused_without_allocating() -> None:
    bad = b"GGUF" + struct.pack("<IQQ", 3, 2**63, 1) + b"\0" * 64
    with pytest.raises(GGUFFormatError, match="tensors"):
        parse_bytes(bad)
    huge_string = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 2**62) + b"k" * 32
    with pytest.raises(GGUFFormatError, match=r"truncated|limit"):
        parse_bytes(huge_string)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelRefusedError, match="not found"):
        read_header(tmp_path / "none.gguf")
    with pytest.raises(ModelRefusedError, match="directory"):
        read_header(tmp_path)
