"""Gate run history in SQLite (stdlib): each run's verdict per check/endpoint and a route
fingerprint (hash of the hop address sequence), so ``gate history`` can show when an
endpoint's route or verdict changed. One file, safe to keep as a CI cache/artifact."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mistral_sov.core.findings import Report
from mistral_sov.errors import InputError, Location

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  kind TEXT NOT NULL,
  verdict TEXT NOT NULL,
  policy_file TEXT NOT NULL,
  tool_version TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  check_name TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  verdict TEXT NOT NULL,
  route TEXT NOT NULL,
  hops TEXT NOT NULL,
  PRIMARY KEY (run_id, check_name)
);
CREATE INDEX IF NOT EXISTS results_endpoint ON results(endpoint, run_id);
"""


@dataclass(frozen=True)
class Change:
    """One run of one endpoint/check where its verdict or route differs from its previous run."""

    run_id: int
    at: str
    endpoint: str
    check: str
    verdict: str
    previous_verdict: str | None
    route: str
    previous_route: str | None
    hops: str

    @property
    def what(self) -> str:
        if self.previous_verdict is None:
            return "first seen"
        parts = []
        if self.verdict != self.previous_verdict:
            parts.append("verdict")
        if self.route != self.previous_route:
            parts.append("route")
        return " + ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "at": self.at,
            "endpoint": self.endpoint,
            "check": self.check,
            "change": self.what,
            "verdict": self.verdict,
            "previous_verdict": self.previous_verdict,
            "route": self.route,
            "previous_route": self.previous_route,
            "hops": self.hops,
        }


@contextmanager
def _connect(path: Path, *, create: bool) -> Iterator[sqlite3.Connection]:
    if not create and not path.is_file():
        raise InputError(
            f"history file '{path}' does not exist",
            location=Location(str(path)),
            hint="run `mistral-sov gate --history FILE` first",
        )
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=30)
    except (OSError, sqlite3.Error) as exc:
        raise InputError(
            f"cannot open history file '{path}': {exc}",
            location=Location(str(path)),
            hint="check the path and its permissions",
        ) from None
    with closing(conn):
        try:
            conn.executescript(_SCHEMA)
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            yield conn
            conn.commit()
        except sqlite3.DatabaseError as exc:
            raise InputError(
                f"'{path}' is not a mistral-sov history database: {exc}",
                location=Location(str(path)),
                hint="pass another --history file, or delete this one to start afresh",
            ) from None


def record(path: Path, report: Report, fingerprint: Any) -> int:
    """Store ``report``; ``fingerprint(check) -> str`` gives each check's route hash. Returns the run id."""
    with _connect(path, create=True) as conn:
        cur = conn.execute(
            "INSERT INTO runs (at, kind, verdict, policy_file, tool_version) VALUES (?, ?, ?, ?, ?)",
            (report.generated_at, report.kind, report.verdict.value, report.policy_file, report.tool_version),
        )
        run_id = int(cur.lastrowid or 0)
        for check in report.checks:
            endpoint = str(check.detail_dict.get("endpoint") or "")
            hops = check.detail_dict.get("hops")
            seq = (
                " > ".join(str(h.get("address") or "*") for h in hops if isinstance(h, dict))
                if isinstance(hops, list)
                else ""
            )
            conn.execute(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, check.name, endpoint, check.verdict.value, fingerprint(check), seq),
            )
        return run_id


def changes(path: Path, endpoint: str | None = None, *, include_unchanged: bool = False) -> list[Change]:
    """Per check (endpoint), every run whose verdict or route differs from the previous run."""
    with _connect(path, create=False) as conn:
        query = (
            "SELECT r.run_id, runs.at, r.endpoint, r.check_name, r.verdict, r.route, r.hops "
            "FROM results r JOIN runs ON runs.id = r.run_id"
        )
        args: tuple[Any, ...] = ()
        if endpoint:
            query += " WHERE r.endpoint = ? OR r.check_name = ?"
            args = (endpoint, endpoint)
        rows = conn.execute(query + " ORDER BY r.check_name, r.run_id", args).fetchall()
    out: list[Change] = []
    last: dict[str, tuple[str, str]] = {}
    for run_id, at, ep, check, verdict, route, hops in rows:
        prev = last.get(check)
        if include_unchanged or prev is None or prev != (verdict, route):
            out.append(
                Change(
                    run_id,
                    at,
                    ep or check,
                    check,
                    verdict,
                    prev[0] if prev else None,
                    route,
                    prev[1] if prev else None,
                    hops,
                )
            )
        last[check] = (verdict, route)
    return sorted(out, key=lambda c: (c.run_id, c.check))
