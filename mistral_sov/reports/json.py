"""JSON: the full ``Report.to_dict()``, deterministic (same report -> same bytes)."""

from __future__ import annotations

import json

from mistral_sov.core.findings import Report

SCHEMA_VERSION = 1


def render(report: Report, *, indent: int = 2) -> bytes:
    data = {"schema_version": SCHEMA_VERSION, **report.to_dict()}
    text = json.dumps(data, indent=indent, ensure_ascii=False, sort_keys=True, default=str)
    return (text + "\n").encode("utf-8", errors="surrogatepass").decode("utf-8", errors="replace").encode()
