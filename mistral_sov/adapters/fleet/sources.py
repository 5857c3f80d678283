"""Stream device results out of the files administrators download (format sniffed):

* Graph JSON — ``GET …/deviceHealthScripts/{id}/deviceRunStates?$expand=managedDevice`` (a page
  ``{"value": [...]}``, a bare array, or one state per line), also a managed device's
  ``deviceHealthScriptStates``: ``preRemediationDetectionScriptOutput`` per device, the device
  name in ``deviceName`` or ``managedDevice.deviceName``, ``lastStateUpdateDateTime``;
* the Intune portal's CSV export (UTF-8, UTF-8 with BOM, UTF-16 LE/BE): columns "Device name",
  "Pre-remediation detection output", "Last run"… found by name, in any order;
* JSON Lines of collector lines (the GPO variant's ``residency-collector.jsonl``, or several
  devices' files concatenated);
* one raw ``tracert`` capture (a device named after the file).

Nothing is held in memory but the current record: JSON is read with ijson, CSV with the csv
module over a decoding stream. The SHA-256 of every file is computed from the bytes read.
A record that cannot be read becomes a FleetItem with ``error`` (judged INCONCLUSIVE); a file
that ends mid-record is reported in ``problems``; a file of an unknown kind is an InputError.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from mistral_sov.adapters.fleet.tracert import looks_like_tnc, looks_like_tracert, tnc_line, tracert_line
from mistral_sov.errors import InputError, Location
from mistral_sov.services.fleet import FleetItem

SNIFF = 64 * 1024
CSV_FIELD_LIMIT = 8 * 1024 * 1024
MAX_TRACERT_FILE = 1024 * 1024

_COLUMNS = {
    "device": ("devicename", "device", "computername", "managed device name"),
    "output": (
        "preremediationdetectionoutput",
        "preremediationdetectionscriptoutput",
        "detectionoutput",
        "detectionscriptoutput",
        "output",
    ),
    "error": ("preremediationdetectionerror", "preremediationdetectionscripterror", "detectionerror"),
    "time": ("lastrun", "laststateupdatedatetime", "laststateupdate", "lastupdated", "lastmodified", "lastsync"),
    "id": ("deviceid", "intunedeviceid", "manageddeviceid"),
}


MAX_LINE = 4 * 1024 * 1024
TOO_LONG = "\x00line too long\x00"


def capped_lines(stream: IO[str], cap: int = MAX_LINE) -> Iterator[str]:
    """The lines of ``stream``, never holding more than ``cap`` characters: a longer line is
    skipped to its end and given as ``TOO_LONG`` (a 2 GB line costs no memory)."""
    while True:
        line = stream.readline(cap)
        if not line:
            return
        if len(line) >= cap and not line.endswith("\n"):
            while True:
                rest = stream.readline(cap)
                if not rest or rest.endswith("\n"):
                    break
            yield TOO_LONG + "\n"
            continue
        yield line


def _cells(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return []


def _norm(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())


class _Hashing(io.RawIOBase):
    """A binary reader that hashes every byte it hands out."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.sha256.update(data)
        self.size += n
        return n

    def drain(self) -> None:
        while self.read(1 << 20):
            pass


class _Utf8(io.RawIOBase):
    """UTF-8 bytes from a text stream (ijson reads bytes; the file may be UTF-16)."""

    def __init__(self, text: IO[str]) -> None:
        self.text = text
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while len(self.pending) < len(buffer):
            chunk = self.text.read(16384)
            if not chunk:
                break
            self.pending += chunk.encode("utf-8")
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n


def detect_encoding(head: bytes) -> tuple[str, int]:
    """(codec, BOM length) from the first bytes: BOMs first, then NUL patterns of UTF-16."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    if head.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le", 2
    if head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be", 2
    sample = head[:200]
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4 and sample[0::2].count(0) == 0:
        return "utf-16-le", 0
    if len(sample) >= 4 and sample[0::2].count(0) > len(sample) // 4 and sample[1::2].count(0) == 0:
        return "utf-16-be", 0
    return "utf-8", 0


class FleetSource:
    """One input file. Iterate :meth:`items`; afterwards ``sha256``, ``records``, ``problems``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.format = ""
        self.encoding = ""
        self.records = 0
        self.problems: list[str] = []
        self.sha256 = ""
        self.size = 0
        self._array = False
        if not self.path.is_file():
            raise InputError(
                f"fleet results '{self.path}' not found" if not self.path.exists() else f"'{self.path}' is not a file",
                location=Location(str(self.path)),
                hint="pass the Graph JSON, the Intune CSV export, collector JSON Lines or tracert captures",
            )
        with self.path.open("rb") as fh:
            head = fh.read(SNIFF)
        self.encoding, bom = detect_encoding(head)
        text = head[bom:].decode(self.encoding, errors="replace")
        self.format = self._sniff(text)

    def _sniff(self, text: str) -> str:
        stripped = text.lstrip("\ufeff \t\r\n")
        self._array = stripped.startswith("[")
        if self._array:
            return "graph-json"
        if stripped.startswith("{"):
            first = stripped.split("\n", 1)[0].strip()
            try:
                doc = json.loads(first)
            except json.JSONDecodeError:
                return "graph-json"  # a pretty-printed or single JSON document
            if isinstance(doc, dict) and doc.get("k") == "msov-rc":
                return "collector-jsonl"
            if isinstance(doc, dict) and "value" in doc:
                return "graph-json"
            return "graph-jsonl"
        if looks_like_tnc(text):
            return "test-netconnection"
        if looks_like_tracert(text):
            return "tracert"
        header = stripped.split("\n", 1)[0].rstrip("\r")
        names = {_norm(c) for sep in ",;\t" for c in _cells(header, sep)}
        if names & set(_COLUMNS["output"]):
            return "intune-csv"
        raise InputError(
            f"'{self.path.name}' is not a fleet result file this tool reads",
            location=Location(str(self.path), 1, 1),
            hint="expected Graph JSON (deviceRunStates), the Intune portal CSV export (with a "
            "'Pre-remediation detection output' column), collector JSON Lines or a tracert capture",
        )

    def items(self) -> Iterator[FleetItem]:
        with self.path.open("rb") as fh:
            hashing = _Hashing(fh)
            reader = io.BufferedReader(hashing, buffer_size=1 << 16)
            try:
                if self.format == "graph-json":
                    yield from self._graph(reader)
                elif self.format in ("graph-jsonl", "collector-jsonl"):
                    yield from self._jsonl(reader)
                elif self.format == "intune-csv":
                    yield from self._csv(reader)
                else:
                    yield from self._tracert(reader)
            finally:
                hashing.drain()
                self.sha256 = hashing.sha256.hexdigest()
                self.size = hashing.size

    def info(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "sha256": self.sha256,
            "size": self.size,
            "format": self.format,
            "encoding": self.encoding,
            "records": self.records,
            "problems": list(self.problems),
        }

    # ------------------------------------------------------------------ readers

    def _text(self, reader: IO[bytes]) -> IO[str]:
        codec = {"utf-8": "utf-8-sig"}.get(self.encoding, self.encoding)
        if self.encoding.startswith("utf-16"):
            # a BOM, when present, is consumed here (utf-16-le/-be keep it as U+FEFF)
            head = reader.peek(2)[:2]  # type: ignore[attr-defined]
            if head in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
                reader.read(2)
        return io.TextIOWrapper(reader, encoding=codec, errors="replace", newline="")

    def _where(self, n: int | str) -> str:
        return f"{self.path.name}:{n}"

    def _graph_item(self, rec: Any, where: str) -> FleetItem:
        self.records += 1
        if not isinstance(rec, dict):
            return FleetItem("", None, where=where, error=f"record {where} is not a JSON object")
        managed: dict[str, Any] = rec["managedDevice"] if isinstance(rec.get("managedDevice"), dict) else {}
        device = rec.get("deviceName") or managed.get("deviceName") or ""
        device_id = rec.get("deviceId") or managed.get("id") or rec.get("id") or ""
        output = rec.get("preRemediationDetectionScriptOutput")
        error = rec.get("preRemediationDetectionScriptError")
        item = FleetItem(
            str(device) if isinstance(device, str) else "",
            output if isinstance(output, str) else None,
            str(rec.get("lastStateUpdateDateTime") or ""),
            str(device_id),
            where,
        )
        if item.output is None and isinstance(error, str) and error.strip():
            item.error = f"the script failed on the device: {error.strip()[:200]}"
        elif item.output is None and rec.get("detectionState") not in (None, "success", "fail"):
            item.error = f"no output yet (detection state '{rec.get('detectionState')}')"
        return item

    def _graph(self, reader: IO[bytes]) -> Iterator[FleetItem]:
        import ijson

        source: IO[bytes] = reader
        if self.encoding.startswith("utf-16"):
            source = io.BufferedReader(_Utf8(self._text(reader)))
        elif reader.peek(3)[:3] == codecs.BOM_UTF8:  # type: ignore[attr-defined]
            reader.read(3)
        prefix = "item" if self._array else "value.item"
        n = 0
        try:
            for rec in ijson.items(source, prefix, use_float=True):
                n += 1
                yield self._graph_item(rec, f"{self.path.name}#{n}")
        except ijson.JSONError as exc:
            self.problems.append(
                f"{self.path.name}: the file ends or breaks after record {n} ({str(exc)[:120]}); "
                "the records before were judged — download the file again"
            )
        except UnicodeDecodeError as exc:
            self.problems.append(f"{self.path.name}: not valid UTF-8 after record {n} ({exc.reason})")

    def _jsonl(self, reader: IO[bytes]) -> Iterator[FleetItem]:
        stream = self._text(reader)
        for lineno, line in enumerate(capped_lines(stream), start=1):
            text = line.strip()
            if not text:
                continue
            where = self._where(lineno)
            if text == TOO_LONG:
                self.records += 1
                yield FleetItem("", None, where=where, error=f"line {lineno} is longer than {MAX_LINE:,} characters")
                continue
            try:
                doc = json.loads(text)
            except (json.JSONDecodeError, RecursionError):
                doc = None
            if isinstance(doc, dict) and doc.get("k") != "msov-rc" and "k" not in doc:
                yield self._graph_item(doc, where)
                continue
            self.records += 1
            device = str(doc["d"]) if isinstance(doc, dict) and isinstance(doc.get("d"), str) else ""
            yield FleetItem(device, text, where=where)

    def _csv(self, reader: IO[bytes]) -> Iterator[FleetItem]:
        csv.field_size_limit(CSV_FIELD_LIMIT)
        stream = self._text(reader)
        first = stream.readline()
        delimiter = max(",;\t", key=first.count)  # Excel writes ';' where ',' is the decimal mark
        header = _cells(first.rstrip("\r\n"), delimiter)
        index: dict[str, int] = {}
        for i, name in enumerate(header):
            key = _norm(name)
            for field_name, candidates in _COLUMNS.items():
                if key in candidates and field_name not in index:
                    index[field_name] = i
        if "output" not in index:
            raise InputError(
                "the CSV has no detection output column",
                location=Location(str(self.path), 1, 1),
                hint="export the remediation's device status with the 'Pre-remediation detection output' column",
            )
        rows = csv.reader(capped_lines(stream), delimiter=delimiter)
        lineno = 1
        while True:
            try:
                row = next(rows)
            except StopIteration:
                break
            except csv.Error as exc:
                lineno = rows.line_num + 1
                self.records += 1
                yield FleetItem("", None, where=self._where(lineno), error=f"unreadable CSV row ({exc})")
                continue
            lineno = rows.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            self.records += 1

            def cell(name: str, row: list[str] = row) -> str:
                i = index.get(name)
                return row[i] if i is not None and i < len(row) else ""

            item = FleetItem(cell("device"), cell("output") or None, cell("time"), cell("id"), self._where(lineno))
            if item.output is None and cell("error").strip():
                item.error = f"the script failed on the device: {cell('error').strip()[:200]}"
            yield item

    def _tracert(self, reader: IO[bytes]) -> Iterator[FleetItem]:
        data = reader.read(MAX_TRACERT_FILE + 1)
        self.records = 1
        if len(data) > MAX_TRACERT_FILE:
            yield FleetItem(self.path.stem, None, where=self._where(1), error="tracert capture larger than 1 MiB")
            return
        codec = {"utf-8": "utf-8-sig"}.get(self.encoding, self.encoding)
        text = data.decode(codec, errors="replace").lstrip("\ufeff")
        mtime = dt.datetime.fromtimestamp(self.path.stat().st_mtime, dt.timezone.utc)
        when = mtime.strftime("%Y-%m-%dT%H:%M:%SZ")
        convert = tnc_line if self.format == "test-netconnection" else tracert_line
        yield FleetItem(self.path.stem, convert(text, self.path.stem, when), when, where=self._where(1))


def read_all(paths: list[Path]) -> tuple[list[FleetSource], Iterator[FleetItem]]:
    """Sources (sniffed up front, so a wrong file fails before any judging) and one stream."""
    sources = [FleetSource(p) for p in paths]

    def stream() -> Iterator[FleetItem]:
        for source in sources:
            yield from source.items()

    return sources, stream()
