"""select_tracer / trace_many behaviour that needs no namespace."""

from __future__ import annotations

import sys

import pytest

from mistral_sov.adapters.probes import tracers
from mistral_sov.adapters.probes._book import ProbeBook
from mistral_sov.core.trace import TraceResult
from mistral_sov.errors import ExitStatus, InputError, MissingBackendError

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux tracer")


def _no_raw(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracers, "has_raw_privilege", lambda: False)


def test_probes_tcp_demanded_without_privilege_is_exit_4(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_raw(monkeypatch)
    with pytest.raises(MissingBackendError) as info:
        tracers.select_tracer("tcp", demanded=True)
    err = info.value
    assert err.exit_status == ExitStatus.MISSING_BACKEND
    assert "raw sockets" in err.message
    assert "setcap cap_net_raw+ep" in err.hint and "mistral-sov[trace]" in err.hint


def test_probes_tcp_demanded_without_scapy_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracers, "scapy_importable", lambda: False)
    monkeypatch.setattr(tracers, "has_raw_privilege", lambda: True)
    with pytest.raises(MissingBackendError) as info:
        tracers.select_tracer("tcp", demanded=True)
    assert "scapy is not installed" in info.value.message


@linux_only
def test_probes_default_tcp_falls_back_unprivileged(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_raw(monkeypatch)
    tracer = tracers.select_tracer("tcp", demanded=False)
    assert tracer.name == "linux-recverr"


@pytest.mark.skipif(not tracers.scapy_importable(), reason="scapy not installed")
def test_probes_raw_selected_with_privilege(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracers, "has_raw_privilege", lambda: True)
    assert tracers.select_tracer("tcp", demanded=True).name == "scapy-raw"


@linux_only
def test_probes_icmp_demanded_without_ping_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    from mistral_sov.adapters.probes import tracer_linux

    _no_raw(monkeypatch)
    monkeypatch.setattr(tracer_linux, "ping_sockets_allowed", lambda: False)
    with pytest.raises(MissingBackendError) as info:
        tracers.select_tracer("icmp", demanded=True)
    assert "ping_group_range" in info.value.hint


def test_probes_tracer_rejects_bad_arguments() -> None:
    from mistral_sov.adapters.probes.tracer_linux import LinuxTracer

    t = LinuxTracer()
    for kwargs in (
        {"method": "sctp"},
        {"port": 0},
        {"probes": 0},
        {"probes": 99},
        {"max_hops": 0},
        {"timeout": 0},
    ):
        args = {"method": "udp", "port": 33434, "probes": 1, "max_hops": 3, "timeout": 1.0, **kwargs}
        with pytest.raises(InputError):
            t.trace("192.0.2.1", **args)  # type: ignore[arg-type]
    with pytest.raises(InputError):
        t.trace("api.example.eu", method="udp", port=1, probes=1, max_hops=1, timeout=1)


def test_probes_book_ignores_hops_beyond_destination() -> None:
    book = ProbeBook(probes=2, max_hops=6)
    for ttl in range(1, 7):
        for i in range(2):
            book.sent(ttl, i, at=0.0)
    assert book.answer(book.pid(1, 0), "198.51.100.1", "time-exceeded", at=0.001)
    assert not book.answer(book.pid(1, 0), "198.51.100.9", "time-exceeded", at=0.002)  # duplicate
    assert not book.answer(9999, "x", "time-exceeded")  # unknown probe
    book.answer(book.pid(1, 1), "198.51.100.1", "time-exceeded", at=0.002)
    for ttl in (3, 4, 5):  # the destination answers every TTL >= 3
        book.answer(book.pid(ttl, 0), "203.0.113.10", "tcp-synack", at=0.003, reached=True)
    assert not book.done()  # TTL 2 and the second probe of TTL 3 are outstanding
    book.answer(book.pid(3, 1), "203.0.113.10", "tcp-synack", at=0.003, reached=True)
    book.answer(book.pid(2, 0), "198.51.100.2", "time-exceeded", at=0.003)
    book.answer(book.pid(2, 1), "198.51.100.2", "time-exceeded", at=0.003)
    assert book.done()
    hops = book.hops()
    assert [h.ttl for h in hops] == [1, 2, 3]
    assert hops[0].replies[0].rtt_ms == pytest.approx(1.0)
    assert hops[2].addresses == ["203.0.113.10"]


class _Recorder:
    """A tracer double: records calls and returns a TraceResult per address."""

    name = "recorder"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []

    def trace(self, address: str, *, method: str, port: int, probes: int, max_hops: int, timeout: float) -> TraceResult:
        self.calls.append((address, method, port))
        if address == "203.0.113.99":
            raise OSError("boom")
        return TraceResult(target=address, method=method, port=port, tracer=self.name, reached=True)


def test_probes_trace_many_order_progress_and_errors() -> None:
    rec = _Recorder()
    seen: list[tuple[int, int, str]] = []
    addrs = [f"203.0.113.{i}" for i in range(10, 30)] + ["203.0.113.99"]
    out = tracers.trace_many(
        rec, addrs, method="tcp", port=443, on_progress=lambda d, t, r: seen.append((d, t, r.target))
    )
    assert [r.target for r in out] == addrs
    assert sorted(d for d, _, _ in seen) == list(range(1, len(addrs) + 1))
    assert {t for _, t, _ in seen} == {len(addrs)}
    broken = out[-1]
    assert not broken.reached and "boom" in broken.raw["error"]
    assert tracers.trace_many(rec, [], method="tcp", port=443) == []
