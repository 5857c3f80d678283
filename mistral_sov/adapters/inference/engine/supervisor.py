"""Supervise the engine child: start it, prove it with a multi-token smoke generation, fall back
to repacking off when it crashes, restart it with backoff when it dies while serving, and give
up with a diagnosis (exit 4) when it cannot start.

States: ``starting`` → ``ready`` ⇄ ``restarting`` → ``failed`` | ``stopped``.

One long-lived monitor thread spawns every child (``PR_SET_PDEATHSIG`` is tied to the thread
that forked) and waits on it. Every lifecycle event goes to ``on_event`` (the audit log).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, Any

from mistral_sov.adapters.inference.backends import free_loopback_port
from mistral_sov.adapters.inference.engine import procs
from mistral_sov.adapters.inference.engine.launchers import SAFE_MODE_TEXT, Launcher
from mistral_sov.errors import MissingBackendError

# A prompt of many tokens: the repacked-kernel crash needs a batch of more than one token.
SMOKE_PROMPT = "Residency check. The capital of France is Paris. The capital of Germany is"
SMOKE_TOKENS = 4
RESTART_FIX_HINT = (
    "the engine crashes on this CPU even with repacking off: check `mistral-sov local doctor`, try "
    "`--backend llama-server`, or rebuild llama.cpp with -DGGML_NATIVE=OFF (docs/local.md)"
)


class EngineStartError(MissingBackendError):
    """The engine cannot start on this machine (exit 4) — with the diagnosis and the fix."""


class EngineUnavailable(Exception):
    """No engine to answer right now (restarting, failed or stopped)."""

    def __init__(self, state: str, retry_after: int, detail: str = "") -> None:
        super().__init__(f"the inference engine is {state}" + (f": {detail}" if detail else ""))
        self.state = state
        self.retry_after = retry_after


@dataclass
class Endpoint:
    base: str
    key: str
    generation: int


@dataclass
class _Outcome:
    ok: bool
    crashed: bool = False
    reason: str = ""
    signal: str = ""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class EngineSupervisor:
    def __init__(
        self,
        launcher: Launcher,
        *,
        start_timeout: float = 180.0,
        smoke: bool = True,
        safe: bool = False,
        max_start_failures: int = 3,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        on_fatal: Callable[[str], None] | None = None,
    ) -> None:
        self.launcher = launcher
        self.name = launcher.name
        self.slots = launcher.slots
        self.start_timeout = start_timeout
        self.smoke = smoke
        self.safe = safe
        self.safe_reason = "requested" if safe else ""
        self.max_start_failures = max_start_failures
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.on_event = on_event
        self.on_fatal = on_fatal
        self.state = "starting"
        self.generation = 0
        self.restarts = 0
        self.crashes: Counter[str] = Counter()
        self.last_crash: dict[str, Any] | None = None
        self.fatal = ""
        self.ready_since = 0.0
        self.last_restart_seconds: float | None = None
        self._proc: Any = None
        self._log: IO[bytes] | None = None
        self._endpoint: Endpoint | None = None
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._changed = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._first: _Outcome | None = None

    # -- public ---------------------------------------------------------------------------
    def start(self) -> EngineSupervisor:
        """Start the monitor thread and block until the first engine is ready (or raise)."""
        self._thread = threading.Thread(target=self._monitor, name="mistral-sov-engine", daemon=True)
        self._thread.start()
        with self._changed:
            while self._first is None:
                self._changed.wait(0.5)
        if not self._first.ok:
            self.close()
            raise EngineStartError(self._first.reason, hint=RESTART_FIX_HINT if self._first.crashed else "")
        return self

    def endpoint(self) -> Endpoint:
        with self._lock:
            if self.state == "ready" and self._endpoint is not None:
                return self._endpoint
            state, fatal = self.state, self.fatal
        raise EngineUnavailable(state, 0 if state in ("failed", "stopped") else 2, fatal)

    def pid(self) -> int | None:
        proc = self._proc
        return int(proc.pid) if proc is not None and proc.poll() is None else None

    def death_of(self, generation: int, timeout: float = 2.0) -> str | None:
        """The signal/exit that ended engine ``generation``, waiting up to ``timeout`` for it to
        be reaped; ``None`` if it is still alive (the failure was something else)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if self.generation != generation or self.state in ("restarting", "failed"):
                    crash = self.last_crash
                    return str(crash["signal"]) if crash and crash.get("generation") == generation else "exited"
                proc = self._proc
            if proc is not None and proc.poll() is not None:
                return procs.signal_name(proc.returncode)
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.02)

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "state": self.state,
                "backend": self.name,
                "pid": self.pid(),
                "slots": self.slots,
                "generation": self.generation,
                "restarts": self.restarts,
                "crashes": dict(self.crashes),
                "last_crash": dict(self.last_crash) if self.last_crash else None,
                "safe_mode": self.safe,
                "safe_mode_reason": self.safe_reason,
                "last_restart_seconds": self.last_restart_seconds,
                "fatal": self.fatal or None,
            }

    def log_tail(self, limit: int = 1200) -> str:
        log = self._log
        if log is None:
            return ""
        try:
            log.seek(0, os.SEEK_END)
            size = log.tell()
            log.seek(max(0, size - limit))
            return bytes(log.read()).decode(errors="replace").strip()
        except (OSError, ValueError):
            return ""

    def close(self) -> None:
        self._closing.set()
        proc = self._proc
        if proc is not None:
            procs.stop(proc)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(15)
        with self._lock:
            if self.state != "failed":
                self.state = "stopped"
            self._endpoint = None
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.close()

    # -- monitor thread --------------------------------------------------------------------
    def _emit(self, event: str, **fields: Any) -> None:
        if self.on_event is not None:
            with contextlib.suppress(Exception):
                self.on_event({"time": _now(), "event": event, "backend": self.name, **fields})

    def _monitor(self) -> None:
        failures = 0
        delay = self.backoff_initial
        first = True
        down_since = time.monotonic()
        while not self._closing.is_set():
            outcome = self._launch()
            if self._closing.is_set():
                break
            if outcome.ok:
                failures = 0
                self.last_restart_seconds = None if first else round(time.monotonic() - down_since, 3)
                if not first:
                    self._emit("engine_restarted", seconds=self.last_restart_seconds, safe_mode=self.safe)
                if first:
                    with self._changed:
                        self._first = outcome
                        self._changed.notify_all()
                    first = False
                proc = self._proc
                proc.wait()
                if self._closing.is_set():
                    break
                down_since = time.monotonic()
                sig = procs.signal_name(proc.returncode)
                with self._lock:
                    self.state = "restarting"
                    self._endpoint = None
                    self.crashes[sig] += 1
                    self.last_crash = {"time": _now(), "signal": sig, "generation": self.generation, "pid": proc.pid}
                    up = time.monotonic() - self.ready_since
                fallback = procs.faulted(proc.returncode) and not self.safe
                if fallback:
                    self.safe = True
                    self.safe_reason = f"engine crashed with {sig} while serving"
                self._emit(
                    "engine_crash",
                    signal=sig,
                    pid=proc.pid,
                    generation=self.generation,
                    uptime_s=round(up, 1),
                    safe_mode=self.safe,
                    detail=(f"restarting with {SAFE_MODE_TEXT}" if fallback else "restarting"),
                )
                if up > 60:
                    delay = self.backoff_initial
                if self._closing.wait(delay):
                    break
                delay = min(delay * 2, self.backoff_max)
                with self._lock:
                    self.restarts += 1
                continue
            failures += 1
            if first or failures >= self.max_start_failures:
                reason = outcome.reason
                if not first:
                    reason = f"the engine failed to start {failures} times in a row; last: {outcome.reason}"
                with self._changed:
                    self.state = "failed"
                    self.fatal = reason
                    self._first = self._first or outcome
                    self._changed.notify_all()
                self._emit("engine_failed", reason=reason)
                if not first and self.on_fatal is not None:
                    self.on_fatal(reason)
                return
            self._emit("engine_start_failed", reason=outcome.reason, attempt=failures)
            if self._closing.wait(delay):
                break
            delay = min(delay * 2, self.backoff_max)

    def _launch(self) -> _Outcome:
        """Start one child; on a crash in normal mode, retry once with repacking off."""
        outcome = self._launch_once(self.safe)
        if outcome.crashed and not self.safe and not self._closing.is_set():
            self.safe = True
            self.safe_reason = (
                f"the engine crashed with {outcome.signal} during its start-up smoke generation with CPU weight "
                "repacking on (a known llama.cpp fault on some AVX-512/AMX CPUs)"
            )
            self._emit("engine_fallback", signal=outcome.signal, detail=f"retrying with {SAFE_MODE_TEXT}")
            outcome = self._launch_once(True)
            if outcome.crashed:
                outcome.reason += f" — also with {SAFE_MODE_TEXT}"
        return outcome

    def _launch_once(self, safe: bool) -> _Outcome:
        import httpx

        port = free_loopback_port()
        key = secrets.token_urlsafe(32)
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.close()
        self._log = tempfile.TemporaryFile()
        argv = self.launcher.command(port, safe)
        try:
            proc = procs.spawn(
                argv, env=self.launcher.environment(key), output=self._log, pass_fds=self.launcher.pass_fds()
            )
        except OSError as exc:
            return _Outcome(False, reason=f"cannot start the engine ({argv[0]}): {exc.strerror or exc}")
        with self._lock:
            self._proc = proc
            self.generation += 1
            if self.state != "starting":
                self.state = "restarting"
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {key}"}
        deadline = time.monotonic() + self.start_timeout

        def died() -> _Outcome | None:
            if proc.poll() is None:
                return None
            sig = procs.signal_name(proc.returncode)
            stage = "while loading the model" if not ready else "during the start-up smoke generation"
            tail = self.log_tail(600)
            return _Outcome(
                False,
                crashed=procs.faulted(proc.returncode),
                signal=sig,
                reason=f"the {self.name} engine died with {sig} {stage}"
                + (f"; its last output: {tail}" if tail else ""),
            )

        ready = False
        with httpx.Client(base_url=base, timeout=httpx.Timeout(60.0, connect=2.0), trust_env=False) as client:
            while not ready:
                if self._closing.is_set():
                    return _Outcome(False, reason="stopped")
                dead = died()
                if dead is not None:
                    return dead
                with contextlib.suppress(httpx.HTTPError):
                    ready = client.get("/health", headers=headers).status_code == 200
                if not ready:
                    if time.monotonic() > deadline:
                        procs.stop(proc)
                        return _Outcome(
                            False, reason=f"the {self.name} engine was not ready in {self.start_timeout:.0f} s"
                        )
                    time.sleep(0.05)
            if self.smoke:
                try:
                    reply = client.post(
                        "/v1/completions",
                        headers=headers,
                        json={"prompt": SMOKE_PROMPT, "max_tokens": SMOKE_TOKENS, "temperature": 0.0},
                    )
                    good = reply.status_code == 200 and bool(reply.json().get("choices"))
                except (httpx.HTTPError, ValueError):
                    good = False
                    time.sleep(0.2)
                    dead = died()
                    if dead is None and proc.poll() is None:
                        with contextlib.suppress(Exception):
                            proc.wait(2)
                    dead = died()
                    if dead is not None:
                        return dead
                if not good:
                    procs.stop(proc)
                    return _Outcome(False, reason=f"the {self.name} engine failed its start-up smoke generation")
        with self._lock:
            self._endpoint = Endpoint(base, key, self.generation)
            self.state = "ready"
            self.ready_since = time.monotonic()
        self._emit("engine_ready", pid=proc.pid, generation=self.generation, safe_mode=safe, port=port)
        return _Outcome(True)
