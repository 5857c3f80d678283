"""Parsers for ICMP, TCP and sock_extended_err: exact decoding of real packets, and arbitrary
bytes never crash them (hypothesis)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mistral_sov.adapters.probes import _wire

scapy_inet = pytest.importorskip("scapy.layers.inet")
scapy_inet6 = pytest.importorskip("scapy.layers.inet6")
IP, TCP, UDP, ICMP = scapy_inet.IP, scapy_inet.TCP, scapy_inet.UDP, scapy_inet.ICMP
IPv6 = scapy_inet6.IPv6


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_probes_parsers_never_crash(data: bytes) -> None:
    _wire.parse_icmp4(data)
    _wire.parse_icmp6(data, "2001:db8::1")
    _wire.parse_icmp_body(4, "192.0.2.1", data)
    _wire.parse_tcp4(data)
    _wire.parse_tcp_header("192.0.2.1", "192.0.2.2", data)
    _wire.parse_quoted_ip4(data)
    _wire.parse_quoted_ip6(data)
    _wire.parse_extended_err(data, 4)
    _wire.parse_extended_err(data, 6)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=120))
def test_probes_icmp4_with_any_quote_never_crashes(itype: int, code: int, quote: bytes) -> None:
    pkt = bytes(IP(src="198.51.100.1", dst="192.0.2.1") / ICMP(type=itype, code=code) / quote)
    msg = _wire.parse_icmp4(pkt)
    assert msg is not None
    assert (msg.icmp_type, msg.icmp_code, msg.src) == (itype, code, "198.51.100.1")


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 0xFFFFFFFF),
    st.binary(max_size=40),
)
def test_probes_extended_err_roundtrip(eerrno, etype, ecode, info, data, addr, tail) -> None:  # type: ignore[no-untyped-def]
    blob = struct.pack("=IBBBBII", eerrno, 2, etype, ecode, 0, info, data)
    sin = struct.pack("=H", 2) + b"\x00\x00" + struct.pack("!I", addr) + b"\x00" * 8
    err = _wire.parse_extended_err(blob + sin + tail, 4)
    assert err is not None
    assert (err.errno, err.origin, err.icmp_type, err.icmp_code, err.info, err.data) == (
        eerrno,
        2,
        etype,
        ecode,
        info,
        data,
    )
    assert err.offender == ".".join(str(b) for b in struct.pack("!I", addr))


def test_probes_extended_err_ipv6_offender() -> None:
    blob = struct.pack("=IBBBBII", 113, 3, 3, 0, 0, 0, 0)
    sin6 = struct.pack("=HHI", 10, 0, 0) + bytes.fromhex("20010db8010000000000000000000001") + b"\0\0\0\0"
    err = _wire.parse_extended_err(blob + sin6, 6)
    assert err is not None and err.offender == "2001:db8:100::1" and err.origin == _wire.SO_EE_ORIGIN_ICMP6
    assert _wire.parse_extended_err(blob, 6).offender is None  # type: ignore[union-attr]


def test_probes_time_exceeded_quotes_tcp_probe() -> None:
    probe = IP(src="192.0.2.1", dst="203.0.113.10", ttl=1, id=4242) / TCP(sport=40000, dport=443, seq=123456, flags="S")
    reply = IP(src="198.51.100.1", dst="192.0.2.1") / ICMP(type=11, code=0) / bytes(probe)[:28]
    msg = _wire.parse_icmp4(bytes(reply))
    assert msg is not None and msg.is_time_exceeded and _wire.kind_of(msg) == "time-exceeded"
    q = msg.quoted
    assert q is not None
    assert (q.src, q.dst, q.proto, q.ip_id, q.sport, q.dport, q.tcp_seq) == (
        "192.0.2.1",
        "203.0.113.10",
        6,
        4242,
        40000,
        443,
        123456,
    )


def test_probes_port_unreachable_v6_quotes_udp_payload() -> None:
    probe = IPv6(src="2001:db8:c1::1", dst="2001:db8:200::10", hlim=4) / UDP(sport=5000, dport=33434) / b"MSV1payload"
    icmp6 = bytes([1, 4, 0, 0, 0, 0, 0, 0]) + bytes(probe)
    msg = _wire.parse_icmp6(icmp6, "2001:db8:200::10")
    assert msg is not None and msg.is_port_unreachable and _wire.kind_of(msg) == "port-unreachable"
    assert msg.quoted is not None and msg.quoted.payload == b"MSV1payload" and msg.quoted.dport == 33434


def test_probes_tcp_synack_parse() -> None:
    seg = _wire.parse_tcp4(
        bytes(IP(src="203.0.113.10", dst="192.0.2.1") / TCP(sport=443, dport=40000, seq=9, ack=77, flags="SA"))
    )
    assert seg is not None and seg.is_synack and not seg.is_rst and seg.ack == 77
    rst = _wire.parse_tcp4(bytes(IP(src="203.0.113.10", dst="192.0.2.1") / TCP(sport=443, dport=40000, flags="RA")))
    assert rst is not None and rst.is_rst


@given(st.lists(st.integers(0, 0xFFFF), min_size=2, max_size=20))
def test_probes_icmp_checksum_constant_across_sequences(seqs: list[int]) -> None:
    """The Paris property for ICMP: the compensating pad keeps the checksum fixed."""
    sums = set()
    for seq in seqs:
        pkt = ICMP(type=8, id=0x1234, seq=seq) / (_wire.constant_checksum_pad(seq) + b"MSV1abcd")
        sums.add(ICMP(bytes(pkt)).chksum)
    assert len(sums) == 1
