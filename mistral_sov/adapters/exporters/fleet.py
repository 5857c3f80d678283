"""The fleet residency collector: ``intune/residency-collector.ps1`` (Intune Remediations
detection script), its GPO startup-script variant and the JSON Schema of what it prints.

The script is ``templates/intune/residency-collector.ps1`` with the policy's approved
endpoints and the format constants of :mod:`mistral_sov.core.collector` filled in: the tracert
patterns the ingestion uses are the ones the script uses, verbatim. Output is deterministic.
"""

from __future__ import annotations

from mistral_sov import resources
from mistral_sov.core import collector
from mistral_sov.core.catalog import Catalog
from mistral_sov.core.policy import Policy
from mistral_sov.ports import Artifact, ExportOptions

TEMPLATE = "intune/residency-collector.ps1"
SCHEMA = "intune/residency-collector.schema.json"
MAX_HOPS = 30
HOP_TIMEOUT_MS = 750  # worst case per endpoint: 30 hops x 3 probes x 0.75 s = 68 s
TCP_TIMEOUT_MS = 3000


def ps_literal(text: str) -> str:
    """A single-quoted PowerShell literal; control characters are replaced by spaces (names,
    hosts and URLs never need them, and a literal must stay on one line)."""
    clean = "".join(" " if ord(c) < 0x20 or c in "\u0085\u2028\u2029\x7f" else c for c in text)
    return "'" + "".join(c + c if c in "'\u2018\u2019\u201a\u201b" else c for c in clean) + "'"


def _endpoint_rows(policy: Policy) -> str:
    rows = [
        f"    @{{ Name = {ps_literal(ep.name)}; Host = {ps_literal(ep.host)}; Port = {int(ep.port)} }}"
        for ep in policy.endpoints
        if ep.host
    ]
    return ",\r\n".join(rows)


def render_collector(policy: Policy, mode: str) -> bytes:
    """The collector for ``mode`` 'intune' (prints its line for Intune) or 'gpo' (also appends
    the full line to a local file and, when set, a share)."""
    text = resources.read_text(TEMPLATE)
    values = {
        "@@SCRIPT_VERSION@@": collector.SCRIPT_VERSION,
        "@@MODE@@": mode,
        "@@ORGANIZATION@@": policy.organization.replace("\r", " ").replace("\n", " "),
        "@@BUDGET@@": str(collector.BUDGET),
        "@@MAX_HOPS@@": str(MAX_HOPS),
        "@@HOP_TIMEOUT_MS@@": str(HOP_TIMEOUT_MS),
        "@@TCP_TIMEOUT_MS@@": str(TCP_TIMEOUT_MS),
        "@@EGRESS_URL@@": "''",
        "@@RESULT_FILE@@": "(Join-Path $env:ProgramData 'mistral-sov\\residency-collector.jsonl')"
        if mode == "gpo"
        else "''",
        "@@RESULT_SHARE@@": "''",
        "@@HOP_LINE_PATTERN@@": collector.HOP_LINE_PATTERN.replace("'", "''"),
        "@@RTT_PATTERN@@": collector.RTT_PATTERN.replace("'", "''"),
        "@@ADDRESS_PATTERN@@": collector.ADDRESS_PATTERN.replace("'", "''"),
        "@@ENDPOINTS@@": _endpoint_rows(policy),
    }
    for key, value in values.items():
        text = text.replace(key, value)
    text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    return b"\xef\xbb\xbf" + text.encode("utf-8")


class FleetCollectorExporter:
    name = "fleet"
    description = "Fleet residency collector: Intune detection script, GPO startup variant, output JSON Schema"

    def render(self, policy: Policy, catalog: Catalog, options: ExportOptions) -> list[Artifact]:
        schema = resources.read_bytes(SCHEMA)
        return [
            Artifact("intune/residency-collector.ps1", render_collector(policy, "intune")),
            Artifact("intune/residency-collector.schema.json", schema),
            Artifact("gpo/residency-collector-startup.ps1", render_collector(policy, "gpo")),
        ]


EXPORTER = FleetCollectorExporter()
