"""Fixtures shared by the CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from clihelp import run_cli


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "sovereignty.yaml"
    result = run_cli("init", str(path))
    assert result.code == 0, result.err
    return path
