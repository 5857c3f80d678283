"""A small, stdlib-only GGUF header reader: metadata KV pairs and tensor infos, never weights.

``gguf.GGUFReader`` memory-maps the whole file and materialises every array (49,152 tokens and
48,900 merges for SmolLM2: 3.7 s); this reader *seeks past* large arrays and reads only what
governance needs (0.04 s), so ``models import``/``show`` are instant even for multi-GB files.

Untrusted input: every length and count is bounded by the bytes left in the file, nesting is
bounded, and any inconsistency raises ``GGUFFormatError`` (a ``ModelRefusedError``, exit 5)
with a plain-language message; it never raises anything else for a malformed file.
Layout (ggml docs/gguf.md): magic ``GGUF``, version u32 (2 or 3), tensor_count u64,
kv_count u64, KV pairs, tensor infos (name, n_dims u32, dims u64[], type u32, offset u64),
padding to ``general.alignment`` (default 32), tensor data.
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from mistral_sov.errors import ModelRefusedError

MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
MAX_DIMS = 8
MAX_NESTING = 4
KEEP_ARRAY_MAX = 256  # arrays up to this many elements are kept; longer ones are summarised
MAX_KEY_BYTES = 65_535

# value type id -> struct format (fixed-size scalars)
_SCALARS: dict[int, str] = {
    0: "<B",  # UINT8
    1: "<b",  # INT8
    2: "<H",  # UINT16
    3: "<h",  # INT16
    4: "<I",  # UINT32
    5: "<i",  # INT32
    6: "<f",  # FLOAT32
    7: "<?",  # BOOL
    10: "<Q",  # UINT64
    11: "<q",  # INT64
    12: "<d",  # FLOAT64
}
STRING, ARRAY = 8, 9
TYPE_NAMES = {
    0: "uint8",
    1: "int8",
    2: "uint16",
    3: "int16",
    4: "uint32",
    5: "int32",
    6: "float32",
    7: "bool",
    8: "string",
    9: "array",
    10: "uint64",
    11: "int64",
    12: "float64",
}

# ggml tensor type id -> (name, elements per block, bytes per block); checked against gguf in tests
GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),
    3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24),
    8: ("Q8_0", 32, 34),
    9: ("Q8_1", 32, 40),
    10: ("Q2_K", 256, 84),
    11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210),
    15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66),
    17: ("IQ2_XS", 256, 74),
    18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18),
    21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82),
    23: ("IQ4_XS", 256, 136),
    24: ("I8", 1, 1),
    25: ("I16", 1, 2),
    26: ("I32", 1, 4),
    27: ("I64", 1, 8),
    28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2),
    34: ("TQ1_0", 256, 54),
    35: ("TQ2_0", 256, 66),
    39: ("MXFP4", 32, 17),
}

# general.file_type -> llama.cpp name (LLAMA_FTYPE_MOSTLY_*)
FILE_TYPES: dict[int, str] = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4_MOE",
}


class GGUFFormatError(ModelRefusedError):
    """The file is not a well-formed GGUF model (exit 5)."""


@dataclass(frozen=True)
class ArraySummary:
    """A metadata array too long to keep (token lists, merges): its element type and length."""

    element_type: str
    count: int

    def __str__(self) -> str:
        return f"[{self.count} x {self.element_type}]"


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    ggml_type: int
    offset: int  # relative to the start of the data section

    @property
    def n_elements(self) -> int:
        return math.prod(self.shape)

    @property
    def type_name(self) -> str:
        known = GGML_TYPES.get(self.ggml_type)
        return known[0] if known else f"type{self.ggml_type}"

    @property
    def n_bytes(self) -> int | None:
        known = GGML_TYPES.get(self.ggml_type)
        if known is None:
            return None
        _, block, size = known
        return (self.n_elements + block - 1) // block * size


@dataclass
class GGUFHeader:
    path: str
    file_size: int
    version: int
    kv: dict[str, Any]
    tensors: list[TensorInfo] = field(default_factory=list)
    data_offset: int = 0
    header_bytes_read: int = 0

    # --- governance views -------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        return self.kv.get(key, default)

    @property
    def architecture(self) -> str | None:
        value = self.kv.get("general.architecture")
        return value if isinstance(value, str) else None

    def arch_key(self, suffix: str) -> Any:
        arch = self.architecture
        return self.kv.get(f"{arch}.{suffix}") if arch else None

    @property
    def license(self) -> str | None:
        value = self.kv.get("general.license")
        return value if isinstance(value, str) else None

    @property
    def file_type(self) -> int | None:
        value = self.kv.get("general.file_type")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def quantization(self) -> str:
        ft = self.file_type
        if ft is not None:
            return FILE_TYPES.get(ft, f"file_type {ft}")
        counts: dict[str, int] = {}
        for t in self.tensors:
            counts[t.type_name] = counts.get(t.type_name, 0) + t.n_elements
        return max(counts, key=lambda k: counts[k]) if counts else "unknown"

    @property
    def context_length(self) -> int | None:
        value = self.arch_key("context_length")
        return int(value) if isinstance(value, int) else None

    @property
    def parameter_count(self) -> int:
        """Sum of tensor elements (``general.parameter_count`` is not always written)."""
        return sum(t.n_elements for t in self.tensors)

    @property
    def chat_template(self) -> str | None:
        value = self.kv.get("tokenizer.chat_template")
        return value if isinstance(value, str) else None

    @property
    def chat_template_sha256(self) -> str | None:
        tpl = self.chat_template
        return hashlib.sha256(tpl.encode("utf-8")).hexdigest() if tpl is not None else None

    @property
    def expected_size(self) -> int | None:
        """Bytes the file must have to hold every tensor (None when a type is unknown)."""
        end = self.data_offset
        for t in self.tensors:
            size = t.n_bytes
            if size is None:
                return None
            end = max(end, self.data_offset + t.offset + size)
        return end

    def kv_attention(self) -> dict[str, int | None]:
        def as_int(v: Any) -> int | None:
            return int(v) if isinstance(v, int) and not isinstance(v, bool) else None

        n_head = as_int(self.arch_key("attention.head_count"))
        n_head_kv = as_int(self.arch_key("attention.head_count_kv")) or n_head
        embd = as_int(self.arch_key("embedding_length"))
        key_len = as_int(self.arch_key("attention.key_length"))
        val_len = as_int(self.arch_key("attention.value_length"))
        head_dim = embd // n_head if embd and n_head else None
        return {
            "n_layer": as_int(self.arch_key("block_count")),
            "n_head": n_head,
            "n_head_kv": n_head_kv,
            "n_embd": embd,
            "key_length": key_len or head_dim,
            "value_length": val_len or head_dim,
        }

    def kv_cache_bytes(self, n_ctx: int, bytes_per_element: int = 2) -> int | None:
        """K and V cache size at ``n_ctx`` (f16 by default): n_ctx·n_layer·n_kv_heads·(dk+dv)·bytes."""
        a = self.kv_attention()
        if not (a["n_layer"] and a["n_head_kv"] and a["key_length"] and a["value_length"]):
            return None
        return n_ctx * a["n_layer"] * a["n_head_kv"] * (a["key_length"] + a["value_length"]) * bytes_per_element

    def governance(self) -> dict[str, Any]:
        """The metadata an administrator reviews, as plain JSON-able values."""
        keys = [
            "general.name",
            "general.organization",
            "general.author",
            "general.version",
            "general.basename",
            "general.finetune",
            "general.size_label",
            "general.license.name",
            "general.license.link",
            "general.quantized_by",
            "general.repo_url",
            "general.source.url",
            "general.source.repo_url",
            "general.quantization_version",
        ]
        out: dict[str, Any] = {
            "gguf_version": self.version,
            "architecture": self.architecture,
            "license_claim": self.license,
            "quantization": self.quantization,
            "file_type": self.file_type,
            "context_length": self.context_length,
            "parameter_count": self.parameter_count,
            "tensor_count": len(self.tensors),
            "chat_template_sha256": self.chat_template_sha256,
        }
        for key in keys:
            value = self.kv.get(key)
            if value is not None:
                out[key.removeprefix("general.").replace(".", "_")] = _plain(value)
        bases = self.kv.get("general.base_model.count")
        if isinstance(bases, int) and not isinstance(bases, bool) and bases > 0:
            out["base_models"] = [
                {
                    k: _plain(self.kv[f"general.base_model.{i}.{k}"])
                    for k in ("name", "organization", "repo_url")
                    if f"general.base_model.{i}.{k}" in self.kv
                }
                for i in range(min(bases, 16))
            ]
        for key in ("general.languages", "general.tags", "general.datasets"):
            if key in self.kv:
                out[key.removeprefix("general.")] = _plain(self.kv[key])
        out.update({k: v for k, v in self.kv_attention().items() if v is not None})
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, ArraySummary):
        return str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class _Reader:
    """Bounded reads over a binary stream of known size."""

    def __init__(self, handle: IO[bytes], size: int, name: str) -> None:
        self.h = handle
        self.size = size
        self.name = name
        self.pos = 0

    def fail(self, what: str) -> GGUFFormatError:
        return GGUFFormatError(
            f"'{self.name}' is not a valid GGUF model: {what} (at byte {self.pos})",
            hint="the file is damaged, truncated or not a GGUF model; copy it again from the "
            "approved source and compare its SHA-256",
        )

    def left(self) -> int:
        return self.size - self.pos

    def read(self, n: int, what: str) -> bytes:
        if n < 0 or n > self.left():
            raise self.fail(f"{what} runs past the end of the file (truncated)")
        data = self.h.read(n)
        if len(data) != n:
            raise self.fail(f"{what} runs past the end of the file (truncated)")
        self.pos += n
        return data

    def skip(self, n: int, what: str) -> None:
        if n < 0 or n > self.left():
            raise self.fail(f"{what} runs past the end of the file (truncated)")
        self.h.seek(n, io.SEEK_CUR)
        self.pos += n

    def u32(self, what: str) -> int:
        return int(struct.unpack("<I", self.read(4, what))[0])

    def u64(self, what: str) -> int:
        return int(struct.unpack("<Q", self.read(8, what))[0])

    def string(self, what: str, limit: int | None = None) -> str:
        n = self.u64(f"length of {what}")
        if limit is not None and n > limit:
            raise self.fail(f"{what} is {n} bytes long (limit {limit})")
        return self.read(n, what).decode("utf-8", errors="replace")

    def skip_string(self, what: str) -> None:
        self.skip(self.u64(f"length of {what}"), what)

    def value(self, vtype: int, what: str, depth: int = 0) -> Any:
        fmt = _SCALARS.get(vtype)
        if fmt is not None:
            return struct.unpack(fmt, self.read(struct.calcsize(fmt), what))[0]
        if vtype == STRING:
            return self.string(what)
        if vtype == ARRAY:
            if depth >= MAX_NESTING:
                raise self.fail(f"{what} nests arrays more than {MAX_NESTING} deep")
            etype = self.u32(f"element type of {what}")
            count = self.u64(f"length of {what}")
            if etype not in _SCALARS and etype not in (STRING, ARRAY):
                raise self.fail(f"{what} has unknown element type {etype}")
            min_size = struct.calcsize(_SCALARS[etype]) if etype in _SCALARS else (8 if etype == STRING else 12)
            if count * min_size > self.left():
                raise self.fail(f"{what} claims {count} elements, more than the file holds (truncated)")
            if count <= KEEP_ARRAY_MAX:
                return [self.value(etype, what, depth + 1) for _ in range(count)]
            if etype in _SCALARS:
                self.skip(count * min_size, what)
            elif etype == STRING:
                for _ in range(count):
                    self.skip_string(what)
            else:
                for _ in range(count):
                    self.value(ARRAY, what, depth + 1)
            return ArraySummary(TYPE_NAMES[etype], count)
        raise self.fail(f"{what} has unknown value type {vtype}")


def read_header(path: Path | str, *, with_tensors: bool = True) -> GGUFHeader:
    """Parse the GGUF header of ``path`` (metadata and, by default, tensor infos)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        handle = path.open("rb")
    except FileNotFoundError:
        raise ModelRefusedError(f"model file '{path}' not found", hint="check the path") from None
    except IsADirectoryError:
        raise ModelRefusedError(f"'{path}' is a directory, not a GGUF file", hint="pass the .gguf file") from None
    except OSError as exc:
        raise ModelRefusedError(
            f"cannot read '{path}': {exc.strerror or exc}", hint="check the path and its permissions"
        ) from None
    with handle:
        return parse_stream(handle, size, str(path), with_tensors=with_tensors)


def parse_bytes(data: bytes, name: str = "<bytes>", *, with_tensors: bool = True) -> GGUFHeader:
    return parse_stream(io.BytesIO(data), len(data), name, with_tensors=with_tensors)


def parse_stream(handle: IO[bytes], size: int, name: str, *, with_tensors: bool = True) -> GGUFHeader:
    r = _Reader(handle, size, name)
    if size < 4 or r.read(4, "magic") != MAGIC:
        r.pos = 0
        raise GGUFFormatError(
            f"'{name}' is not a GGUF file (no 'GGUF' magic)",
            hint="only GGUF model files (llama.cpp format) can be imported; convert or re-download "
            "the approved .gguf file",
        )
    version = r.u32("version")
    if version not in (2, 3):
        raise r.fail(f"unsupported GGUF version {version} (supported: 2, 3)")
    tensor_count = r.u64("tensor count")
    kv_count = r.u64("metadata count")
    # every KV pair takes at least 8 (key length) + 4 (type) + 1 bytes; every tensor info ≥ 24
    if kv_count * 13 > r.left():
        raise r.fail(f"header claims {kv_count} metadata entries, more than the file holds")
    if tensor_count * 24 > r.left():
        raise r.fail(f"header claims {tensor_count} tensors, more than the file holds")
    kv: dict[str, Any] = {}
    for i in range(kv_count):
        key = r.string(f"metadata key #{i}", MAX_KEY_BYTES)
        vtype = r.u32(f"type of '{key}'")
        kv[key] = r.value(vtype, f"'{key}'")
    header = GGUFHeader(path=name, file_size=size, version=version, kv=kv)
    if not with_tensors:
        header.header_bytes_read = r.pos
        return header
    alignment = kv.get("general.alignment", DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or isinstance(alignment, bool) or alignment <= 0 or alignment % 8:
        raise r.fail(f"general.alignment {alignment!r} is not a positive multiple of 8")
    tensors: list[TensorInfo] = []
    for i in range(tensor_count):
        tname = r.string(f"tensor name #{i}", MAX_KEY_BYTES)
        n_dims = r.u32(f"dimension count of tensor '{tname}'")
        if n_dims == 0 or n_dims > MAX_DIMS:
            raise r.fail(f"tensor '{tname}' has {n_dims} dimensions")
        shape = tuple(r.u64(f"shape of tensor '{tname}'") for _ in range(n_dims))
        ttype = r.u32(f"type of tensor '{tname}'")
        offset = r.u64(f"offset of tensor '{tname}'")
        info = TensorInfo(tname, shape, ttype, offset)
        if offset % alignment:
            raise r.fail(f"tensor '{tname}' offset {offset} is not aligned to {alignment}")
        nbytes = info.n_bytes
        if nbytes is not None and offset + nbytes > size:
            raise r.fail(f"tensor '{tname}' lies beyond the end of the file (truncated)")
        tensors.append(info)
    header.tensors = tensors
    header.header_bytes_read = r.pos
    header.data_offset = (r.pos + alignment - 1) // alignment * alignment
    expected = header.expected_size
    if expected is not None and expected > size:
        r.pos = size
        raise GGUFFormatError(
            f"'{name}' is truncated: its tensors need {expected:,} bytes but the file has {size:,}",
            hint="the copy is incomplete; copy it again from the approved source",
        )
    return header


def file_identity(path: Path) -> tuple[int, int, int]:
    """(size, mtime_ns, inode) — inode is 0 on some Windows filesystems, so it is only one part."""
    st = Path(path).stat()
    return st.st_size, st.st_mtime_ns, int(getattr(st, "st_ino", 0) or 0)
