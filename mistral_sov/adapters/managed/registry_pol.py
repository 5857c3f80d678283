"""Read a Registry.pol (MS-GPREG §2.2.1, ``PReg`` version 1) into the registry view.

The Group Policy client applies these records to the registry; ``state_from_pol`` applies them
the same way (``**delvals.``, ``**del.NAME``, ``**DeleteValues``, ``**DeleteKeys``,
``**soft.NAME``) to the values under one key, so a Registry.pol can be checked on any OS
through the mapping the Windows ``winreg`` reader uses. The tests prove this parser against
Samba's NDR parser of the same format.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from mistral_sov.errors import InputError, Location
from mistral_sov.services.effective import (
    REG_DWORD,
    REG_EXPAND_SZ,
    REG_MULTI_SZ,
    REG_QWORD,
    REG_SZ,
    RegState,
)

HEADER = b"PReg\x01\x00\x00\x00"
MAX_BYTES = 16 * 1024 * 1024
Record = tuple[str, str, int, bytes]  # key, value name, type, raw data


def _err(file: str, offset: int, message: str) -> InputError:
    return InputError(
        f"{file} is not a valid Registry.pol: {message} at byte {offset}",
        hint="export it again from GPMC/LGPO (or `mistral-sov policy export --format gpo`)",
        location=Location(file),
    )


def parse_records(data: bytes, file: str = "Registry.pol") -> list[Record]:
    """Every record of a Registry.pol, in file order."""
    if len(data) > MAX_BYTES:
        raise _err(file, MAX_BYTES, "the file is larger than 16 MiB")
    if data[:8] != HEADER:
        raise _err(file, 0, "the header is not 'PReg' version 1")
    out: list[Record] = []
    pos = 8
    n = len(data)

    def expect(char: str) -> None:
        nonlocal pos
        if data[pos : pos + 2] != char.encode("utf-16-le"):
            raise _err(file, pos, f"expected '{char}'")
        pos += 2

    def text() -> str:
        nonlocal pos
        start = pos
        while pos + 1 < n and data[pos : pos + 2] != b"\x00\x00":
            pos += 2
        if pos + 1 >= n:
            raise _err(file, start, "unterminated string")
        raw = data[start:pos]
        pos += 2
        try:
            return raw.decode("utf-16-le")
        except UnicodeDecodeError:
            raise _err(file, start, "invalid UTF-16 text") from None

    def u32() -> int:
        nonlocal pos
        if pos + 4 > n:
            raise _err(file, pos, "truncated number")
        (value,) = struct.unpack_from("<I", data, pos)
        pos += 4
        return int(value)

    while pos < n:
        expect("[")
        key = text()
        expect(";")
        name = text()
        expect(";")
        type_ = u32()
        expect(";")
        size = u32()
        expect(";")
        if pos + size > n:
            raise _err(file, pos, f"value '{name}' claims {size} bytes of data but the file ends first")
        raw = data[pos : pos + size]
        pos += size
        expect("]")
        out.append((key, name, type_, raw))
    return out


def decode_data(type_: int, raw: bytes, file: str, where: str) -> Any:
    """Registry data as ``winreg`` returns it: str, int, list[str] or bytes."""
    try:
        if type_ in (REG_SZ, REG_EXPAND_SZ):
            return raw.decode("utf-16-le").split("\x00", 1)[0]
        if type_ == REG_MULTI_SZ:
            return [s for s in raw.decode("utf-16-le").split("\x00") if s]
    except UnicodeDecodeError:
        raise InputError(f"{where}: invalid UTF-16 text", location=Location(file)) from None
    if type_ == REG_DWORD:
        if len(raw) != 4:
            raise InputError(f"{where}: a REG_DWORD must be 4 bytes, not {len(raw)}", location=Location(file))
        return int(struct.unpack("<I", raw)[0])
    if type_ == 5:  # REG_DWORD_BIG_ENDIAN
        if len(raw) != 4:
            raise InputError(f"{where}: a REG_DWORD must be 4 bytes, not {len(raw)}", location=Location(file))
        return int(struct.unpack(">I", raw)[0])
    if type_ == REG_QWORD:
        if len(raw) != 8:
            raise InputError(f"{where}: a REG_QWORD must be 8 bytes, not {len(raw)}", location=Location(file))
        return int(struct.unpack("<Q", raw)[0])
    return bytes(raw)


def state_from_pol(data: bytes, key: str, file: str = "Registry.pol") -> RegState:
    """The values a Group Policy client would leave under ``key`` (and its sub-keys) after
    applying this Registry.pol to an empty registry. Key names compare case-insensitively."""
    base = key.lower().strip("\\")
    state: RegState = {}
    for rec_key, name, type_, raw in parse_records(data, file):
        k = rec_key.strip("\\")
        if k.lower() == base:
            sub = ""
        elif k.lower().startswith(base + "\\"):
            sub = k[len(base) + 1 :]
        else:
            continue
        sub = _same_case(state, sub)
        values = state.setdefault(sub, {})
        lname = name.lower()
        if lname == "**delvals.":
            values.clear()
        elif lname.startswith("**del."):
            _pop_ci(values, name[6:])
        elif lname == "**deletevalues":
            for victim in str(decode_data(REG_SZ, raw, file, name)).split(";"):
                _pop_ci(values, victim)
        elif lname == "**deletekeys":
            for victim in str(decode_data(REG_SZ, raw, file, name)).split(";"):
                prefix = ((sub + "\\") if sub else "") + victim.strip("\\")
                for existing in [
                    s for s in state if s.lower() == prefix.lower() or s.lower().startswith(prefix.lower() + "\\")
                ]:
                    if victim:
                        del state[existing]
        elif lname.startswith("**soft."):
            real = name[7:]
            if real.lower() not in {v.lower() for v in values}:
                values[real] = (type_, decode_data(type_, raw, file, f"{rec_key}\\{real}"))
        elif lname.startswith("**"):
            continue  # **SecureKey and other directives do not set values
        elif name == "" and type_ == 0:
            continue  # creates the key only
        else:
            _pop_ci(values, name)
            values[name] = (type_, decode_data(type_, raw, file, f"{rec_key}\\{name}"))
    return state


def _same_case(state: RegState, sub: str) -> str:
    for existing in state:
        if existing.lower() == sub.lower():
            return existing
    return sub


def _pop_ci(values: dict[str, Any], name: str) -> None:
    for existing in [v for v in values if v.lower() == name.lower()]:
        del values[existing]


def read_pol(path: Path, key: str) -> RegState:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}", location=Location(str(path))) from None
    return state_from_pol(data, key, str(path))
