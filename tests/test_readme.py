"""The README's first command works as written (after its `pip install .` step)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _blocks() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_readme_opens_with_the_two_commands() -> None:
    blocks = _blocks()
    assert blocks[0].strip().startswith("pip install . && mistral-sov ")
    assert blocks[1].strip() == "bash .ci/run"
    assert "python -m pytest" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("mistral-sov") is None, reason="mistral-sov is not installed on PATH")
def test_main_job_on_embedded_defaults(tmp_path: Path) -> None:
    command = _blocks()[0].strip().removeprefix("pip install . && ")
    result = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "sovereignty.yaml").is_file()
    if "policy export" in command:
        assert (tmp_path / "mistral-sov-bundle" / "manifest.json").is_file()
