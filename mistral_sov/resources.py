"""The one way to read shipped data (``templates/``): catalog, ADML strings, CI templates,
example policies. Installed wheels carry it as ``mistral_sov/_templates``; a source checkout
reads ``templates/`` at the repository root; ``--templates-dir`` / ``MISTRAL_SOV_TEMPLATES``
override both."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mistral_sov.errors import InputError, Location

_override: Path | None = None


def set_templates_dir(path: Path | None) -> None:
    global _override
    _override = path


def templates_dir() -> Path:
    if _override is not None:
        return _override
    env = os.environ.get("MISTRAL_SOV_TEMPLATES")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    installed = here / "_templates"
    if installed.is_dir():
        return installed
    return here.parent / "templates"


def path(relative: str) -> Path:
    """Absolute path of a shipped file, e.g. ``path('catalog/services.yaml')``."""
    target = templates_dir().joinpath(*relative.split("/"))
    if not target.exists():
        raise InputError(
            f"shipped data file '{relative}' is missing from {templates_dir()}",
            hint="reinstall mistral-sov, or fix --templates-dir",
            location=Location(str(target)),
        )
    return target


def read_text(relative: str) -> str:
    return path(relative).read_text(encoding="utf-8")


def read_bytes(relative: str) -> bytes:
    return path(relative).read_bytes()


def load_yaml_data(relative: str) -> Any:
    """A shipped YAML data table, read like the policy file: YAML 1.2 core schema (``NO`` stays
    Norway's code, ``on``/``off`` stay words), bounded, and errors located at ``file:line:col``."""
    from mistral_sov.yamlsrc import load_yaml

    target = path(relative)
    return load_yaml(target.read_text(encoding="utf-8"), str(target)).data
