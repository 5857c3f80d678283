"""Recorded RIPE Atlas API answers, in the shapes the API documents (tests/ is on sys.path)."""

from __future__ import annotations

import time

import responses

API = "https://atlas.ripe.net/api/v2"
MSM = 87654321
DEST = "51.159.105.130"


def result(prb: int, src: str, hops: list[tuple[str, float]], *, reached: bool = True) -> dict:
    now = int(time.time()) - 120
    out = []
    for i, (addr, rtt) in enumerate(hops, start=1):
        last = i == len(hops) and reached
        reply = {"from": addr, "rtt": rtt, "size": 40 if last else 68, "ttl": 60 - i}
        if last:
            reply["flags"] = "SA"
        out.append(
            {
                "hop": i,
                "result": [dict(reply), dict(reply, rtt=round(rtt + 0.2, 3)), dict(reply, rtt=round(rtt + 0.1, 3))],
            }
        )
    return {
        "af": 4, "dst_addr": DEST, "dst_name": "api.mistral.ai", "endtime": now + 3, "from": src, "fw": 5080,
        "lts": 12, "msm_id": MSM, "msm_name": "Traceroute", "paris_id": 0, "prb_id": prb, "proto": "TCP",
        "result": out, "size": 0, "src_addr": "192.168.1.10", "timestamp": now, "type": "traceroute",
    }  # fmt: skip


EU_HOPS = [("192.168.1.1", 0.6), ("62.155.240.1", 3.1), ("80.156.160.162", 6.4), (DEST, 9.8)]
US_HOPS = [("192.168.1.1", 0.5), ("62.155.240.1", 3.0), ("4.69.140.1", 88.0), (DEST, 96.0)]
PROBES = {
    "count": 2,
    "next": None,
    "previous": None,
    "results": [
        {
            "id": 6001, "address_v4": "91.12.0.10", "asn_v4": 3320, "country_code": "DE", "description": "Frankfurt",
            "geometry": {"type": "Point", "coordinates": [8.68, 50.11]}, "is_anchor": False, "is_public": True,
            "prefix_v4": "91.0.0.0/10", "status": {"id": 1, "name": "Connected", "since": "2026-11-01T00:00:00Z"},
            "tags": [{"name": "system: IPv4 Works", "slug": "system-ipv4-works"}], "type": "Probe",
        },
        {
            "id": 6002, "address_v4": "91.12.0.11", "asn_v4": 3320, "country_code": "DE", "description": "Berlin",
            "geometry": {"type": "Point", "coordinates": [13.40, 52.52]}, "is_anchor": False, "is_public": True,
            "prefix_v4": "91.0.0.0/10", "status": {"id": 1, "name": "Connected", "since": "2026-11-01T00:00:00Z"},
            "tags": [{"name": "system: IPv4 Works", "slug": "system-ipv4-works"}], "type": "Probe",
        },
    ],
}  # fmt: skip


def status_answer(name: str, sid: int) -> dict:
    return {
        "id": MSM, "af": 4, "type": "traceroute", "protocol": "TCP", "port": 443, "target": "api.mistral.ai",
        "description": "mistral-sov residency api.mistral.ai:443", "is_oneoff": True, "participant_count": 2,
        "probes_requested": 2, "probes_scheduled": 2, "status": {"id": sid, "name": name, "when": None},
    }  # fmt: skip


def api(rs: responses.RequestsMock, results: list[dict]) -> None:
    rs.add(responses.POST, f"{API}/measurements/", json={"measurements": [MSM]}, status=201)
    rs.add(responses.GET, f"{API}/measurements/{MSM}/", json=status_answer("Ongoing", 2))
    rs.add(responses.GET, f"{API}/measurements/{MSM}/", json=status_answer("Stopped", 4))
    rs.add(responses.GET, f"{API}/measurements/{MSM}/results", json=results)
    rs.add(responses.GET, f"{API}/probes/", json=PROBES)
