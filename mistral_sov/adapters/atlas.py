"""RIPE Atlas traceroute results -> trace records, and the probes file -> probe locations
(our own parser: the ripe-atlas-sagan library is GPLv3 and is not used).

Results: a JSON array, or JSON Lines (one result per line; read as a stream), as downloaded
from ``https://atlas.ripe.net/api/v2/measurements/<id>/results/``. Format (reference §6):
top-level ``af, dst_addr, dst_name, from, fw, msm_id, prb_id, proto, paris_id, result[],
src_addr, timestamp, endtime, type``; each ``result[]`` entry is ``{hop, result:[replies]}``
or ``{hop, error}``; a reply is ``{from, rtt, size, ttl}`` plus optional ``err``, ``late``,
``ittl``, ``mtu``, ``icmpext``; a timeout is ``{"x":"*"}``; ``hop: 255`` is the final attempt.

Every reply is evidence: a late reply, or one whose RTT is missing, negative, non-finite, a
string or absurdly large, still attributes its hop (only the RTT is dropped, with a note);
IPv4-mapped, NAT64, 6to4 and leading-zero addresses are read as the IPv4 address they carry;
a malformed address is a located input error. Hop order is the engine's job (by hop number).

Probes: the RIPE Atlas probes API format (``/api/v2/probes/?id__in=…``): an object with
``results: [...]``, a JSON array, or JSON Lines of probe objects, each with ``id``,
``country_code`` and ``geometry: {type: Point, coordinates: [lon, lat]}``.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mistral_sov.core.physics import VantagePoint
from mistral_sov.core.residency import TraceRecord
from mistral_sov.core.trace import Hop, ProbeReply, TraceResult, canonical_address
from mistral_sov.errors import InputError, Location

_ERR_KINDS = {
    "N": "net-unreachable",
    "H": "unreachable",
    "A": "admin-prohibited",
    "P": "protocol-unreachable",
    "p": "port-unreachable",
}
MAX_RTT_MS = 60_000.0  # an RTT above a minute is no measurement
_HINT = "pass the results file unchanged, as downloaded from RIPE Atlas"


# ----------------------------------------------------------------------------- reading


def _read_text(path: Path, what: str, hint: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{what} '{path}' not found", location=Location(str(path)), hint=hint) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read '{path}': {exc}", location=Location(str(path)), hint=hint) from None


def _json_records(text: str, file: str, what: str) -> Iterator[tuple[int, Any]]:
    """(line, object) for a JSON array (line 1… of each element is unknown: line of '[') or JSON Lines."""
    stripped = text.lstrip()
    if stripped.startswith("[") or (stripped.startswith("{") and "\n" not in stripped.strip()):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"not valid JSON: {exc.msg}", location=Location(file, exc.lineno, exc.colno), hint=_HINT
            ) from None
        except (ValueError, RecursionError) as exc:  # a 5,000-digit number, absurd nesting
            raise InputError(f"unusable JSON: {exc}", location=Location(file), hint=_HINT) from None
        items = doc if isinstance(doc, list) else [doc]
        yield from ((-(i + 1), r) for i, r in enumerate(items))  # negative: element i+1 of an array
        return
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield lineno, json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"line is not valid JSON: {exc.msg}",
                location=Location(file, lineno, exc.colno),
                hint=f"JSON Lines: one {what} object per line",
            ) from None
        except (ValueError, RecursionError) as exc:
            raise InputError(
                f"unusable JSON: {exc}", location=Location(file, lineno, 1), hint=f"JSON Lines: one {what} per line"
            ) from None


def _where(file: str, line: int) -> Location:
    """JSON Lines: the line; a JSON array: line 1, with the element number as the column
    (``file:1:5`` is the 5th result of the array)."""
    return Location(file, line, 1) if line > 0 else Location(file, 1, -line)


def _parse_at(rec: Any, file: str, line: int) -> TraceResult:
    try:
        return parse_result(rec, _where(file, line))
    except InputError as exc:
        if line > 0:
            raise
        raise InputError(
            f"result #{-line} of the JSON array: {exc.message}", location=exc.location, hint=exc.hint
        ) from None


def load(path: Path) -> list[TraceResult]:
    """Every result of the file as a TraceResult (for tests and tools; the CLI streams ``records``)."""
    text = _read_text(
        path, "RIPE Atlas results", "download them from https://atlas.ripe.net/api/v2/measurements/ID/results/"
    )
    return parse(text, str(path))


def parse(text: str, file: str = "<atlas>") -> list[TraceResult]:
    """Parse a JSON array or JSON Lines of traceroute results; InputError names file:line."""
    out = [_parse_at(rec, file, lineno) for lineno, rec in _json_records(text, file, "result")]
    if not out:
        raise InputError(
            "no RIPE Atlas results in the file",
            location=Location(file),
            hint="pass the results of a traceroute measurement",
        )
    return out


def _rtt(reply: dict[str, Any]) -> tuple[float | None, str]:
    if "late" in reply:
        late = reply.get("late")
        return None, f"late reply (late by {late} probe{'s' if late != 1 else ''}): address kept, no RTT"
    if "rtt" not in reply:
        return None, "no RTT in the reply: address kept"
    value = reply.get("rtt")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None, f"RTT {value!r} is not a number: address kept, RTT dropped"
    rtt = float(value)
    if not math.isfinite(rtt) or rtt < 0 or rtt > MAX_RTT_MS:
        return None, f"RTT {value!r} is not a usable round trip: address kept, RTT dropped"
    return rtt, ""


def _address(text: Any, where: Location, what: str) -> tuple[str, str]:
    if not isinstance(text, str):
        raise InputError(f"{what}: address {text!r} is not a string", location=where, hint=_HINT)
    try:
        return canonical_address(text)
    except ValueError:
        raise InputError(f"{what}: '{text[:80]}' is not an IP address", location=where, hint=_HINT) from None


def parse_result(rec: Any, where: Location) -> TraceResult:
    if not isinstance(rec, dict):
        raise InputError(
            "a RIPE Atlas result must be a JSON object",
            location=where,
            hint="pass traceroute results (type: traceroute)",
        )
    kind = rec.get("type", "traceroute")
    if kind != "traceroute":
        raise InputError(
            f"result of type '{kind}', not traceroute",
            location=where,
            hint="only traceroute measurements can be judged",
        )
    hops_raw = rec.get("result")
    if not isinstance(hops_raw, list):
        raise InputError("the result has no 'result' list", location=where, hint=_HINT)
    notes: list[str] = []
    target = ""
    dst = rec.get("dst_addr")
    if dst is not None:
        target, note = _address(dst, where, "dst_addr")
        if note:
            notes.append(f"dst_addr {note}")
    proto = str(rec.get("proto") or "").lower() or "udp"
    hops: list[Hop] = []
    reached = False
    for index, entry in enumerate(hops_raw):
        if not isinstance(entry, dict):
            raise InputError(f"hop entry {index + 1} is not a JSON object", location=where, hint=_HINT)
        if "error" in entry:
            notes.append(f"hop {entry.get('hop', '?')}: {str(entry['error'])[:200]}")
            if "hop" not in entry:
                continue
        ttl = entry.get("hop")
        if isinstance(ttl, bool) or not isinstance(ttl, int) or abs(ttl) > 10_000:
            raise InputError(f"hop entry {index + 1}: hop number {ttl!r} is not an integer", location=where, hint=_HINT)
        replies_raw = entry.get("result") or []
        if not isinstance(replies_raw, list):
            raise InputError(f"hop {ttl}: 'result' is not a list", location=where, hint=_HINT)
        hop = Hop(ttl=ttl, sent=len(replies_raw))
        for reply in replies_raw:
            if not isinstance(reply, dict):
                raise InputError(f"hop {ttl}: a reply is not a JSON object", location=where, hint=_HINT)
            if "from" not in reply:
                continue  # {"x": "*"}: a timeout; or an entry with no source (nothing to attribute)
            address, mapped = _address(reply.get("from"), where, f"hop {ttl}")
            rtt, why = _rtt(reply)
            err = reply.get("err")
            at_dst = bool(target) and address == target
            if isinstance(err, str) and err in _ERR_KINDS:
                rkind = _ERR_KINDS[err]
            elif at_dst:
                rkind = "port-unreachable" if proto == "udp" else ("tcp-synack" if proto == "tcp" else "echo-reply")
            else:
                rkind = "time-exceeded"
            reached = reached or at_dst
            hop.replies.append(ProbeReply(address, rtt, rkind, note="; ".join(n for n in (mapped, why) if n)))
        hops.append(hop)
    stamp = rec.get("timestamp")
    valid_stamp = isinstance(stamp, int) and not isinstance(stamp, bool) and 0 <= stamp < 2**33
    started = _dt.datetime.fromtimestamp(stamp, tz=_dt.timezone.utc).isoformat() if valid_stamp else ""  # type: ignore[arg-type]
    if not valid_stamp:
        notes.append(f"no usable measurement timestamp ({stamp!r})")
    end = rec.get("endtime")
    duration = (
        float(end - stamp)  # type: ignore[operator]
        if valid_stamp and isinstance(end, int) and not isinstance(end, bool) and end >= stamp  # type: ignore[operator]
        else 0.0
    )
    notes.append(f"RIPE Atlas firmware {rec.get('fw')}, paris_id {rec.get('paris_id')}")
    raw = {
        k: rec.get(k)
        for k in (
            "af",
            "dst_addr",
            "dst_name",
            "from",
            "fw",
            "msm_id",
            "prb_id",
            "proto",
            "paris_id",
            "src_addr",
            "timestamp",
            "endtime",
        )
    }
    return TraceResult(
        target=target or str(rec.get("dst_name") or ""),
        method=proto,
        port=0,
        tracer="ripe-atlas",
        hops=hops,
        reached=reached,
        started_at=started,
        duration_s=duration,
        fidelity_notes=notes,
        raw=raw,
    )


# ----------------------------------------------------------------------------- probes


@dataclass(frozen=True)
class Probe:
    id: int
    country: str | None
    lat: float | None
    lon: float | None

    @property
    def vantage(self) -> VantagePoint | None:
        if self.lat is None or self.lon is None:
            return None
        return VantagePoint(f"RIPE Atlas probe {self.id}", self.lat, self.lon)


@dataclass
class ProbeDirectory:
    file: str
    probes: dict[int, Probe]


def load_probes(path: Path) -> ProbeDirectory:
    text = _read_text(
        path, "RIPE Atlas probes file", "download it from https://atlas.ripe.net/api/v2/probes/?id__in=ID,ID"
    )
    return parse_probes(text, str(path))


def parse_probes(text: str, file: str = "<probes>") -> ProbeDirectory:
    items: list[tuple[int, Any]]
    try:
        doc: Any = json.loads(text)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
        doc = None  # not one usable JSON document: JSON Lines (located errors from there)
    if isinstance(doc, dict) and "results" in doc:
        results = doc.get("results")
        if not isinstance(results, list):
            raise InputError(
                "'results' is not a list of probes",
                location=Location(file, 1, 1),
                hint="pass the probes API answer unchanged",
            )
        items = [(-(i + 1), r) for i, r in enumerate(results)]
    elif isinstance(doc, list):
        items = [(-(i + 1), r) for i, r in enumerate(doc)]
    elif isinstance(doc, dict):
        items = [(1, doc)]
    else:
        items = list(_json_records(text, file, "probe"))
    probes: dict[int, Probe] = {}
    for lineno, item in items:
        where = _where(file, lineno)
        if not isinstance(item, dict) or isinstance(item.get("id"), bool) or not isinstance(item.get("id"), int):
            raise InputError(
                "a probe must be an object with an integer 'id'",
                location=where,
                hint="pass the probes API answer unchanged",
            )
        lat = lon = None
        geometry = item.get("geometry")
        if isinstance(geometry, dict) and isinstance(geometry.get("coordinates"), list):
            coords = geometry["coordinates"]
            ok = (
                len(coords) == 2
                and all(isinstance(c, (int, float)) and not isinstance(c, bool) and math.isfinite(c) for c in coords)
                and -180 <= coords[0] <= 180
                and -90 <= coords[1] <= 90
            )
            if not ok:
                raise InputError(
                    f"probe {item['id']}: coordinates {coords!r} are not [longitude, latitude]",
                    location=where,
                    hint="GeoJSON order: [lon, lat] in degrees",
                )
            lon, lat = float(coords[0]), float(coords[1])
        cc = item.get("country_code")
        probes[item["id"]] = Probe(item["id"], cc.upper() if isinstance(cc, str) and len(cc) == 2 else None, lat, lon)
    if not probes:
        raise InputError(
            "no probes in the file",
            location=Location(file),
            hint="pass the probes API answer for the measurement's probes",
        )
    return ProbeDirectory(file, probes)


# ----------------------------------------------------------------------------- records


def to_record(trace: TraceResult, probes: ProbeDirectory | None, where: Location) -> TraceRecord:
    prb = trace.raw.get("prb_id")
    prb_ok = isinstance(prb, int) and not isinstance(prb, bool)
    probe = probes.probes.get(prb) if probes is not None and prb_ok else None  # type: ignore[arg-type]
    vantage = probe.vantage if probe is not None else None
    if probes is None:
        missing = "no probes file given (--probes FILE): RIPE Atlas results carry no probe location"
    elif not prb_ok:
        missing = f"the result at {where.file}:{where.line}:{where.column} names no probe (prb_id {prb!r})"
    elif probe is None:
        missing = f"probe {prb} is not in the probes file {probes.file}"
    else:
        missing = f"probe {prb} has no coordinates in {probes.file}"
    name = str(trace.raw.get("dst_name") or trace.target or "")
    return TraceRecord(
        target_name=name,
        trace=trace,
        source="ripe-atlas",
        vantage=vantage,
        vantage_id=f"atlas-probe:{prb}" if prb_ok else f"atlas-result:{where.file}:{where.line}:{where.column}",
        vantage_country=probe.country if probe is not None else None,
        vantage_missing_reason="" if vantage is not None else missing,
        physics_required=probes is not None,
        vantage_self_reported=True,  # probe locations are set by their hosts (about 1.5% are wrong)
        measured_at=trace.started_at,
        address=trace.target if trace.raw.get("dst_addr") is not None else None,
        notes=[
            f"RIPE Atlas probe {prb}, measurement {trace.raw.get('msm_id')} ({where.file}:{where.line}:{where.column})"
        ],
    )


def records(path: Path, probes: ProbeDirectory | None = None) -> Iterator[TraceRecord]:
    """Stream the results of ``path`` as trace records: JSON Lines are read and parsed line by
    line (memory stays flat however many results); a JSON array is read whole."""
    file = str(path)
    hint = "download them from https://atlas.ripe.net/api/v2/measurements/ID/results/"
    seen = False
    for lineno, rec in _stream(Path(path), hint):
        seen = True
        yield to_record(_parse_at(rec, file, lineno), probes, _where(file, lineno))
    if not seen:
        raise InputError(
            "no RIPE Atlas results in the file",
            location=Location(file),
            hint="pass the results of a traceroute measurement",
        )


def _stream(path: Path, hint: str) -> Iterator[tuple[int, Any]]:
    try:
        handle = path.open(encoding="utf-8-sig", newline=None)
    except FileNotFoundError:
        raise InputError(f"RIPE Atlas results '{path}' not found", location=Location(str(path)), hint=hint) from None
    except OSError as exc:
        raise InputError(f"cannot read '{path}': {exc}", location=Location(str(path)), hint=hint) from None
    with handle:
        try:
            head = ""
            first = handle.readline()
            while first and not first.strip():  # leading blank lines
                head += first
                first = handle.readline()
            if first.lstrip().startswith("["):  # a JSON array: parsed whole
                yield from _json_records(head + first + handle.read(), str(path), "result")
                return
            lineno = head.count("\n")
            for line in _chain(first, handle):
                lineno += 1
                if not line.strip():
                    continue
                try:
                    yield lineno, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(
                        f"line is not valid JSON: {exc.msg}",
                        location=Location(str(path), lineno, exc.colno),
                        hint="JSON Lines: one result object per line",
                    ) from None
                except (ValueError, RecursionError) as exc:  # a 5,000-digit number, absurd nesting
                    raise InputError(
                        f"unusable JSON: {exc}",
                        location=Location(str(path), lineno, 1),
                        hint="JSON Lines: one result object per line",
                    ) from None
        except UnicodeDecodeError as exc:
            raise InputError(f"cannot read '{path}': {exc}", location=Location(str(path)), hint=hint) from None


def _chain(first: str, rest: Any) -> Iterator[str]:
    if first:
        yield first
    yield from rest
