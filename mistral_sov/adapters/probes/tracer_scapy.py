"""Raw-socket tracer: TCP SYN (default), UDP or ICMP echo, IPv4 and IPv6, Paris-style.

The ONLY module that imports scapy (GPL-2.0-only, optional extra ``trace``); scapy builds
the probes (headers and checksums), plain raw sockets send them and receive the answers,
and ``_wire`` parses those. Needs root or CAP_NET_RAW.

Paris traceroute: every probe of a trace has the same flow identifier (addresses, protocol,
ports; for ICMP the identifier *and checksum*: the sequence number changes, two payload bytes
compensate), so per-flow load balancers keep them on one path. Probes are told apart by a
field the ICMP quote returns and flow hashing ignores: TCP sequence number (and IPv4 ID),
IPv4 ID for UDP (IPv6: the quoted payload), ICMP sequence number.

All TTLs x probes go out at once; the tracer then listens until every probe up to the
destination has answered or ``timeout`` seconds have passed, so one trace takes about
``timeout`` seconds at worst, never hops x timeout.
"""

from __future__ import annotations

import ipaddress
import os
import queue
import random
import select
import socket
import struct
import threading
import time
from typing import Any

from mistral_sov.adapters.probes import _wire
from mistral_sov.adapters.probes._book import ProbeBook, now_iso, validate
from mistral_sov.core.trace import TraceResult
from mistral_sov.errors import MissingBackendError

NAME = "scapy-raw"
_RCVBUF = 4 * 1024 * 1024
_MAGIC = b"MSV1"


def scapy_available() -> bool:
    try:
        import scapy  # noqa: F401
    except ImportError:
        return False
    return True


def _layers() -> Any:
    try:
        from scapy.layers import inet, inet6
    except ImportError as exc:  # pragma: no cover - exercised through tracers.select_tracer
        raise MissingBackendError(
            "the raw tracer needs scapy, which is not installed",
            hint="pip install 'mistral-sov[trace]'",
        ) from exc
    return inet, inet6


def _source_address(family: int, address: str, port: int) -> str:
    with socket.socket(socket.AF_INET if family == 4 else socket.AF_INET6, socket.SOCK_DGRAM) as s:
        s.connect((address, port))
        return str(s.getsockname()[0])


def _raw(family: int, proto: int) -> socket.socket:
    s = socket.socket(socket.AF_INET if family == 4 else socket.AF_INET6, socket.SOCK_RAW, proto)
    try:
        s.setsockopt(socket.SOL_SOCKET, 33, _RCVBUF)  # SO_RCVBUFFORCE (root)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF)
    s.setblocking(False)
    return s


class ScapyTracer:
    """``Tracer`` over raw sockets; probes built with scapy."""

    name = NAME

    def trace(
        self,
        address: str,
        *,
        method: str = "tcp",
        port: int = 443,
        probes: int = 3,
        max_hops: int = 30,
        timeout: float = 2.0,
    ) -> TraceResult:
        family = validate(address, method, port, probes, max_hops, timeout)
        address = str(ipaddress.ip_address(address))
        started, t0 = now_iso(), time.perf_counter()
        book = ProbeBook(probes, max_hops)
        notes: list[str] = []
        raw: dict[str, object] = {}
        try:
            src = _source_address(family, address, port)
        except OSError as exc:
            raw["error"] = f"no route to {address}: {exc.strerror or exc}"
            return book.result(target=address, method=method, port=port, tracer=NAME, started_at=started,
                               duration_s=time.perf_counter() - t0, notes=notes, raw=raw)  # fmt: skip
        try:
            self._run(
                book=book,
                family=family,
                src=src,
                dst=address,
                method=method,
                port=port,
                probes=probes,
                max_hops=max_hops,
                timeout=timeout,
                raw=raw,
            )
        except PermissionError as exc:
            raise MissingBackendError(
                "raw sockets are not permitted for this process",
                hint="run as root, or grant the capability: sudo setcap cap_net_raw+ep $(readlink -f $(which python3))",
            ) from exc
        return book.result(target=address, method=method, port=port, tracer=NAME, started_at=started,
                           duration_s=time.perf_counter() - t0, notes=notes, raw=raw)  # fmt: skip

    # ------------------------------------------------------------------------------------------
    def _run(
        self,
        *,
        book: ProbeBook,
        family: int,
        src: str,
        dst: str,
        method: str,
        port: int,
        probes: int,
        max_hops: int,
        timeout: float,
        raw: dict[str, object],
    ) -> None:
        af = socket.AF_INET if family == 4 else socket.AF_INET6
        rng = random.Random(os.urandom(8))
        token = rng.getrandbits(32)
        id_base = rng.getrandbits(16)
        seq_base = rng.getrandbits(32)
        icmp_seq_base = rng.randrange(0, 0xFFFF - 2048)
        if method == "tcp":
            l4 = _wire.PROTO_TCP
        elif method == "udp":
            l4 = _wire.PROTO_UDP
        else:
            l4 = _wire.PROTO_ICMP if family == 4 else _wire.PROTO_ICMP6
        icmp_proto = socket.IPPROTO_ICMP if family == 4 else socket.IPPROTO_ICMPV6
        receivers = [_Dispatcher.acquire(family, icmp_proto)]
        if method == "tcp":
            receivers.append(_Dispatcher.acquire(family, socket.IPPROTO_TCP))
        inbox: queue.SimpleQueue[tuple[float, object]] = queue.SimpleQueue()
        reserve: socket.socket | None = None
        sender: socket.socket | None = None
        key: tuple[int, str, int] | None = None
        try:
            if method in ("tcp", "udp"):
                # Reserve the flow's source port so concurrent traces never share one.
                reserve = socket.socket(af, socket.SOCK_STREAM if method == "tcp" else socket.SOCK_DGRAM)
                reserve.bind((src, 0))
                flow_id = int(reserve.getsockname()[1])
                key = (l4, dst, flow_id)
                _register(key, inbox)
            else:
                while True:  # an ICMP identifier no concurrent trace to this address uses
                    flow_id = rng.getrandbits(16)
                    key = (l4, dst, flow_id)
                    if _register(key, inbox):
                        break
            raw["source"] = src
            if method == "icmp":
                raw["flow"] = {"proto": l4, "icmp_id": flow_id}
            else:
                raw["flow"] = {"proto": l4, "sport": flow_id, "dport": port}
            template = _template(family, src, dst, method, port, flow_id, token, icmp_seq_base)
            if family == 4:
                sender = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
            else:
                sender = socket.socket(socket.AF_INET6, socket.SOCK_RAW, l4)
                if method in ("tcp", "udp"):  # the kernel fills the checksum at this offset
                    sender.setsockopt(socket.IPPROTO_IPV6, _IPV6_CHECKSUM, 16 if method == "tcp" else 6)
            send_errors: list[str] = []
            for index in range(probes):
                for ttl in range(1, max_hops + 1):
                    pid = book.pid(ttl, index)
                    frame = _patch(template, family, method, src, dst, ttl, pid, id_base, seq_base, icmp_seq_base)
                    if family == 6:
                        sender.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, ttl)
                    book.sent(ttl, index)
                    try:
                        sender.sendto(frame, (dst, 0))
                    except PermissionError:
                        raise
                    except OSError as exc:  # e.g. ENETUNREACH, ENOBUFS: that probe is lost
                        send_errors.append(f"ttl {ttl}: {exc.strerror or exc}")
                        raw["send_errors"] = send_errors

            def pid_from_quote(q: _wire.Quoted) -> int | None:
                if method == "tcp" and q.tcp_seq is not None:
                    return (q.tcp_seq - seq_base) & 0xFFFFFFFF
                if method == "icmp":
                    return None if q.icmp_seq is None else q.icmp_seq - icmp_seq_base
                if method == "tcp" and q.dport != port:
                    return None
                if family == 4 and q.ip_id is not None:
                    return (q.ip_id - id_base) & 0xFFFF
                return _payload_pid(q.payload, token)

            deadline = time.perf_counter() + timeout
            while not book.done():
                left = deadline - time.perf_counter()
                if left <= 0:
                    break
                try:
                    at, item = inbox.get(timeout=left)
                except queue.Empty:
                    break
                if isinstance(item, _wire.TcpSegment):
                    if item.sport == port and (item.is_synack or item.is_rst):
                        kind = "tcp-synack" if item.is_synack else "tcp-rst"
                        book.answer((item.ack - 1 - seq_base) & 0xFFFFFFFF, dst, kind, at=at, reached=True)
                    continue
                if not isinstance(item, _wire.IcmpMessage):
                    continue
                if item.is_echo_reply:
                    if method == "icmp" and item.echo_seq is not None:
                        book.answer(item.echo_seq - icmp_seq_base, dst, "echo-reply", at=at,
                                    icmp_type=item.icmp_type, icmp_code=item.icmp_code, reached=True)  # fmt: skip
                    continue
                if item.quoted is None or (method != "icmp" and item.quoted.dport != port):
                    continue
                qpid = pid_from_quote(item.quoted)
                if qpid is None:
                    continue
                reached = method == "udp" and item.is_port_unreachable and item.src == dst
                book.answer(qpid, item.src, _wire.kind_of(item), at=at, icmp_type=item.icmp_type,
                            icmp_code=item.icmp_code, reached=reached, terminal=item.is_unreachable)  # fmt: skip
        finally:
            if key is not None:
                _unregister(key, inbox)
            for r in receivers:
                r.release()
            if sender is not None:
                sender.close()
            if reserve is not None:
                reserve.close()


_IPV6_CHECKSUM = getattr(socket, "IPV6_CHECKSUM", 7)


def _template(  # noqa: PLR0917
    family: int, src: str, dst: str, method: str, port: int, flow_id: int, token: int, icmp_seq_base: int
) -> bytes:
    """One probe built by scapy (headers, lengths, checksums); ``_patch`` derives the others."""
    inet, inet6 = _layers()
    l4pkt: Any
    if method == "tcp":
        l4pkt = inet.TCP(sport=flow_id, dport=port, flags="S", seq=0, window=64240, options=[("MSS", 1460)])
    elif method == "udp":
        l4pkt = inet.UDP(sport=flow_id, dport=port) / (_MAGIC + struct.pack("!IH", token, 0))
    else:
        seq = icmp_seq_base
        payload = _wire.constant_checksum_pad(seq) + _MAGIC + struct.pack("!I", token)
        if family == 4:
            l4pkt = inet.ICMP(type=8, id=flow_id, seq=seq) / payload
        else:
            l4pkt = inet6.ICMPv6EchoRequest(id=flow_id, seq=seq) / payload
    if family == 4:
        return bytes(inet.IP(src=src, dst=dst, ttl=1, id=0) / l4pkt)
    return bytes(inet6.IPv6(src=src, dst=dst, hlim=1) / l4pkt)[40:]


def _patch(  # noqa: PLR0917
    template: bytes,
    family: int,
    method: str,
    src: str,
    dst: str,
    ttl: int,
    pid: int,
    id_base: int,
    seq_base: int,
    icmp_seq_base: int,
) -> bytes:
    """The probe for ``(ttl, pid)``: only TTL, IPv4 ID and the probe-id field change; the flow
    identifier (ports / ICMP id and checksum) stays that of the template (Paris)."""
    buf = bytearray(template)
    off = 0
    if family == 4:
        off = (buf[0] & 0x0F) * 4
        buf[8] = ttl
        struct.pack_into("!H", buf, 4, (id_base + pid) & 0xFFFF)
        struct.pack_into("!H", buf, 10, 0)  # header checksum: the kernel fills it (IP_HDRINCL)
    if method == "tcp":
        struct.pack_into("!I", buf, off + 4, (seq_base + pid) & 0xFFFFFFFF)
        struct.pack_into("!H", buf, off + 16, 0)
        if family == 4:  # IPv6: the kernel computes it (IPV6_CHECKSUM)
            seg = bytes(buf[off:])
            pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(seg))
            struct.pack_into("!H", buf, off + 16, _inet_checksum(pseudo + seg))
    elif method == "udp" and family == 6:
        struct.pack_into("!H", buf, 16, pid)  # payload: MAGIC(4) token(4) pid(2) after the 8-byte header
        struct.pack_into("!H", buf, 6, 0)
    elif method == "icmp":
        seq = icmp_seq_base + pid
        struct.pack_into("!H", buf, off + 6, seq)
        buf[off + 8 : off + 10] = _wire.constant_checksum_pad(seq)  # checksum unchanged
    return bytes(buf)


def _inet_checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)


# ---- one receiver per (family, protocol) per process, shared by concurrent traces ----------------
_routes: dict[tuple[int, str, int], queue.SimpleQueue[tuple[float, object]]] = {}
_routes_lock = threading.Lock()


def _register(key: tuple[int, str, int], inbox: queue.SimpleQueue[tuple[float, object]]) -> bool:
    with _routes_lock:
        if key in _routes:
            return False
        _routes[key] = inbox
        return True


def _unregister(key: tuple[int, str, int], inbox: queue.SimpleQueue[tuple[float, object]]) -> None:
    with _routes_lock:
        if _routes.get(key) is inbox:
            del _routes[key]


class _Dispatcher:
    """Reads one raw socket in a thread, parses each packet once and hands it to the trace whose
    flow it belongs to: (protocol, destination, source port or ICMP id)."""

    _all: dict[tuple[int, int], _Dispatcher] = {}  # noqa: RUF012
    _lock = threading.Lock()

    def __init__(self, family: int, proto: int) -> None:
        self.family, self.proto = family, proto
        self.sock = _raw(family, proto)
        self.users = 0
        self._stop_r, self._stop_w = socket.socketpair()
        self.thread = threading.Thread(target=self._loop, name=f"trace-rx-{family}-{proto}", daemon=True)
        self.thread.start()

    @classmethod
    def acquire(cls, family: int, proto: int) -> _Dispatcher:
        with cls._lock:
            d = cls._all.get((family, proto))
            if d is None:
                d = cls._all[(family, proto)] = _Dispatcher(family, proto)
            d.users += 1
            return d

    def release(self) -> None:
        with _Dispatcher._lock:
            self.users -= 1
            if self.users > 0:
                return
            del _Dispatcher._all[(self.family, self.proto)]
        self._stop_w.send(b"x")
        self.thread.join(timeout=5)
        for s in (self.sock, self._stop_r, self._stop_w):
            s.close()

    def _loop(self) -> None:
        while True:
            readable, _, _ = select.select([self.sock, self._stop_r], [], [])
            if self._stop_r in readable:
                return
            while True:
                try:
                    data, addr = self.sock.recvfrom(65535)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                at = time.perf_counter()
                routed = self._route(data, str(addr[0]).split("%")[0])
                if routed is None:
                    continue
                key, item = routed
                with _routes_lock:
                    inbox = _routes.get(key)
                if inbox is not None:
                    inbox.put((at, item))

    def _route(self, data: bytes, sender: str) -> tuple[tuple[int, str, int], object] | None:
        if self.proto == socket.IPPROTO_TCP:
            seg = _wire.parse_tcp4(data) if self.family == 4 else _wire.parse_tcp_header(sender, "", data)
            return None if seg is None else ((_wire.PROTO_TCP, seg.src, seg.dport), seg)
        msg = _wire.parse_icmp4(data) if self.family == 4 else _wire.parse_icmp6(data, sender)
        if msg is None:
            return None
        if msg.is_echo_reply and msg.echo_id is not None:
            return (_wire.PROTO_ICMP if self.family == 4 else _wire.PROTO_ICMP6, msg.src, msg.echo_id), msg
        q = msg.quoted
        if q is None:
            return None
        flow = q.icmp_id if q.proto in (_wire.PROTO_ICMP, _wire.PROTO_ICMP6) else q.sport
        return None if flow is None else ((q.proto, q.dst, flow), msg)


def _payload_pid(payload: bytes, token: int) -> int | None:
    if len(payload) < 10 or payload[:4] != _MAGIC:
        return None
    tok, pid = struct.unpack_from("!IH", payload, 4)
    return int(pid) if tok == token else None
