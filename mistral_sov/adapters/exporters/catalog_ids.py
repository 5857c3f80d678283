"""Intune settings-catalog definition IDs, checked against a shipped snapshot of the tracked
definition list.

- ``templates/intune/settings-catalog-ids.yaml`` maps a control row (``edge:HubsSidebarEnabled``)
  to its setting ID and, for ADMX-backed lists and enums, the child element's ID.
- ``templates/intune/settings-catalog-snapshot.tsv`` is a dated snapshot of Microsoft's
  definitions (Edge, Chrome, WindowsAI) with each choice setting's option suffixes.

``load_ids()`` refuses (exit 2) an ID or a child absent from the snapshot, so a mistyped or
stale ID never reaches an Intune tenant (one wrong ID makes Intune reject the whole profile).
``choice_value`` refuses an option the definition does not offer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from mistral_sov.errors import InputError, Location

IDS = "intune/settings-catalog-ids.yaml"
SNAPSHOT = "intune/settings-catalog-snapshot.tsv"
_DATE = re.compile(r"^# Snapshot date: (\d{4}-\d{2}-\d{2})\s*$", re.M)


@dataclass(frozen=True)
class CatalogId:
    id: str
    child: str = ""


def parse_snapshot(text: str) -> dict[str, tuple[str, ...]]:
    """``{setting id: option suffixes}`` (``_0``/``_1`` become ``0``/``1``)."""
    out: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        sid, _, opts = line.partition("\t")
        out[sid] = tuple(opts.split(",")) if opts else ()
    return out


@cache
def _snapshot(templates: str) -> tuple[dict[str, tuple[str, ...]], str]:
    from mistral_sov import resources

    text = resources.read_text(SNAPSHOT)
    match = _DATE.search(text)
    return parse_snapshot(text), match.group(1) if match else "undated"


def snapshot() -> dict[str, tuple[str, ...]]:
    from mistral_sov import resources

    return _snapshot(str(resources.templates_dir()))[0]


def snapshot_date() -> str:
    from mistral_sov import resources

    return _snapshot(str(resources.templates_dir()))[1]


def parse_ids(text: str, known: dict[str, tuple[str, ...]], origin: str = IDS) -> dict[str, CatalogId]:
    import yaml

    data = yaml.safe_load(text)
    entries = data.get("ids") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise InputError(
            f"{origin} is malformed",
            hint="it is `ids:` mapping product:Policy to {id, child}",
            location=Location(origin),
        )
    out: dict[str, CatalogId] = {}
    for label, entry in entries.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or set(entry) - {"id", "child"}:
            raise InputError(f"{origin}: entry {label} needs id (and optionally child)", location=Location(origin))
        for field in ("id", "child"):
            value = entry.get(field)
            if value is not None and value not in known:
                raise InputError(
                    f"{origin}: {label} {field} '{value}' is not in the tracked definition list ({SNAPSHOT})",
                    hint="copy the ID from the snapshot (areas are versioned, e.g. microsoft_edgev99), "
                    "or refresh the snapshot; never guess an ID",
                    location=Location(origin),
                )
        out[str(label)] = CatalogId(entry["id"], entry.get("child") or "")
    return out


@cache
def _ids(templates: str) -> dict[str, CatalogId]:
    from mistral_sov import resources

    return parse_ids(resources.read_text(IDS), snapshot(), str(resources.path(IDS)))


def load_ids() -> dict[str, CatalogId]:
    from mistral_sov import resources

    return _ids(str(resources.templates_dir()))


def choice_value(setting_id: str, option: str) -> str:
    """``<setting id>_<option>``, refused when the tracked definition has no such option."""
    options = snapshot().get(setting_id)
    if options is None or option not in options:
        raise InputError(
            f"settings catalog: '{setting_id}' has no option '{option}' in the tracked definition list",
            hint=f"the snapshot ({SNAPSHOT}) lists {', '.join(options or ()) or 'no options'}",
        )
    return f"{setting_id}_{option}"
