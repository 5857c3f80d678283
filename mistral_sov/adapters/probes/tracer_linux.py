"""Unprivileged Linux tracer: no scapy, no root, no CAP_NET_RAW.

UDP datagram sockets (and ICMP ``SOCK_DGRAM`` "ping" sockets where
``net.ipv4.ping_group_range`` admits our group) with ``IP_TTL``/``IPV6_UNICAST_HOPS`` and
``IP_RECVERR``/``IPV6_RECVERR``: the kernel queues every ICMP error about our datagrams on
the socket's error queue, read with ``recvmsg(..., MSG_ERRQUEUE)``; the control message is a
``struct sock_extended_err`` followed by the offender's address (parsed in ``_wire``).

One socket per trace, so one 5-tuple for every TTL (Paris-style for UDP); the probe id
travels in the payload, which the ICMP quote returns. All TTLs x probes go out at once.
Linux only: elsewhere ``LinuxTracer.trace`` raises ``MissingBackendError``.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import random
import select
import socket
import struct
import sys
import time

from mistral_sov.adapters.probes import _wire
from mistral_sov.adapters.probes._book import ProbeBook, now_iso, validate
from mistral_sov.core.trace import TraceResult
from mistral_sov.errors import MissingBackendError

NAME = "linux-recverr"

# <linux/in.h>, <linux/in6.h>, <linux/socket.h>: not all exported by the socket module.
IP_RECVERR = 11
IP_TTL = 2
IPV6_RECVERR = 25
IPV6_UNICAST_HOPS = 16
MSG_ERRQUEUE = 0x2000
SOL_IP = 0
SOL_IPV6 = 41

_MAGIC = b"MSV2"
_RCVBUF = 1024 * 1024

NOTES_COMMON = [
    "unprivileged tracer (linux-recverr): no raw sockets, so no TCP SYN probes; the path was traced "
    "with {proto} probes, not the TCP/{port} traffic the API really uses, and a per-flow load balancer "
    "(ECMP) may route these probes differently",
    "probes are matched through the payload the ICMP error quotes: a router that quotes only the first "
    "8 bytes of our datagram (RFC 792 minimum) cannot be matched and shows as a silent hop",
]
NOTE_UDP = "UDP: one socket per trace keeps one source port, so all TTLs share one 5-tuple (Paris-style)"
NOTE_ICMP = (
    "ICMP: the kernel chooses the echo identifier of a ping socket (it rewrites ours), so the flow "
    "identifier is not under our control; it stays constant for the trace and the checksum is kept "
    "constant, but it differs from one trace to the next"
)


def ping_sockets_allowed() -> bool:
    """Whether ``net.ipv4.ping_group_range`` admits one of our groups (ICMP SOCK_DGRAM)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        with open("/proc/sys/net/ipv4/ping_group_range", encoding="ascii") as fh:  # noqa: PTH123
            lo, hi = (int(x) for x in fh.read().split()[:2])
    except (OSError, ValueError):
        return False
    groups = {os.getgid(), os.getegid(), *os.getgroups()}
    return any(lo <= g <= hi for g in groups)


class LinuxTracer:
    """``Tracer`` for unprivileged users on Linux (UDP or ICMP datagram sockets)."""

    name = NAME

    def trace(
        self,
        address: str,
        *,
        method: str = "udp",
        port: int = 33434,
        probes: int = 3,
        max_hops: int = 30,
        timeout: float = 2.0,
    ) -> TraceResult:
        family = validate(address, method, port, probes, max_hops, timeout)
        if not sys.platform.startswith("linux"):
            raise MissingBackendError(
                f"the unprivileged tracer needs Linux (this is {sys.platform})",
                hint="install the raw tracer: pip install 'mistral-sov[trace]', and run as administrator/root",
            )
        if method == "tcp":
            raise MissingBackendError(
                "TCP SYN probes need raw sockets; the unprivileged tracer can only send UDP or ICMP",
                hint="pip install 'mistral-sov[trace]' and run as root, or "
                "sudo setcap cap_net_raw+ep $(readlink -f $(which python3)); or use --method udp|icmp",
            )
        address = str(ipaddress.ip_address(address))
        started, t0 = now_iso(), time.perf_counter()
        book = ProbeBook(probes, max_hops)
        notes = [n.format(proto=method.upper(), port=port) for n in NOTES_COMMON]
        notes.append(NOTE_UDP if method == "udp" else NOTE_ICMP)
        raw: dict[str, object] = {}
        try:
            self._run(
                book=book,
                family=family,
                dst=address,
                method=method,
                port=port,
                probes=probes,
                max_hops=max_hops,
                timeout=timeout,
                raw=raw,
            )
        except PermissionError as exc:
            if method == "icmp":
                raise MissingBackendError(
                    "ICMP datagram sockets are not allowed for this user",
                    hint="use --method udp, or allow ping sockets: sysctl -w net.ipv4.ping_group_range='0 2147483647'",
                ) from exc
            raise
        except OSError as exc:
            raw["error"] = f"cannot trace {address}: {exc.strerror or exc}"
        return book.result(target=address, method=method, port=port, tracer=NAME, started_at=started,
                           duration_s=time.perf_counter() - t0, notes=notes, raw=raw)  # fmt: skip

    def _run(
        self,
        *,
        book: ProbeBook,
        family: int,
        dst: str,
        method: str,
        port: int,
        probes: int,
        max_hops: int,
        timeout: float,
        raw: dict[str, object],
    ) -> None:
        af = socket.AF_INET if family == 4 else socket.AF_INET6
        if method == "udp":
            sock = socket.socket(af, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        else:
            sock = socket.socket(af, socket.SOCK_DGRAM, socket.IPPROTO_ICMP if family == 4 else socket.IPPROTO_ICMPV6)
        rng = random.Random(os.urandom(8))
        token = rng.getrandbits(32)
        seq_base = rng.randrange(0, 0xFFFF - 2048)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF)
            if family == 4:
                sock.setsockopt(SOL_IP, IP_RECVERR, 1)
            else:
                sock.setsockopt(SOL_IPV6, IPV6_RECVERR, 1)
            sock.bind(("0.0.0.0", 0) if family == 4 else ("::", 0))
            sock.setblocking(False)
            local = sock.getsockname()
            raw.update({"sport": local[1], "flow": {"proto": method, "sport": local[1], "dport": port}})
            for index in range(probes):
                for ttl in range(1, max_hops + 1):
                    pid = book.pid(ttl, index)
                    if method == "udp":
                        data = _MAGIC + struct.pack("!IH", token, pid)
                    else:
                        seq = seq_base + pid
                        body = _wire.constant_checksum_pad(seq) + _MAGIC + struct.pack("!I", token)
                        echo = _wire.ICMP4_ECHO_REQUEST if family == 4 else _wire.ICMP6_ECHO_REQUEST
                        data = struct.pack("!BBHHH", echo, 0, 0, 0, seq) + body
                    if family == 4:
                        sock.setsockopt(SOL_IP, IP_TTL, ttl)
                    else:
                        sock.setsockopt(SOL_IPV6, IPV6_UNICAST_HOPS, ttl)
                    book.sent(ttl, index)
                    _send(sock, data, (dst, port if method == "udp" else 0), ttl, raw)

            def pid_from(payload: bytes) -> int | None:
                if method == "udp":
                    if len(payload) < 10 or payload[:4] != _MAGIC:
                        return None
                    tok, pid = struct.unpack_from("!IH", payload, 4)
                    return int(pid) if tok == token else None
                # ping sockets: the error queue returns the quoted ICMP header (type, code, sum, id, seq)
                if len(payload) < 8:
                    return None
                return int(struct.unpack_from("!H", payload, 6)[0]) - seq_base

            level, opt = (SOL_IP, IP_RECVERR) if family == 4 else (SOL_IPV6, IPV6_RECVERR)
            poller = select.poll()
            poller.register(sock, select.POLLIN | select.POLLERR)
            deadline = time.perf_counter() + timeout
            while not book.done():
                left = deadline - time.perf_counter()
                if left <= 0:
                    break
                events = poller.poll(max(1, int(left * 1000)))
                at = time.perf_counter()
                if not events:
                    continue
                # error queue: time-exceeded, unreachable
                while True:
                    try:
                        payload, ancdata, _flags, _addr = sock.recvmsg(2048, 1024, MSG_ERRQUEUE)
                    except (BlockingIOError, InterruptedError):
                        break
                    for clevel, ctype, cdata in ancdata:
                        if clevel != level or ctype != opt:
                            continue
                        err = _wire.parse_extended_err(cdata, family)
                        if err is None or err.offender is None:
                            continue
                        if err.origin not in (_wire.SO_EE_ORIGIN_ICMP, _wire.SO_EE_ORIGIN_ICMP6):
                            continue
                        epid = pid_from(payload)
                        if epid is None:
                            continue
                        msg = _wire.IcmpMessage(family, err.offender, err.icmp_type, err.icmp_code)
                        kind = _wire.kind_of(msg)
                        reached = method == "udp" and msg.is_port_unreachable and err.offender == dst
                        book.answer(epid, err.offender, kind, at=at, icmp_type=err.icmp_type,
                                    icmp_code=err.icmp_code, reached=reached,
                                    terminal=msg.is_unreachable)  # fmt: skip
                if method == "icmp":  # echo replies arrive as ordinary data
                    while True:
                        try:
                            data, addr = sock.recvfrom(2048)
                        except (BlockingIOError, InterruptedError):
                            break
                        except OSError:
                            continue
                        src = str(addr[0]).split("%")[0]
                        msg2 = _wire.parse_icmp_body(family, src, data)
                        if msg2 is None or not msg2.is_echo_reply or msg2.src != dst or msg2.echo_seq is None:
                            continue
                        book.answer(msg2.echo_seq - seq_base, dst, "echo-reply", at=at,
                                    icmp_type=msg2.icmp_type, icmp_code=msg2.icmp_code, reached=True)  # fmt: skip
        finally:
            sock.close()


def _send(sock: socket.socket, data: bytes, to: tuple[str, int], ttl: int, raw: dict[str, object]) -> None:
    """Send one probe. With ``IP_RECVERR`` an ICMP error about an earlier probe leaves a pending
    socket error that the next ``sendto`` reports *instead of sending*: clear it and retry."""
    last: OSError | None = None
    for _ in range(4):
        sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)  # reading SO_ERROR clears it
        try:
            sock.sendto(data, to)
            return
        except PermissionError:
            raise
        except (BlockingIOError, InterruptedError) as exc:
            last = exc
        except OSError as exc:
            last = exc
            if exc.errno not in _PENDING:
                break
    if last is not None:
        errors = raw.setdefault("send_errors", [])
        if isinstance(errors, list):
            errors.append(f"ttl {ttl}: {last.strerror or last}")


_PENDING = {errno.EHOSTUNREACH, errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTDOWN, errno.EPROTO,
            errno.EMSGSIZE}  # fmt: skip
