"""Sample reports for the writer tests (a residency run and a gate run), deterministic."""

from __future__ import annotations

from mistral_sov.core.findings import Check, Finding, Report, SourceLocation, Verdict
from mistral_sov.core.physics import VantagePoint
from mistral_sov.core.residency import Claim, HopRow, ResidencyDetails
from mistral_sov.core.trace import Resolution


def hop(ttl, address, country, *, rtt=None, operator=None, asn=None, flags=(), region=None, uncertain=False):
    rtts = list(rtt) if rtt else []
    return HopRow(
        ttl=ttl,
        address=address,
        addresses=[address] if address else [],
        rtt_ms=rtts,
        min_rtt_ms=min(rtts) if rtts else None,
        country=country,
        claims=[Claim("maxmind", "test", country, "geolocation", "passed")] if country else [],
        uncertain=uncertain,
        asn=asn,
        operator=operator,
        jurisdiction=country,
        region=region,
        max_km_fibre=min(rtts) * 100.0 if rtts else None,
        max_km_vacuum=min(rtts) * 150.0 if rtts else None,
        physics="passed" if country else "not evaluated",
        flags=list(flags),
    )


def residency_details(name, host, address, hops, *, reached=True):
    return ResidencyDetails(
        endpoint=name,
        url=f"https://{host}/v1",
        host=host,
        address=address,
        port=443,
        method="tcp",
        tracer="scapy-raw",
        fidelity_notes=["TCP SYN to port 443; routers may answer differently to other protocols"],
        reached=reached,
        resolution=Resolution(host, host, cname_chain=[host], a=[address], nameserver="system"),
        vantage=VantagePoint("Frankfurt", 50.11, 8.68),
        measured_at="2025-01-02T03:04:00+00:00",
        in_policy=True,
        hops=hops,
    )


def residency_report(policy_file: str = "sovereignty.yaml") -> Report:
    good = Check(
        name="mistral-eu",
        title="Residency of mistral-eu (https://api.mistral.ai)",
        duration_s=0.42,
        residency=residency_details(
            "mistral-eu",
            "api.mistral.ai",
            "198.51.100.7",
            [
                hop(1, "10.0.0.1", None, rtt=[0.31, 0.29], flags=["private"]),
                hop(2, "192.0.2.1", "DE", rtt=[1.2, 1.1], operator="Deutsche Telekom AG", asn=3320),
                hop(3, None, None),
                hop(4, "198.51.100.7", "FR", rtt=[9.8], operator="Scaleway", asn=12876, region="fr-par"),
            ],
        ),
        findings=[
            Finding(
                "RES-UNKNOWN-HOP",
                Verdict.WARNING,
                "hop 3 never answered",
                subject="mistral-eu",
                hop=3,
                hint="set zones.unknown_hops: allow if silent routers are acceptable",
                location=SourceLocation(policy_file, 24, 5),
            ),
        ],
    )
    bad = Check(
        name="openai-us",
        title="Residency of openai-us",
        duration_s=1.5,
        residency=residency_details(
            "openai-us",
            "api.example-us.test",
            "203.0.113.9",
            [
                hop(1, "10.0.0.1", None, rtt=[0.3]),
                hop(
                    2,
                    "203.0.113.1",
                    "US",
                    rtt=[80.2, 81.0],
                    operator="Example Transit Inc",
                    asn=64500,
                    flags=["cloud-act"],
                ),
                hop(3, "203.0.113.5", "US", rtt=[82.0], operator="Example Transit Inc", asn=64500, uncertain=True),
            ],
            reached=False,
        ),
        findings=[
            Finding(
                "RES-COUNTRY",
                Verdict.VIOLATION,
                "hop 2 (203.0.113.1) is in US, outside EU",
                subject="openai-us",
                hop=2,
                hint="route this endpoint through an EU region",
                location=SourceLocation(policy_file, 27, 5),
            ),
            Finding(
                "RES-COUNTRY",
                Verdict.VIOLATION,
                "hop 3 (203.0.113.5) is in US, outside EU",
                subject="openai-us",
                hop=3,
                location=SourceLocation(policy_file, 27, 5),
            ),
            Finding(
                "RES-UNREACHED",
                Verdict.INCONCLUSIVE,
                "the destination never answered",
                subject="openai-us",
                location=SourceLocation(policy_file, 27, 5),
            ),
        ],
    )
    return Report(
        kind="verify-residency",
        tool_version="0.1.0",
        generated_at="2025-01-02T03:04:05Z",
        checks=[good, bad],
        policy_file=policy_file,
    )


def gate_report(policy_file: str = "sovereignty.yaml") -> Report:
    return Report(
        kind="gate",
        tool_version="0.1.0",
        generated_at="2025-01-02T03:04:05Z",
        policy_file=policy_file,
        checks=[
            Check(name="policy", title="Policy is valid", duration_s=0.01),
            Check(
                name="drift",
                title="Exported bundle matches the policy",
                duration_s=0.2,
                findings=[
                    Finding(
                        "GATE-DRIFT",
                        Verdict.VIOLATION,
                        "bundle file 'admx/MistralSov.admx' is out of date",
                        subject="admx/MistralSov.admx",
                        hint="run `mistral-sov policy export`",
                        location=SourceLocation("bundle/admx/MistralSov.admx"),
                    ),
                ],
            ),
            Check(name="admx-lint", skipped_reason="no bundle directory given (--bundle)"),
            Check(name="local-models", title="Local models", verdict_override=Verdict.INCONCLUSIVE),
            Check(
                name="catalog-conflicts",
                findings=[
                    Finding(
                        "GATE-CONFLICT",
                        Verdict.WARNING,
                        "endpoint 'x' is matched by block rule 'x.ai'",
                        subject="x",
                        location=SourceLocation(policy_file, 30, 7),
                    ),
                ],
            ),
        ],
    )
