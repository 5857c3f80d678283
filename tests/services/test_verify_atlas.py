"""RIPE Atlas results through the one judging engine: no false pass, physics from the probe's
location, every policy endpoint accounted for, k of n over distinct probes. Real providers
(iptocc, the shared cloud range files, the shipped operator table)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sharedpaths import shared_path

from mistral_sov.adapters import atlas
from mistral_sov.adapters.geo import ranges
from mistral_sov.adapters.geo.countries import IptoccProvider
from mistral_sov.adapters.geo.operators import OperatorTable
from mistral_sov.core.findings import Report, Verdict
from mistral_sov.core.policy import Zones
from mistral_sov.errors import InputError
from mistral_sov.services.verify import Providers, RunContext, Target, judge_measurements

US_ROUTER_1, US_ROUTER_2 = "216.66.30.81", "64.71.128.50"  # Hurricane Electric, registered US
SE_ROUTER_1, SE_ROUTER_2 = "213.248.79.129", "80.91.250.102"  # Telia, registered SE
AZURE_WESTEUROPE = "4.175.0.10"  # AzureCloud.westeurope (NL) in the shared service tags
US_LEVEL3 = "4.69.0.1"  # registered US, in no cloud range
FREMONT = [-121.99, 37.55]  # GeoJSON [lon, lat] of the test US probe
FRANKFURT = [8.68, 50.11]


@pytest.fixture(scope="module")
def providers() -> Providers:
    base = shared_path("fixtures/cloud-ranges")
    files = ["microsoft-azure-ip-ranges.json", "aws-ip-ranges.json"]
    index = ranges.RangeIndex([ranges.parse((base / f).read_bytes(), f) for f in files])
    return Providers(geo=[IptoccProvider()], ranges=index, operators=OperatorTable.load())


def result(hops, *, prb=426, dst=AZURE_WESTEUROPE, name="api.example.eu", ts=1700000000, **extra):
    doc = {
        "type": "traceroute",
        "af": 4,
        "dst_addr": dst,
        "dst_name": name,
        "prb_id": prb,
        "msm_id": 5001,
        "fw": 5080,
        "proto": "ICMP",
        "timestamp": ts,
        "endtime": ts + 3,
        "result": [{"hop": n, "result": replies} for n, replies in hops],
    }
    doc.update(extra)
    return doc


def reply(addr, rtt=None, **extra):
    out = {"from": addr, "size": 56, "ttl": 250, **extra}
    if rtt is not None:
        out["rtt"] = rtt
    return out


def judge(tmp_path, results, providers, *, zones=None, probes=None, endpoints=("api.example.eu",)) -> Report:
    path = tmp_path / "results.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in results) + "\n", encoding="utf-8")
    directory = None
    if probes is not None:
        pfile = tmp_path / "probes.json"
        pfile.write_text(json.dumps({"count": len(probes), "results": probes}), encoding="utf-8")
        directory = atlas.load_probes(pfile)
    targets = [Target(e, f"https://{e}", e.lower(), 443, in_policy=True) for e in endpoints]
    ctx = RunContext(zones or Zones(), providers, "t", "2026-12-03T00:00:00+00:00", "p.yaml", "ab" * 32, "warn")
    return judge_measurements(atlas.records(path, directory), targets, ctx, source_file=str(path))


def rules(report: Report) -> dict[str, Verdict]:
    out: dict[str, Verdict] = {}
    for f in report.findings:
        if f.rule_id not in out or f.verdict.rank > out[f.rule_id].rank:
            out[f.rule_id] = f.verdict
    return out


US_PROBE_PATH = [
    (1, [reply(US_ROUTER_1, 1.965), reply(US_ROUTER_1, 1.855)]),
    (2, [reply(US_ROUTER_2, 1.843)]),
    (3, [reply(SE_ROUTER_1, 1.87), reply(SE_ROUTER_1, 2.422)]),
    (4, [reply(SE_ROUTER_2, 2.076), reply(SE_ROUTER_2, 2.5)]),
    (5, [reply(AZURE_WESTEUROPE, 2.9)]),
]


@pytest.mark.parametrize("transit", ["strict", "endpoint"])
def test_us_probe_path_is_not_compliant(tmp_path, providers, transit):
    """The issue's case: a US probe, US routers at 1.9 ms, SE-registered routers at 1.9-2.5 ms,
    an Azure westeurope address at 2.9 ms. Light covers < 450 km in 2.9 ms: no EU place fits."""
    zones = Zones(transit=transit)
    probe = {"id": 426, "country_code": "US", "geometry": {"type": "Point", "coordinates": FREMONT}}
    with_probe = judge(tmp_path, [result(US_PROBE_PATH)], providers, zones=zones, probes=[probe])
    assert with_probe.verdict in (Verdict.VIOLATION, Verdict.INCONCLUSIVE)
    physics = [f for f in with_probe.findings if f.rule_id == "RES-PHYSICS"]
    assert any(f.evidence["against"] == "vantage" and f.evidence["address"] == AZURE_WESTEUROPE for f in physics)
    hops = with_probe.checks[0].residency.hops
    assert hops[-1].physics == "refuted" and hops[-1].country != "NL"
    assert with_probe.checks[0].residency.vantage is not None
    assert with_probe.checks[0].residency.vantage_country == "US"
    # without the probes file, hop-to-hop consistency alone refutes the Dutch claim: never a pass
    without = judge(tmp_path, [result(US_PROBE_PATH)], providers, zones=zones)
    assert without.verdict in (Verdict.VIOLATION, Verdict.INCONCLUSIVE)
    assert any(n.check == "physics" for n in without.checks[0].residency.not_evaluated)


def test_eu_probe_eu_path_is_compliant_and_counts_probes(tmp_path, providers):
    path = [(1, [reply(SE_ROUTER_1, 20.1)]), (2, [reply(AZURE_WESTEUROPE, 21.0)])]
    probes = [
        {"id": 1, "country_code": "DE", "geometry": {"type": "Point", "coordinates": FRANKFURT}},
        {"id": 2, "country_code": "DE", "geometry": {"type": "Point", "coordinates": FRANKFURT}},
    ]
    report = judge(
        tmp_path,
        [result(path, prb=1), result(path, prb=1, ts=1700000100), result(path, prb=2)],
        providers,
        probes=probes,
    )
    assert report.verdict is Verdict.COMPLIANT, [f.message for f in report.findings]
    m = report.metadata["evidence"]["measurements"]
    assert m["vantage_points"] == 2 and m["results"] == 3 and m["summary"] == "compliant from 2 of 2 vantage points"
    assert {r["vantage_id"]: r["country"] for r in m["per_vantage"]} == {"atlas-probe:1": "DE", "atlas-probe:2": "DE"}
    assert {r["country_from"] for r in m["per_vantage"]} == {"vantage location"}
    # the measurement time is the Atlas timestamp, not the report time
    assert report.checks[0].residency.measured_at == "2023-11-14T22:13:20+00:00"


def test_late_reply_transit_through_us_is_a_violation(tmp_path, providers):
    path = [
        (1, [reply(SE_ROUTER_1, 1.0)]),
        (2, [{"from": US_LEVEL3, "late": 1, "size": 56, "ttl": 250}, {"x": "*"}]),
        (3, [reply(AZURE_WESTEUROPE, 95.0)]),
    ]
    report = judge(tmp_path, [result(path)], providers)
    assert report.verdict is Verdict.VIOLATION
    transit = [f for f in report.findings if f.rule_id == "RES-TRANSIT-COUNTRY"]
    assert transit and transit[0].hop == 2 and transit[0].evidence["country"] == "US"
    row = report.checks[0].residency.hops[1]
    assert row.addresses == [US_LEVEL3] and row.rtt_ms == [] and "no-rtt" in row.flags
    assert any("late reply" in n for n in row.notes)


@pytest.mark.parametrize(
    "bad_rtt",
    [None, -1.0, "2.5", float("nan"), float("inf"), 1e12, True],
    ids=["missing", "negative", "string", "nan", "inf", "huge", "bool"],
)
def test_unusable_rtt_keeps_the_address(tmp_path, providers, bad_rtt):
    us = {"from": US_LEVEL3, "size": 56}
    if bad_rtt is not None:
        us["rtt"] = bad_rtt
    path = [(1, [reply(SE_ROUTER_1, 1.0)]), (2, [us]), (3, [reply(AZURE_WESTEUROPE, 95.0)])]
    report = judge(tmp_path, [result(path)], providers)
    assert report.verdict is Verdict.VIOLATION
    assert report.checks[0].residency.hops[1].country == "US"


@pytest.mark.parametrize(
    "written",
    ["::ffff:4.69.0.1", "64:ff9b::445:1", "2002:445:1::1", "004.069.000.001"],
    ids=["mapped", "nat64", "6to4", "leading-zeros"],
)
def test_every_textual_form_of_an_ipv4_address_is_attributed(tmp_path, providers, written):
    path = [(1, [reply(SE_ROUTER_1, 1.0)]), (2, [reply(written, 80.0)]), (3, [reply(AZURE_WESTEUROPE, 95.0)])]
    report = judge(tmp_path, [result(path)], providers)
    row = report.checks[0].residency.hops[1]
    assert row.address == US_LEVEL3 and row.country == "US"
    assert report.verdict is Verdict.VIOLATION


def test_reordered_and_duplicated_hops_cannot_hide_a_us_hop(tmp_path, providers):
    # the destination entry comes first in the file, the US hop later, and hop 2 twice
    hops = [
        (3, [reply(AZURE_WESTEUROPE, 95.0)]),
        (1, [reply(SE_ROUTER_1, 1.0)]),
        (2, [reply(SE_ROUTER_2, 2.0)]),
        (2, [reply(US_LEVEL3, 80.0)]),
    ]
    report = judge(tmp_path, [result(hops)], providers)
    assert report.verdict is Verdict.VIOLATION
    rows = report.checks[0].residency.hops
    assert [r.ttl for r in rows] == [1, 2, 3]
    assert "duplicate" in rows[1].flags and set(rows[1].addresses) == {SE_ROUTER_2, US_LEVEL3}
    assert "RES-PATH-ANOMALY" in rules(report)


def test_reply_after_the_destination_is_shown_and_flagged(tmp_path, providers):
    hops = [
        (1, [reply(SE_ROUTER_1, 1.0)]),
        (2, [reply(AZURE_WESTEUROPE, 95.0)]),
        (3, [reply(US_LEVEL3, 96.0)]),
        (255, [reply(US_LEVEL3, 97.0)]),
    ]
    report = judge(tmp_path, [result(hops)], providers)
    rows = report.checks[0].residency.hops
    assert "after-destination" in rows[2].flags and rows[2].country == "US"
    assert "final-attempt" in rows[3].flags
    assert report.verdict is Verdict.VIOLATION  # a US reply on the path is judged, not cut off


def test_results_for_other_targets_are_reported_never_counted(tmp_path, providers):
    path = [(1, [reply(SE_ROUTER_1, 1.0)]), (2, [reply(AZURE_WESTEUROPE, 21.0)])]
    report = judge(tmp_path, [result(path, name="other.example.org")], providers)
    assert report.verdict is Verdict.INCONCLUSIVE
    assert int(report.exit_status()) == 3
    assert rules(report)["RES-NO-MEASUREMENT"] is Verdict.INCONCLUSIVE
    assert rules(report)["RES-OUT-OF-POLICY"] is Verdict.SKIPPED
    assert report.metadata["evidence"]["measurements"]["out_of_policy"] == 1


@pytest.mark.parametrize("written", ["API.EXAMPLE.EU", "api.example.eu.", "Api.Example.Eu"])
def test_names_compare_case_insensitively(tmp_path, providers, written):
    path = [(1, [reply(SE_ROUTER_1, 1.0)]), (2, [reply(AZURE_WESTEUROPE, 21.0)])]
    report = judge(tmp_path, [result(path, name=written)], providers)
    assert "RES-NO-MEASUREMENT" not in rules(report) and "RES-OUT-OF-POLICY" not in rules(report)


def test_names_compare_as_idna(tmp_path, providers):
    path = [(1, [reply(SE_ROUTER_1, 1.0)]), (2, [reply(AZURE_WESTEUROPE, 21.0)])]
    report = judge(tmp_path, [result(path, name="xn--mnchen-3ya.example")], providers, endpoints=("MÜNCHEN.example",))
    assert "RES-NO-MEASUREMENT" not in rules(report)


def test_probe_missing_from_the_probes_file_is_inconclusive(tmp_path, providers):
    path = [(1, [reply(SE_ROUTER_1, 20.0)]), (2, [reply(AZURE_WESTEUROPE, 21.0)])]
    other = {"id": 9, "country_code": "DE", "geometry": {"type": "Point", "coordinates": FRANKFURT}}
    report = judge(tmp_path, [result(path, prb=77)], providers, probes=[other])
    assert report.verdict is Verdict.INCONCLUSIVE
    ne = report.checks[0].residency.not_evaluated
    assert ne and "probe 77 is not in the probes file" in ne[0].reason


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r["result"][0]["result"][0].update({"from": "300.1.1.1"}), "not an IP address"),
        (lambda r: r["result"][0]["result"][0].update({"from": 42}), "not a string"),
        (lambda r: r["result"][0].update({"hop": "one"}), "not an integer"),
        (lambda r: r.update({"dst_addr": "not-an-ip"}), "not an IP address"),
        (lambda r: r.pop("result"), "no 'result' list"),
    ],
)
def test_malformed_input_is_a_located_error(tmp_path, providers, mutate, message):
    good = result([(1, [reply(SE_ROUTER_1, 1.0)])])
    bad = result([(1, [reply(SE_ROUTER_1, 1.0)])])
    mutate(bad)
    with pytest.raises(InputError) as err:
        judge(tmp_path, [good, bad], providers)
    assert message in err.value.message
    assert err.value.location.line == 2 and err.value.location.file.endswith("results.jsonl")


def test_probes_file_errors_are_located(tmp_path):
    p = tmp_path / "probes.json"
    p.write_text('{"results": [{"id": 1, "geometry": {"coordinates": [200, 95]}}]}', encoding="utf-8")
    with pytest.raises(InputError, match="not \\[longitude, latitude\\]"):
        atlas.load_probes(p)
    p.write_text("{oops", encoding="utf-8")
    with pytest.raises(InputError):
        atlas.load_probes(p)


replies = st.one_of(
    st.fixed_dictionaries({"x": st.just("*")}),
    st.fixed_dictionaries(
        {"from": st.sampled_from([SE_ROUTER_1, US_LEVEL3, "10.0.0.1", "::ffff:4.69.0.1", AZURE_WESTEUROPE])},
        optional={
            "rtt": st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=3), st.none()),
            "late": st.integers(0, 3),
            "err": st.sampled_from(["H", "N", "A", "P", "p", "?"]),
        },
    ),
)
hop_lists = st.lists(st.tuples(st.integers(-2, 300), st.lists(replies, max_size=3)), max_size=8)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hops=hop_lists)
def test_any_hop_list_with_a_us_reply_is_never_compliant(tmp_path, providers, hops):
    """Hostile hop lists: whatever the order, duplicates, hop numbers and RTTs, a path where a
    US-registered router answered is never COMPLIANT (strict transit)."""
    report = judge(tmp_path, [result(hops)], providers)
    assert report.verdict is not Verdict.SKIPPED
    has_us = any(r.get("from") in (US_LEVEL3, "::ffff:4.69.0.1") for _n, rs in hops for r in rs)
    if has_us or not hops:
        assert report.verdict is not Verdict.COMPLIANT


probe_values = st.recursive(
    st.none() | st.booleans() | st.integers(-500, 500) | st.floats() | st.text(max_size=6),
    lambda c: (
        st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(["id", "geometry", "coordinates"]), c, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.dictionaries(st.sampled_from(["id", "country_code", "geometry"]), probe_values, max_size=3), max_size=4)
)
def test_probes_files_never_crash(items):
    try:
        directory = atlas.parse_probes(json.dumps({"results": items}), "p.json")
    except InputError as exc:
        assert exc.location is not None and exc.location.file == "p.json"
        return
    for probe in directory.probes.values():
        assert probe.vantage is None or (-90 <= probe.vantage.lat <= 90 and -180 <= probe.vantage.lon <= 180)


def test_json_array_errors_name_the_element(tmp_path):
    good = result([(1, [reply(SE_ROUTER_1, 1.0)])])
    bad = result([(1, [reply("1.2.3", 1.0)])])
    with pytest.raises(InputError) as err:
        atlas.parse(json.dumps([good, good, bad]), "r.json")
    assert "result #3 of the JSON array" in err.value.message and err.value.location.column == 3


def test_no_geo_source_at_all_is_inconclusive(tmp_path):
    path = [(1, [reply(SE_ROUTER_1, 1.0)]), (2, [reply(AZURE_WESTEUROPE, 21.0)])]
    f = tmp_path / "r.jsonl"
    f.write_text(json.dumps(result(path)) + "\n", encoding="utf-8")
    ctx = RunContext(Zones(), Providers(), "t", "2026-12-03T00:00:00+00:00")
    report = judge_measurements(atlas.records(f), [], ctx)
    assert report.verdict is Verdict.INCONCLUSIVE
    assert any(n.check == "geolocation" for n in report.checks[0].residency.not_evaluated)


def test_a_self_reported_probe_location_cannot_hide_an_out_of_zone_hop(tmp_path, providers):
    """A probe that claims to be in Frankfurt but answers like one in the US: the US hop's claim
    is 'refuted' only by the probe's own metadata, which may be wrong (1.5% of probes misreport):
    INCONCLUSIVE, never a quiet warning that hides the US hop."""
    path = [(1, [reply(US_LEVEL3, 1.0)]), (2, [reply(AZURE_WESTEUROPE, 90.0)])]
    probe = {"id": 426, "country_code": "DE", "geometry": {"type": "Point", "coordinates": FRANKFURT}}
    report = judge(tmp_path, [result(path)], providers, probes=[probe])
    physics = [f for f in report.findings if f.rule_id == "RES-PHYSICS" and f.evidence["address"] == US_LEVEL3]
    assert physics and physics[0].verdict is Verdict.INCONCLUSIVE
    assert report.verdict in (Verdict.INCONCLUSIVE, Verdict.VIOLATION)
