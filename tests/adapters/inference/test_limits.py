"""Persistent quotas: counters in SQLite survive a restart, are shared by several server
processes (exactly the quota is admitted, never more), are per key and per UTC day."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mistral_sov.adapters.inference.server.limits import UsageStore
from mistral_sov.adapters.inference.server.problems import HTTPProblem

DAY = 1_796_000_000.0  # a fixed instant; + 86400 is the next UTC day


def test_quota_survives_restart_and_is_per_key_and_per_day(tmp_path: Path) -> None:
    now = [DAY]
    db = tmp_path / "usage.sqlite3"
    first = UsageStore(db, per_minute=100, per_day=3, clock=lambda: now[0])
    for _ in range(2):
        first.admit("key-a")
    first.close()
    second = UsageStore(db, per_minute=100, per_day=3, clock=lambda: now[0])  # the server restarted
    second.admit("key-a")
    with pytest.raises(HTTPProblem) as info:
        second.admit("key-a")
    assert info.value.status == 429 and info.value.kind == "quota_exceeded"
    assert 0 < int(info.value.headers["Retry-After"]) <= 86400
    second.admit("key-b")  # another key has its own quota
    assert [(u["identity"], u["requests"], u["remaining"]) for u in second.usage()] == [
        ("key-a", 3, 0),
        ("key-b", 1, 2),
    ]
    now[0] += 86400  # next UTC day: a fresh quota
    second.admit("key-a")
    assert second.reset("key-a") == 1 and second.usage() == []


def test_rate_limit_sliding_minute(tmp_path: Path) -> None:
    now = [DAY]
    store = UsageStore(tmp_path / "u.sqlite3", per_minute=2, per_day=100, clock=lambda: now[0])
    store.admit("k")
    now[0] += 30
    store.admit("k")
    with pytest.raises(HTTPProblem) as info:
        store.admit("k")
    assert info.value.kind == "rate_limit_exceeded" and info.value.headers["Retry-After"] == "30"
    now[0] += 31  # the first request left the window
    store.admit("k")


WORKER = """
import sys
from mistral_sov.adapters.inference.server.limits import UsageStore
from mistral_sov.adapters.inference.server.problems import HTTPProblem
store = UsageStore(sys.argv[1], per_minute=10**6, per_day=120)
ok = 0
for _ in range(50):
    try:
        store.admit("shared-key")
        ok += 1
    except HTTPProblem:
        pass
print(ok)
"""


def test_several_processes_share_the_quota_exactly(tmp_path: Path) -> None:
    db = tmp_path / "usage.sqlite3"
    UsageStore(db).close()
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(db)], stdout=subprocess.PIPE, text=True) for _ in range(4)
    ]
    admitted = sum(int(p.communicate(timeout=120)[0]) for p in procs)
    assert admitted == 120, "4 workers x 50 attempts against a quota of 120"
    assert UsageStore(db, per_day=120).usage()[0]["requests"] == 120
