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
