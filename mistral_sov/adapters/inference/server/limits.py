"""Per-identity rate limit (sliding minute) and daily quota (UTC day)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import datetime, timezone

from mistral_sov.adapters.inference.server.problems import HTTPProblem


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
        day = datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%d")
        with self._lock:
            used_day, count = self._day.get(ident, (day, 0))
            if used_day != day:
                count = 0
            if count >= self.per_day:
                midnight = (int(now) // 86400 + 1) * 86400
                raise HTTPProblem(
                    429,
                    f"daily quota of {self.per_day} requests exhausted for this key",
                    "quota_exceeded",
                    {"Retry-After": str(max(1, int(midnight - now)))},
                )
            window = self._minute[ident]
            while window and window[0] <= now - 60:
                window.popleft()
            if len(window) >= self.per_minute:
                retry = max(1, int(window[0] + 60 - now + 0.999))
                raise HTTPProblem(
                    429,
                    f"rate limit of {self.per_minute} requests per minute exceeded",
                    "rate_limit_exceeded",
                    {"Retry-After": str(retry)},
                )
            window.append(now)
            self._day[ident] = (day, count + 1)
