"""Raw Windows ``tracert`` output (any display language) and ``Test-NetConnection -TraceRoute``
output -> a collector line.

An administrator may have captures made by hand (``tracert -d host > PC-0042.txt``); each file
is one device (named after the file) and one endpoint (the traced host). The hop lines are read
with the collector's own patterns (:mod:`mistral_sov.core.collector`), so a capture and the
collector agree on every hop.
"""

from __future__ import annotations

import ipaddress
import re

from mistral_sov.core.collector import (
    UNKNOWN_RTT,
    EndpointObservation,
    Observation,
    ParsedHop,
    parse_hop_line,
    render_line,
)

# "Tracing route to api.mistral.ai [51.159.1.2]", "Routenverfolgung zu …", "Détermination de
# l'itinéraire vers …", "Tracing route to 51.159.1.2 over a maximum of 30 hops"
_HEADER_TARGET = re.compile(r"^\s*\D.*?\s(\S+)\s+\[([0-9A-Fa-f:.%]+)\]")
_HEADER_LITERAL = re.compile(r"^\s*\D+?\s((?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]*:[0-9A-Fa-f:]+)\b")


def looks_like_tracert(text: str) -> bool:
    hops = sum(1 for line in text.splitlines()[:80] if parse_hop_line(line) is not None)
    return hops >= 1 and any(_HEADER_TARGET.match(x) or _HEADER_LITERAL.match(x) for x in text.splitlines()[:6])


def parse_tracert(text: str) -> tuple[str, str | None, list[ParsedHop]]:
    """(host, address, hops) of one capture; host is the address when tracert got an IP."""
    host, address = "", None
    for line in text.splitlines()[:6]:
        m = _HEADER_TARGET.match(line)
        if m:
            host, address = m.group(1).lower(), m.group(2).split("%")[0]
            break
        m = _HEADER_LITERAL.match(line)
        if m:
            host = address = m.group(1)
            break
    if address is not None:
        try:
            address = str(ipaddress.ip_address(address))
        except ValueError:
            address = None
    hops = [h for h in (parse_hop_line(line) for line in text.splitlines()) if h is not None]
    return host, address, hops


def tracert_line(text: str, device: str, time: str, port: int = 0) -> str:
    """A collector line (full, unabbreviated) equivalent to one tracert capture."""
    host, address, hops = parse_tracert(text)
    reached = address is not None and any(h.address == address for h in hops)
    ep = EndpointObservation(host or "?", host, port, [], [address] if address else [], address, hops, reached)
    if address is None:
        ep.error = "the capture names no destination address"
    elif not hops:
        ep.error = "no route: the capture has no hop"
    line, _steps = render_line(Observation(device, time, {}, [ep]), budget=None)
    return line


# ----------------------------------------------------------------------------- Test-NetConnection

# `Test-NetConnection HOST -TraceRoute` prints a list (property names are never localised):
#   ComputerName           : api.mistral.ai
#   RemoteAddress          : 51.159.105.130
#   PingSucceeded          : True
#   PingReplyDetails (RTT) : 15 ms
#   TraceRoute             : 192.168.178.1
#                            62.155.240.1
#                            0.0.0.0            <- a hop that did not answer
_TNC_FIELD = re.compile(r"^(\w[\w ()]*?)\s*:\s?(.*)$")


def looks_like_tnc(text: str) -> bool:
    head = text[:4000]
    return bool(re.search(r"^ComputerName\s+:", head, re.M)) and bool(re.search(r"^TraceRoute\s+:", head, re.M))


def parse_tnc(text: str) -> tuple[str, str | None, list[ParsedHop], bool | None]:
    """(host, remote address, hops, TCP test result or None) of one capture. Hops carry no RTT
    (``UNKNOWN_RTT``) except the destination, which gets the ping RTT when one is given."""
    fields: dict[str, str] = {}
    route: list[str] = []
    in_route = False
    for raw in text.splitlines():
        line = raw.rstrip()
        if in_route and line.startswith(" ") and line.strip():
            route.append(line.strip())
            continue
        in_route = False
        m = _TNC_FIELD.match(line)
        if m:
            key, value = m.group(1).strip(), m.group(2).strip()
            fields[key] = value
            if key == "TraceRoute":
                in_route = True
                if value:
                    route.append(value)
    host = fields.get("ComputerName", "").lower()
    remote = fields.get("RemoteAddress") or None
    try:
        remote = str(ipaddress.ip_address(remote)) if remote else None
    except ValueError:
        remote = None
    ping = re.match(r"(\d+)\s*ms", fields.get("PingReplyDetails (RTT)", ""))
    hops: list[ParsedHop] = []
    for ttl, entry in enumerate(route, start=1):
        try:
            address = str(ipaddress.ip_address(entry))
        except ValueError:
            continue
        if address in ("0.0.0.0", "::"):
            hops.append(ParsedHop(ttl, None, [None]))
        elif address == remote and ping:
            hops.append(ParsedHop(ttl, address, [int(ping.group(1))]))
        else:
            hops.append(ParsedHop(ttl, address, [UNKNOWN_RTT]))
    tcp = fields.get("TcpTestSucceeded")
    return host, remote, hops, (tcp == "True") if tcp in ("True", "False") else None


def tnc_line(text: str, device: str, time: str) -> str:
    """A collector line (full) equivalent to one Test-NetConnection -TraceRoute capture."""
    host, address, hops, tcp = parse_tnc(text)
    reached = address is not None and any(h.address == address for h in hops)
    ep = EndpointObservation(host or "?", host, 0, [], [address] if address else [], address, hops, reached)
    ep.tcp_ms = None if tcp is None else (0 if tcp else -1)
    if address is None:
        ep.error = "the capture names no RemoteAddress"
    elif not hops:
        ep.error = "no route: the capture has no TraceRoute"
    line, _steps = render_line(Observation(device, time, {}, [ep]), budget=None)
    return line
