"""Freshness of the residency data sources and the "not evaluated" rule: no silent skips."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from residency_helpers import recorded
from sharedpaths import shared_path

from mistral_sov.adapters.geo import ranges
from mistral_sov.adapters.geo.countries import IptoccProvider
from mistral_sov.adapters.geo.mmdb import MmdbDatabase
from mistral_sov.adapters.geo.operators import OperatorTable
from mistral_sov.core.findings import Verdict
from mistral_sov.core.physics import parse_vantage
from mistral_sov.core.policy import Zones
from mistral_sov.core.trace import Hop, ProbeReply, TraceResult
from mistral_sov.services.verify import Providers, Target, VerifyOptions, judge_trace, verify_targets
from mistral_sov.services.verify_freshness import freshness_check


def _ranges(names):
    base = shared_path("fixtures/cloud-ranges")
    return ranges.RangeIndex([ranges.parse((base / f).read_bytes(), f) for f in names])


def test_july_2025_ranges_warn_in_december_2026():
    index = _ranges(["aws-ip-ranges.json", "oracle-cloud-ip-ranges.json"])
    check = freshness_check(index.infos(), "2026-12-03T10:00:00+00:00", {})
    stale = {f.subject: f for f in check.findings if f.rule_id == "RES-STALE-DATA"}
    assert stale["aws-ranges"].verdict is Verdict.WARNING
    assert stale["aws-ranges"].evidence["published"] == "2025-07-24" and stale["aws-ranges"].evidence["age_days"] == 497
    assert "oci-ranges" in stale
    # within the limit: nothing to say
    assert not freshness_check(index.infos(), "2025-07-30T00:00:00Z", {}).findings
    # the policy's evidence.max_data_age overrides the default
    assert freshness_check(index.infos(), "2025-07-30T00:00:00Z", {"ranges": 3}).findings


def test_undated_azure_tags_warn_but_undated_cloudflare_does_not():
    index = _ranges(["microsoft-azure-ip-ranges.json", "cloudflare-v4-ip-ranges.txt"])
    check = freshness_check(index.infos(), "2026-12-03T00:00:00Z", {})
    subjects = {f.subject for f in check.findings}
    assert subjects == {"azure-ranges"}
    rows = {r["name"]: r for r in check.details["sources"]}
    assert rows["azure-ranges"]["age_days"] is None and rows["azure-ranges"]["sha256"]
    # the download name of the weekly file carries its date
    item = index.files[0]
    item.provenance["source"] = "https://download.microsoft.com/x/ServiceTags_Public_20251103.json"
    assert ranges.published_date(item.provenance) == "2025-11-03"


def test_mmdb_build_date_and_operator_table_date_are_the_published_dates():
    db = MmdbDatabase(shared_path("fixtures/mmdb/GeoLite2-City-Test.mmdb"))
    info = db.info()
    assert info.published == db.build and info.sha256 == db.sha256
    assert OperatorTable.load().info().published[:2] == "20"
    rows = freshness_check([info], "2099-01-01T00:00:00Z", {}).details["sources"]
    assert rows[0]["stale"] is True and rows[0]["max_age_days"] == 90


def _providers():
    return Providers(geo=[IptoccProvider()], ranges=_ranges(["aws-ip-ranges.json"]), operators=OperatorTable.load())


def test_jurisdiction_without_asn_data_under_fail_is_inconclusive():
    trace = recorded("eu-all.json")  # hop 2 46.4.0.1 has no ASN source at all
    target = Target("t", "", "t", 443)
    fail = judge_trace(
        trace,
        target,
        Zones(operator_jurisdictions={"CN": "fail"}, unknown_hops="allow"),
        _providers(),
        vantage=parse_vantage("Frankfurt"),
        address="3.120.0.10",
    )
    ne = [f for f in fail.findings if f.rule_id == "RES-NOT-EVALUATED"]
    assert ne and ne[0].verdict is Verdict.INCONCLUSIVE and "jurisdiction" in ne[0].message
    assert fail.verdict is Verdict.INCONCLUSIVE
    assert any(n.check == "jurisdiction" for n in fail.residency.not_evaluated)
    warn = judge_trace(
        trace,
        target,
        Zones(operator_jurisdictions={"US": "warn"}, unknown_hops="allow"),
        _providers(),
        vantage=parse_vantage("Frankfurt"),
        address="3.120.0.10",
    )
    assert {f.verdict for f in warn.findings if f.rule_id == "RES-NOT-EVALUATED"} == {Verdict.WARNING}


def test_physics_without_vantage_follows_the_policy():
    trace = TraceResult("3.120.0.10", "udp", 33434, "recorded", [Hop(1, 1, [ProbeReply("3.120.0.10", 2.0, "p")])])
    trace.reached = True
    target = Target("t", "", "t", 443)
    for action, verdict in (("fail", Verdict.INCONCLUSIVE), ("warn", Verdict.WARNING)):
        check = judge_trace(trace, target, Zones(), _providers(), vantage=None, physics_action=action)
        assert {f.verdict for f in check.findings if f.rule_id == "RES-NOT-EVALUATED"} == {verdict}
    allowed = judge_trace(trace, target, Zones(), _providers(), vantage=None, physics_action="allow")
    assert allowed.verdict is Verdict.COMPLIANT
    assert [n.check for n in allowed.residency.not_evaluated] == ["physics"]  # the AWS range implies the ASN


def test_report_carries_a_data_sources_check():
    report = verify_targets(
        [Target("t", "", "3.120.0.10", 443)],
        Zones(),
        resolve=lambda h: __import__("mistral_sov.core.trace", fromlist=["Resolution"]).Resolution.literal(h),
        trace=lambda jobs: {},
        providers=Providers(geo=[IptoccProvider()], ranges=_ranges(["aws-ip-ranges.json"])),
        vantage=None,
        options=VerifyOptions(),
        tool_version="t",
        generated_at="2026-12-03T00:00:00+00:00",
        max_data_age={"ranges": 30},
    )
    names = [c.name for c in report.checks]
    assert names[-1] == "residency data sources"
    assert report.metadata["evidence"]["source_ages"] == []  # no SourceInfo given to Providers here


def test_an_asn_table_lets_the_jurisdiction_check_run():
    from mistral_sov.adapters.geo.asn_table import AsnTable

    table = AsnTable(
        b"46.4.0.0\t46.4.255.255\t24940\tDE\tHETZNER-AS\n10.0.0.0\t10.255.255.255\t0\tNone\tNot routed\n", "t"
    )
    p = _providers()
    p.asn.append(table)
    check = judge_trace(
        recorded("eu-all.json"),
        Target("t", "", "t", 443),
        Zones(operator_jurisdictions={"CN": "fail"}, unknown_hops="allow"),
        p,
        vantage=parse_vantage("Frankfurt"),
        address="3.120.0.10",
    )
    assert "RES-NOT-EVALUATED" not in {f.rule_id for f in check.findings}, check.findings
    hop = check.residency.hops[1]
    assert hop.asn == 24940 and hop.asn_source == "iptoasn"
