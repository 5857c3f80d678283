"""Managed policy files for Linux and macOS: ``managed.json`` and the macOS managed
preferences written by a configuration profile (``ai.mistral.sovereign``).

Both hold the registry's value names (EnforceLocalOnly, ApprovedModels, …): a boolean is a
REG_DWORD 0/1, a string a REG_SZ, an object a sub-key of named values, an array a sub-key of
values named 1, 2, … . They go through the same mapping as the Windows registry.
"""

from __future__ import annotations

import json
import os
import plistlib
from pathlib import Path
from typing import Any

from mistral_sov.errors import InputError, Location
from mistral_sov.services.effective import INVALID, REG_DWORD, REG_SZ, RegState

PREFERENCE_DOMAIN = "ai.mistral.sovereign"
MAX_BYTES = 1024 * 1024
_IGNORED_PREFIXES = ("$", "Payload", "mcx_")


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise InputError(
            f"cannot read the managed policy file {path}: {exc.strerror}",
            hint="fix its permissions (root-owned, mode 644), or remove it to unmanage this machine",
            location=Location(str(path)),
        ) from None
    if len(data) > MAX_BYTES:
        raise InputError(f"managed policy file {path} is larger than 1 MiB", location=Location(str(path)))
    return data


def check_owner(path: Path) -> None:
    """A system managed file must be owned by root and writable only by root: otherwise any
    local user could weaken the administrator's policy."""
    if os.name != "posix":
        return
    st = path.stat()
    if st.st_uid != 0 or st.st_mode & 0o022:
        raise InputError(
            f"managed policy file {path} is writable by a non-root user (owner uid {st.st_uid}, "
            f"mode {st.st_mode & 0o777:o})",
            hint=f"sudo chown root:root {path} && sudo chmod 644 {path}",
            location=Location(str(path)),
        )


def _to_value(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool):
        return REG_DWORD, int(value)
    if isinstance(value, int) and 0 <= value <= 0xFFFFFFFF:
        return REG_DWORD, value
    if isinstance(value, str):
        return REG_SZ, value
    return INVALID, value


def state_from_mapping(doc: Any, where: str) -> RegState:
    if not isinstance(doc, dict):
        raise InputError(
            f"the managed policy in {where} must be an object of policy names",
            hint='e.g. {"EnforceLocalOnly": true, "ApprovedModels": {"smollm2": "<sha256>"}}',
            location=Location(where),
        )
    _unique_ci(doc, where, "")
    state: RegState = {"": {}}
    for name, value in doc.items():
        if not isinstance(name, str) or name.startswith(_IGNORED_PREFIXES):
            continue
        if isinstance(value, dict):
            _unique_ci(value, where, name)
            state[name] = {str(k): _to_value(v) for k, v in value.items()}
        elif isinstance(value, list):
            state[name] = {str(i): _to_value(v) for i, v in enumerate(value, start=1)}
        else:
            state[""][name] = _to_value(value)
    return state


def _unique_ci(mapping: dict[Any, Any], where: str, parent: str) -> None:
    """Registry names ignore case, so 'EnforceLocalOnly' and 'enforcelocalonly' in one object
    would be two values for one setting: refused rather than guessed."""
    seen: dict[str, str] = {}
    for key in mapping:
        lower = str(key).lower()
        if lower in seen:
            inside = f" in '{parent}'" if parent else ""
            raise InputError(
                f"the managed policy is ambiguous: '{seen[lower]}' and '{key}'{inside} name the same setting",
                hint="names are case-insensitive, as in the Windows registry: keep one of them",
                location=Location(where),
            )
        seen[lower] = str(key)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key '{key}'")
        out[key] = value
    return out


def read_json(path: Path) -> RegState:
    data = _read(path)
    try:
        doc = json.loads(data.decode("utf-8-sig"), object_pairs_hook=_no_duplicates)
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text", location=Location(str(path))) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"the managed policy file is not valid JSON: {exc.msg}",
            hint="fix the file (check with `python -m json.tool FILE`); the endpoint refuses to start "
            "rather than ignore the administrator's policy",
            location=Location(str(path), exc.lineno, exc.colno),
        ) from None
    except ValueError as exc:
        raise InputError(f"the managed policy file is ambiguous: {exc}", location=Location(str(path))) from None
    return state_from_mapping(doc, str(path))


def read_plist(path: Path) -> RegState:
    """A managed-preferences plist, or a ``.mobileconfig`` profile (its payload for
    ``ai.mistral.sovereign``)."""
    data = _read(path)
    try:
        doc = plistlib.loads(data)
    except Exception as exc:  # plistlib raises several types for damaged input
        raise InputError(
            f"{path} is not a valid property list: {exc}",
            hint="check it with `plutil -lint FILE` on a Mac",
            location=Location(str(path)),
        ) from None
    if isinstance(doc, dict) and doc.get("PayloadType") == "Configuration":
        payloads = [
            p
            for p in doc.get("PayloadContent", [])
            if isinstance(p, dict) and p.get("PayloadType") == PREFERENCE_DOMAIN
        ]
        if len(payloads) != 1:
            raise InputError(
                f"{path}: the profile has {len(payloads)} payloads for {PREFERENCE_DOMAIN}, expected one",
                location=Location(str(path)),
            )
        doc = payloads[0]
    return state_from_mapping(doc, str(path))
