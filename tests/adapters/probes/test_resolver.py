"""Resolver tests against a real local dnsmasq (no internet)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from mistral_sov.adapters.probes.resolver import (
    DnsResolver,
    is_private_link,
    match_front_doors,
    parse_target,
    resolve,
)
from mistral_sov.errors import InputError


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def dnsmasq() -> Iterator[int]:
    if shutil.which("dnsmasq") is None:
        pytest.skip("dnsmasq is not installed")
    port = _free_udp_port()
    argv = [
        "dnsmasq",
        "--no-daemon",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        "--listen-address=127.0.0.1",
        f"--port={port}",
        "--user=root" if hasattr(socket, "AF_UNIX") else "",
        "--local=/example.eu/",
        "--host-record=origin.example.eu,198.51.100.7,2001:db8::7",
        "--cname=api.example.eu,edge.example.eu.azurefd.net",
        "--cname=edge.example.eu.azurefd.net,origin.example.eu",
        "--cname=cdn.example.eu,d111.cloudfront.net",
        "--host-record=d111.cloudfront.net,203.0.113.44",
        "--host-record=priv.example.eu,10.1.2.3,fd12:3456::3",
        "--address=/only4.example.eu/203.0.113.9",
        "--txt-record=noaddr.example.eu,hello",
    ]
    proc = subprocess.Popen([a for a in argv if a], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(50):  # wait until it answers
            r = DnsResolver(nameserver="127.0.0.1", port=port, timeout=0.5).resolve("only4.example.eu")
            if r.ok:
                break
            if proc.poll() is not None:
                pytest.fail(f"dnsmasq exited: {proc.stderr.read().decode() if proc.stderr else ''}")
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def test_probes_cname_chain_front_door_and_both_families(dnsmasq: int) -> None:
    res = resolve("https://api.example.eu/v1/chat", nameserver="127.0.0.1", port=dnsmasq)
    assert res.status == "ok" and res.ok
    assert res.host == "api.example.eu"
    assert res.cname_chain == ["api.example.eu", "edge.example.eu.azurefd.net", "origin.example.eu"]
    assert res.a == ["198.51.100.7"]
    assert res.aaaa == ["2001:db8::7"]
    assert res.addresses == ["198.51.100.7", "2001:db8::7"]
    assert res.nameserver == f"127.0.0.1:{dnsmasq}"
    assert res.flags == ["front-door:azure-front-door"]
    assert res.front_doors[0].matched == "edge.example.eu.azurefd.net"
    assert "private-link" not in res.flags


def test_probes_anycast_cdn_flag(dnsmasq: int) -> None:
    res = resolve("cdn.example.eu", nameserver="127.0.0.1", port=dnsmasq)
    assert res.cname_chain == ["cdn.example.eu", "d111.cloudfront.net"]
    assert res.a == ["203.0.113.44"]
    assert res.flags == ["anycast-cdn:cloudfront"]


def test_probes_private_link(dnsmasq: int) -> None:
    res = resolve("priv.example.eu:8443", nameserver="127.0.0.1", port=dnsmasq)
    assert res.port == 8443
    assert res.addresses == ["10.1.2.3", "fd12:3456::3"]
    assert res.flags == ["private-link"]
    assert res.private_addresses == ["10.1.2.3", "fd12:3456::3"]


def test_probes_a_only(dnsmasq: int) -> None:
    res = resolve("only4.example.eu", nameserver="127.0.0.1", port=dnsmasq)
    assert res.status == "ok" and res.a == ["203.0.113.9"] and res.aaaa == []


def test_probes_nxdomain_is_a_result_not_an_exception(dnsmasq: int) -> None:
    res = resolve("missing.example.eu", nameserver="127.0.0.1", port=dnsmasq)
    assert res.status == "nxdomain"
    assert not res.ok and res.addresses == []
    assert "NXDOMAIN" in res.error


def test_probes_no_address_records(dnsmasq: int) -> None:
    res = resolve("noaddr.example.eu", nameserver="127.0.0.1", port=dnsmasq)
    assert res.status == "no-answer"
    assert not res.ok


def test_probes_timeout_on_dead_port() -> None:
    # A bound socket that never answers: every query times out.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        t0 = time.monotonic()
        res = resolve("api.example.eu", nameserver="127.0.0.1", port=port, timeout=0.6)
        elapsed = time.monotonic() - t0
    assert res.status == "timeout"
    assert not res.ok
    assert "0.6" in res.error
    assert elapsed < 5  # bounded by the lifetime, not hanging


def test_probes_a_and_aaaa_are_asked_in_parallel() -> None:
    # both queries time out after 1 s each: asked one after the other that is 2 s, in parallel ~1 s
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        t0 = time.monotonic()
        res = resolve("api.example.eu", nameserver="127.0.0.1", port=port, timeout=1.0)
        elapsed = time.monotonic() - t0
    assert res.status == "timeout"
    assert elapsed < 1.7, f"A and AAAA took {elapsed:.2f} s: not asked in parallel"


def test_probes_ip_literals_skip_dns() -> None:
    v4 = resolve("198.51.100.1", nameserver="127.0.0.1", port=1)
    assert v4.status == "ip-literal" and v4.a == ["198.51.100.1"] and v4.cname_chain == []
    v6 = resolve("https://[2001:db8::1]:8443/x", nameserver="127.0.0.1", port=1)
    assert v6.status == "ip-literal" and v6.aaaa == ["2001:db8::1"] and v6.port == 8443
    assert resolve("10.0.0.5").flags == ["private-link"]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("api.mistral.ai", ("api.mistral.ai", None)),
        ("API.Mistral.AI.", ("api.mistral.ai", None)),
        ("https://api.mistral.ai:8443/v1", ("api.mistral.ai", 8443)),
        ("api.mistral.ai:443", ("api.mistral.ai", 443)),
        ("[2001:db8::2]:443", ("2001:db8::2", 443)),
        ("2001:db8::2", ("2001:db8::2", None)),
        ("bücher.example", ("xn--bcher-kva.example", None)),
    ],
)
def test_probes_parse_target(target: str, expected: tuple[str, int | None]) -> None:
    assert parse_target(target) == expected


@pytest.mark.parametrize("bad", ["", "   ", "https://", "a..b", "host:99999", "bad host.eu", "x" * 64 + ".eu"])
def test_probes_parse_target_rejects_garbage(bad: str) -> None:
    with pytest.raises(InputError):
        parse_target(bad)


def test_probes_bad_nameserver_is_input_error() -> None:
    with pytest.raises(InputError):
        DnsResolver(nameserver="not-an-ip")


@pytest.mark.parametrize(
    ("name", "provider"),
    [
        ("x.azurefd.net", "azure-front-door"),
        ("a.trafficmanager.net", "azure-traffic-manager"),
        ("d1.cloudfront.net", "cloudfront"),
        ("www.example.com.cdn.cloudflare.net", "cloudflare"),
        ("dualstack.n.sni.global.fastly.net", "fastly"),
        ("x.fastlylb.net", "fastly"),
        ("e123.a.akamaiedge.net", "akamai"),
        ("a1.g.akamai.net", "akamai"),
        ("www.example.com.edgekey.net", "akamai"),
        ("www.example.com.edgesuite.net", "akamai"),
    ],
)
def test_probes_front_door_table(name: str, provider: str) -> None:
    assert [m.provider for m in match_front_doors([name])] == [provider]


def test_probes_front_door_suffix_is_label_wise() -> None:
    assert match_front_doors(["notcloudfront.net", "cloudflare.net", "evilazurefd.net.example"]) == []
    assert not is_private_link("198.51.100.1") and is_private_link("172.16.0.1")
