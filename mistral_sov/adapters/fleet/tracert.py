"""Raw Windows ``tracert`` output (any display language) -> a collector line.

An administrator may have captures made by hand (``tracert -d host > PC-0042.txt``); each file
is one device (named after the file) and one endpoint (the traced host). The hop lines are read
with the collector's own patterns (:mod:`mistral_sov.core.collector`), so a capture and the
collector agree on every hop.
"""

from __future__ import annotations

import ipaddress
import re

from mistral_sov.core.collector import EndpointObservation, Observation, ParsedHop, parse_hop_line, render_line

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
