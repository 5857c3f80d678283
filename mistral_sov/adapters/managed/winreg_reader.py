"""Read the managed policy from the Windows registry (``winreg``, imported only on Windows).

The reader walks ``Software\\Policies\\Mistral AI\\Sovereign`` (64-bit view) and returns the
same registry view as the Registry.pol reader, so both go through one mapping
(``services/effective.py``). The tests drive this code on Linux with a registry double
filled from an exported Registry.pol.
"""

from __future__ import annotations

from typing import Any

from mistral_sov.adapters.managed import POLICY_KEY
from mistral_sov.errors import InputError, Location, MissingBackendError
from mistral_sov.services.effective import RegState

MAX_DEPTH = 2
MAX_VALUES = 10_000


def read_hive(winreg: Any, hive: str) -> RegState | None:
    """The values under the policy key of ``hive`` ('HKLM' or 'HKCU'), or None when the key
    does not exist (policy not configured). Any other failure is an error, never 'not set'."""
    root = {"HKLM": winreg.HKEY_LOCAL_MACHINE, "HKCU": winreg.HKEY_CURRENT_USER}[hive]
    access = winreg.KEY_READ | getattr(winreg, "KEY_WOW64_64KEY", 0)
    where = f"{hive}\\{POLICY_KEY}"
    try:
        key = winreg.OpenKey(root, POLICY_KEY, 0, access)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise MissingBackendError(
            f"cannot read the managed policy {where}: {exc}",
            hint="the account must be able to read HKLM\\Software\\Policies (it normally can)",
            location=Location(where),
        ) from None
    state: RegState = {}
    try:
        _walk(winreg, key, "", state, depth=0, where=where)
    finally:
        winreg.CloseKey(key)
    return state


def _walk(winreg: Any, key: Any, sub: str, state: RegState, *, depth: int, where: str) -> None:
    n_keys, n_values, _modified = winreg.QueryInfoKey(key)
    if n_values > MAX_VALUES:
        raise InputError(f"{where}\\{sub}: more than {MAX_VALUES} values", location=Location(where))
    values = state.setdefault(sub, {})
    for i in range(n_values):
        name, data, type_ = winreg.EnumValue(key, i)
        values[name] = (int(type_), data if data is not None else b"")
    if depth >= MAX_DEPTH:
        return
    for i in range(n_keys):
        child_name = winreg.EnumKey(key, i)
        child = winreg.OpenKey(key, child_name, 0, winreg.KEY_READ | getattr(winreg, "KEY_WOW64_64KEY", 0))
        try:
            _walk(winreg, child, f"{sub}\\{child_name}" if sub else child_name, state, depth=depth + 1, where=where)
        finally:
            winreg.CloseKey(child)
