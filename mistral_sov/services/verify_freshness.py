"""How old is each data source? A stale source is a WARNING (``RES-STALE-DATA``).

Every source carries its publication date where it has one (mmdb build date, range files'
createDate/creationTime/last_updated_timestamp or the Azure download name, the operator
table's version date, a geofeed's file date). ``evidence.max_data_age`` in the policy sets
the limit per kind of source in days; the defaults below follow how often each kind changes
(Azure service tags weekly). A source whose date is unknown is listed with its age
"unknown"; it warns when its kind moves fast (cloud ranges) or the policy sets a limit for
its kind, unless its provider never dates it (Cloudflare, Fastly lists).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from mistral_sov.core.attribution import SourceInfo
from mistral_sov.core.findings import Check, Finding, Verdict

DEFAULT_MAX_DATA_AGE: dict[str, int] = {
    "ranges": 14,  # Azure service tags change weekly, AWS/GCP several times a week
    "country": 90,
    "asn": 90,
    "geofeed": 365,
    "operators": 365,
}


FAST_MOVING_DAYS = 30  # an undated source of a kind this fast-moving warns: its age is unknown


def _kinds(source: SourceInfo) -> list[str]:
    return [k for k in source.kind.split("+") if k in DEFAULT_MAX_DATA_AGE]


def age_days(published: str, now: str) -> int | None:
    try:
        day = dt.date.fromisoformat(published[:10])
        today = dt.datetime.fromisoformat(now.replace("Z", "+00:00")).date()
    except ValueError:
        return None
    return (today - day).days


def source_ages(sources: Sequence[SourceInfo], now: str, limits: Mapping[str, int]) -> list[dict[str, Any]]:
    """One row per source: name, kind, version, published, SHA-256, age in days, limit, stale."""
    rows = []
    merged = {**DEFAULT_MAX_DATA_AGE, **limits}
    for s in sources:
        kinds = _kinds(s)
        limit = min((merged[k] for k in kinds), default=None)
        age = age_days(s.published, now) if s.published else None
        rows.append(
            {
                "name": s.name,
                "kind": s.kind,
                "version": s.version,
                "published": s.published or None,
                "sha256": s.sha256 or None,
                "age_days": age,
                "max_age_days": limit,
                "stale": bool(age is not None and limit is not None and age > limit),
                "explicit_limit": any(k in limits for k in kinds),
                "undated_by_provider": bool(s.provenance.get("undated")),
            }
        )
    return rows


def freshness_check(sources: Sequence[SourceInfo], now: str, limits: Mapping[str, int]) -> Check:
    """The ``residency data sources`` check: every source with its age; stale ones warn."""
    rows = source_ages(sources, now, limits)
    check = Check(name="residency data sources", title="Age and provenance of every residency data source")
    for row in rows:
        if row["stale"]:
            check.findings.append(
                Finding(
                    "RES-STALE-DATA",
                    Verdict.WARNING,
                    f"{row['name']} ({row['version']}) was published {row['published']}, {row['age_days']} days "
                    f"before this run: older than the {row['max_age_days']} days allowed for {row['kind']} data",
                    subject=row["name"],
                    hint="refresh it (`mistral-sov ranges update`, a new mmdb) or raise evidence.max_data_age",
                    evidence=row,
                    sources=[row["name"]],
                )
            )
        elif (
            row["age_days"] is None
            and row["max_age_days"] is not None
            and not row["undated_by_provider"]
            and (row["explicit_limit"] or row["max_age_days"] <= FAST_MOVING_DAYS)
        ):
            check.findings.append(
                Finding(
                    "RES-STALE-DATA",
                    Verdict.WARNING,
                    f"{row['name']} ({row['version']}) carries no publication date, so its age cannot be checked "
                    f"against the {row['max_age_days']} days allowed for {row['kind']} data",
                    subject=row["name"],
                    hint="import the provider's file under its published name, or use a source that is dated",
                    evidence=row,
                    sources=[row["name"]],
                )
            )
    check.details = {"sources": rows}
    return check
