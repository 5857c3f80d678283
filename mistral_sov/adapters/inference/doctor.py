"""Machine check for local inference: CPU, RAM, measured memory bandwidth, and per model whether
it fits and how fast it should generate.

Batch-1 decoding streams every weight once per token, so generation speed is bounded by memory
bandwidth: tokens/s ≈ η · BW / model_bytes with η ≈ 0.5–0.85 in practice (llama.cpp
measurements). numpy, psutil and llama_cpp are imported inside functions and all optional.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mistral_sov.adapters.inference.gguf_header import GGUFHeader

ETA_LOW, ETA_HIGH = 0.5, 0.85
INTERESTING_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512_vnni",
    "avx512_bf16",
    "amx_tile",
    "asimd",
    "sve",
    "neon",
)


def cpu_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "logical_cores": os.cpu_count() or 1,
        "machine": platform.machine(),
        "model": platform.processor() or platform.machine(),
        "features": [],
    }
    try:
        import psutil

        info["physical_cores"] = psutil.cpu_count(logical=False) or info["logical_cores"]
    except ImportError:
        info["physical_cores"] = info["logical_cores"]
    cpuinfo = Path("/proc/cpuinfo")
    if sys.platform.startswith("linux") and cpuinfo.is_file():
        try:
            text = cpuinfo.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        for line in text.splitlines():
            key, _, value = line.partition(":")
            key = key.strip().lower()
            if key == "model name" and info["model"] in ("", platform.machine()):
                info["model"] = value.strip()
            if key in ("flags", "features"):
                flags = set(value.split())
                info["features"] = [f for f in INTERESTING_FLAGS if f in flags]
                break
    if not info["features"]:
        info["features"] = llama_features()
    return info


def llama_features() -> list[str]:
    """CPU features as llama.cpp sees them (works on Windows/macOS too); [] without llama_cpp."""
    try:
        import llama_cpp

        raw = llama_cpp.llama_print_system_info()
    except Exception:
        return []
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    out = []
    for part in text.replace("|", ";").split(";"):
        name, _, value = part.partition("=")
        if value.strip() == "1":
            out.append(name.strip().lower())
    return out


def memory_info() -> dict[str, int]:
    try:
        import psutil

        vm = psutil.virtual_memory()
        return {"total": int(vm.total), "available": int(vm.available)}
    except ImportError:
        pass
    if hasattr(os, "sysconf"):
        try:
            page = os.sysconf("SC_PAGE_SIZE")
            return {"total": page * os.sysconf("SC_PHYS_PAGES"), "available": page * os.sysconf("SC_AVPHYS_PAGES")}
        except (ValueError, OSError):
            pass
    return {"total": 0, "available": 0}


def measure_bandwidth(mib: int = 256, repeats: int = 5) -> float:
    """Memory bandwidth in bytes/s from a large buffer copy (read + write bytes counted), best of
    N. Single-threaded; the buffer is far larger than any CPU cache. Uses numpy when installed,
    else a ``bytearray`` slice copy (also a plain memcpy), so it works without the local extra."""
    size = mib * (1 << 20)
    best = float("inf")
    try:
        import numpy as np

        src = np.ones(size // 8, dtype=np.float64)
        dst = np.empty_like(src)
        np.copyto(dst, src)  # fault in pages
        for _ in range(repeats):
            t0 = time.perf_counter()
            np.copyto(dst, src)
            best = min(best, time.perf_counter() - t0)
    except ImportError:
        raw = bytearray(b"\x01") * size
        out = bytearray(size)
        view, target = memoryview(raw), memoryview(out)
        target[:] = view
        for _ in range(repeats):
            t0 = time.perf_counter()
            target[:] = view
            best = min(best, time.perf_counter() - t0)
    return 2 * size / best


@dataclass
class ModelFit:
    name: str
    weights_bytes: int
    kv_bytes: int | None
    overhead_bytes: int
    n_ctx: int
    fits: bool
    tg_low: float | None
    tg_high: float | None

    @property
    def needed_bytes(self) -> int:
        return self.weights_bytes + (self.kv_bytes or 0) + self.overhead_bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "n_ctx": self.n_ctx,
            "weights_bytes": self.weights_bytes,
            "kv_cache_bytes": self.kv_bytes,
            "overhead_bytes": self.overhead_bytes,
            "needed_bytes": self.needed_bytes,
            "fits": self.fits,
            "predicted_tokens_per_s": [
                round(self.tg_low, 1) if self.tg_low else None,
                round(self.tg_high, 1) if self.tg_high else None,
            ],
        }


def model_fit(name: str, header: GGUFHeader, n_ctx: int, available: int, bandwidth: float | None) -> ModelFit:
    """Weights (file size, mmapped) + f16 KV cache at ``n_ctx`` + compute buffers (≈ logits and
    scratch: n_ctx·(n_embd + n_vocab)·4 bytes, at least 32 MiB) against available RAM."""
    weights = header.file_size
    ctx = min(n_ctx, header.context_length or n_ctx)
    kv = header.kv_cache_bytes(ctx)
    vocab = header.arch_key("vocab_size")
    if not isinstance(vocab, int):
        tokens = header.get("tokenizer.ggml.tokens")
        vocab = getattr(tokens, "count", len(tokens) if isinstance(tokens, list) else 32_000)
    embd = header.kv_attention().get("n_embd") or 4096
    overhead = max(32 << 20, 512 * (int(embd) + int(vocab)) * 4)
    fits = weights + (kv or 0) + overhead <= available if available else False
    low = ETA_LOW * bandwidth / weights if bandwidth else None
    high = ETA_HIGH * bandwidth / weights if bandwidth else None
    return ModelFit(name, weights, kv, overhead, ctx, fits, low, high)
