"""Per-identity rate limit (sliding minute) and daily quota (UTC day).

``UsageStore`` keeps the counters in SQLite beside the audit log (``usage.sqlite3``): they
survive restarts, and several server processes (workers) sharing the file count together —
every admission is one ``BEGIN IMMEDIATE`` transaction (SQLite's write lock), WAL journal.
``Limiter`` is the in-memory variant (tests, benchmarks, no audit log configured).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from mistral_sov.adapters.inference.server.problems import HTTPProblem

USAGE_FILE = "usage.sqlite3"


class Admission(Protocol):
    def admit(self, ident: str) -> None: ...


def utc_day(now: float) -> str:
    return datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%d")


def _quota_problem(per_day: int, now: float) -> HTTPProblem:
    midnight = (int(now) // 86400 + 1) * 86400
    return HTTPProblem(
        429,
        f"daily quota of {per_day} requests exhausted for this key",
        "quota_exceeded",
        {"Retry-After": str(max(1, int(midnight - now)))},
    )


def _rate_problem(per_minute: int, oldest: float, now: float) -> HTTPProblem:
    return HTTPProblem(
        429,
        f"rate limit of {per_minute} requests per minute exceeded",
        "rate_limit_exceeded",
        {"Retry-After": str(max(1, int(oldest + 60 - now + 0.999)))},
    )


class Limiter:
    """Per-key sliding one-minute window and UTC-day counter (in memory, thread-safe)."""

    def __init__(self, per_minute: int, per_day: int, clock: Callable[[], float] = time.time) -> None:
        self.per_minute = per_minute
        self.per_day = per_day
        self.clock = clock
        self._minute: dict[str, deque[float]] = defaultdict(deque)
        self._day: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()

    def admit(self, ident: str) -> None:
        now = self.clock()
        day = utc_day(now)
        with self._lock:
            used_day, count = self._day.get(ident, (day, 0))
            if used_day != day:
                count = 0
            if count >= self.per_day:
                raise _quota_problem(self.per_day, now)
            window = self._minute[ident]
            while window and window[0] <= now - 60:
                window.popleft()
            if len(window) >= self.per_minute:
                raise _rate_problem(self.per_minute, window[0], now)
            window.append(now)
            self._day[ident] = (day, count + 1)


class UsageStore:
    """Quota and rate-limit counters in SQLite, shared by every process using the same file."""

    def __init__(
        self, path: Path, per_minute: int = 60, per_day: int = 1000, clock: Callable[[], float] = time.time
    ) -> None:
        self.path = Path(path)
        self.per_minute = per_minute
        self.per_day = per_day
        self.clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._tx() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS daily (identity TEXT NOT NULL, day TEXT NOT NULL, "
                "requests INTEGER NOT NULL, PRIMARY KEY (identity, day))"
            )
            db.execute("CREATE TABLE IF NOT EXISTS recent (identity TEXT NOT NULL, at REAL NOT NULL)")
            db.execute("CREATE INDEX IF NOT EXISTS recent_by_identity ON recent (identity, at)")

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        return db

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def admit(self, ident: str) -> None:
        now = self.clock()
        day = utc_day(now)
        with self._tx() as db:
            row = db.execute("SELECT requests FROM daily WHERE identity = ? AND day = ?", (ident, day)).fetchone()
            if row is not None and row[0] >= self.per_day:
                raise _quota_problem(self.per_day, now)
            db.execute("DELETE FROM recent WHERE identity = ? AND at <= ?", (ident, now - 60))
            count, oldest = db.execute("SELECT COUNT(*), MIN(at) FROM recent WHERE identity = ?", (ident,)).fetchone()
            if count >= self.per_minute:
                raise _rate_problem(self.per_minute, float(oldest), now)
            db.execute("INSERT INTO recent (identity, at) VALUES (?, ?)", (ident, now))
            db.execute(
                "INSERT INTO daily (identity, day, requests) VALUES (?, ?, 1) "
                "ON CONFLICT (identity, day) DO UPDATE SET requests = requests + 1",
                (ident, day),
            )

    def usage(self, day: str | None = None) -> list[dict[str, Any]]:
        day = day or utc_day(self.clock())
        rows = (
            self._db()
            .execute("SELECT identity, requests FROM daily WHERE day = ? ORDER BY identity", (day,))
            .fetchall()
        )
        return [
            {
                "identity": ident,
                "day": day,
                "requests": n,
                "daily_quota": self.per_day,
                "remaining": max(0, self.per_day - n),
            }
            for ident, n in rows
        ]

    def reset(self, identity: str | None = None, day: str | None = None) -> int:
        """Forget today's (or ``day``'s) count for one identity, or for all; returns rows removed."""
        day = day or utc_day(self.clock())
        with self._tx() as db:
            if identity is None:
                removed = db.execute("DELETE FROM daily WHERE day = ?", (day,)).rowcount
                db.execute("DELETE FROM recent")
            else:
                removed = db.execute("DELETE FROM daily WHERE identity = ? AND day = ?", (identity, day)).rowcount
                db.execute("DELETE FROM recent WHERE identity = ?", (identity,))
        return int(removed)

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
