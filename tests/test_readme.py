"""The README's first command works as written: from a fresh virtual environment (PEP 668
systems such as Debian 12 / Ubuntu 24.04 refuse `pip install` into the system Python)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _blocks() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


FIRST = (
    "{ python3 -m venv .venv || { $(command -v sudo) apt-get install -y python3-venv && python3 -m venv --clear .venv; }; }"
    " && . .venv/bin/activate && pip install . && mistral-sov "
)


def test_readme_opens_with_the_two_commands() -> None:
    blocks = _blocks()
    assert blocks[0].strip().startswith(FIRST)
    assert blocks[1].strip() == "bash .ci/run"
    assert "python -m pytest" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def _offline_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PIP_FIND_LINKS")}
    env.update(PIP_NO_INDEX="1", PIP_NO_BUILD_ISOLATION="0", PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def _script(path: Path, body: str) -> None:
    path.write_text("#!/usr/bin/env bash\n" + body.lstrip(), encoding="utf-8")
    path.chmod(0o755)


@pytest.mark.skipif(os.name == "nt", reason="the README line is POSIX shell; Windows users run its py -m venv variant")
@pytest.mark.parametrize("stock_debian", [False, True], ids=["venv-available", "stock-debian-without-venv"])
def test_first_command_from_a_fresh_venv(tmp_path: Path, stock_debian: bool) -> None:
    """Run the README's first line literally in a copy of the checkout, offline: the venv sees
    the already-installed dependencies (--system-site-packages), pip may not reach an index and
    builds the wheel with the installed hatchling. Prints the time it took."""
    pytest.importorskip("hatchling", reason="pip install hatchling (test extra)")
    work = tmp_path / "checkout"
    work.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, work / name)
    for name in ("mistral_sov", "templates", "docs"):
        shutil.copytree(REPO / name, work / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    line = _blocks()[0].strip()
    env = _offline_env()
    if stock_debian:
        # a stock Debian/Ubuntu: the first `python3 -m venv` fails (no ensurepip) until apt-get
        # installs python3-venv; fake `python3`, `apt-get` and `sudo` record what the line does
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        _script(
            bin_dir / "python3",
            f"""
if [ "$1 $2" = "-m venv" ] && [ ! -e {tmp_path}/apt-ran ]; then
  mkdir -p "$3/bin"; echo "Error: ensurepip is not available. apt install python3-venv" >&2; exit 1
fi
if [ "$1 $2" = "-m venv" ]; then shift 2; exec {sys.executable} -m venv --system-site-packages "$@"; fi
exec {sys.executable} "$@"
""",
        )
        _script(bin_dir / "sudo", f'echo "$@" >> {tmp_path}/sudo-ran; exec "$@"')
        _script(bin_dir / "apt-get", f'echo "$@" > {tmp_path}/apt-ran')
        env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
        offline = line
    else:
        offline = line.replace("python3 -m venv .venv", f"{sys.executable} -m venv --system-site-packages .venv", 1)
    start = time.monotonic()
    result = subprocess.run(["bash", "-c", offline], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    took = time.monotonic() - start
    print(f"README first command in a fresh venv: {took:.1f} s")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert (work / "sovereignty.yaml").is_file()
    assert (work / "mistral-sov-bundle" / "manifest.json").is_file()
    # the installed copy is the one that ran, and the wheel carries the docs and the schemas
    site = next((work / ".venv" / "lib").glob("python3*/site-packages"))
    installed = site / "mistral_sov"
    assert (installed / "_docs" / "policy.md").is_file() and (installed / "_docs" / "evidence.md").is_file()
    assert (installed / "_templates" / "schemas" / "cli" / "result.schema.json").is_file()
    assert (work / ".venv" / "bin" / "mistral-sov").is_file()
    if stock_debian:
        assert (tmp_path / "apt-ran").read_text().split() == ["install", "-y", "python3-venv"]
