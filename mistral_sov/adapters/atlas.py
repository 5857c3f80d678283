"""RIPE Atlas traceroute results -> TraceResult, one per probe (our own parser: the
ripe-atlas-sagan library is GPLv3 and is not used).

Input: a JSON array of results, or JSON Lines (one result per line), as downloaded from
``https://atlas.ripe.net/api/v2/measurements/<id>/results/``. Format (reference §6): top-level
``af, dst_addr, dst_name, from, fw, msm_id, prb_id, proto, paris_id, result[], src_addr,
timestamp, endtime, type``; each ``result[]`` entry is ``{hop, result:[replies]}`` or
``{hop, error}``; a reply is ``{from, rtt, size, ttl}`` plus optional ``err`` (ICMP
unreachable code letter), ``late``, ``ittl``, ``mtu``, ``icmpext``; a timeout is ``{"x":"*"}``;
``hop: 255`` is the final attempt. Older firmware (fw < 4460) is accepted where the fields
agree. A result without ``dst_addr`` (name resolution failed on the probe) becomes an
unreached trace carrying the error.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import json
from pathlib import Path
from typing import Any

from mistral_sov.core.trace import Hop, ProbeReply, TraceResult
from mistral_sov.errors import InputError, Location

_ERR_KINDS = {
    "N": "net-unreachable",
    "H": "unreachable",
    "A": "admin-prohibited",
    "P": "protocol-unreachable",
    "p": "port-unreachable",
}


def load(path: Path) -> list[TraceResult]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(
            f"RIPE Atlas results '{path}' not found",
            location=Location(str(path)),
            hint="download them from https://atlas.ripe.net/api/v2/measurements/ID/results/",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read '{path}': {exc}",
            location=Location(str(path)),
            hint="pass the JSON or JSON Lines file of a traceroute measurement",
        ) from None
    return parse(text, str(path))


def parse(text: str, file: str = "<atlas>") -> list[TraceResult]:
    """Parse a JSON array or JSON Lines of traceroute results; InputError names file:line."""
    records: list[tuple[int, Any]] = []
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"not valid JSON: {exc.msg}",
                location=Location(file, exc.lineno, exc.colno),
                hint="pass the results file unchanged",
            ) from None
        records = [(1, r) for r in doc]
    else:
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append((lineno, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"line is not valid JSON: {exc.msg}",
                    location=Location(file, lineno, exc.colno),
                    hint="JSON Lines: one traceroute result object per line",
                ) from None
    if not records:
        raise InputError(
            "no RIPE Atlas results in the file",
            location=Location(file),
            hint="pass the results of a traceroute measurement",
        )
    return [parse_result(rec, Location(file, lineno, 1)) for lineno, rec in records]


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


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
        raise InputError(
            "the result has no 'result' list",
            location=where,
            hint="pass traceroute results as downloaded from RIPE Atlas",
        )
    dst = rec.get("dst_addr")
    target = ""
    if isinstance(dst, str):
        try:
            target = str(ipaddress.ip_address(dst))
        except ValueError:
            raise InputError(
                f"dst_addr '{dst}' is not an IP address", location=where, hint="pass the results file unchanged"
            ) from None
    proto = str(rec.get("proto") or "").lower() or "udp"
    notes: list[str] = []
    hops: list[Hop] = []
    reached = False
    for entry in hops_raw:
        if not isinstance(entry, dict):
            raise InputError(
                "a hop entry must be a JSON object", location=where, hint="pass the results file unchanged"
            )
        if "error" in entry:
            notes.append(f"hop {entry.get('hop', '?')}: {entry['error']}")
            if "hop" not in entry:
                continue
        ttl = entry.get("hop")
        if isinstance(ttl, bool) or not isinstance(ttl, int) or not 1 <= ttl <= 255:
            raise InputError(
                f"hop number {ttl!r} is not 1..255", location=where, hint="pass the results file unchanged"
            )
        replies_raw = entry.get("result") or []
        if not isinstance(replies_raw, list):
            raise InputError(
                f"hop {ttl}: 'result' is not a list", location=where, hint="pass the results file unchanged"
            )
        hop = Hop(ttl=ttl, sent=len(replies_raw))
        for reply in replies_raw:
            if not isinstance(reply, dict) or "x" in reply:
                continue
            src, rtt = reply.get("from"), _num(reply.get("rtt"))
            if not isinstance(src, str) or rtt is None or rtt < 0:
                continue  # late packets carry 'late' instead of 'rtt'; nothing to time
            try:
                address = str(ipaddress.ip_address(src))
            except ValueError:
                continue
            err = reply.get("err")
            at_dst = bool(target) and address == target
            if isinstance(err, str) and err in _ERR_KINDS:
                rkind = _ERR_KINDS[err]
            elif at_dst:
                rkind = "port-unreachable" if proto == "udp" else ("tcp-synack" if proto == "tcp" else "echo-reply")
            else:
                rkind = "time-exceeded"
            if at_dst:
                reached = True
            hop.replies.append(ProbeReply(address, rtt, rkind))
        hops.append(hop)
    stamp = rec.get("timestamp")
    started = (
        _dt.datetime.fromtimestamp(stamp, tz=_dt.timezone.utc).isoformat()
        if isinstance(stamp, int) and not isinstance(stamp, bool) and 0 <= stamp < 2**33
        else ""
    )
    end = rec.get("endtime")
    duration = float(end - stamp) if isinstance(end, int) and isinstance(stamp, int) and end >= stamp else 0.0
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
