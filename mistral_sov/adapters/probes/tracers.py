"""Pick a tracer for this machine and trace many addresses at once.

``select_tracer(method, demanded=…)``: the raw tracer (``tracer_scapy``) when scapy is
importable and the process may open raw sockets (root or CAP_NET_RAW); otherwise the
unprivileged Linux tracer, which cannot send TCP SYN probes: a default ``tcp`` method falls
back to UDP with a fidelity note, an explicitly demanded ``--method tcp`` raises
``MissingBackendError`` (exit 4) saying what to install or grant.

``trace_many(tracer, addresses, …)`` traces every address concurrently (threads), calling
``on_progress(done, total, result)`` after each.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace

from mistral_sov.adapters.probes._book import now_iso
from mistral_sov.core.trace import TraceResult
from mistral_sov.errors import MissingBackendError, MistralSovError
from mistral_sov.ports import Tracer

INSTALL_HINT = "pip install 'mistral-sov[trace]'"
GRANT_HINT = (
    "run as root, or grant raw sockets to the interpreter: "
    "sudo setcap cap_net_raw+ep $(readlink -f $(command -v python3))"
)
UDP_FALLBACK_PORT = 33434
_CAP_NET_RAW = 13


def scapy_importable() -> bool:
    from mistral_sov.adapters.probes.tracer_scapy import scapy_available

    return scapy_available()


def has_raw_privilege() -> bool:
    """Root, or CAP_NET_RAW in the effective capability set (Linux)."""
    geteuid = getattr(os, "geteuid", None)
    if geteuid is not None and geteuid() == 0:
        return True
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/self/status", encoding="ascii") as fh:  # noqa: PTH123
                for line in fh:
                    if line.startswith("CapEff:"):
                        return bool(int(line.split()[1], 16) >> _CAP_NET_RAW & 1)
        except (OSError, ValueError, IndexError):
            return False
    return False


def raw_unavailable_reasons() -> list[str]:
    """Why the raw tracer cannot run here (empty when it can)."""
    reasons = []
    if not scapy_importable():
        reasons.append(f"scapy is not installed ({INSTALL_HINT})")
    if not has_raw_privilege():
        reasons.append(f"no raw-socket privilege ({GRANT_HINT})")
    return reasons


class UnprivilegedTracer:
    """The Linux datagram tracer, with method fallbacks and notes saying what they cost."""

    name = "linux-recverr"

    def __init__(self, requested: str) -> None:
        from mistral_sov.adapters.probes.tracer_linux import LinuxTracer, ping_sockets_allowed

        self._inner = LinuxTracer()
        self._ping = ping_sockets_allowed()
        self.requested = requested

    def trace(self, address: str, *, method: str, port: int, probes: int, max_hops: int, timeout: float) -> TraceResult:
        notes: list[str] = []
        use, use_port = method, port
        if method == "tcp":
            use, use_port = "udp", UDP_FALLBACK_PORT
            notes.append(
                f"TCP SYN to port {port} was wanted but raw sockets are unavailable "
                f"({'; '.join(raw_unavailable_reasons()) or 'unknown reason'}); traced with UDP to port "
                f"{UDP_FALLBACK_PORT} instead"
            )
        elif method == "icmp" and not self._ping:
            use, use_port = "udp", UDP_FALLBACK_PORT
            notes.append(
                "ICMP datagram sockets are not allowed for this user (net.ipv4.ping_group_range); "
                f"traced with UDP to port {UDP_FALLBACK_PORT} instead"
            )
        result = self._inner.trace(address, method=use, port=use_port, probes=probes, max_hops=max_hops,
                                   timeout=timeout)  # fmt: skip
        result.fidelity_notes[:0] = notes
        result.raw.setdefault("requested_method", method)
        result.raw.setdefault("requested_port", port)
        return result


def select_tracer(method: str, *, demanded: bool) -> Tracer:
    """The best tracer available for ``method``; see the module docstring."""
    reasons = raw_unavailable_reasons()
    if not reasons:
        from mistral_sov.adapters.probes.tracer_scapy import ScapyTracer

        return ScapyTracer()
    if not sys.platform.startswith("linux"):
        raise MissingBackendError(
            "tracing needs raw sockets on this system: " + "; ".join(reasons),
            hint=f"{INSTALL_HINT}, and run as administrator/root",
        )
    if demanded and method == "tcp":
        raise MissingBackendError(
            "--method tcp needs raw sockets (TCP SYN probes): " + "; ".join(reasons),
            hint=f"{INSTALL_HINT}; {GRANT_HINT}; or choose --method udp or icmp (unprivileged, lower fidelity)",
        )
    if demanded and method == "icmp":
        from mistral_sov.adapters.probes.tracer_linux import ping_sockets_allowed

        if not ping_sockets_allowed():
            raise MissingBackendError(
                "--method icmp without raw sockets needs ICMP datagram sockets, which this user may not open",
                hint="allow them: sudo sysctl -w net.ipv4.ping_group_range='0 2147483647'; "
                f"or {INSTALL_HINT} and {GRANT_HINT}; or use --method udp",
            )
    return UnprivilegedTracer(method)


ProgressCallback = Callable[[int, int, TraceResult], None]


def trace_many(
    tracer: Tracer,
    addresses: Sequence[str],
    *,
    method: str,
    port: int,
    probes: int = 3,
    max_hops: int = 30,
    timeout: float = 2.0,
    on_progress: ProgressCallback | None = None,
    max_workers: int = 64,
) -> list[TraceResult]:
    """Trace every address concurrently; results come back in the order of ``addresses``.

    Errors of ours (bad input, missing backend) propagate; any other failure of one trace
    becomes a result with ``raw['error']`` and ``reached=False`` (inconclusive, never a pass).
    """
    if not addresses:
        return []
    results: list[TraceResult | None] = [None] * len(addresses)
    lock = threading.Lock()
    done = 0

    def one(address: str) -> TraceResult:
        try:
            return tracer.trace(address, method=method, port=port, probes=probes, max_hops=max_hops,
                                timeout=timeout)  # fmt: skip
        except MistralSovError:
            raise
        except Exception as exc:  # one broken trace must not hide the others
            return TraceResult(target=address, method=method, port=port, tracer=getattr(tracer, "name", "?"),
                               started_at=now_iso(), raw={"error": f"{type(exc).__name__}: {exc}"})  # fmt: skip

    # daemon worker threads and a wait that wakes every 0.1 s: Ctrl-C stops the run at once
    # (KeyboardInterrupt reaches the caller; no thread holds up the interpreter's exit)
    workers = max(1, min(max_workers, len(addresses)))
    todo: queue.Queue[int] = queue.Queue()
    for i in range(len(addresses)):
        todo.put(i)
    finished: queue.Queue[tuple[int, TraceResult | BaseException]] = queue.Queue()

    def worker() -> None:
        while True:
            try:
                i = todo.get_nowait()
            except queue.Empty:
                return
            try:
                finished.put((i, one(addresses[i])))
            except BaseException as exc:
                finished.put((i, exc))

    for n in range(workers):
        threading.Thread(target=worker, name=f"trace-{n}", daemon=True).start()
    while done < len(addresses):
        try:
            i, outcome = finished.get(timeout=0.1)
        except queue.Empty:
            continue
        if isinstance(outcome, BaseException):
            raise outcome
        results[i] = outcome
        with lock:
            done += 1
            count = done
        if on_progress is not None:
            on_progress(count, len(addresses), outcome)
    return [r if r is not None else replace(TraceResult(addresses[i], method, port, "?")) for i, r in
            enumerate(results)]  # fmt: skip
