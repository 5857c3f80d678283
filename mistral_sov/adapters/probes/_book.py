"""Bookkeeping shared by the tracers: probe identifiers, replies per TTL, the final result.

A probe identifier packs the TTL and the probe index (``ttl * PROBE_SLOTS + index``); tracers
carry it in a header field that the ICMP quote returns (IP ID, TCP sequence, ICMP sequence,
payload) so one fixed flow (Paris traceroute) can still tell probes apart.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from mistral_sov.core.trace import Hop, ProbeReply, TraceResult
from mistral_sov.errors import InputError

PROBE_SLOTS = 16
METHODS = ("tcp", "udp", "icmp")
MAX_TTL = 64


def validate(address: str, method: str, port: int, probes: int, max_hops: int, timeout: float) -> int:  # noqa: PLR0917
    """Check tracer arguments; returns the address family (4 or 6)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise InputError(
            f"'{address}' is not an IP address", hint="resolve names before tracing (the tracer takes addresses)"
        ) from None
    if method not in METHODS:
        raise InputError(f"unknown trace method '{method}'", hint="use one of: tcp, udp, icmp")
    if not 1 <= port <= 65535:
        raise InputError(f"port {port} is out of range", hint="use a port between 1 and 65535")
    if not 1 <= probes <= PROBE_SLOTS - 1:
        raise InputError(f"{probes} probes per hop is out of range", hint=f"use 1 to {PROBE_SLOTS - 1}")
    if not 1 <= max_hops <= MAX_TTL:
        raise InputError(f"max hops {max_hops} is out of range", hint=f"use 1 to {MAX_TTL}")
    if not 0 < timeout <= 60:
        raise InputError(f"timeout {timeout} s is out of range", hint="use more than 0 and at most 60 seconds")
    return ip.version


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class _Sent:
    ttl: int
    index: int
    at: float


class ProbeBook:
    """Sent probes and their answers for one trace. Thread-safe."""

    def __init__(self, probes: int, max_hops: int) -> None:
        self.probes = probes
        self.max_hops = max_hops
        self._sent: dict[int, _Sent] = {}
        self._replies: dict[int, tuple[str, float, str, int | None, int | None]] = {}
        self.dest_ttl: int | None = None  # smallest TTL the destination answered
        self.end_ttl: int | None = None  # smallest TTL that ended the path (destination or unreachable)
        self._lock = threading.Lock()

    @staticmethod
    def pid(ttl: int, index: int) -> int:
        return ttl * PROBE_SLOTS + index

    def sent(self, ttl: int, index: int, at: float | None = None) -> int:
        pid = self.pid(ttl, index)
        with self._lock:
            self._sent[pid] = _Sent(ttl, index, time.perf_counter() if at is None else at)
        return pid

    def known(self, pid: int) -> bool:
        return pid in self._sent

    def answer(
        self,
        pid: int,
        address: str,
        kind: str,
        *,
        at: float | None = None,
        icmp_type: int | None = None,
        icmp_code: int | None = None,
        reached: bool = False,
        terminal: bool = False,
    ) -> bool:
        """Record the first answer to probe ``pid``; returns False for unknown or duplicate probes."""
        at = time.perf_counter() if at is None else at
        with self._lock:
            probe = self._sent.get(pid)
            if probe is None or pid in self._replies:
                return False
            rtt = max(0.0, (at - probe.at) * 1000.0)
            self._replies[pid] = (address, rtt, kind, icmp_type, icmp_code)
            if reached and (self.dest_ttl is None or probe.ttl < self.dest_ttl):
                self.dest_ttl = probe.ttl
            if (reached or terminal) and (self.end_ttl is None or probe.ttl < self.end_ttl):
                self.end_ttl = probe.ttl
            return True

    def done(self) -> bool:
        """True once every probe up to the end of the path has an answer (nothing left to wait for)."""
        with self._lock:
            if self.end_ttl is None:
                return False
            end = self.end_ttl
            return all(pid in self._replies for pid, s in self._sent.items() if s.ttl <= end)

    def hops(self) -> list[Hop]:
        with self._lock:
            last = self.end_ttl
            if last is None:
                answered = [self._sent[p].ttl for p in self._replies]
                last = max(answered, default=0)
            hops: dict[int, Hop] = {}
            for pid, s in sorted(self._sent.items()):
                if s.ttl > last:
                    continue
                hop = hops.setdefault(s.ttl, Hop(ttl=s.ttl, sent=0))
                hop.sent += 1
                rep = self._replies.get(pid)
                if rep is not None:
                    addr, rtt, kind, itype, icode = rep
                    hop.replies.append(ProbeReply(addr, round(rtt, 3), kind, itype, icode))
            return [hops[t] for t in sorted(hops)]

    def result(
        self,
        *,
        target: str,
        method: str,
        port: int,
        tracer: str,
        started_at: str,
        duration_s: float,
        notes: list[str],
        raw: dict[str, object] | None = None,
    ) -> TraceResult:
        hops = self.hops()
        extra: dict[str, object] = {
            "max_hops": self.max_hops,
            "probes_per_hop": self.probes,
            "destination_ttl": self.dest_ttl,
        }
        extra.update(raw or {})
        return TraceResult(
            target=target,
            method=method,
            port=port,
            tracer=tracer,
            hops=hops,
            reached=self.dest_ttl is not None,
            started_at=started_at,
            duration_s=round(duration_s, 3),
            fidelity_notes=list(notes),
            raw=dict(extra),
        )
