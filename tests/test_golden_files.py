"""The golden-file helper itself fails on a missing or different file and only writes on request."""

from __future__ import annotations

from pathlib import Path

import pytest
from golden_files import assert_golden


def test_missing_golden_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UPDATE_GOLDEN", raising=False)
    with pytest.raises(AssertionError, match="missing golden file"):
        assert_golden("absent.txt", b"x", root=tmp_path)
    assert not (tmp_path / "absent.txt").exists()  # never created behind the test's back


def test_different_golden_fails_with_a_diff(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UPDATE_GOLDEN", raising=False)
    (tmp_path / "g.txt").write_bytes(b"a\nb\n")
    assert_golden("g.txt", b"a\nb\n", root=tmp_path)
    with pytest.raises(AssertionError, match=r"(?s)differs.*\+c"):
        assert_golden("g.txt", b"a\nc\n", root=tmp_path)


def test_update_writes_but_not_under_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPDATE_GOLDEN", "1")
    monkeypatch.setenv("CI", "false")
    assert_golden("new/g.bin", b"\x00", root=tmp_path)
    assert (tmp_path / "new/g.bin").read_bytes() == b"\x00"
    monkeypatch.setenv("CI", "true")
    with pytest.raises(AssertionError, match="refused under CI"):
        assert_golden("new/g.bin", b"\x01", root=tmp_path)
