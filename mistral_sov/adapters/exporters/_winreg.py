"""The Windows registry view of a policy, and its three encodings.

``registry_settings(policy, catalog)`` is the one list of registry values that the GPO
(Registry.pol, .reg) and Intune (detection/remediation scripts) outputs carry, so they can
never disagree; its third-party part is the controls table (``controls.py``), the same rows
the browser JSON and plist files carry. Encoders here are written by hand against the formats' specifications and
proven in the tests by independent consumers (Samba's MS-GPREG NDR parser for Registry.pol,
a .reg parser and golden files for .reg):

- ``encode_registry_pol``: MS-GPREG §2.2.1 (``PReg`` v1, UTF-16LE, NUL-terminated names);
- ``encode_reg``: ``Windows Registry Editor Version 5.00`` (UTF-16LE with BOM, CRLF).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from mistral_sov.errors import InputError

if TYPE_CHECKING:
    from mistral_sov.adapters.exporters.controls import ControlRow
    from mistral_sov.core.catalog import Catalog
    from mistral_sov.core.policy import Policy

Scope = Literal["Machine", "User"]

OUR_KEY = r"Software\Policies\Mistral AI\Sovereign"

REG_SZ = 1
REG_DWORD = 4

HIVES: dict[str, str] = {"Machine": "HKEY_LOCAL_MACHINE", "User": "HKEY_CURRENT_USER"}


@dataclass(frozen=True)
class RegValue:
    """One value: REG_SZ (``str`` data) or REG_DWORD (``int`` data)."""

    scope: Scope
    key: str
    name: str
    data: str | int

    @property
    def type(self) -> int:
        return REG_DWORD if isinstance(self.data, int) else REG_SZ


@dataclass(frozen=True)
class RegList:
    """A key whose values are replaced as a whole (Group Policy writes ``**delvals.`` first).

    ``named``: value names carry meaning (endpoint or model names); otherwise the names are
    ``1``, ``2``, … and a consumer compares the data as a set."""

    scope: Scope
    key: str
    values: tuple[tuple[str, str], ...]
    named: bool = False


Setting = RegValue | RegList


def numbered(items: list[str]) -> tuple[tuple[str, str], ...]:
    return tuple((str(i), item) for i, item in enumerate(items, start=1))


def blocks_public_ai(policy: Policy) -> bool:
    return (
        policy.blocking.catalog != "none"
        or bool(policy.blocking.extra_domains)
        or policy.local_inference.enforce_local_only
    )


def row_settings(row: ControlRow, value: Any) -> list[Setting]:
    """One control row as registry values, the way Chrome, Edge and Firefox read their policies
    from the registry: a list is a key of values ``1``, ``2``, …; an object is a key whose
    members are values (booleans as DWORD 0/1) or sub-keys; Windows rows are one value."""
    scope: Scope = "User" if row.scope == "User" else "Machine"
    out: list[Setting] = []

    def walk(key: str, name: str, v: Any) -> None:
        if isinstance(v, dict):
            for k, child in v.items():
                walk(key + "\\" + name, k, child)
        elif isinstance(v, list):
            out.append(RegList(scope, key + "\\" + name, numbered([str(x) for x in v])))
        elif isinstance(v, bool):
            out.append(RegValue(scope, key, name, int(v)))
        else:
            out.append(RegValue(scope, key, name, v))

    walk(row.registry_key, row.policy, value)
    return out


def registry_settings(policy: Policy, catalog: Catalog) -> list[Setting]:
    """Every registry value the policy asks for, in a stable order: mistral-sov's own keys
    (what MistralSov.admx writes), then the controls table's rows on the registry channels."""
    from mistral_sov.adapters.exporters import controls

    out: list[Setting] = []
    m: Scope = "Machine"

    # --- our own keys (MistralSov.admx writes exactly these)
    out.append(RegList(m, OUR_KEY + r"\ApprovedEndpoints", tuple((e.name, e.url) for e in policy.endpoints), True))
    if policy.endpoints:
        out.append(RegValue(m, OUR_KEY, "DefaultEndpoint", policy.endpoints[0].url))
    out.append(RegList(m, OUR_KEY + r"\AllowedRegions", numbered(list(policy.zones.allowed_cloud_regions))))
    out.append(RegValue(m, OUR_KEY, "EnforceLocalOnly", int(policy.local_inference.enforce_local_only)))
    out.append(RegValue(m, OUR_KEY, "BlockPublicAI", int(blocks_public_ai(policy))))
    out.append(
        RegList(
            m,
            OUR_KEY + r"\ApprovedModels",
            tuple((model.name, model.sha256) for model in policy.local_inference.models),
            True,
        )
    )

    # --- browsers and Windows: the controls table (the same rows as the JSON/plist channels)
    controls.check_supported(policy)
    lists = controls.url_lists(policy, catalog)
    for row in controls.emitted(policy, "registry_pol"):
        out += row_settings(row, controls.resolve_value(row.value, lists))
    _check_strings(out)
    return out


def _check_strings(settings: list[Setting]) -> None:
    for s in settings:
        texts = [s.key] + ([s.name, s.data] if isinstance(s, RegValue) else [t for p in s.values for t in p])
        for text in texts:
            if isinstance(text, str) and "\x00" in text:
                raise InputError(
                    f"a value for registry key '{s.key}' contains a NUL character",
                    hint="remove control characters from the policy file",
                )


# --------------------------------------------------------------------------- Registry.pol

POL_HEADER = b"PReg" + struct.pack("<I", 1)
DELVALS = "**delvals."


def _u16z(text: str) -> bytes:
    return (text + "\x00").encode("utf-16-le")


def _pol_record(key: str, name: str, type_: int, data: bytes) -> bytes:
    return b"".join(
        (
            "[".encode("utf-16-le"),
            _u16z(key),
            ";".encode("utf-16-le"),
            _u16z(name),
            ";".encode("utf-16-le"),
            struct.pack("<I", type_),
            ";".encode("utf-16-le"),
            struct.pack("<I", len(data)),
            ";".encode("utf-16-le"),
            data,
            "]".encode("utf-16-le"),
        )
    )


def _pol_data(value: str | int) -> tuple[int, bytes]:
    if isinstance(value, int):
        return REG_DWORD, struct.pack("<I", value)
    return REG_SZ, _u16z(value)


def encode_registry_pol(settings: list[Setting], scope: Scope) -> bytes:
    """A Registry.pol (MS-GPREG) for one scope. Lists are cleared with ``**delvals.`` (REG_SZ
    " ", as GPMC and LGPO write it) before their values, like a non-additive ADMX list."""
    parts = [POL_HEADER]
    for s in settings:
        if s.scope != scope:
            continue
        if isinstance(s, RegList):
            parts.append(_pol_record(s.key, DELVALS, REG_SZ, _u16z(" ")))
            for name, value in s.values:
                parts.append(_pol_record(s.key, name, REG_SZ, _u16z(value)))
        else:
            type_, data = _pol_data(s.data)
            parts.append(_pol_record(s.key, s.name, type_, data))
    return b"".join(parts)


# --------------------------------------------------------------------------- .reg


def reg_escape(text: str) -> str:
    """regedit 5.00 string escaping: only backslash and double quote."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def encode_reg(settings: list[Setting], header_comment: list[str] | None = None) -> bytes:
    """A ``.reg`` file (UTF-16LE with BOM, CRLF). A list key is deleted (``[-…]``) then recreated,
    so stale entries disappear; Machine values go to HKLM, User values to HKCU."""
    lines = ["Windows Registry Editor Version 5.00", ""]
    for comment in header_comment or []:
        lines.append(f"; {comment}")
    if header_comment:
        lines.append("")
    current: str | None = None
    for s in settings:
        path = f"{HIVES[s.scope]}\\{s.key}"
        if isinstance(s, RegList):
            if current is not None:
                lines.append("")
            lines += [f"[-{path}]", "", f"[{path}]"]
            lines += [f'"{reg_escape(n)}"="{reg_escape(v)}"' for n, v in s.values]
            lines.append("")
            current = None
            continue
        if path != current:
            if current is not None:
                lines.append("")
            lines.append(f"[{path}]")
            current = path
        if isinstance(s.data, int):
            lines.append(f'"{reg_escape(s.name)}"=dword:{s.data:08x}')
        else:
            lines.append(f'"{reg_escape(s.name)}"="{reg_escape(s.data)}"')
    if current is not None:
        lines.append("")
    text = "\r\n".join(lines) + "\r\n"
    return "\ufeff".encode("utf-16-le") + text.encode("utf-16-le")
