"""The exported unbound and dnsmasq configurations, loaded by the real servers on loopback.

A tiny upstream resolver (dnspython, in a thread) answers every forwarded name with
127.0.0.2, so "not blocked" means "forwarded and answered", and nothing leaves the machine.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from mistral_sov.adapters.catalogfile import load_catalog
from mistral_sov.adapters.exporters.network import EXPORTER
from mistral_sov.adapters.policyfile import load_policy
from mistral_sov.ports import ExportOptions

DATA = Path(__file__).resolve().parents[2] / "data" / "policy-export.yaml"
UPSTREAM_ANSWER = "127.0.0.2"

BLOCKED = [
    "chatgpt.com",
    "www.chatgpt.com",
    "a.b.c.chatgpt.com",
    "claude.ai",
    "chat.example-ai.com",  # extra_domains
    "x.chat.example-ai.com",
    "other.example-ai.com",  # under the added parent block
    "use-application-dns.net",  # Firefox DoH canary
]
NOT_BLOCKED = [
    "api.mistral.ai",  # approved endpoint (catalog also lists it; the exception wins)
    "llm.klinikum-beispiel.de",  # approved private endpoint
    "ok.example-ai.com",  # exception under a blocked parent: the most specific rule wins
    "deep.ok.example-ai.com",
    "notchatgpt.com",  # look-alike
    "chatgpt.com.evil.example",  # suffix trick
]


def _policy(tmp_path: Path):
    text = DATA.read_text(encoding="utf-8")
    text = text.replace(
        "extra_domains: [chat.example-ai.com, assistant.example.net]",
        "extra_domains: [chat.example-ai.com, assistant.example.net, example-ai.com]",
    ).replace(
        "exceptions: [api.mistral.ai, llm.klinikum-beispiel.de]",
        "exceptions: [api.mistral.ai, llm.klinikum-beispiel.de, ok.example-ai.com]",
    )
    path = tmp_path / "sovereignty.yaml"
    path.write_text(text, encoding="utf-8")
    return load_policy(path, load_catalog()).policy


def _render(tmp_path: Path) -> dict[str, bytes]:
    arts = EXPORTER.render(_policy(tmp_path), load_catalog(), ExportOptions())
    return {a.path: a.data for a in arts}


def _free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def upstream() -> Iterator[int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    port = sock.getsockname()[1]
    stop = threading.Event()
    seen: list[str] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                wire, addr = sock.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            try:
                query = dns.message.from_wire(wire)
            except Exception:
                continue
            response = dns.message.make_response(query)
            question = query.question[0]
            seen.append(question.name.to_text())
            if question.rdtype == dns.rdatatype.A:
                response.answer.append(dns.rrset.from_text(question.name, 60, "IN", "A", UPSTREAM_ANSWER))
            sock.sendto(response.to_wire(), addr)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join(2)
        sock.close()


def _ask(port: int, name: str, timeout: float = 2.0) -> dns.message.Message:
    query = dns.message.make_query(name, "A")
    return dns.query.udp(query, "127.0.0.1", port=port, timeout=timeout)


def _wait_ready(proc: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}: {log.read_text(errors='replace')}")
        try:
            _ask(port, "ready.invalid-probe.example", timeout=0.5)
            return
        except Exception:
            time.sleep(0.1)
    pytest.fail(f"server did not answer on port {port}: {log.read_text(errors='replace')}")


@pytest.fixture
def server_proc() -> Iterator[list[subprocess.Popen]]:
    procs: list[subprocess.Popen] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def _assert_verdicts(port: int) -> None:
    for name in BLOCKED:
        answer = _ask(port, name)
        assert answer.rcode() == dns.rcode.NXDOMAIN, (name, dns.rcode.to_text(answer.rcode()))
    for name in NOT_BLOCKED:
        answer = _ask(port, name)
        assert answer.rcode() == dns.rcode.NOERROR, (name, dns.rcode.to_text(answer.rcode()))
        addresses = [rr.address for rrset in answer.answer for rr in rrset if rrset.rdtype == dns.rdatatype.A]
        assert addresses == [UPSTREAM_ANSWER], (name, answer.to_text())


@pytest.mark.skipif(shutil.which("unbound") is None, reason="needs unbound (apt-get install unbound)")
def test_export_unbound_live(tmp_path: Path, upstream: int, server_proc: list) -> None:
    files = _render(tmp_path)
    exported = tmp_path / "mistral-sov.conf"
    exported.write_bytes(files["network/unbound.conf"])
    port = _free_port()
    conf = tmp_path / "unbound-test.conf"
    conf.write_text(
        f"""server:
    interface: 127.0.0.1
    port: {port}
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "{tmp_path}"
    pidfile: "{tmp_path}/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 1
    num-threads: 1
    so-reuseport: no
    do-ip6: no
    do-not-query-localhost: no
    module-config: "iterator"
    access-control: 127.0.0.0/8 allow
include: "{exported}"
forward-zone:
    name: "."
    forward-addr: 127.0.0.1@{upstream}
""",
        encoding="utf-8",
    )
    check = subprocess.run(["unbound-checkconf", str(conf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    log = tmp_path / "unbound.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(["unbound", "-d", "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)
    server_proc.append(proc)
    _wait_ready(proc, port, log)
    _assert_verdicts(port)


@pytest.mark.skipif(shutil.which("dnsmasq") is None, reason="needs dnsmasq (apt-get install dnsmasq-base)")
def test_export_dnsmasq_live(tmp_path: Path, upstream: int, server_proc: list) -> None:
    files = _render(tmp_path)
    exported = tmp_path / "mistral-sov.conf"
    exported.write_bytes(files["network/dnsmasq.conf"])
    port = _free_port()
    conf = tmp_path / "dnsmasq-test.conf"
    conf.write_text(
        f"""port={port}
listen-address=127.0.0.1
bind-interfaces
no-resolv
no-hosts
no-negcache
cache-size=0
server=127.0.0.1#{upstream}
conf-file={exported}
""",
        encoding="utf-8",
    )
    check = subprocess.run(["dnsmasq", "--test", "-C", str(conf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    log = tmp_path / "dnsmasq.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["dnsmasq", "-k", "-C", str(conf), "--pid-file=", "--user=root", "--log-facility=-"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server_proc.append(proc)
    _wait_ready(proc, port, log)
    _assert_verdicts(port)
