"""Intune's registry-path restriction for ingested (ADMX-backed) policies.

Intune refuses an ingested ADMX that writes under ``System``, ``Software\\Microsoft`` or
``Software\\Policies\\Microsoft`` (except a few Microsoft products that opted in), failing with
"0x20101 / 131329 template failed to be sent" (policy-formats.md §3.1). Shared by the
exporters and the ADMX linter; pure string logic.
"""

from __future__ import annotations

BLOCKED_ROOTS: tuple[str, ...] = ("system", "software\\microsoft", "software\\policies\\microsoft")
# Documented exceptions: Office, OneDrive, Exchange and software\Microsoft\Edge.
ALLOWED_UNDER_BLOCKED: tuple[str, ...] = (
    "software\\microsoft\\edge",
    "software\\microsoft\\office",
    "software\\policies\\microsoft\\office",
    "software\\microsoft\\onedrive",
    "software\\policies\\microsoft\\onedrive",
    "software\\microsoft\\exchange",
    "software\\policies\\microsoft\\exchange",
)


def _under(key: str, root: str) -> bool:
    return key == root or key.startswith(root + "\\")


def intune_blocked(key: str) -> bool:
    """True when Intune refuses an ingested ADMX that writes ``key`` (no hive in ``key``)."""
    norm = key.strip("\\").lower()
    if any(_under(norm, allowed) for allowed in ALLOWED_UNDER_BLOCKED):
        return False
    return any(_under(norm, root) for root in BLOCKED_ROOTS)
