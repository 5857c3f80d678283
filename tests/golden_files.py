"""The one helper that compares output with a golden file under ``tests/golden/``.

A missing or different golden file fails. ``UPDATE_GOLDEN=1`` (re)writes the golden files
instead — the only place that does — and is refused under ``CI=true`` so CI never passes by
rewriting its own expectations. Review the diff (``git diff tests/golden``) before committing.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"


def _diff(expected: bytes, actual: bytes, name: str) -> str:
    try:
        old, new = expected.decode("utf-8"), actual.decode("utf-8")
    except UnicodeDecodeError:
        return f"binary files differ ({len(expected)} vs {len(actual)} bytes)"
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), f"golden/{name}", "actual", lineterm="", n=1)
    return "\n".join(list(lines)[:40])


def assert_golden(name: str, data: bytes, *, root: Path = GOLDEN) -> None:
    """``data`` must equal ``root/name`` byte for byte."""
    path = root / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        assert os.environ.get("CI") != "true", "UPDATE_GOLDEN=1 is refused under CI=true"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return
    assert path.is_file(), f"missing golden file {path}; review the output, then run with UPDATE_GOLDEN=1"
    expected = path.read_bytes()
    assert data == expected, f"{name} differs from {path} (if intended: UPDATE_GOLDEN=1)\n{_diff(expected, data, name)}"
