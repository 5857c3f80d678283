"""Collector lines and Intune exports for the fleet tests (tests/ is on sys.path)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from mistral_sov.core.collector import EndpointObservation, Observation, ParsedHop, render_line

POLICY = """version: 1
organization: Klinikum Test
zones:
  allowed_countries: [EU]
  transit: strict
  unknown_hops: warn
endpoints:
  - name: mistral-eu
    url: https://api.mistral.ai
blocking:
  catalog: all
  exceptions: [api.mistral.ai]
"""
DEST = "51.159.105.130"  # FR (RIR registration, iptocc)
EU_PATH = [
    ("192.168.178.1", [0, 0, 1]),
    ("62.155.240.1", [5, 4, 4]),
    ("80.156.160.162", [12, 11, 12]),
    (DEST, [15, 14, 15]),
]
US_PATH = [("10.1.0.1", [0, 0, 0]), ("62.155.240.1", [4, 4, 5]), ("4.69.140.1", [92, 91, 93]), (DEST, [99, 98, 101])]


def line(
    device: str,
    path=EU_PATH,
    *,
    time="2026-12-03T10:00:00Z",
    site=None,
    host="api.mistral.ai",
    name="mistral-eu",
    error="",
) -> str:
    hops = [ParsedHop(i + 1, a, r) for i, (a, r) in enumerate(path)]
    ep = EndpointObservation(
        name, host, 443, [], [DEST], DEST if not error else None, hops if not error else [], True, 14, error
    )
    text, _ = render_line(Observation(device, time, site if site is not None else {"ad": "FRA-HQ"}, [ep]))
    return text


def write_policy(tmp: Path) -> Path:
    path = tmp / "sovereignty.yaml"
    path.write_text(POLICY, encoding="utf-8")
    return path


def graph_doc(rows: list[tuple[str, str | None, str]]) -> dict:
    """A deviceRunStates page ($expand=managedDevice) for (device, output, lastStateUpdateDateTime)."""
    return {
        "@odata.context": "https://graph.microsoft.com/beta/$metadata#deviceManagement/deviceHealthScripts('x')/deviceRunStates(managedDevice())",
        "value": [
            {
                "@odata.type": "#microsoft.graph.deviceHealthScriptDeviceState",
                "id": f"script_{i}",
                "detectionState": "success" if out is not None else "pending",
                "lastStateUpdateDateTime": when,
                "expectedStateUpdateDateTime": when,
                "lastSyncDateTime": when,
                "preRemediationDetectionScriptOutput": out,
                "preRemediationDetectionScriptError": None,
                "remediationScriptError": None,
                "postRemediationDetectionScriptOutput": None,
                "postRemediationDetectionScriptError": None,
                "remediationState": "skipped",
                "assignmentFilterIds": [],
                "managedDevice": {"id": f"00000000-0000-0000-0000-{i:012d}", "deviceName": dev},
            }
            for i, (dev, out, when) in enumerate(rows)
        ],
    }


def portal_csv(rows: list[tuple[str, str | None, str]], encoding: str = "utf-8") -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(
        [
            "Device name",
            "UPN",
            "Detection status",
            "Pre-remediation detection output",
            "Pre-remediation detection error",
            "Last run",
        ]
    )
    for dev, out, when in rows:
        w.writerow([dev, f"{dev.lower()}@klinikum.example", "Without issues", out or "", "", when])
    text = buf.getvalue()
    if encoding == "utf-8-sig":
        return text.encode("utf-8-sig")
    if encoding == "utf-16":
        return text.encode("utf-16")  # with BOM, as Excel "Unicode text" writes it
    if encoding == "utf-16-le-nobom":
        return text.encode("utf-16-le")
    return text.encode(encoding)


def dump(path: Path, doc) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path
