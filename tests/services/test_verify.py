"""The verdict engine on recorded hop lists, with real providers (iptocc, MaxMind test
databases, cloud range files, the shipped operator table, test mmdbs and geofeeds)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from residency_helpers import DATA, recorded, write_city_mmdb
from sharedpaths import shared_path

from mistral_sov.adapters.geo import ranges
from mistral_sov.adapters.geo.countries import IptoccProvider
from mistral_sov.adapters.geo.geofeed import Geofeed
from mistral_sov.adapters.geo.mmdb import MmdbDatabase
from mistral_sov.adapters.geo.operators import OperatorTable
from mistral_sov.core.findings import Verdict
from mistral_sov.core.physics import parse_vantage
from mistral_sov.core.policy import Zones
from mistral_sov.core.trace import Hop, Resolution, TraceResult
from mistral_sov.services.verify import Providers, Target, VerifyOptions, judge_trace, verify_targets


@pytest.fixture(scope="module")
def range_index() -> ranges.RangeIndex:
    base = shared_path("fixtures/cloud-ranges")
    files = ["microsoft-azure-ip-ranges.json", "aws-ip-ranges.json", "cloudflare-v4-ip-ranges.txt"]
    return ranges.RangeIndex([ranges.parse((base / f).read_bytes(), f) for f in files])


def providers(range_index, *extra) -> Providers:
    p = Providers(geo=[IptoccProvider(), *extra], ranges=range_index, operators=OperatorTable.load())
    return p


def rules(check) -> dict[str, Verdict]:
    return {f.rule_id: f.verdict for f in check.findings}


def test_residency_physics_rejects_us_claim_and_keeps_eu_destination(range_index):
    city = MmdbDatabase(shared_path("fixtures/mmdb/GeoLite2-City-Test.mmdb"))
    feed = Geofeed.from_file(DATA / "geofeed-de.csv")
    trace = recorded("frankfurt-to-us.json")
    target = Target(
        "azure-openai", "https://x.openai.azure.com", "x.openai.azure.com", 443, region="azure:germanywestcentral"
    )
    check = judge_trace(
        trace,
        target,
        Zones(allowed_countries=["EU"], operator_jurisdictions={"US": "warn"}),
        providers(range_index, city, feed),
        vantage=parse_vantage("Frankfurt"),
        address="20.52.0.10",
    )
    hops = check.detail_dict["hops"]
    assert [h["ttl"] for h in hops] == [1, 2, 3, 4, 5]
    assert "internal" in hops[0]["flags"]
    assert hops[1]["country"] == "DE" and hops[1]["country_sources"]["geofeed:geofeed-de.csv"] == "DE"
    assert hops[2]["flags"] == ["silent"]
    # 81.2.69.142: GeoLite2 says GB/London, 1.0 ms from Frankfurt allows at most ~150 km: London is 638 km
    assert "physics-contradiction" in hops[3]["flags"]
    assert hops[3]["max_km_vacuum"] == pytest.approx(149.9, abs=0.1)
    dest = hops[4]
    assert dest["region"] == "azure:germanywestcentral" and dest["country"] == "DE"
    assert dest["asn"] == 8075 and dest["jurisdiction"] == "US" and "cloud-act" in dest["flags"]
    found = rules(check)
    assert found["RES-PHYSICS"] is Verdict.WARNING
    assert found["RES-UNKNOWN-HOP"] is Verdict.WARNING  # the silent hop 3 and the de-placed hop 4
    assert found["RES-JURISDICTION"] is Verdict.WARNING
    assert "RES-DEST-COUNTRY" not in found and "RES-REGION" not in found
    assert check.verdict is Verdict.WARNING
    assert check.detail_dict["reached"] is True and check.detail_dict["vantage"]["name"] == "Frankfurt"


def test_residency_without_vantage_the_geo_claim_makes_a_transit_violation(range_index):
    city = MmdbDatabase(shared_path("fixtures/mmdb/GeoLite2-City-Test.mmdb"))
    check = judge_trace(
        recorded("frankfurt-to-us.json"),
        Target("t", "", "t", 443),
        Zones(),
        providers(range_index, city),
        vantage=None,
        address="20.52.0.10",
    )
    found = rules(check)
    assert found["RES-TRANSIT-COUNTRY"] is Verdict.VIOLATION  # 81.2.69.142 in GB
    # no vantage: physics against the vantage is "not evaluated", and the verdict says so
    assert found["RES-NOT-EVALUATED"] is Verdict.WARNING
    assert [n["check"] for n in check.detail_dict["not_evaluated"]] == ["physics", "jurisdiction"]


def test_residency_eu_path_is_compliant_and_endpoint_transit_ignores_hops(range_index):
    feed = Geofeed.from_file(DATA / "geofeed-de.csv")
    zones = Zones(allowed_countries=["DE"], allowed_cloud_regions=["aws:eu-central-1"])
    check = judge_trace(
        recorded("eu-all.json"),
        Target("bedrock", "", "b", 443, region="aws:eu-central-1"),
        zones,
        providers(range_index, feed),
        vantage=parse_vantage("Frankfurt"),
        address="3.120.0.10",
    )
    assert check.verdict is Verdict.COMPLIANT, check.findings
    assert check.detail_dict["hops"][2]["region"] == "aws:eu-central-1"
    # the wrong declared region is a warning; a region outside the allowed list a violation
    check = judge_trace(
        recorded("eu-all.json"),
        Target("b", "", "b", 443, region="aws:eu-west-1"),
        Zones(allowed_cloud_regions=["aws:eu-west-1"]),
        providers(range_index, feed),
        vantage=None,
        address="3.120.0.10",
    )
    assert rules(check)["RES-REGION"] is Verdict.VIOLATION


def test_residency_forbidden_destination_and_frontdoor(range_index):
    trace = TraceResult(
        "104.16.0.10",
        "tcp",
        443,
        "recorded",
        [
            Hop(1, 1, recorded("eu-all.json").hops[0].replies),
            Hop(2, 1, [*recorded("frankfurt-to-us.json").hops[4].replies[:0]]),
        ],
        reached=False,
    )
    check = judge_trace(
        trace,
        Target("cf", "", "cf", 443),
        Zones(),
        providers(range_index),
        vantage=None,
        address="104.16.0.10",
        resolution=Resolution("cf", "cf", a=["104.16.0.10"], flags=["cdn"]),
    )
    found = rules(check)
    assert found["RES-UNREACHED"] is Verdict.INCONCLUSIVE
    assert found["RES-FRONTDOOR"] is Verdict.WARNING  # Cloudflare anycast range + DNS flag
    assert found["RES-DEST-COUNTRY"] is Verdict.VIOLATION  # iptocc registers 104.16/13 in the US
    assert check.verdict is Verdict.VIOLATION


def test_residency_sources_disagree_and_unknown_hops_fail(range_index, tmp_path):
    # a test mmdb says 46.4.0.1 is in the US, the geofeed says DE: uncertain, which said what
    mmdb = MmdbDatabase(write_city_mmdb(tmp_path / "us.mmdb", {"46.4.0.0/16": ("US", 39.04, -77.49)}))
    feed = Geofeed.from_file(DATA / "geofeed-de.csv")
    zones = Zones(unknown_hops="fail")
    trace = recorded("eu-all.json")
    trace.hops.insert(2, Hop(3, 3, []))
    trace.hops[3].ttl = 4
    check = judge_trace(
        trace, Target("t", "", "t", 443), zones, providers(range_index, mmdb, feed), vantage=None, address="3.120.0.10"
    )
    hop2 = check.detail_dict["hops"][1]
    assert hop2["uncertain"] and "uncertain" in hop2["flags"]
    assert hop2["country_sources"]["Test-City"] == "US" and hop2["country_sources"]["geofeed:geofeed-de.csv"] == "DE"
    found = rules(check)
    assert found["RES-SOURCES-DISAGREE"] is Verdict.WARNING
    assert found["RES-UNKNOWN-HOP"] is Verdict.INCONCLUSIVE
    assert check.verdict is Verdict.INCONCLUSIVE


def test_residency_private_link_destination_and_unresolved(range_index):
    trace = TraceResult(
        "10.1.2.3",
        "tcp",
        443,
        "recorded",
        [
            Hop(1, 1, recorded("eu-all.json").hops[0].replies),
            Hop(2, 1, [recorded("eu-all.json").hops[0].replies[0].__class__("10.1.2.3", 0.5, "tcp-synack")]),
        ],
        reached=True,
    )
    zones = Zones(allowed_cloud_regions=["azure:francecentral"])
    ep = Target(
        "pl", "https://pl.privatelink.openai.azure.com", "pl", 443, region="azure:francecentral", private_link=True
    )
    # private_link: true alone proves nothing
    alone = judge_trace(trace, ep, zones, providers(range_index), vantage=parse_vantage("Paris"), address="10.1.2.3")
    assert rules(alone) == {"RES-PRIVATE-LINK": Verdict.INCONCLUSIVE}
    # proven: the CNAME chain passes the privatelink zone and the answer is private
    proof = Resolution(
        "pl.openai.azure.com",
        "pl.openai.azure.com",
        cname_chain=["pl.openai.azure.com", "pl.privatelink.openai.azure.com"],
        a=["10.1.2.3"],
    )
    proven = judge_trace(
        trace, ep, zones, providers(range_index), vantage=parse_vantage("Paris"), resolution=proof, address="10.1.2.3"
    )
    assert proven.verdict is Verdict.COMPLIANT, proven.findings
    ep.private_link = False
    assert rules(
        judge_trace(trace, ep, zones, providers(range_index), vantage=parse_vantage("Paris"), address="10.1.2.3")
    ) == {
        "RES-DEST-COUNTRY": Verdict.INCONCLUSIVE,
        "RES-REGION": Verdict.INCONCLUSIVE,
    }
    report = verify_targets(
        [Target("nx", "", "nx.invalid", 443)],
        Zones(),
        resolve=lambda h: Resolution.failed(h, "NXDOMAIN", "nxdomain"),
        trace=lambda jobs: {},
        providers=providers(range_index),
        vantage=None,
        options=VerifyOptions(),
        tool_version="t",
        generated_at="2026-01-01T00:00:00+00:00",
    )
    assert report.checks[0].findings[0].rule_id == "RES-UNRESOLVED"
    assert int(report.exit_status()) == 3


def test_residency_all_silent_target_is_inconclusive(range_index):
    trace = TraceResult("46.4.0.9", "udp", 33434, "recorded", [Hop(t, 3, []) for t in range(1, 6)])
    check = judge_trace(
        trace,
        Target("t", "", "t", 443),
        Zones(unknown_hops="allow"),
        providers(range_index),
        vantage=None,
        address="46.4.0.9",
    )
    assert check.verdict is Verdict.INCONCLUSIVE
    assert "RES-UNREACHED" in rules(check)


def test_residency_global_deployment_is_a_violation_under_an_eu_zone(range_index):
    feed = Geofeed.from_file(DATA / "geofeed-de.csv")
    target = Target("g", "", "b", 443, deployment="global")

    def deployment_verdict(allowed: list[str]) -> Verdict | None:
        check = judge_trace(
            recorded("eu-all.json"),
            target,
            Zones(allowed_countries=allowed),
            providers(range_index, feed),
            vantage=parse_vantage("Frankfurt"),
            address="3.120.0.10",
        )
        found = rules(check).get("RES-DEPLOYMENT")
        assert found is None or check.verdict.rank >= found.rank, "the finding sets the check's verdict"
        return found

    assert deployment_verdict(["EU"]) is Verdict.VIOLATION
    target.deployment = "regional"
    assert deployment_verdict(["EU"]) is None
    target.deployment, target.region = "datazone", "azure:germanywestcentral"
    assert deployment_verdict(["EU"]) is None, "the EU data zone fits an EU zone"
    assert deployment_verdict(["DE"]) is Verdict.VIOLATION, "the EU data zone reaches outside a DE-only zone"
    target.region = None
    assert deployment_verdict(["EU"]) is Verdict.INCONCLUSIVE, "a data zone that cannot be told is never a pass"
