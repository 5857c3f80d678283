"""What a tracer observed: hops, replies and round-trip times. No geo, no verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ProbeReply:
    """One answer to one probe. ``kind`` is 'time-exceeded', 'unreachable', 'echo-reply',
    'tcp-synack', 'tcp-rst' or 'port-unreachable'."""

    address: str
    rtt_ms: float
    kind: str
    icmp_type: int | None = None
    icmp_code: int | None = None


@dataclass
class Hop:
    ttl: int
    sent: int
    replies: list[ProbeReply] = field(default_factory=list)

    @property
    def addresses(self) -> list[str]:
        seen: dict[str, None] = {}
        for r in self.replies:
            seen.setdefault(r.address, None)
        return list(seen)

    @property
    def min_rtt_ms(self) -> float | None:
        return min((r.rtt_ms for r in self.replies), default=None)

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
