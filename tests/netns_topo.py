"""Real network-namespace topologies for tracing tests and benchmarks (Linux, root, iproute2).

Quick start::

    import netns_topo

    spec = netns_topo.TopoSpec(routers=3, servers=2, silent_routers={1})
    with netns_topo.build(spec) as topo:
        topo.router_addrs(4)      # ['198.51.100.1', '198.51.100.2', '198.51.100.3']
        topo.server_addrs(6)      # ['2001:db8:200::10', '2001:db8:200::11']
        topo.expected_hops(4)     # router addresses as a tracer should report them (None = silent)
        proc = topo.run_in_client(["mistral-sov", "verify-residency", "203.0.113.10"])
        proc = topo.python_in_client("import socket; print(socket.gethostname())", user="nobody")

The picture (one namespace per box; every name carries a random suffix, so concurrent runs
never collide)::

    client ── r1 ── r2 ── … ── rN ── server (all server addresses, one TCP listener on 443)

Addresses (the defaults come from documentation ranges and exist only inside the namespaces):

* client: ``192.0.2.1`` / ``2001:db8:c1::1``
* router *k* (1-based): ``198.51.100.k`` / ``2001:db8:100::k`` on the interface that faces the
  client, i.e. the address that sends its ICMP Time-Exceeded. Override with
  ``TopoSpec(routers=[RouterSpec("198.51.100.7", "2001:db8:7::1"), …])``.
* servers: ``203.0.113.(10+i)`` / ``2001:db8:200::(10+i)`` (``servers=N``), or explicit
  ``servers=[ServerSpec("203.0.113.50", "2001:db8:200::50", drop=True)]``.
* interfaces facing away from the client carry ``10.255.k.1`` / ``fd00:255:k::1`` (never seen
  in a trace).

Options (``TopoSpec`` fields):

* ``silent_routers``: 1-based router indexes that never send ICMP errors (a policy-routing
  rule ``ip rule add iif lo ipproto icmp blackhole`` in the router: it still forwards).
* ``drop_servers`` / ``ServerSpec(drop=True)``: 0-based server indexes whose address never
  answers anything (no SYN-ACK, no RST, no port-unreachable, no echo-reply).
* ``latency_ms``: added one-way delay per router (``{k: ms}`` or one float for every router)
  with ``tc qdisc … netem``. The kernel here may lack ``sch_netem``: ``build`` then raises
  ``LatencyUnsupported`` (a ``RuntimeError``) carrying the reason; call
  ``netem_available()`` first and ``pytest.skip`` with its reason.
* ``listener``: start a dual-stack TCP listener on port ``listen_port`` (443) in the server
  namespace, so TCP SYN probes get a SYN-ACK (otherwise the kernel's RST answers).
* ``unprivileged_ping``: sets ``net.ipv4.ping_group_range = 0 2147483647`` in the client
  namespace, so ICMP ``SOCK_DGRAM`` sockets work for every user.

ICMP rate limits are switched off in every namespace (``icmp_ratelimit``,
``icmp_msgs_per_sec``), so concurrent traces of many targets get every answer.

Running things in the client namespace: ``topo.run_in_client(argv, user=None, **kw)`` runs
``ip netns exec <client> argv`` (as ``user`` through ``setpriv`` when given, e.g.
``"nobody"``) and returns ``subprocess.CompletedProcess`` (text, captured, no check);
``topo.python_in_client(code, user=None)`` runs ``sys.executable -c code`` likewise;
``topo.popen_in(ns, argv)`` starts a background process (killed at teardown). Namespace names:
``topo.client_ns``, ``topo.router_ns`` (list), ``topo.server_ns``.

Cleanup: the context manager kills every process it started and deletes every namespace it
created, even when building fails half-way or the test raises; an ``atexit`` hook covers
interpreter exits.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

__all__ = [
    "LatencyUnsupported",
    "RouterSpec",
    "ServerSpec",
    "Topo",
    "TopoSpec",
    "available",
    "build",
    "netem_available",
]

CLIENT4 = "192.0.2.1"
CLIENT6 = "2001:db8:c1::1"

_LIVE: set[str] = set()


class LatencyUnsupported(RuntimeError):
    """``latency_ms`` was asked for but ``sch_netem`` is not available on this kernel."""


@dataclass(frozen=True)
class RouterSpec:
    address4: str
    address6: str


@dataclass(frozen=True)
class ServerSpec:
    address4: str
    address6: str
    drop: bool = False


@dataclass
class TopoSpec:
    routers: int | Sequence[RouterSpec] = 3
    servers: int | Sequence[ServerSpec] = 1
    silent_routers: set[int] = field(default_factory=set)
    drop_servers: set[int] = field(default_factory=set)
    latency_ms: float | dict[int, float] | None = None
    listener: bool = True
    listen_port: int = 443
    unprivileged_ping: bool = True
    ipv6: bool = True

    def router_specs(self) -> list[RouterSpec]:
        if isinstance(self.routers, int):
            return [RouterSpec(f"198.51.100.{k}", f"2001:db8:100::{k}") for k in range(1, self.routers + 1)]
        return list(self.routers)

    def server_specs(self) -> list[ServerSpec]:
        if isinstance(self.servers, int):
            specs = [ServerSpec(f"203.0.113.{10 + i}", f"2001:db8:200::{10 + i}") for i in range(self.servers)]
        else:
            specs = list(self.servers)
        return [ServerSpec(s.address4, s.address6, s.drop or i in self.drop_servers) for i, s in enumerate(specs)]


def _run(argv: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


def available() -> tuple[bool, str]:
    """Whether namespaces can be built here, and why not."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False, "needs root for network namespaces"
    if shutil.which("ip") is None:
        return False, "needs iproute2 (ip)"
    return True, ""


def netem_available() -> tuple[bool, str]:
    """Whether ``tc qdisc … netem`` works on this kernel (tested in a scratch namespace)."""
    ok, why = available()
    if not ok:
        return ok, why
    if shutil.which("tc") is None:
        return False, "needs tc (iproute2)"
    ns = f"msvnetem{uuid.uuid4().hex[:8]}"
    try:
        _run(["ip", "netns", "add", ns])
        _run(["ip", "-n", ns, "link", "add", "a", "type", "veth", "peer", "name", "b"])
        proc = _run(
            ["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "a", "root", "netem", "delay", "1ms"],
            check=False,
        )
        if proc.returncode != 0:
            return False, f"kernel lacks sch_netem (tc: {proc.stderr.strip() or proc.returncode})"
        return True, ""
    finally:
        _run(["ip", "netns", "del", ns], check=False)


class Topo:
    """A built topology; see the module docstring. Use ``build(spec)`` rather than this class."""

    def __init__(self, spec: TopoSpec) -> None:
        self.spec = spec
        self.tag = uuid.uuid4().hex[:8]
        self.routers = spec.router_specs()
        self.servers = spec.server_specs()
        self.client_ns = f"msv{self.tag}c"
        self.router_ns = [f"msv{self.tag}r{k}" for k in range(1, len(self.routers) + 1)]
        self.server_ns = f"msv{self.tag}s"
        self.namespaces: list[str] = []
        self._procs: list[subprocess.Popen[bytes]] = []

    # ---- queries -------------------------------------------------------------------------
    @property
    def client_addr4(self) -> str:
        return CLIENT4

    @property
    def client_addr6(self) -> str:
        return CLIENT6

    def router_addrs(self, family: int = 4) -> list[str]:
        return [r.address4 if family == 4 else r.address6 for r in self.routers]

    def server_addrs(self, family: int = 4, *, include_drop: bool = False) -> list[str]:
        return [s.address4 if family == 4 else s.address6 for s in self.servers if include_drop or not s.drop]

    def drop_addrs(self, family: int = 4) -> list[str]:
        return [s.address4 if family == 4 else s.address6 for s in self.servers if s.drop]

    def expected_hops(self, family: int = 4) -> list[str | None]:
        """Router addresses in path order, ``None`` for silent routers (TTL 1..N)."""
        return [
            None if k in self.spec.silent_routers else addr for k, addr in enumerate(self.router_addrs(family), start=1)
        ]

    # ---- running things ------------------------------------------------------------------
    def exec_argv(self, ns: str, argv: Sequence[str], *, user: str | None = None) -> list[str]:
        prefix = ["ip", "netns", "exec", ns]
        if user is not None:
            group = "nogroup" if user == "nobody" else user
            prefix += ["setpriv", f"--reuid={user}", f"--regid={group}", "--clear-groups", "--inh-caps=-all"]
        return prefix + list(argv)

    def run_in(
        self, ns: str, argv: Sequence[str], *, user: str | None = None, timeout: float = 120, **kw: object
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # type: ignore[call-overload, no-any-return]
            self.exec_argv(ns, argv, user=user),
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            **kw,
        )

    def run_in_client(
        self, argv: Sequence[str], *, user: str | None = None, timeout: float = 120, **kw: object
    ) -> subprocess.CompletedProcess[str]:
        return self.run_in(self.client_ns, argv, user=user, timeout=timeout, **kw)

    def python_in_client(
        self, code: str, *, user: str | None = None, timeout: float = 120, **kw: object
    ) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
        kw.setdefault("env", env)
        kw.setdefault("cwd", "/")
        return self.run_in_client([sys.executable, "-c", code], user=user, timeout=timeout, **kw)

    def popen_in(self, ns: str, argv: Sequence[str], **kw: object) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(self.exec_argv(ns, argv), start_new_session=True, **kw)  # type: ignore[call-overload]
        self._procs.append(proc)
        return proc  # type: ignore[no-any-return]

    # ---- building ------------------------------------------------------------------------
    def _ns(self, name: str) -> None:
        _run(["ip", "netns", "add", name])
        self.namespaces.append(name)
        _LIVE.add(name)
        sysctls = [
            "net.ipv4.ip_forward=1",
            "net.ipv4.conf.all.rp_filter=0",
            "net.ipv4.conf.default.rp_filter=0",
            "net.ipv4.icmp_ratelimit=0",
            "net.ipv4.icmp_msgs_per_sec=1000000",
            "net.ipv4.icmp_msgs_burst=1000000",
            "net.ipv4.icmp_echo_ignore_all=0",
            "net.ipv6.conf.all.disable_ipv6=0",
            "net.ipv6.conf.default.disable_ipv6=0",
            "net.ipv6.conf.all.forwarding=1",
            "net.ipv6.conf.default.accept_dad=0",
            "net.ipv6.icmp.ratelimit=0",
        ]
        _run(["ip", "netns", "exec", name, "sysctl", "-q", "-w", *sysctls])
        _run(["ip", "-n", name, "link", "set", "lo", "up"])

    def _link(self, left: str, lname: str, right: str, rname: str) -> None:
        _run(["ip", "-n", left, "link", "add", lname, "type", "veth", "peer", "name", rname, "netns", right])
        _run(["ip", "-n", left, "link", "set", "dev", lname, "up"])
        _run(["ip", "-n", right, "link", "set", "dev", rname, "up"])

    def _addr(self, ns: str, dev: str, addr: str) -> None:
        if ":" in addr:
            _run(["ip", "-n", ns, "-6", "addr", "add", f"{addr}/128", "dev", dev, "nodad"])
        else:
            _run(["ip", "-n", ns, "addr", "add", f"{addr}/32", "dev", dev])

    def _route(self, ns: str, dest: str, dev: str, via: str | None = None) -> None:
        fam = "-6" if ":" in (via or dest) else "-4"
        argv = ["ip", "-n", ns, fam, "route", "replace", dest]
        if via:
            argv += ["via", via]
        argv += ["dev", dev]
        if via:
            argv += ["onlink"]
        _run(argv)

    def build(self) -> Topo:
        spec = self.spec
        fams = (4, 6) if spec.ipv6 else (4,)
        delays: dict[int, float] = {}
        if spec.latency_ms is not None:
            if isinstance(spec.latency_ms, dict):
                delays = {int(k): float(v) for k, v in spec.latency_ms.items() if v}
            else:
                delays = {k: float(spec.latency_ms) for k in range(1, len(self.routers) + 1)}
            if delays:
                ok, why = netem_available()
                if not ok:
                    raise LatencyUnsupported(why)
        for ns in [self.client_ns, *self.router_ns, self.server_ns]:
            self._ns(ns)
        if spec.unprivileged_ping:
            _run(["ip", "netns", "exec", self.client_ns, "sysctl", "-q", "-w",
                  "net.ipv4.ping_group_range=0 2147483647"])  # fmt: skip
        # node i (0 = client, 1..N routers, N+1 server); link k joins node k-1 ("down") to node k ("toc").
        chain = [self.client_ns, *self.router_ns, self.server_ns]
        n = len(self.routers)
        # egress ("down") address of node k-1 on link k, ingress address of node k.
        down4 = [CLIENT4] + [f"10.255.{k}.1" for k in range(1, n + 1)]
        down6 = [CLIENT6] + [f"fd00:255:{k:x}::1" for k in range(1, n + 1)]
        server4 = self.servers[0].address4 if self.servers else "203.0.113.254"
        server6 = self.servers[0].address6 if self.servers else "2001:db8:200::fe"
        up4 = [r.address4 for r in self.routers] + [server4]
        up6 = [r.address6 for r in self.routers] + [server6]
        for k in range(1, n + 2):
            self._link(chain[k - 1], "tos", chain[k], "toc")
            self._addr(chain[k - 1], "tos", down4[k - 1])
            self._addr(chain[k], "toc", up4[k - 1])
            if spec.ipv6:
                self._addr(chain[k - 1], "tos", down6[k - 1])
                self._addr(chain[k], "toc", up6[k - 1])
        for s in self.servers[1:]:
            self._addr(self.server_ns, "toc", s.address4)
            if spec.ipv6:
                self._addr(self.server_ns, "toc", s.address6)
        for fam in fams:
            down = down4 if fam == 4 else down6
            up = up4 if fam == 4 else up6
            default = "default"
            # client: everything via r1 (or the server when there are no routers)
            self._route(self.client_ns, default, "tos", via=up[0])
            for k in range(1, n + 1):
                ns = chain[k]
                self._route(ns, default, "tos", via=up[k])  # towards the servers
                client = CLIENT4 if fam == 4 else CLIENT6
                self._route(ns, client, "toc", via=down[k - 1])  # back towards the client
            self._route(self.server_ns, default, "toc", via=down[n])
        for k in sorted(spec.silent_routers):
            ns = self.router_ns[k - 1]
            _run(["ip", "-n", ns, "-4", "rule", "add", "iif", "lo", "ipproto", "icmp", "blackhole"])
            if spec.ipv6:
                _run(["ip", "-n", ns, "-6", "rule", "add", "iif", "lo", "ipproto", "ipv6-icmp", "blackhole"])
        for s in self.servers:
            if s.drop:
                _run(["ip", "-n", self.server_ns, "-4", "rule", "add", "from", s.address4, "iif", "lo",
                      "blackhole"])  # fmt: skip
                if spec.ipv6:
                    _run(["ip", "-n", self.server_ns, "-6", "rule", "add", "from", s.address6, "iif", "lo",
                          "blackhole"])  # fmt: skip
        for k, ms in delays.items():
            _run(["ip", "netns", "exec", self.router_ns[k - 1], "tc", "qdisc", "add", "dev", "tos", "root",
                  "netem", "delay", f"{ms}ms"])  # fmt: skip
        if spec.listener:
            self._start_listener()
        return self

    def _start_listener(self) -> None:
        code = (
            "import socket,sys\n"
            "s=socket.socket(socket.AF_INET6,socket.SOCK_STREAM)\n"
            "s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
            "s.setsockopt(socket.IPPROTO_IPV6,socket.IPV6_V6ONLY,0)\n"
            f"s.bind(('::',{self.spec.listen_port}));s.listen(512)\n"
            "print('ready',flush=True)\n"
            "while True:\n"
            "    c,_=s.accept();c.close()\n"
        )
        proc = self.popen_in(self.server_ns, [sys.executable, "-c", code], stdout=subprocess.PIPE)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if b"ready" not in line:
            raise RuntimeError("TCP listener in the server namespace did not start")

    def close(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 3
        for proc in self._procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=3)
        self._procs.clear()
        for ns in reversed(self.namespaces):
            _delete_ns(ns)
        self.namespaces.clear()

    def __enter__(self) -> Topo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _delete_ns(ns: str) -> None:
    """Kill what is still running inside our namespace ``ns`` (started by our tests), then delete it."""
    pids = _run(["ip", "netns", "pids", ns], check=False).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    _run(["ip", "netns", "del", ns], check=False)
    _LIVE.discard(ns)


@atexit.register
def _cleanup_live() -> None:
    for ns in list(_LIVE):
        _delete_ns(ns)


@contextlib.contextmanager
def build(spec: TopoSpec | None = None) -> Iterator[Topo]:
    """Build the topology described by ``spec``; tear it all down on exit (even on failure)."""
    ok, why = available()
    if not ok:
        raise RuntimeError(why)
    topo = Topo(spec or TopoSpec())
    try:
        topo.build()
        yield topo
    finally:
        topo.close()
