"""What a tracer observed: hops, replies and round-trip times. No geo, no verdict."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from mistral_sov.core.memo import bounded


@dataclass(frozen=True)
class ProbeReply:
    """One answer to one probe. ``kind`` is 'time-exceeded', 'unreachable', 'echo-reply',
    'tcp-synack', 'tcp-rst' or 'port-unreachable'. ``rtt_ms`` is None when the reply carries
    no usable round-trip time (a late reply, a missing/negative/non-finite RTT): the reply
    still attributes the hop, only its timing is dropped."""

    address: str
    rtt_ms: float | None
    kind: str
    icmp_type: int | None = None
    icmp_code: int | None = None
    note: str = ""  # e.g. "late by 2 probes", "RTT missing"


@dataclass
class Hop:
    ttl: int
    sent: int
    replies: list[ProbeReply] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. "duplicate hop number", "after the destination"

    @property
    def addresses(self) -> list[str]:
        seen: dict[str, None] = {}
        for r in self.replies:
            seen.setdefault(r.address, None)
        return list(seen)

    @property
    def min_rtt_ms(self) -> float | None:
        return min((r.rtt_ms for r in self.replies if r.rtt_ms is not None), default=None)

    @property
    def silent(self) -> bool:
        return not self.replies


@dataclass
class TraceResult:
    """The path to ``target``. ``reached`` is True when the destination itself answered."""

    target: str
    method: str  # tcp | udp | icmp
    port: int
    tracer: str  # e.g. "scapy-raw", "linux-recverr", "ripe-atlas"
    hops: list[Hop] = field(default_factory=list)
    reached: bool = False
    started_at: str = ""
    duration_s: float = 0.0
    fidelity_notes: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FrontDoorMatch:
    """A CNAME-chain name recognised as a global front door, DNS steering or an anycast CDN."""

    provider: str  # id from templates/residency/frontdoors.yaml, e.g. "azure-front-door"
    name: str  # display name, e.g. "Azure Front Door"
    kind: str  # "front-door" | "dns-steering" | "anycast-cdn"
    matched: str  # the CNAME-chain name that matched


@dataclass
class Resolution:
    """What DNS said about a target. ``status``: 'ok', 'ip-literal' (no DNS asked), 'nxdomain',
    'no-answer', 'timeout' or 'error'; anything but 'ok'/'ip-literal' leaves ``addresses`` empty
    and must end INCONCLUSIVE, never a pass. ``flags`` such as 'front-door:azure-front-door',
    'anycast-cdn:cloudflare', 'private-link'."""

    target: str  # as given (URL, host name or IP literal)
    host: str  # the host name or IP literal extracted from the target
    port: int | None = None  # from a URL or host:port, when given
    status: str = "ok"
    cname_chain: list[str] = field(default_factory=list)  # host first, then each CNAME target
    a: list[str] = field(default_factory=list)
    aaaa: list[str] = field(default_factory=list)
    nameserver: str = ""  # the resolver that answered (address[:port])
    error: str = ""
    flags: list[str] = field(default_factory=list)
    front_doors: list[FrontDoorMatch] = field(default_factory=list)
    private_addresses: list[str] = field(default_factory=list)

    @property
    def addresses(self) -> list[str]:
        return [*self.a, *self.aaaa]

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "ip-literal") and bool(self.addresses)

    @property
    def resolver(self) -> str:
        return self.nameserver

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "status": self.status,
            "cname_chain": list(self.cname_chain),
            "addresses": list(self.addresses),
            "resolver": self.nameserver,
            "flags": list(self.flags),
            "error": self.error,
        }

    @classmethod
    def literal(cls, address: str) -> Resolution:
        """An IP literal: no DNS asked."""
        if ":" in address:
            return cls(address, address, status="ip-literal", aaaa=[address])
        return cls(address, address, status="ip-literal", a=[address])

    @classmethod
    def failed(cls, host: str, error: str, status: str = "error") -> Resolution:
        return cls(host, host, status=status, error=error)


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SIXTOFOUR = ipaddress.IPv6Network("2002::/16")


@bounded(65536)
def canonical_address(text: str) -> tuple[str, str]:
    """``(address, note)``: an address in its canonical form, every textual variant of an
    IPv4 address mapped to that IPv4 address: IPv4-mapped (``::ffff:a.b.c.d``), NAT64
    (``64:ff9b::/96``), 6to4 (``2002:AABB:CCDD::/48``) and dotted quads with leading zeros
    (``010.001.002.003`` is read as decimal 10.1.2.3, as traceroute tools print it). ``note``
    says what was mapped ('' when nothing was). Raises ValueError for anything else."""
    raw = text.strip()
    if raw.count(".") == 3 and ":" not in raw:
        parts = raw.split(".")
        if all(p.isascii() and p.isdigit() and 1 <= len(p) <= 3 for p in parts):
            octets = [int(p) for p in parts]
            if all(o <= 255 for o in octets):
                v4 = ".".join(str(o) for o in octets)
                return v4, ("" if v4 == raw else f"written '{raw}' (leading zeros), read as {v4}")
        raise ValueError(f"'{text}' is not an IP address")
    ip = ipaddress.ip_address(raw.split("%", 1)[0] if raw.startswith("fe80") else raw)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped), f"written '{raw}' (IPv4-mapped), read as {ip.ipv4_mapped}"
        if ip in _NAT64:
            nat64 = str(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
            return nat64, f"written '{raw}' (NAT64 64:ff9b::/96), read as {nat64}"
        if ip.sixtofour is not None and ip in _SIXTOFOUR:
            return str(ip.sixtofour), f"written '{raw}' (6to4), read as {ip.sixtofour}"
    out = str(ip)
    return out, ""
