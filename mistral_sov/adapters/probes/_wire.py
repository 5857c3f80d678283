"""Pure parsers for what tracers read off the wire: IPv4/IPv6 ICMP messages (with the quoted
probe header), TCP segments and Linux ``sock_extended_err`` control messages.

Every parser takes arbitrary bytes and returns ``None`` for anything it cannot make sense
of: it never raises (hypothesis-tested). Standard library only, portable.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

PROTO_ICMP = 1
PROTO_TCP = 6
PROTO_UDP = 17
PROTO_ICMP6 = 58

# ICMP types
ICMP4_ECHO_REPLY = 0
ICMP4_UNREACH = 3
ICMP4_ECHO_REQUEST = 8
ICMP4_TIME_EXCEEDED = 11
ICMP6_UNREACH = 1
ICMP6_TIME_EXCEEDED = 3
ICMP6_ECHO_REQUEST = 128
ICMP6_ECHO_REPLY = 129

# sock_extended_err.ee_origin
SO_EE_ORIGIN_ICMP = 2
SO_EE_ORIGIN_ICMP6 = 3

_TCP_SYN = 0x02
_TCP_RST = 0x04
_TCP_ACK = 0x10


@dataclass(frozen=True)
class Quoted:
    """The start of our probe as quoted inside an ICMP error."""

    src: str
    dst: str
    proto: int
    ip_id: int | None  # IPv4 only
    hop_limit: int
    sport: int | None = None
    dport: int | None = None
    tcp_seq: int | None = None
    icmp_id: int | None = None
    icmp_seq: int | None = None
    payload: bytes = b""  # transport payload, as much as was quoted


@dataclass(frozen=True)
class IcmpMessage:
    family: int  # 4 or 6
    src: str  # who sent the ICMP message
    icmp_type: int
    icmp_code: int
    quoted: Quoted | None = None  # errors (time-exceeded, unreachable)
    echo_id: int | None = None  # echo replies
    echo_seq: int | None = None
    echo_payload: bytes = b""

    @property
    def is_time_exceeded(self) -> bool:
        return (self.family == 4 and self.icmp_type == ICMP4_TIME_EXCEEDED) or (
            self.family == 6 and self.icmp_type == ICMP6_TIME_EXCEEDED
        )

    @property
    def is_unreachable(self) -> bool:
        return (self.family == 4 and self.icmp_type == ICMP4_UNREACH) or (
            self.family == 6 and self.icmp_type == ICMP6_UNREACH
        )

    @property
    def is_port_unreachable(self) -> bool:
        return (self.family == 4 and self.icmp_type == ICMP4_UNREACH and self.icmp_code == 3) or (
            self.family == 6 and self.icmp_type == ICMP6_UNREACH and self.icmp_code == 4
        )

    @property
    def is_echo_reply(self) -> bool:
        return (self.family == 4 and self.icmp_type == ICMP4_ECHO_REPLY) or (
            self.family == 6 and self.icmp_type == ICMP6_ECHO_REPLY
        )


@dataclass(frozen=True)
class TcpSegment:
    src: str
    dst: str
    sport: int
    dport: int
    seq: int
    ack: int
    flags: int

    @property
    def is_synack(self) -> bool:
        return self.flags & (_TCP_SYN | _TCP_ACK) == (_TCP_SYN | _TCP_ACK)

    @property
    def is_rst(self) -> bool:
        return bool(self.flags & _TCP_RST)


@dataclass(frozen=True)
class ExtendedErr:
    """``struct sock_extended_err`` plus the offender address (``SO_EE_OFFENDER``)."""

    errno: int
    origin: int
    icmp_type: int
    icmp_code: int
    info: int
    data: int
    offender: str | None


def kind_of(msg: IcmpMessage) -> str:
    """The ``ProbeReply.kind`` for an ICMP message."""
    if msg.is_time_exceeded:
        return "time-exceeded"
    if msg.is_port_unreachable:
        return "port-unreachable"
    if msg.is_unreachable:
        return "unreachable"
    if msg.is_echo_reply:
        return "echo-reply"
    return f"icmp-{msg.icmp_type}"


def _ip4(b: bytes) -> str:
    return str(ipaddress.IPv4Address(b))


def _ip6(b: bytes) -> str:
    return str(ipaddress.IPv6Address(b))


def _transport(proto: int, data: bytes) -> dict[str, object]:
    out: dict[str, object] = {}
    if proto in (PROTO_TCP, PROTO_UDP) and len(data) >= 4:
        out["sport"], out["dport"] = struct.unpack_from("!HH", data, 0)
        if proto == PROTO_TCP and len(data) >= 8:
            out["tcp_seq"] = struct.unpack_from("!I", data, 4)[0]
        if proto == PROTO_UDP:
            out["payload"] = data[8:]
        elif len(data) >= 13:
            off = (data[12] >> 4) * 4
            if off >= 20:
                out["payload"] = data[off:]
    elif proto in (PROTO_ICMP, PROTO_ICMP6) and len(data) >= 8:
        out["icmp_id"], out["icmp_seq"] = struct.unpack_from("!HH", data, 4)
        out["payload"] = data[8:]
    return out


def parse_quoted_ip4(data: bytes) -> Quoted | None:
    """An IPv4 header plus whatever of the transport header follows it."""
    if len(data) < 20 or data[0] >> 4 != 4:
        return None
    ihl = (data[0] & 0x0F) * 4
    if ihl < 20 or len(data) < ihl:
        return None
    ip_id = struct.unpack_from("!H", data, 4)[0]
    ttl, proto = data[8], data[9]
    extra = _transport(proto, data[ihl:])
    return Quoted(src=_ip4(data[12:16]), dst=_ip4(data[16:20]), proto=proto, ip_id=ip_id, hop_limit=ttl,
                  **extra)  # type: ignore[arg-type]  # fmt: skip


def parse_quoted_ip6(data: bytes) -> Quoted | None:
    """An IPv6 header plus whatever of the transport header follows (no extension headers)."""
    if len(data) < 40 or data[0] >> 4 != 6:
        return None
    proto, hlim = data[6], data[7]
    extra = _transport(proto, data[40:])
    return Quoted(src=_ip6(data[8:24]), dst=_ip6(data[24:40]), proto=proto, ip_id=None, hop_limit=hlim,
                  **extra)  # type: ignore[arg-type]  # fmt: skip


def parse_icmp4(packet: bytes) -> IcmpMessage | None:
    """An IPv4 packet carrying ICMP, as read from a raw ``IPPROTO_ICMP`` socket."""
    try:
        if len(packet) < 20 or packet[0] >> 4 != 4:
            return None
        ihl = (packet[0] & 0x0F) * 4
        if ihl < 20 or packet[9] != PROTO_ICMP or len(packet) < ihl + 8:
            return None
        src = _ip4(packet[12:16])
        icmp = packet[ihl:]
        return parse_icmp_body(4, src, icmp)
    except (struct.error, ValueError, IndexError):
        return None


def parse_icmp_body(family: int, src: str, icmp: bytes) -> IcmpMessage | None:
    """An ICMP (family 4) or ICMPv6 (family 6) message starting at its type byte."""
    try:
        if len(icmp) < 8:
            return None
        itype, code = icmp[0], icmp[1]
        msg = IcmpMessage(family=family, src=src, icmp_type=itype, icmp_code=code)
        echo = ICMP4_ECHO_REPLY if family == 4 else ICMP6_ECHO_REPLY
        errors = (ICMP4_UNREACH, ICMP4_TIME_EXCEEDED) if family == 4 else (ICMP6_UNREACH, ICMP6_TIME_EXCEEDED)
        if itype == echo:
            ident, seq = struct.unpack_from("!HH", icmp, 4)
            return IcmpMessage(family, src, itype, code, None, ident, seq, icmp[8:])
        if itype in errors:
            quoted = parse_quoted_ip4(icmp[8:]) if family == 4 else parse_quoted_ip6(icmp[8:])
            return IcmpMessage(family, src, itype, code, quoted)
        return msg
    except (struct.error, ValueError, IndexError):
        return None


def parse_icmp6(message: bytes, src: str) -> IcmpMessage | None:
    """An ICMPv6 message as read from a raw ``IPPROTO_ICMPV6`` socket (no IPv6 header)."""
    return parse_icmp_body(6, src, message)


def parse_tcp_header(src: str, dst: str, seg: bytes) -> TcpSegment | None:
    if len(seg) < 20:
        return None
    sport, dport, seq, ack = struct.unpack_from("!HHII", seg, 0)
    return TcpSegment(src, dst, sport, dport, seq, ack, seg[13])


def parse_tcp4(packet: bytes) -> TcpSegment | None:
    """An IPv4 packet carrying TCP, as read from a raw ``IPPROTO_TCP`` socket."""
    try:
        if len(packet) < 20 or packet[0] >> 4 != 4 or packet[9] != PROTO_TCP:
            return None
        ihl = (packet[0] & 0x0F) * 4
        if ihl < 20:
            return None
        return parse_tcp_header(_ip4(packet[12:16]), _ip4(packet[16:20]), packet[ihl:])
    except (struct.error, ValueError, IndexError):
        return None


def parse_extended_err(data: bytes, offender_family: int) -> ExtendedErr | None:
    """``struct sock_extended_err`` (16 bytes) followed by the offender ``sockaddr_in``/``sockaddr_in6``.

    The offender is ``None`` when absent or malformed (e.g. ``SO_EE_ORIGIN_LOCAL`` errors).
    """
    try:
        if len(data) < 16:
            return None
        errno_, origin, etype, code, _pad, info, edata = struct.unpack_from("=IBBBBII", data, 0)
        offender: str | None = None
        rest = data[16:]
        if offender_family == 4 and len(rest) >= 8:
            fam = struct.unpack_from("=H", rest, 0)[0]
            if fam == 2:  # AF_INET
                offender = _ip4(rest[4:8])
        elif offender_family == 6 and len(rest) >= 24:
            fam = struct.unpack_from("=H", rest, 0)[0]
            if fam == 10:  # AF_INET6 (Linux)
                offender = _ip6(rest[8:24])
            elif fam == 2 and len(rest) >= 8:
                offender = _ip4(rest[4:8])
        return ExtendedErr(errno_, origin, etype, code, info, edata, offender)
    except (struct.error, ValueError, IndexError):
        return None


def constant_checksum_pad(seq: int) -> bytes:
    """Two payload bytes that keep an ICMP echo checksum constant whatever ``seq`` is (Paris):
    ``seq + ~seq`` is always 0xFFFF in one's-complement arithmetic."""
    return struct.pack("!H", (~seq) & 0xFFFF)
