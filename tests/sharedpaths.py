"""The one way tests read ``../shared`` (schemas, fixtures).

``shared_path`` skips with a clear reason when the folder is absent, but fails under CI=true
so CI never passes by skipping. Import it as ``from sharedpaths import shared_path`` (tests/
is on sys.path); ``conftest.py`` also offers the ``shared_dir`` fixture.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MISTRAL_SOV_SHARED", REPO.parent / "shared"))


def shared_path(relative: str) -> Path:
    target = SHARED / relative
    if not target.exists():
        reason = f"../shared/{relative} is not available (set MISTRAL_SOV_SHARED)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " — CI must not pass by skipping")
        pytest.skip(reason)
    return target
