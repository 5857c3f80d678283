"""The fleet collector's output format (``mistral-sov-collector/1``): one compact JSON line.

The Windows collector (``templates/intune/residency-collector.ps1``) prints this line last, so
that Intune keeps it: the portal and Graph keep only the **last line** of a detection script's
output, cut to its **last 2,048 characters**. This module is the one home of the format: the
JSON Schema (``templates/intune/residency-collector.schema.json``), the exporter (which injects
the patterns below into the script) and the ingestion all follow it.

Record (keys are short on purpose; every key but ``k v sv d t e`` is optional)::

    {"k":"msov-rc","v":1,"sv":"1.0.0","d":"PC-0042","t":"2026-12-03T15:04:05Z",
     "s":{"ad":"FRA-HQ","gw":"10.1.0.1","eg":"203.0.113.7"},
     "e":[{"n":"mistral-api","h":"api.mistral.ai","p":443,"c":["edge.example.net"],
           "a":["51.159.1.2"],"ta":"51.159.1.2","m":"icmp",
           "r":"10.1.0.1@0,0,1|*|62.1.2.3@5,4,6|51.159.1.2@9,9,9","ok":1,"tcp":12}],
     "x":["rtt-min"]}

``r`` is the path: hops in TTL order separated by ``|``; a hop is ``ADDRESS@RTT,RTT,RTT``
(integer milliseconds as ``tracert`` prints them, ``0`` for ``<1 ms``, ``*`` for a lost probe,
``?`` for a hop that answered without an RTT — Test-NetConnection captures only),
``*`` for a hop that answered no probe, and ``*N`` for N silent hops in a row. ``l`` counts
leading private hops dropped by the ``lan`` step. ``tcp`` is the TCP connect time to ``p`` in
ms (``-1``: refused or timed out). ``err`` says why an endpoint has no path (DNS failure…).

Abbreviation (``x``): when the line is longer than ``BUDGET`` characters the collector applies
these steps in order, each recorded in ``x``, until it fits:

``rtt-min``  keep only the lowest RTT of each hop (the one physics uses)
``cname``    drop the CNAME chains (``c``)
``lan``      drop the leading private hops (never judged: your own network), count in ``l``
``addrs``    keep only the traced address in ``a``
``path:N``   drop the path of endpoint N (from the last one backwards): judged INCONCLUSIVE
``ep:N``     drop endpoint N entirely (last resort): judged INCONCLUSIVE
Pure module: no I/O.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

MARKER = "msov-rc"
SCHEMA_VERSION = 1
SCRIPT_VERSION = "1.0.0"
SCHEMA_ID = "https://mistral-sov.eu/schemas/residency-collector-1.json"
INTUNE_LIMIT = 2048  # characters Intune keeps of the last output line
BUDGET = 2000  # what the collector allows itself (margin for a CR/LF and host-added text)
STEPS = ("rtt-min", "cname", "lan", "addrs")

# tracert output, any display language: a hop line starts with the TTL, then three RTT cells
# ("12 ms", "<1 ms", "*"), then the address (or a localised "Request timed out." text).
# The patterns are written in the common subset of .NET and Python regular expressions: the
# exporter injects them into the PowerShell collector verbatim.
HOP_LINE_PATTERN = r"^\s*(\d{1,3})\s+(.*)$"
RTT_PATTERN = r"(<?\s*\d+)\s*ms|\*"
IPV4_PATTERN = r"(?:\d{1,3}\.){3}\d{1,3}"
IPV6_PATTERN = r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%\d+)?"
ADDRESS_PATTERN = r"(" + IPV4_PATTERN + r"|" + IPV6_PATTERN + r")"

_HOP_LINE = re.compile(HOP_LINE_PATTERN)
_RTT = re.compile(RTT_PATTERN)
_ADDRESS = re.compile(ADDRESS_PATTERN)


UNKNOWN_RTT = -1  # the hop answered but the tool gives no RTT (Test-NetConnection -TraceRoute)


@dataclass
class ParsedHop:
    """One hop as a Windows tool printed it: ``rtts`` are ms (``None`` = ``*``; 0 = ``<1 ms``;
    ``UNKNOWN_RTT`` = answered, no RTT given)."""

    ttl: int
    address: str | None
    rtts: list[int | None] = field(default_factory=list)


@lru_cache(maxsize=65536)  # a fleet repeats the same hop addresses many times
def _clean_address(text: str) -> str | None:
    text = text.split("%", maxsplit=1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def parse_hop_line(line: str) -> ParsedHop | None:
    """A ``tracert`` hop line (any language), or None for headers, footers and blank lines."""
    m = _HOP_LINE.match(line)
    if m is None:
        return None
    ttl = int(m.group(1))
    rest = m.group(2)
    rtts: list[int | None] = []
    consumed = 0
    for tok in _RTT.finditer(rest):
        # RTT cells come first; stop at the first gap that is not whitespace
        if rest[consumed : tok.start()].strip():
            break
        if tok.group(0) == "*":
            rtts.append(None)
        else:
            value = tok.group(1).replace(" ", "")
            rtts.append(0 if value.startswith("<") else int(value))
        consumed = tok.end()
        if len(rtts) == 3:
            break
    if not rtts or not 1 <= ttl <= 255:
        return None
    tail = rest[consumed:].strip()
    address = None
    for am in _ADDRESS.finditer(tail):  # the last address: "name [address]", "address reports: …"
        address = _clean_address(am.group(1)) or address
    if address is None and any(r is not None for r in rtts):
        return None  # RTTs but no address: not a hop line we understand
    return ParsedHop(ttl, address, rtts)


# ----------------------------------------------------------------------------- hop strings


def encode_hops(hops: Sequence[ParsedHop], *, min_only: bool = False, skip_lan: bool = False) -> tuple[str, int]:
    """The ``r`` string for ``hops`` and how many leading private hops were dropped."""
    parts: list[str] = []
    dropped = 0
    leading = skip_lan
    silent = 0

    def flush() -> None:
        nonlocal silent
        if silent:
            parts.append("*" if silent == 1 else f"*{silent}")
            silent = 0

    for hop in hops:
        if leading and hop.address is not None and _is_private(hop.address):
            dropped += 1
            continue
        if leading and hop.address is None:
            dropped += 1  # a silent hop inside the LAN prefix
            continue
        leading = False
        if hop.address is None:
            silent += 1
            continue
        flush()
        got = [r for r in hop.rtts if r is not None and r >= 0]
        if min_only:
            cells = [str(min(got))] if got else (["?"] if UNKNOWN_RTT in hop.rtts else ["*"])
        else:
            cells = [_cell(r) for r in hop.rtts] or ["*"]
        parts.append(f"{hop.address}@{','.join(cells)}")
    flush()
    if skip_lan and dropped and not parts:
        return "", dropped
    return "|".join(parts), dropped


_LAN_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "127.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",
        "100.64.0.0/10",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
    )
)


def _is_private(address: str) -> bool:
    """The LAN ranges the collector's ``lan`` step drops (the script's Test-PrivateAddress)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip.version == n.version and ip in n for n in _LAN_NETWORKS)


def _cell(rtt: int | None) -> str:
    if rtt is None:
        return "*"
    return "?" if rtt == UNKNOWN_RTT else str(rtt)


class HopStringError(ValueError):
    """The ``r`` string is malformed (truncated or edited output)."""


def decode_hops(text: str, first_ttl: int = 1) -> list[ParsedHop]:
    """Inverse of :func:`encode_hops`; ``first_ttl`` is ``l + 1`` when LAN hops were dropped."""
    hops: list[ParsedHop] = []
    ttl = first_ttl
    if not text:
        return hops
    for part in text.split("|"):
        if part.startswith("*"):
            count = part[1:]
            n = 1 if not count else int(count) if count.isdigit() else -1
            if n < 1 or n > 255:
                raise HopStringError(f"bad silent-hop run '{part}'")
            for _ in range(n):
                hops.append(ParsedHop(ttl, None, [None]))
                ttl += 1
            continue
        address, sep, cells = part.rpartition("@")
        if not sep:
            raise HopStringError(f"hop '{part[:60]}' has no '@RTT'")
        clean = _clean_address(address)
        if clean is None:
            raise HopStringError(f"'{address[:60]}' is not an IP address")
        rtts: list[int | None] = []
        for cell in cells.split(","):
            if cell == "*":
                rtts.append(None)
            elif cell == "?":
                rtts.append(UNKNOWN_RTT)
            elif cell.isdigit() and len(cell) <= 6:
                rtts.append(int(cell))
            else:
                raise HopStringError(f"bad RTT '{cell[:20]}' at hop {ttl}")
        hops.append(ParsedHop(ttl, clean, rtts))
        ttl += 1
        if ttl > 256:
            raise HopStringError("more than 255 hops")
    return hops


# ----------------------------------------------------------------------------- the line


@dataclass
class EndpointObservation:
    """What the collector saw for one endpoint (before abbreviation)."""

    name: str
    host: str
    port: int
    cname_chain: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    traced: str | None = None
    hops: list[ParsedHop] = field(default_factory=list)
    reached: bool = False
    tcp_ms: int | None = None  # None: not tried; -1 failed
    error: str = ""


@dataclass
class Observation:
    device: str
    time: str
    site: dict[str, str] = field(default_factory=dict)  # ad, gw, eg
    endpoints: list[EndpointObservation] = field(default_factory=list)
    script_version: str = SCRIPT_VERSION


def _endpoint_doc(ep: EndpointObservation, steps: set[str], path_cut: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {"n": ep.name, "h": ep.host, "p": ep.port}
    if ep.cname_chain and "cname" not in steps:
        doc["c"] = list(ep.cname_chain)
    if ep.addresses:
        doc["a"] = [ep.traced] if ("addrs" in steps and ep.traced) else list(ep.addresses)
    if ep.traced:
        doc["ta"] = ep.traced
        doc["m"] = "icmp"
        if not path_cut:
            r, lan = encode_hops(ep.hops, min_only="rtt-min" in steps, skip_lan="lan" in steps)
            doc["r"] = r
            if lan:
                doc["l"] = lan
            if ep.reached:
                doc["ok"] = 1
    if ep.tcp_ms is not None:
        doc["tcp"] = ep.tcp_ms
    if ep.error:
        doc["err"] = ep.error[:200]
    return doc


def dumps(doc: dict[str, Any]) -> str:
    """Compact JSON as the collector writes it (no spaces, non-ASCII kept)."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def render_line(obs: Observation, budget: int | None = BUDGET) -> tuple[str, list[str]]:
    """The collector's last line for ``obs`` and the abbreviation steps applied (``x``).

    Mirrors the PowerShell collector step by step (see the module docstring); ``budget=None``
    renders in full (the GPO variant, which writes to a file and has no limit)."""
    steps: list[str] = []
    cut: set[int] = set()
    removed: set[int] = set()

    def build() -> str:
        doc: dict[str, Any] = {"k": MARKER, "v": SCHEMA_VERSION, "sv": obs.script_version, "d": obs.device}
        doc["t"] = obs.time
        site = {k: v for k, v in obs.site.items() if v}
        if site:
            doc["s"] = site
        doc["e"] = [_endpoint_doc(ep, set(steps), i in cut) for i, ep in enumerate(obs.endpoints) if i not in removed]
        if steps:
            doc["x"] = list(steps)
        return dumps(doc)

    line = build()
    if budget is None:
        return line, steps
    for step in STEPS:
        if len(line) <= budget:
            return line, steps
        steps.append(step)
        line = build()
    for i in reversed(range(len(obs.endpoints))):
        if len(line) <= budget:
            return line, steps
        if obs.endpoints[i].traced:
            cut.add(i)
            steps.append(f"path:{i}")
            line = build()
    for i in reversed(range(len(obs.endpoints))):
        if len(line) <= budget:
            return line, steps
        removed.add(i)
        steps.append(f"ep:{i}")
        line = build()
    return line, steps


# ----------------------------------------------------------------------------- reading a line


class CollectorLineError(ValueError):
    """A device's output cannot be used; the message is the reason shown to the administrator."""


@dataclass
class DeviceLine:
    """One decoded collector line."""

    device: str
    time: str
    site: dict[str, str]
    endpoints: list[dict[str, Any]]
    steps: list[str]
    script_version: str


MAX_LINE = 1_000_000  # a collector line is about 2 KB; anything far larger is not one


def last_line(output: str) -> str:
    """The last non-empty line of a script's output (what Intune keeps)."""
    end = len(output)
    while end > 0:
        start = output.rfind("\n", 0, end) + 1
        line = output[start:end].strip().lstrip("\ufeff")
        if line:
            return line
        end = start - 1
    return ""


def decode_line(output: str | None) -> DeviceLine:
    """Decode the collector line in ``output``; CollectorLineError says why it is unusable."""
    if output is None or not output.strip():
        raise CollectorLineError("no collector output (the script has not run yet, or failed before printing)")
    line = last_line(output)
    if len(line) > MAX_LINE:
        raise CollectorLineError(f"output line of {len(line):,} characters is not a collector line")
    if not line.startswith('{"k":"' + MARKER + '"'):
        # the collector writes its marker first: anything else is a tail or something else
        if f'"k":"{MARKER}"' in line or '"e":[' in line or '"n":"' in line or '"r":"' in line:
            raise CollectorLineError(
                "truncated: the output starts mid-record (Intune keeps only the last 2,048 characters); "
                "regenerate the collector or split the endpoints over several scripts"
            )
        if not line.startswith("{"):
            raise CollectorLineError(f"not collector output: {line[:60]!r}")
    try:
        doc = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        raise CollectorLineError(f"truncated or not JSON ({msg})") from None
    if not isinstance(doc, dict) or doc.get("k") != MARKER:
        raise CollectorLineError('JSON, but not a mistral-sov collector line (no "k":"msov-rc")')
    if doc.get("v") != SCHEMA_VERSION:
        raise CollectorLineError(
            f"collector schema version {doc.get('v')!r} is not supported (this mistral-sov reads {SCHEMA_VERSION})"
        )
    if isinstance(doc.get("fail"), str):
        raise CollectorLineError(f"the collector failed on the device: {doc['fail'][:200]}")
    device, time, eps = doc.get("d"), doc.get("t", ""), doc.get("e")
    if not isinstance(device, str) or not isinstance(time, str) or not isinstance(eps, list):
        raise CollectorLineError("collector line lacks d (device), t (time) or e (endpoints)")
    site_raw = doc.get("s") or {}
    site = {k: v for k, v in site_raw.items() if isinstance(v, str) and v} if isinstance(site_raw, dict) else {}
    steps = [s for s in doc.get("x") or [] if isinstance(s, str)] if isinstance(doc.get("x"), list) else []
    version = str(doc["sv"]) if isinstance(doc.get("sv"), str) else ""
    return DeviceLine(device, time, site, [e for e in eps if isinstance(e, dict)], steps, version)


@dataclass
class EndpointPath(EndpointObservation):
    """A device's path to one endpoint, ready to judge (or ``reason`` why it cannot be)."""

    reason: str = ""  # set: unusable (INCONCLUSIVE with this reason)
    notes: list[str] = field(default_factory=list)


def _strs(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def endpoint_path(ep: dict[str, Any], index: int, steps: Sequence[str]) -> EndpointPath:
    """Decode one entry of ``e`` (``index`` is its position, for ``path:N`` steps)."""
    port = ep.get("p")
    out = EndpointPath(
        str(ep.get("n") or ""),
        str(ep.get("h") or "").lower(),
        port if isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536 else 0,
        cname_chain=_strs(ep.get("c")),
        addresses=_strs(ep.get("a")),
    )
    tcp = ep.get("tcp")
    if isinstance(tcp, int) and not isinstance(tcp, bool):
        out.tcp_ms = tcp
    if isinstance(ep.get("err"), str) and ep["err"]:
        out.reason = f"the device could not resolve or trace {out.host}: {ep['err'][:200]}"
        return out
    traced = ep.get("ta")
    if not isinstance(traced, str) or _clean_address(traced) is None:
        out.reason = f"no traced address for {out.host or out.name}"
        return out
    out.traced = _clean_address(traced)
    if "r" not in ep:
        cut = f"path:{index}" in steps
        out.reason = (
            "the collector dropped this path to fit Intune's 2,048-character limit"
            if cut
            else "the device reported no path (no 'r')"
        )
        return out
    lan = ep.get("l", 0)
    lan = lan if isinstance(lan, int) and not isinstance(lan, bool) and 0 <= lan < 255 else 0
    try:
        out.hops = decode_hops(str(ep["r"]), lan + 1)
    except HopStringError as exc:
        out.reason = f"the path is malformed ({exc})"
        return out
    if not out.hops:
        out.reason = "no route: the trace has no hop"
        return out
    out.reached = ep.get("ok") == 1 or any(h.address == out.traced for h in out.hops)
    if lan:
        out.notes.append(f"{lan} leading private hop(s) not reported (collector step 'lan')")
    if "rtt-min" in steps:
        out.notes.append("only the lowest RTT of each hop reported (collector step 'rtt-min')")
    others = [a for a in out.addresses if a != out.traced]
    if others:
        out.notes.append(f"only {out.traced} was traced; not traced: {', '.join(others[:4])}")
    return out
