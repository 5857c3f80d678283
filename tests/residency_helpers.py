"""Helpers shared by the residency tests: recorded hop lists and test mmdbs (mmdb-writer)."""

from __future__ import annotations

import json
from pathlib import Path

from mistral_sov.core.trace import Hop, ProbeReply, TraceResult

DATA = Path(__file__).resolve().parent / "data" / "residency"


def recorded(name: str) -> TraceResult:
    doc = json.loads((DATA / name).read_text(encoding="utf-8"))
    hops = [Hop(h["ttl"], h["sent"], [ProbeReply(a, rtt, kind) for a, rtt, kind in h["replies"]]) for h in doc["hops"]]
    return TraceResult(doc["target"], doc["method"], doc["port"], doc["tracer"], hops, doc["reached"])


def write_city_mmdb(path: Path, places: dict[str, tuple[str, float, float]], *, ip_version: int = 6) -> Path:
    """A GeoIP2-City-shaped mmdb: {prefix: (country, lat, lon)}."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=ip_version, database_type="Test-City", ipv4_compatible=ip_version == 6)
    for prefix, (country, lat, lon) in places.items():
        writer.insert_network(
            IPSet([prefix]),
            {
                "country": {"iso_code": country},
                "location": {"latitude": lat, "longitude": lon, "accuracy_radius": 20},
            },
        )
    writer.to_db_file(str(path))
    return path


def write_asn_mmdb(path: Path, asns: dict[str, tuple[int, str]]) -> Path:
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=6, database_type="Test-ASN", ipv4_compatible=True)
    for prefix, (asn, org) in asns.items():
        writer.insert_network(IPSet([prefix]), {"autonomous_system_number": asn, "autonomous_system_organization": org})
    writer.to_db_file(str(path))
    return path
