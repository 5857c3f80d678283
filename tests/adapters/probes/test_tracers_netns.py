"""Real traces through Linux routers in network namespaces (root + iproute2).

Every trace runs in the client namespace of a ``netns_topo`` topology; the tests assert the
exact router addresses, in order, that the kernel routers answered from.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import netns_topo
import pytest

pytestmark = [pytest.mark.netns]

REPO = Path(__file__).resolve().parents[3]
scapy_missing = pytest.mark.skipif(
    subprocess.run([sys.executable, "-c", "import scapy"], capture_output=True).returncode != 0,
    reason="scapy (extra 'trace') not installed",
)

_CHILD = """
import dataclasses, json, sys
from mistral_sov.adapters.probes import tracers
args = json.loads(sys.argv[1])
if args["tracer"] == "raw":
    from mistral_sov.adapters.probes.tracer_scapy import ScapyTracer
    tracer = ScapyTracer()
elif args["tracer"] == "linux":
    from mistral_sov.adapters.probes.tracer_linux import LinuxTracer
    tracer = LinuxTracer()
else:
    tracer = tracers.select_tracer(args["method"], demanded=args.get("demanded", False))
res = tracers.trace_many(tracer, args["targets"], method=args["method"], port=args["port"],
                         probes=args.get("probes", 3), max_hops=args.get("max_hops", 8),
                         timeout=args.get("timeout", 2.0))
print(json.dumps([dataclasses.asdict(r) for r in res]))
"""


def trace_in(
    topo: netns_topo.Topo,
    targets: list[str],
    *,
    tracer: str,
    method: str,
    port: int,
    user: str | None = None,
    **kw: Any,
) -> list[dict[str, Any]]:
    args = {"tracer": tracer, "targets": targets, "method": method, "port": port, **kw}
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = topo.run_in_client(
        [sys.executable, "-c", _CHILD, json.dumps(args)], user=user, env=env, cwd="/", timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def hop_addrs(result: dict[str, Any]) -> list[str | None]:
    """One address per TTL (None when silent); asserts a hop never answers from two addresses."""
    out: list[str | None] = []
    for hop in result["hops"]:
        addrs = {r["address"] for r in hop["replies"]}
        assert len(addrs) <= 1, hop
        out.append(addrs.pop() if addrs else None)
    return out


@pytest.fixture(scope="module")
def topo() -> Iterator[netns_topo.Topo]:
    ok, why = netns_topo.available()
    if not ok:
        pytest.skip(why)
    spec = netns_topo.TopoSpec(routers=3, servers=20, drop_servers={19})
    with netns_topo.build(spec) as t:
        yield t


@pytest.fixture(scope="module")
def silent_topo() -> Iterator[netns_topo.Topo]:
    spec = netns_topo.TopoSpec(
        routers=[
            netns_topo.RouterSpec("198.51.100.77", "2001:db8:77::1"),
            netns_topo.RouterSpec("203.0.113.200", "2001:db8:78::1"),
            netns_topo.RouterSpec("192.0.2.99", "2001:db8:79::1"),
            netns_topo.RouterSpec("198.51.100.250", "2001:db8:7a::1"),
        ],
        servers=1,
        silent_routers={2, 3},
    )
    with netns_topo.build(spec) as t:
        yield t


RAW_CASES = [("tcp", 443, "tcp-synack"), ("udp", 33434, "port-unreachable"), ("icmp", 0, "echo-reply")]


@scapy_missing
@pytest.mark.parametrize("family", [4, 6])
@pytest.mark.parametrize(("method", "port", "final"), RAW_CASES)
def test_probes_raw_exact_path(topo: netns_topo.Topo, family: int, method: str, port: int, final: str) -> None:
    target = topo.server_addrs(family)[0]
    [res] = trace_in(topo, [target], tracer="raw", method=method, port=port or 1)
    assert res["tracer"] == "scapy-raw" and res["reached"] is True
    assert hop_addrs(res) == [*topo.router_addrs(family), target]
    for hop in res["hops"][:-1]:
        assert hop["sent"] == 3 and len(hop["replies"]) == 3
        assert all(r["kind"] == "time-exceeded" for r in hop["replies"])
        assert all(r["icmp_type"] == (11 if family == 4 else 3) and r["icmp_code"] == 0 for r in hop["replies"])
        assert all(r["rtt_ms"] >= 0 for r in hop["replies"])
    assert {r["kind"] for r in res["hops"][-1]["replies"]} == {final}
    assert res["duration_s"] < 2.0  # answered early: no waiting for the timeout


@pytest.mark.parametrize("family", [4, 6])
@pytest.mark.parametrize(("method", "final"), [("udp", "port-unreachable"), ("icmp", "echo-reply")])
def test_probes_unprivileged_exact_path(topo: netns_topo.Topo, family: int, method: str, final: str) -> None:
    target = topo.server_addrs(family)[1]
    [res] = trace_in(topo, [target], tracer="linux", method=method, port=33434, user="nobody")
    assert res["tracer"] == "linux-recverr" and res["reached"] is True
    assert hop_addrs(res) == [*topo.router_addrs(family), target]
    assert all(len(h["replies"]) == 3 for h in res["hops"])
    assert {r["kind"] for r in res["hops"][-1]["replies"]} == {final}
    assert any("ECMP" in n for n in res["fidelity_notes"])
    assert not res["raw"].get("send_errors")


def test_probes_unprivileged_select_falls_back_from_tcp(topo: netns_topo.Topo) -> None:
    target = topo.server_addrs(4)[2]
    [res] = trace_in(topo, [target], tracer="select", method="tcp", port=443, user="nobody")
    assert res["tracer"] == "linux-recverr" and res["method"] == "udp" and res["reached"]
    assert hop_addrs(res) == [*topo.router_addrs(4), target]
    assert "TCP SYN to port 443 was wanted" in res["fidelity_notes"][0]


def test_probes_unprivileged_tcp_demanded_exits_4(topo: netns_topo.Topo) -> None:
    code = (
        "from mistral_sov.adapters.probes import tracers\n"
        "try:\n    tracers.select_tracer('tcp', demanded=True)\n"
        "except Exception as e:\n    print(type(e).__name__, int(e.exit_status))\n"
    )
    proc = topo.run_in_client(
        [sys.executable, "-c", code], user="nobody", cwd="/", env=dict(os.environ, PYTHONPATH=str(REPO))
    )
    assert proc.stdout.split() == ["MissingBackendError", "4"], proc.stderr


@pytest.mark.parametrize("tracer", [pytest.param("raw", marks=scapy_missing), "linux"])
@pytest.mark.parametrize("family", [4, 6])
def test_probes_destination_dropping_every_probe(topo: netns_topo.Topo, tracer: str, family: int) -> None:
    [target] = topo.drop_addrs(family)
    method = "tcp" if tracer == "raw" else "udp"
    [res] = trace_in(
        topo,
        [target],
        tracer=tracer,
        method=method,
        port=443 if tracer == "raw" else 33434,
        timeout=1.0,
        user=None if tracer == "raw" else "nobody",
    )
    assert res["reached"] is False
    assert hop_addrs(res) == topo.router_addrs(family)  # nothing beyond the last router
    assert 0.9 <= res["duration_s"] < 3.0  # one timeout, not hops x timeout


@pytest.mark.parametrize("tracer", [pytest.param("raw", marks=scapy_missing), "linux"])
@pytest.mark.parametrize("family", [4, 6])
def test_probes_silent_hops(silent_topo: netns_topo.Topo, tracer: str, family: int) -> None:
    target = silent_topo.server_addrs(family)[0]
    method = "icmp"
    [res] = trace_in(
        silent_topo,
        [target],
        tracer=tracer,
        method=method,
        port=1,
        timeout=1.0,
        user=None if tracer == "raw" else "nobody",
    )
    assert res["reached"] is True
    assert hop_addrs(res) == [*silent_topo.expected_hops(family), target]
    assert hop_addrs(res)[1:3] == [None, None]
    assert all(h["sent"] == 3 for h in res["hops"])


@scapy_missing
def test_probes_twenty_targets_concurrently(topo: netns_topo.Topo) -> None:
    targets = topo.server_addrs(4)[:10] + topo.server_addrs(6)[:10]
    t0 = time.monotonic()
    results = trace_in(topo, targets, tracer="raw", method="tcp", port=443, timeout=2.0)
    elapsed = time.monotonic() - t0
    assert [r["target"] for r in results] == targets
    for r in results:
        fam = 6 if ":" in r["target"] else 4
        assert r["reached"], r
        assert hop_addrs(r) == [*topo.router_addrs(fam), r["target"]]
        assert all(len(h["replies"]) == 3 for h in r["hops"])
    # 20 sequential traces would each be separate; concurrency keeps the whole run near one trace
    # (loose bound, includes interpreter start-up and the scapy import: not a benchmark).
    assert elapsed < 20


_SNIFF = """
import json, sys, time
from scapy.all import AsyncSniffer, IP, IPv6, TCP, UDP, ICMP
from scapy.layers.inet6 import ICMPv6EchoRequest
dst = sys.argv[1]
def keep(p):
    return (IP in p and p[IP].dst == dst) or (IPv6 in p and p[IPv6].dst == dst)
s = AsyncSniffer(iface="toc", lfilter=keep, store=True)
s.start(); time.sleep(0.5)
print("ready", flush=True)
sys.stdin.readline()
time.sleep(0.3)
pkts = s.stop()
out = []
for p in pkts:
    ip = p[IP] if IP in p else p[IPv6]
    l4 = ip.payload
    row = {"ttl": ip.ttl if IP in p else ip.hlim, "proto": ip.proto if IP in p else ip.nh}
    if TCP in p or UDP in p:
        row.update(sport=l4.sport, dport=l4.dport)
    if ICMP in p:
        row.update(icmp_id=l4.id, chksum=l4.chksum, type=l4.type)
    if ICMPv6EchoRequest in p:
        row.update(icmp_id=p[ICMPv6EchoRequest].id, chksum=p[ICMPv6EchoRequest].cksum, type=128)
    if IP in p:
        row["ip_id"] = ip.id
    if TCP in p:
        row["seq"] = l4.seq
        row["flags"] = str(l4.flags)
    out.append(row)
print(json.dumps(out))
"""


@scapy_missing
@pytest.mark.parametrize(("method", "family"), [("tcp", 4), ("udp", 4), ("icmp", 4), ("tcp", 6), ("icmp", 6)])
def test_probes_paris_one_flow_across_ttls(topo: netns_topo.Topo, method: str, family: int) -> None:
    """Captured on router 1's client-facing interface: every probe has the same flow id."""
    target = topo.server_addrs(family)[3]
    sniffer = subprocess.Popen(
        topo.exec_argv(topo.router_ns[0], [sys.executable, "-c", _SNIFF, target]),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd="/",
    )
    try:
        assert sniffer.stdout is not None and sniffer.stdin is not None
        assert sniffer.stdout.readline().strip() == "ready"
        [res] = trace_in(topo, [target], tracer="raw", method=method, port=443 if method != "udp" else 33434)
        assert res["reached"]
        out, _ = sniffer.communicate("\n", timeout=30)
    finally:
        if sniffer.poll() is None:
            sniffer.kill()
            sniffer.wait()
    rows = [
        r for r in json.loads(out.splitlines()[-1]) if r.get("type", 8) in (8, 128) and r.get("flags", "S") == "S"
    ]  # probes, not the kernel's RSTs
    # every probe of every TTL reaches router 1 (3 per TTL, 8 TTLs)
    assert len(rows) == 3 * 8
    assert sorted({r["ttl"] for r in rows}) == list(range(1, 9))
    flow_keys = {
        "tcp": ("proto", "sport", "dport"),
        "udp": ("proto", "sport", "dport"),
        "icmp": ("proto", "icmp_id", "chksum"),
    }[method]
    flows = {tuple(r[k] for k in flow_keys) for r in rows}
    assert len(flows) == 1, flows
    # ... while the probe identifier differs for every probe
    ident = "seq" if method == "tcp" else ("ip_id" if family == 4 else None)
    if ident:
        assert len({r[ident] for r in rows}) == len(rows)
